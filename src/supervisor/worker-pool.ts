// Every worker the supervisor runs, of every generation: spawning a generation (or one worker),
// waiting until a set of workers is ready, and retiring a set (drain → drained → release → exit,
// with a backstop kill). What these workers are *for* — which generation serves, when to replace
// one — is the supervisor's business; this file only knows how to start and stop them.

import type { Config } from '../config/options.ts';
import { retireBudgetMs, startupBudgetMs } from '../deploy/timings.ts';
import { ErrorCode, pounceError } from '../errors.ts';
import type { InheritedFd, RecycleReason } from '../ipc/messages.ts';
import type { Logger } from '../log/logger.ts';
import { withTimeout } from '../timeout.ts';
import { ServingLoad } from './boot-cpus.ts';
import { WorkerHandle } from './worker-handle.ts';
import { describeExit, type SpawnWorker } from './worker-transport.ts';

/** What the pool tells its owner about a worker's life. */
export interface WorkerEvents {
  ready(worker: WorkerHandle): void;
  /** The worker exited (`exit` describes how); it has already left the pool. */
  exited(worker: WorkerHandle, exit: string): void;
  /** The worker itself received SIGTERM/SIGINT. */
  signalled(worker: WorkerHandle, signal: string): void;
  recycle(worker: WorkerHandle, reason: RecycleReason): void;
  fatal(worker: WorkerHandle, error: string): void;
  /** A worker told to drain has closed (or cut: `forced`) its connections, `seconds` after the order. */
  drained(worker: WorkerHandle, seconds: number, forced: number): void;
}

export interface WorkerPoolOptions {
  config: Config;
  app: string;
  cwd: string;
  inheritedFds: readonly InheritedFd[];
  log: Logger;
  spawnWorker: SpawnWorker;
  /** The priority a worker booting at a low one takes back, if lowering is used (boot-priority.ts). */
  bootPriority: () => number | undefined;
  /** Whether a booting worker may be held to part of the CPUs (boot-cpus.ts): worker processes only. */
  holdBootCpus: boolean;
  events: WorkerEvents;
}

export class WorkerPool {
  readonly #o: WorkerPoolOptions;
  readonly #workers = new Set<WorkerHandle>();
  #nextWorkerId = 0;
  /** The newest generation whose server script's address was logged (once per generation). */
  #scriptLogged = -1;
  /** How busy the serving workers are: decides whether a booting worker is held to part of the CPUs. */
  readonly #load = new ServingLoad();

  constructor(options: WorkerPoolOptions) {
    this.#o = options;
  }

  /** Every live worker (any generation, draining ones included). */
  get all(): WorkerHandle[] {
    return [...this.#workers];
  }

  /** The workers of `generation` that pounce has not ordered to exit. */
  active(generation: number): WorkerHandle[] {
    return this.all.filter((w) => w.generation === generation && !w.exitExpected);
  }

  spawnGeneration(generation: number, count: number): WorkerHandle[] {
    return Array.from({ length: count }, () => this.spawn(generation));
  }

  /** The pids of the workers that serve now. */
  #servingPids(): number[] {
    return this.all.filter((w) => w.state === 'ready').map((w) => w.pid);
  }

  /** Samples how much CPU the serving workers use (the supervisor's watchdog tick; boot-cpus.ts). */
  sampleLoad(): void {
    this.#load.sample(this.#servingPids());
  }

