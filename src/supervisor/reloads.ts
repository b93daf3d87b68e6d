// Reloads: spawn a new generation, wait until all of it is ready, then drain the old one — or, if
// the new generation cannot start, stop it and keep the old one serving. Requests that arrive
// during a reload share one queued reload (the code on disk may have changed again after the
// running reload imported it). The phase and the serving generation stay the supervisor's; this
// file changes them only through its host.

import type { Config } from '../config/options.ts';
import { reloadBudgetMs } from '../deploy/timings.ts';
import type { Logger } from '../log/logger.ts';
import { settleWithin } from '../timeout.ts';
import type { ReloadOutcome, SupervisorEvents } from './events.ts';
import type { Phase } from './phase.ts';
import { SIGNAL_TABLE } from './signal-table.ts';
import type { WorkerPool } from './worker-pool.ts';

/** How long a worker that failed to become ready may take to exit after being told to drain. */
const NOT_READY_KILL_MS = 2_000;

/**
 * How long a successful reload waits for the old workers to confirm that they stopped accepting
 * before it answers anyway (a worker whose event loop is blocked confirms late; it is drained and,
 * past its deadline, killed all the same).
 */
const STOPPED_ACCEPTING_WAIT_MS = 1_000;

/** What a reload needs from the supervisor. */
export interface ReloadHost {
  readonly config: Config;
  readonly log: Logger;
  readonly pool: WorkerPool;
  phase(): Phase;
  enter(phase: Phase): void;
  workersWanted(): number;
  servingGeneration(): number;
  /** Hands out the next generation number (a failed reload uses one up too). */
  nextGeneration(): number;
  /** The new generation serves from now on. */
  cutover(generation: number): void;
  /** Brings the serving generation to the wanted number of workers. */
  reconcile(): void;
  emit<E extends keyof SupervisorEvents>(event: E, ...args: SupervisorEvents[E]): boolean;
}

export class Reloads {
  readonly #host: ReloadHost;
  /** Settles when the running reload has finished, old generation drained included. */
  #running: Promise<void> | undefined;
  #queued: Promise<ReloadOutcome> | undefined;

  constructor(host: ReloadHost) {
    this.#host = host;
  }

  /**
   * `pounce reload` (and the file watcher): what SIGHUP does now, by SIGNAL_TABLE. Resolves after
   * the cutover, once the old workers have stopped accepting (the next connection reaches the new
   * code), or with the failure; the old generation's drain goes on after that (the reload is complete
   * when it ends, and is logged then).
   * During a reload, further requests share one queued reload.
   */
  request(): Promise<ReloadOutcome> {
    const action = SIGNAL_TABLE[this.#host.phase().name].SIGHUP;
    if (action === 'reload') return this.begin();
    if (action === 'queueReload') return this.queue();
    return this.refused();
  }

  /** A reload the current phase does not allow (starting, stopping). */
  refused(): Promise<ReloadOutcome> {
    this.#host.log.event('reloadIgnored', { state: this.#host.phase().name });
    return Promise.resolve({ ok: false, reason: `the server is ${this.#host.phase().name}` });
  }

  /** A reload is running: one more runs after it, shared by every request until it starts. */
  queue(): Promise<ReloadOutcome> {
    const running = this.#running;
    if (!running) return this.begin();
    if (!this.#queued) {
      this.#host.log.event('reloadQueued');
      this.#queued = running.then(() => {
        this.#queued = undefined;
        // By now the server may be stopping: the table decides again.
        return SIGNAL_TABLE[this.#host.phase().name].SIGHUP === 'reload' ? this.begin() : this.refused();
      });
    }
    return this.#queued;
  }

