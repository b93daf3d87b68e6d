// Replacing one worker at a time through a handoff: its successor is started and ready before the
// worker is told to drain, so the number of serving workers never drops. Three things ask for it:
// the worker itself was sent SIGTERM/SIGINT (an operator replacing it), it reached a recycling
// limit (maxRequests, maxMemory), or it stopped answering its heartbeat (workerTimeout).

import type { Config } from '../config/options.ts';
import type { RecycleReason } from '../ipc/messages.ts';
import type { Logger } from '../log/logger.ts';
import type { PhaseName } from './phase.ts';
import type { RetireReason, WorkerHandle } from './worker-handle.ts';
import type { WorkerPool } from './worker-pool.ts';

/** A gap between two heartbeat checks (run every second) longer than this: the supervisor was paused. */
const PAUSE_GAP_MS = 2_500;
/** After a recycle whose successor failed to start, the worker keeps serving this long before the next try. */
const RECYCLE_RETRY_MS = 10_000;

/** What the handoffs need from the supervisor. */
export interface HandoffHost {
  readonly config: Config;
  readonly log: Logger;
  readonly pool: WorkerPool;
  phase(): PhaseName;
  /** The generation that serves now. */
  servingGeneration(): number;
}

export class Handoffs {
  readonly #host: HandoffHost;
  /** When checkHeartbeats last ran. */
  #lastCheck: number | undefined;

  constructor(host: HandoffHost) {
    this.#host = host;
  }

  /**
   * A worker past maxRequests or maxMemory asked to be replaced. Only a serving generation's worker
   * is recycled (a reload replaces every worker anyway; the worker asks again later). If the
   * successor cannot start (the code on disk is broken now), the worker keeps serving and is tried
   * again after RECYCLE_RETRY_MS, rather than shrinking the server.
   */
  recycle(worker: WorkerHandle, reason: RecycleReason): void {
    const host = this.#host;
    if (host.phase() !== 'serving' || worker.exitExpected || worker.generation !== host.servingGeneration()) {
      return;
    }
    if (Date.now() < worker.recycleNotBefore) return;
    const why =
      reason.limit === 'maxRequests'
        ? `it served ${reason.requests} requests (maxRequests ${reason.max})`
        : `its memory use (${reason.measure === 'rss' ? 'RSS' : 'V8 heap + external'} ${reason.megabytes} MB) exceeds maxMemory (${reason.max} MB)`;
    void this.replace(worker, why, 'recycle', true);
  }

  /**
   * Once a second: a ready worker whose heartbeat is older than workerTimeout is reported and
   * replaced through the handoff; if it stays silent for another workerTimeout it is killed (a
   * stopped or blocked process never drains).
   */
  checkHeartbeats(now: number): void {
    const { config, log, pool } = this.#host;
    const limitMs = config.workerTimeout * 1000;
    // The supervisor itself did not run for a while (Ctrl-Z then fg, a paused VM, a suspended host):
    // the heartbeats that arrived meanwhile are still unread, so every worker would look silent.
    // Start their clocks again instead of replacing them all.
    // The check runs every second (a tick may come a little late on a busy machine): a gap of more
    // than PAUSE_GAP_MS means the supervisor itself was stopped.
    const paused = this.#lastCheck !== undefined && now - this.#lastCheck > PAUSE_GAP_MS;
    this.#lastCheck = now;
    if (paused) {
      for (const worker of pool.all) worker.lastHeartbeat = Math.max(worker.lastHeartbeat, now);
      return;
    }
    for (const worker of pool.all) {
      if (!worker.wasReady || !worker.alive || worker.unresponsive) continue;
      if (now - worker.lastHeartbeat <= limitMs) continue;
      worker.unresponsive = true;
      const ids = { worker: worker.id, generation: worker.generation };
      const silentSeconds = () => Math.round((Date.now() - worker.lastHeartbeat) / 1000);
      log.event('workerUnresponsive', { ...ids, seconds: silentSeconds() });
      void this.replace(
        worker,
        `it did not answer for ${config.workerTimeout}s (workerTimeout)`,
        'unresponsive',
      );
      setTimeout(() => {
        if (!worker.alive || !worker.unresponsive) return;
        log.event('workerKilledUnresponsive', { ...ids, seconds: silentSeconds() });
        worker.kill();
      }, limitMs).unref();
    }
  }

  /**
   * Replaces one worker: its successor is ready before it drains. When the signal went to the whole
   * process group the supervisor's own shutdown is underway (or about to be) and retires everything
   * anyway. `keepIfSuccessorFails`: a recycle keeps the worker serving when its successor fails.
   */
  async replace(
    worker: WorkerHandle,
    why: string,
    reason: RetireReason,
    keepIfSuccessorFails = false,
  ): Promise<void> {
    const { log, pool } = this.#host;
    const phase = this.#host.phase();
    if ((phase !== 'serving' && phase !== 'reloading') || worker.exitExpected) return;
    worker.exitExpected = true;
    worker.retireReason = reason;
    log.event('workerReplacing', { worker: worker.id, generation: worker.generation, why });
    if (worker.generation === this.#host.servingGeneration()) {
      const successor = pool.spawn(worker.generation);
      let failure: Error | undefined;
      await successor.ready.catch((err: Error) => {
        failure = err;
      });
      const now = this.#host.phase();
      if (now === 'stopping' || now === 'stopped') return; // stop() retires everyone
      // Keep the worker only if it still belongs to the serving generation: a reload that cut over
      // meanwhile left it out of its drain (it was already leaving) and drained its successor.
      const stillServing = now === 'serving' && worker.generation === this.#host.servingGeneration();
      // A successor that pounce itself retired (a scale down took it as the surplus) did not fail:
      // the worker was leaving anyway, so it leaves now and the count is what scale wanted.
      const successorFailed = failure !== undefined && !successor.exitExpected;
      if (
        successorFailed &&
        keepIfSuccessorFails &&
        stillServing &&
        worker.alive &&
        worker.state === 'ready'
      ) {
        successor.kill();
        worker.exitExpected = false;
        worker.retireReason = undefined;
        worker.recycleNotBefore = Date.now() + RECYCLE_RETRY_MS;
        log.event('recycleFailed', {
          worker: worker.id,
          generation: worker.generation,
          reason: failure!.message,
          retrySeconds: RECYCLE_RETRY_MS / 1000,
        });
        return;
      }
    }
    await pool.retire([worker], 'reload');
  }
}