  spawn(generation: number): WorkerHandle {
    const { config, app, cwd, inheritedFds, log, events } = this.#o;
    // While a worker serves, a new one boots at a low CPU priority (boot-priority.ts), on part of
    // the CPUs if the serving workers are busy (boot-cpus.ts), and warms up before it listens
    // (worker/warm-up.ts).
    const serving = this.#servingPids();
    const bootPriority = serving.length ? this.#o.bootPriority() : undefined;
    const held =
      bootPriority === undefined || !this.#o.holdBootCpus ? undefined : this.#load.bootCpus(serving);
    const workerId = this.#nextWorkerId++;
    const init = {
      workerId,
      generation,
      app,
      cwd,
      config,
      inheritedFds,
      bootPriority,
      bootCpus: held?.cpus,
      warmUp: serving.length > 0 || undefined,
    };
    if (held)
      log.event('bootCpus', { worker: workerId, cpus: held.cpus.boot, load: Number(held.load.toFixed(2)) });
    const worker = new WorkerHandle(init, this.#o.spawnWorker(init));
    this.#workers.add(worker);
    log.event('workerSpawned', { worker: worker.id, generation, pid: worker.pid });
    worker.ready.then(
      () => {
        log.event('workerReady', { worker: worker.id, generation, url: worker.url ?? '?' });
        // Its CPU time so far was its boot: the load it adds is counted from here.
        this.sampleLoad();
        // Every worker of a generation imported the same script: say what it asked for once, at the
        // generation's first ready worker (replacements and scale-ups of that generation are silent).
        if (worker.scriptAsked !== undefined && generation > this.#scriptLogged) {
          this.#scriptLogged = generation;
          log.event('scriptListening', { generation, asked: worker.scriptAsked, url: worker.url ?? '?' });
        }
        events.ready(worker);
      },
      (err: Error & { code?: string }) => {
        if (worker.exitExpected) return;
        log.event('workerFailed', {
          worker: worker.id,
          generation,
          code: err.code ?? ErrorCode.WORKER,
          reason: err.message,
        });
      },
    );
    worker.exited.then((info) => {
      this.#workers.delete(worker);
      events.exited(worker, describeExit(info));
    });
    worker.onSignalled = (signal) => events.signalled(worker, signal);
    worker.onRecycle = (reason) => events.recycle(worker, reason);
    worker.onFatal = (error) => events.fatal(worker, error);
    worker.onResponsive = () =>
      log.event('workerResponsive', {
        worker: worker.id,
        generation,
        seconds: Math.round((Date.now() - worker.lastHeartbeat) / 1000),
      });
    return worker;
  }

  /**
   * Waits until every worker is ready. Rejects with the first failure, or when one is not ready
   * within startupTimeout (the worker enforces it too; this catches a worker whose event loop is
   * blocked), or when `abort` fires.
   */
  async allReady(workers: WorkerHandle[], abort: AbortSignal | undefined): Promise<void> {
    const seconds = this.#o.config.startupTimeout;
    const aborted = new Promise<never>((_, reject) => {
      abort?.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
    });
    await withTimeout(
      Promise.race([Promise.all(workers.map((w) => w.ready)), aborted]),
      startupBudgetMs(this.#o.config),
      () => pounceError('WORKER_NOT_READY', { seconds }),
    );
    // Ready once is not enough: a worker whose code throws right after listening has died by now.
    const dead = workers.find((w) => !w.alive);
    if (dead) throw new Error(`worker ${dead.id} exited right after it became ready`);
  }

  /**
   * Drains `workers` and waits until they have exited. Each worker reports `drained`, is released
   * to exit, and is killed if it outlives its deadline (plus hooks and slack).
   */
  async retire(workers: WorkerHandle[], reason: 'reload' | 'shutdown'): Promise<void> {
    const { config, log } = this.#o;
    const [timeoutName, seconds] =
      reason === 'reload'
        ? (['reloadTimeout', config.reloadTimeout] as const)
        : (['shutdownTimeout', config.shutdownTimeout] as const);

    await Promise.all(
      workers.map(async (worker) => {
        if (!worker.alive) return;
        worker.retireReason ??= reason;
        worker.drain(reason);
        // A worker already draining for a reload keeps that drain's deadline (drains run once).
        const budgetMs = Math.max(
          retireBudgetMs(config, reason),
          retireBudgetMs(config, worker.drainReason ?? reason),
        );
        const since = Date.now();
        const backstop = setTimeout(() => {
          const waitedSeconds = Math.round((Date.now() - since) / 1000);
          log.event('workerKilled', { worker: worker.id, timeoutName, seconds, waitedSeconds });
          worker.kill();
        }, budgetMs);
        void worker.drained.then((forced) => {
          if (worker.wasReady) this.#o.events.drained(worker, (Date.now() - since) / 1000, forced);
          if (reason === 'reload' && worker.alive) {
            log.event('workerIdle', { worker: worker.id, generation: worker.generation });
          }
          worker.release();
        });
        await worker.exited;
        clearTimeout(backstop);
      }),
    );
  }

  /** Kills every worker at once (the second SIGTERM). */
  killAll(): void {
    for (const worker of this.#workers) worker.kill();
  }
}