  /** Starts a reload now (the phase is serving). */
  begin(): Promise<ReloadOutcome> {
    let report: (outcome: ReloadOutcome) => void = () => {};
    const outcome = new Promise<ReloadOutcome>((resolve) => {
      report = resolve;
    });
    this.#running = this.#run(report)
      .catch((err: unknown) => {
        // A bug or a failed fork must not leave the server stuck in "reloading" with nobody answered.
        const reason = `internal error: ${err instanceof Error ? err.message : String(err)}`;
        this.#host.log.event('reloadFailed', { reason });
        report({ ok: false, reason });
        if (this.#host.phase().name === 'reloading') this.#host.enter({ name: 'serving' });
      })
      .finally(() => {
        this.#running = undefined;
      });
    return outcome;
  }

  async #run(report: (outcome: ReloadOutcome) => void): Promise<void> {
    const abort = new AbortController();
    const oldGeneration = this.#host.servingGeneration();
    const generation = this.#host.nextGeneration();
    this.#host.enter({ name: 'reloading', generation, cutover: false, abort });
    this.#host.log.event('spawning', { workers: this.#host.workersWanted(), generation });
    this.#host.emit('reloadStarted', { generation, budgetMs: reloadBudgetMs(this.#host.config) });
    const finish = (outcome: ReloadOutcome) => {
      report(outcome);
      this.#host.emit('reloadFinished', outcome);
      this.#host.emit('reloadSettled', outcome);
    };
    const fresh = this.#host.pool.spawnGeneration(generation, this.#host.workersWanted());
    try {
      await this.#host.pool.allReady(fresh, abort.signal);
    } catch (err) {
      if (abort.signal.aborted) {
        // stop() is already draining every worker, these included.
        this.#host.log.event('reloadAborted');
        finish({ ok: false, reason: 'aborted by shutdown' });
        return;
      }
      const reason = (err as Error).message;
      this.#host.log.event('reloadFailed', { reason });
      finish({ ok: false, reason });
      // Workers that became ready may already have accepted connections on the shared socket: drain
      // them like an old generation. The others are told to drain too (one whose `ready` is still
      // in flight may have listened; one still importing exits at once) and killed if they hang.
      for (const worker of fresh) {
        if (worker.wasReady || !worker.alive) continue;
        worker.drain('reload');
        setTimeout(() => worker.kill(), NOT_READY_KILL_MS).unref();
      }
      await this.#host.pool.retire(
        fresh.filter((w) => w.wasReady),
        'reload',
      );
      // A SIGTERM during that retire started the shutdown: the phase is not ours to reset.
      if (this.#host.phase().name !== 'reloading') return;
      this.#host.enter({ name: 'serving' });
      this.#host.reconcile();
      return;
    }
    if (abort.signal.aborted) {
      this.#host.log.event('reloadAborted');
      finish({ ok: false, reason: 'aborted by shutdown' });
      return;
    }

    // The cutover: the new generation serves; from now on its crashes are replaced.
    this.#host.cutover(generation);
    this.#host.enter({ name: 'reloading', generation, cutover: true });
    const old = this.#host.pool.all.filter((w) => w.generation !== generation && !w.exitExpected);
    this.#host.log.event('drainingOld', { generation: oldGeneration });
    // In this order: the app hears reloadFinished in every worker before the old ones start draining;
    // the answer waits until the old workers no longer accept, or a request sent right after
    // `pounce reload` (or systemd's READY=1) could still reach the old code.
    const outcome: ReloadOutcome = { ok: true, generation };
    this.#host.emit('reloadFinished', outcome);
    const retired = this.#host.pool.retire(old, 'reload');
    await settleWithin(Promise.all(old.map((worker) => worker.stoppedAccepting)), STOPPED_ACCEPTING_WAIT_MS);
    report(outcome);
    this.#host.emit('reloadSettled', outcome);
    await retired;
    if (this.#host.phase().name !== 'reloading') return;
    const workers = this.#host.pool.active(generation).length;
    this.#host.log.event('reloadComplete', { workers, generation });
    this.#host.enter({ name: 'serving' });
    this.#host.emit('reloadComplete', { generation, workers });
    this.#host.reconcile();
  }
}
