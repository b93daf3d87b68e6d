// The supervisor: runs generations of worker processes on the listening socket that Node's cluster
// primary (this process) holds, swaps generations on reload without dropping a request, replaces
// crashed workers, and shuts everything down gracefully.
//
// It is a state machine:  starting → serving ⇄ reloading → stopping → stopped
// and SIGNAL_TABLE below says what every signal does in every state.
//
// Besides reloads, one worker at a time is replaced through the same handoff (its successor is
// ready before it drains): when it is signalled directly, or when it asks to be recycled
// (maxRequests, maxMemory). The number of workers can change at runtime (scale(): SIGTTIN, SIGTTOU,
// `pounce scale N`). The supervisor emits its lifecycle (ready, reload started/finished, stopping)
// for the systemd integration.

import { EventEmitter } from 'node:events';
import type { Config } from '../config/options.ts';
import { reloadBudgetMs, retireBudgetMs } from '../deploy/timings.ts';
import { ErrorCode, type ErrorCode as ErrorCodeType, PounceError } from '../errors.ts';
import type { InheritedFd, RecycleReason } from '../ipc/messages.ts';
import type { Logger } from '../log/logger.ts';
import { withTimeout } from '../timeout.ts';
import { describeExit, WorkerProcess as Worker, type WorkerProcess } from './worker-process.ts';

export type SupervisorState = 'starting' | 'serving' | 'reloading' | 'stopping' | 'stopped';
export type SupervisorSignal = 'SIGHUP' | 'SIGTERM' | 'SIGINT' | 'SIGTTIN' | 'SIGTTOU' | 'SIGUSR2';
type Action =
  | 'reload'
  | 'queueReload'
  | 'shutdown'
  | 'abortReloadAndShutdown'
  | 'exitNow'
  | 'scaleUp'
  | 'scaleDown'
  | 'upgrade'
  | 'ignore';

/** Stopping and stopped: only a second SIGTERM/SIGINT does something (exits at once). */
const WINDING_DOWN: Readonly<Record<SupervisorSignal, Action>> = {
  SIGHUP: 'ignore',
  SIGTERM: 'exitNow',
  SIGINT: 'exitNow',
  SIGTTIN: 'ignore',
  SIGTTOU: 'ignore',
  SIGUSR2: 'ignore',
};

/** What each signal does in each state. */
// SIGTTIN/SIGTTOU change the wanted number of workers by one (never below 1). While starting or
// reloading the new number is recorded and applied once the server is serving again.
// SIGUSR2 upgrades pounce itself (src/upgrade/): a new supervisor from the pounce and Node on disk
// takes the listening sockets over. Only a serving server upgrades: while starting or reloading
// the generation to hand over is not settled, and a stopping server has nothing to hand over.
export const SIGNAL_TABLE: Readonly<Record<SupervisorState, Readonly<Record<SupervisorSignal, Action>>>> = {
  // A reload before the first generation is up has nothing to replace.
  starting: {
    SIGHUP: 'ignore',
    SIGTERM: 'shutdown',
    SIGINT: 'shutdown',
    SIGTTIN: 'scaleUp',
    SIGTTOU: 'scaleDown',
    SIGUSR2: 'ignore',
  },
  serving: {
    SIGHUP: 'reload',
    SIGTERM: 'shutdown',
    SIGINT: 'shutdown',
    SIGTTIN: 'scaleUp',
    SIGTTOU: 'scaleDown',
    SIGUSR2: 'upgrade',
  },
  // Any number of SIGHUPs during a reload queue exactly one more reload: the code on disk may have
  // changed again after the running reload imported it.
  reloading: {
    SIGHUP: 'queueReload',
    SIGTERM: 'abortReloadAndShutdown',
    SIGINT: 'abortReloadAndShutdown',
    SIGTTIN: 'scaleUp',
    SIGTTOU: 'scaleDown',
    SIGUSR2: 'ignore',
  },
  // The second SIGTERM/SIGINT: the user means it.
  stopping: WINDING_DOWN,
  stopped: WINDING_DOWN,
};

export type ReloadOutcome = { ok: true; generation: number } | { ok: false; reason: string };
export type ScaleOutcome = { ok: true; workers: number; previous: number } | { ok: false; reason: string };

/** The supervisor's lifecycle, for the systemd integration (and anything else that watches it). */
export interface SupervisorEvents {
  /** Generation 0 is ready: the server serves. */
  ready: [{ generation: number; workers: number }];
  /** A reload began; it reaches its outcome within `budgetMs` (startupTimeout and slack). */
  reloadStarted: [{ generation: number; budgetMs: number }];
  /** The reload reached its outcome: the new generation serves, or it failed (`pounce reload` returns). */
  reloadFinished: [ReloadOutcome];
  /** The previous generation has drained after a successful reload. */
  reloadComplete: [{ generation: number; workers: number }];
  /** The shutdown began; the supervisor ends it within `budgetMs` (its own deadlines and slack). */
  stopping: [{ budgetMs: number }];
  /** The wanted number of workers changed. */
  scaled: [{ workers: number; previous: number }];
  /** SIGUSR2 asked for an upgrade of pounce itself (src/upgrade/ runs it). */
  upgradeSignal: [];
}

export interface WorkerStatus {
  id: number;
  pid: number;
  generation: number;
  /** starting, ready, draining, drained, stopped — or unresponsive while it misses its heartbeats. */
  state: string;
  connections: number | null;
  uptimeSeconds: number;
}

export interface StatusReport {
  pid: number;
  state: SupervisorState;
  generation: number;
  /** The wanted number of workers (`workers`, changed by SIGTTIN/SIGTTOU and `pounce scale`). */
  workersWanted: number;
  url: string | undefined;
  uptimeSeconds: number;
  /** Unexpected worker exits and uncaught errors within the last CRASH_WINDOW_MS. */
  crashesLastMinute: number;
  /** More than MAX_CRASHES of them: the server is in a crash loop (and keeps replacing workers). */
  crashLoop: boolean;
  workers: WorkerStatus[];
}

/**
 * More crashes than this within CRASH_WINDOW_MS is a crash loop: reported loudly, and the end of the
 * server only with exitOnCrashLoop. A server that can still replace its workers keeps doing so: a
 * crash loop caused by requests (a handler that throws) must not let clients take the server down.
 */
const MAX_CRASHES = 5;
const CRASH_WINDOW_MS = 60_000;
const RESTART_BASE_DELAY_MS = 100;
const RESTART_MAX_DELAY_MS = 5_000;
/** How long a worker's own SIGTERM/SIGINT waits for the supervisor's (a group signal) before a handoff. */
const GROUP_SIGNAL_WINDOW_MS = 200;
/** How long a worker that failed to become ready may take to exit after being told to drain. */
const NOT_READY_KILL_MS = 2_000;
/** The most workers scale() sets (the `workers` option's own limit). */
const MAX_WORKERS = 1024;
/** After a recycle whose successor failed to start, the worker keeps serving this long before the next try. */
const RECYCLE_RETRY_MS = 10_000;
/** How often the supervisor checks heartbeats and the crash window. */
const WATCHDOG_INTERVAL_MS = 1_000;

export interface SupervisorOptions {
  config: Config;
  app: string;
  cwd: string;
  /** Listening sockets the supervisor inherited, handed to every worker (see WorkerInit). */
  inheritedFds?: readonly InheritedFd[];
  log: Logger;
  /** Ends the process with a status (after a crash loop, a second signal, a finished shutdown). */
  exit: (code: number) => void;
}

export class Supervisor extends EventEmitter<SupervisorEvents> {
  readonly startedAt = Date.now();
  readonly #config: Config;
  readonly #app: string;
  readonly #cwd: string;
  readonly #inheritedFds: readonly InheritedFd[];
  readonly #log: Logger;
  readonly #exit: (code: number) => void;
  #state: SupervisorState = 'starting';
  /** The generation that serves (the newest that became ready). */
  #generation = 0;
  /** The last generation number handed out (a failed reload uses one up too). */
  #lastGeneration = 0;
  readonly #workers = new Set<WorkerProcess>();
  #nextWorkerId = 0;
  /** How many workers the serving generation should have. */
  #desired: number;
  /** Settles when the running reload has finished, old generation drained included. */
  #reloadDone: Promise<void> | undefined;
  #queuedReload: Promise<ReloadOutcome> | undefined;
  #abortReload: AbortController | undefined;
  #crashTimes: number[] = [];
  /** Replacement workers in a row that died before they were ready: the restart backoff's exponent. */
  #bootFailures = 0;
  #inCrashLoop = false;
  #watchdog: NodeJS.Timeout | undefined;
  #stopping: Promise<number> | undefined;
  #url: string | undefined;

  constructor(options: SupervisorOptions) {
    super();
    this.#config = options.config;
    this.#desired = options.config.workers;
    this.#app = options.app;
    this.#cwd = options.cwd;
    this.#inheritedFds = options.inheritedFds ?? [];
    this.#log = options.log;
    this.#exit = options.exit;
  }

  get state(): SupervisorState {
    return this.#state;
  }

  get url(): string | undefined {
    return this.#url;
  }

  /** The serving generation. */
  get generation(): number {
    return this.#generation;
  }

  /** The wanted number of workers. */
  get workersWanted(): number {
    return this.#desired;
  }

  /** Starts generation 0; rejects with the first worker's failure if it cannot start. */
  async start(): Promise<void> {
    this.#watchdog = setInterval(() => this.#watch(), WATCHDOG_INTERVAL_MS).unref();
    const fresh = this.#spawnGeneration(0);
    try {
      await this.#allReady(fresh, undefined);
    } catch (err) {
      if (this.#state !== 'starting') return; // a signal stopped the start; stop() ends the process
      this.#state = 'stopping';
      for (const worker of fresh) worker.kill();
      await Promise.all(fresh.map((w) => w.exited));
      this.#state = 'stopped';
      clearInterval(this.#watchdog);
      const code = (err as { code?: ErrorCodeType }).code ?? ErrorCode.STARTUP_TIMEOUT;
      throw new PounceError(code, `No worker could start: ${(err as Error).message}`);
    }
    if (this.#state !== 'starting') return;
    this.#url = fresh[0]?.url;
    this.#state = 'serving';
    this.#log.event('listening', { url: this.#url ?? '?', workers: fresh.length });
    this.emit('ready', { generation: 0, workers: fresh.length });
    // SIGTTIN/SIGTTOU during the start changed the wanted count.
    this.#rebalance();
  }

  /** Applies SIGNAL_TABLE. */
  handleSignal(signal: SupervisorSignal): void {
    this.#apply(signal, 'signal');
  }

  /**
   * `pounce stop`: what SIGTERM does — except that a stop while already stopping only waits (a
   * retried deploy script must not turn a graceful shutdown into an immediate one).
   */
  requestStop(): void {
    if (this.#state === 'stopping' || this.#state === 'stopped') return;
    this.#apply('SIGTERM', 'control');
  }

  #apply(signal: SupervisorSignal, origin: 'signal' | 'control'): void {
    const exit = this.#exit;
    const action = SIGNAL_TABLE[this.#state][signal];
    switch (action) {
      case 'reload':
      case 'queueReload':
        this.#log.event('reloadSignal');
        void this.reload();
        return;
      case 'shutdown':
      case 'abortReloadAndShutdown':
        if (origin === 'control') this.#log.event('stopRequested');
        else this.#log.event('signalShutdown', { signal });
        void this.stop(0).then(exit);
        return;
      case 'exitNow':
        this.#log.event('signalForce', { signal });
        for (const worker of this.#workers) worker.kill();
        exit(1);
        return;
      case 'scaleUp':
      case 'scaleDown': {
        const wanted = this.#desired + (action === 'scaleUp' ? 1 : -1);
        void this.scale(wanted, `Received ${signal}`);
        return;
      }
      case 'upgrade':
        this.emit('upgradeSignal');
        return;
      case 'ignore':
        if (signal === 'SIGHUP') this.#log.event('reloadIgnored', { state: this.#state });
        else this.#log.event('signalIgnored', { signal, state: this.#state });
        return;
    }
  }

  /**
   * Sets the number of workers (at least 1). Serving: new workers join the serving generation (the
   * promise settles when they are ready), surplus ones drain as in a reload (the promise settles
   * when they were told to). Starting or reloading: the number applies once serving again.
   */
  async scale(workers: number, via: string): Promise<ScaleOutcome> {
    if (this.#state === 'stopping' || this.#state === 'stopped') {
      this.#log.event('signalIgnored', { signal: via, state: this.#state });
      return { ok: false, reason: `the server is ${this.#state}` };
    }
    const previous = this.#desired;
    const wanted = Math.max(1, Math.min(MAX_WORKERS, Math.trunc(workers)));
    if (wanted === previous) {
      this.#log.event('scaleUnchanged', { via, workers: wanted, minimum: workers < 1 });
      return { ok: true, workers: wanted, previous };
    }
    this.#desired = wanted;
    this.#log.event('scaling', { via, previous, workers: wanted });
    this.emit('scaled', { workers: wanted, previous });
    if (this.#state !== 'serving') {
      this.#log.event('scaleDeferred', { workers: wanted, state: this.#state });
      return { ok: true, workers: wanted, previous };
    }
    // A new worker that cannot start (broken code on disk) is not a crash to restart in a loop: it is
    // stopped and the wanted count goes back down by one.
    let failed = 0;
    await Promise.all(
      this.#rebalance().map((worker) =>
        worker.ready.catch(() => {
          // A worker pounce itself retired meanwhile (a second scale) did not fail.
          if (worker.exitExpected) return;
          failed++;
          worker.kill();
        }),
      ),
    );
    if (failed > 0 && this.#state === 'serving') {
      const before = this.#desired;
      this.#desired = Math.max(1, this.#desired - failed);
      this.emit('scaled', { workers: this.#desired, previous: before });
    }
    if (failed > 0) {
      return {
        ok: false,
        reason: `${failed} new worker(s) failed to start (see the server's log); running ${this.#current().length}`,
      };
    }
    return { ok: true, workers: wanted, previous };
  }

  /**
   * Reloads: spawn a new generation, wait until all of it is ready, then drain the old one.
   * Resolves at the cutover — the new generation serving, the old one told to drain — or with the
   * failure; the old generation's drain goes on after that (the reload is complete when it ends,
   * and is logged then). During a reload, further requests share one queued reload.
   */
  reload(): Promise<ReloadOutcome> {
    if (this.#state === 'reloading' && this.#reloadDone) {
      if (!this.#queuedReload) {
        this.#log.event('reloadQueued');
        this.#queuedReload = this.#reloadDone.then(() => {
          this.#queuedReload = undefined;
          return this.#beginReload();
        });
      }
      return this.#queuedReload;
    }
    return this.#beginReload();
  }

  #beginReload(): Promise<ReloadOutcome> {
    if (this.#state !== 'serving') {
      this.#log.event('reloadIgnored', { state: this.#state });
      return Promise.resolve({ ok: false, reason: `the server is ${this.#state}` });
    }
    let report: (outcome: ReloadOutcome) => void = () => {};
    const outcome = new Promise<ReloadOutcome>((resolve) => {
      report = resolve;
    });
    this.#reloadDone = this.#runReload(report)
      .catch((err: unknown) => {
        // A bug or a failed fork must not leave the server stuck in "reloading" with nobody answered.
        const reason = `internal error: ${err instanceof Error ? err.message : String(err)}`;
        this.#log.event('reloadFailed', { reason });
        report({ ok: false, reason });
        if (this.#state === 'reloading') this.#state = 'serving';
      })
      .finally(() => {
        this.#reloadDone = undefined;
      });
    return outcome;
  }

  async #runReload(report: (outcome: ReloadOutcome) => void): Promise<void> {
    this.#state = 'reloading';
    const abort = new AbortController();
    this.#abortReload = abort;
    const oldGeneration = this.#generation;
    const newGeneration = ++this.#lastGeneration;
    this.#log.event('spawning', { workers: this.#desired, generation: newGeneration });
    this.emit('reloadStarted', {
      generation: newGeneration,
      budgetMs: reloadBudgetMs(this.#config),
    });
    const finish = (outcome: ReloadOutcome) => {
      report(outcome);
      this.emit('reloadFinished', outcome);
    };
    const fresh = this.#spawnGeneration(newGeneration);
    try {
      await this.#allReady(fresh, abort.signal);
    } catch (err) {
      if (abort.signal.aborted) {
        // stop() is already draining every worker, these included.
        this.#log.event('reloadAborted');
        finish({ ok: false, reason: 'aborted by shutdown' });
        return;
      }
      const reason = (err as Error).message;
      this.#log.event('reloadFailed', { reason });
      finish({ ok: false, reason });
      // Workers that became ready may already have accepted connections on the shared socket: drain
      // them like an old generation. The others are told to drain too (one whose `ready` is still
      // in flight may have listened; one still importing exits at once) and killed if they hang.
      const ready = fresh.filter((w) => w.wasReady);
      for (const worker of fresh) {
        if (worker.wasReady || !worker.alive) continue;
        worker.drain('reload');
        setTimeout(() => worker.kill(), NOT_READY_KILL_MS).unref();
      }
      await this.#retire(ready, 'reload');
      // A SIGTERM during that retire started the shutdown: the state is stopping now, not ours to reset.
      if ((this.#state as SupervisorState) !== 'reloading') return;
      this.#state = 'serving';
      this.#rebalance();
      return;
    }
    if (abort.signal.aborted) {
      this.#log.event('reloadAborted');
      finish({ ok: false, reason: 'aborted by shutdown' });
      return;
    }

    this.#generation = newGeneration;
    const old = [...this.#workers].filter((w) => w.generation !== newGeneration && !w.exitExpected);
    this.#log.event('drainingOld', { generation: oldGeneration });
    finish({ ok: true, generation: newGeneration });
    await this.#retire(old, 'reload');
    if (this.#state === 'reloading') {
      const workers = this.#current().length;
      this.#log.event('reloadComplete', { workers, generation: newGeneration });
      this.#state = 'serving';
      this.emit('reloadComplete', { generation: newGeneration, workers });
      this.#rebalance();
    }
  }

  /** Graceful shutdown of every worker in parallel. Resolves with the exit status. */
  stop(exitCode = 0): Promise<number> {
    return this.#end('shutdown', exitCode);
  }

  /**
   * The end of an upgrade (src/upgrade/): a new supervisor serves on the same sockets now. Every
   * worker drains as in a reload — it stops accepting at once, so new connections go to the new
   * supervisor's workers, and finishes what it has — and none is replaced. Resolves once all exited.
   */
  handOver(): Promise<number> {
    return this.#end('handOver', 0);
  }

  /** Retires every worker, once: a shutdown (health 503, systemd told) or an upgrade's hand-over. */
  #end(how: 'shutdown' | 'handOver', exitCode: number): Promise<number> {
    this.#stopping ??= (async () => {
      this.#state = 'stopping';
      if (how === 'shutdown') this.emit('stopping', { budgetMs: this.#retireBudgetMs('shutdown') });
      this.#abortReload?.abort();
      const live = [...this.#workers];
      this.#log.event(how === 'shutdown' ? 'shuttingDown' : 'handingOver', { workers: live.length });
      await this.#retire(live, how === 'shutdown' ? 'shutdown' : 'reload');
      this.#state = 'stopped';
      clearInterval(this.#watchdog);
      this.#log.event('allStopped');
      return exitCode;
    })();
    return this.#stopping;
  }

  async status(): Promise<StatusReport> {
    const now = Date.now();
    const workers = await Promise.all(
      [...this.#workers].map(async (w) => ({
        id: w.id,
        pid: w.pid,
        generation: w.generation,
        state: w.unresponsive && w.alive ? 'unresponsive' : w.state,
        connections: (await w.connections()) ?? null,
        uptimeSeconds: Math.round((now - w.startedAt) / 1000),
      })),
    );
    workers.sort((a, b) => a.id - b.id);
    return {
      pid: process.pid,
      state: this.#state,
      generation: this.#generation,
      workersWanted: this.#desired,
      url: this.#url,
      uptimeSeconds: Math.round((now - this.startedAt) / 1000),
      crashesLastMinute: this.#recentCrashes(now).length,
      crashLoop: this.#inCrashLoop,
      workers,
    };
  }

  #current(): WorkerProcess[] {
    return [...this.#workers].filter((w) => w.generation === this.#generation && !w.exitExpected);
  }

  #spawnGeneration(generation: number): WorkerProcess[] {
    return Array.from({ length: this.#desired }, () => this.#spawn(generation));
  }

  #spawn(generation: number): WorkerProcess {
    const worker = new Worker({
      workerId: this.#nextWorkerId++,
      generation,
      app: this.#app,
      cwd: this.#cwd,
      config: this.#config,
      inheritedFds: this.#inheritedFds,
    });
    this.#workers.add(worker);
    this.#log.event('workerSpawned', { worker: worker.id, generation, pid: worker.pid });
    worker.ready.then(
      () => {
        this.#bootFailures = 0;
        this.#log.event('workerReady', { worker: worker.id, generation, url: worker.url ?? '?' });
      },
      (err: Error & { code?: string }) => {
        if (!worker.exitExpected) {
          this.#log.event('workerFailed', {
            worker: worker.id,
            generation,
            code: err.code ?? ErrorCode.WORKER,
            reason: err.message,
          });
        }
      },
    );
    worker.exited.then((info) => this.#onExit(worker, describeExit(info)));
    // A signal sent to the whole process group reaches the worker and the supervisor together, and
    // the worker's report can arrive first: give the supervisor's own signal a moment to arrive (its
    // shutdown then retires everyone) before treating this as a request to replace one worker.
    worker.onSignalled = (signal) => {
      setTimeout(() => void this.#replace(worker, `it received ${signal}`), GROUP_SIGNAL_WINDOW_MS);
    };
    worker.onRecycle = (reason) => this.#recycle(worker, reason);
    worker.onFatal = (error) => this.#onFatal(worker, error);
    worker.onResponsive = () =>
      this.#log.event('workerResponsive', {
        worker: worker.id,
        generation: worker.generation,
        seconds: Math.round((Date.now() - worker.lastHeartbeat) / 1000),
      });
    return worker;
  }

  /**
   * Waits until every worker is ready. Rejects with the first failure, or when one is not ready
   * within startupTimeout (the worker enforces it too; this catches a worker whose event loop is
   * blocked), or when `abort` fires.
   */
  async #allReady(workers: WorkerProcess[], abort: AbortSignal | undefined): Promise<void> {
    const seconds = this.#config.startupTimeout;
    const aborted = new Promise<never>((_, reject) => {
      abort?.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
    });
    await withTimeout(
      Promise.race([Promise.all(workers.map((w) => w.ready)), aborted]),
      seconds * 1000 + 1000,
      () =>
        new PounceError(
          ErrorCode.STARTUP_TIMEOUT,
          `a worker did not become ready within startupTimeout (${seconds}s)`,
        ),
    );
    // Ready once is not enough: a worker whose code throws right after listening has died by now.
    const dead = workers.find((w) => !w.alive);
    if (dead) throw new Error(`worker ${dead.id} exited right after it became ready`);
  }

  /**
   * Drains `workers` and waits until they have exited. Each worker reports `drained`, is released
   * to exit, and is killed if it outlives its deadline (plus hooks and slack).
   */
  async #retire(workers: WorkerProcess[], reason: 'reload' | 'shutdown'): Promise<void> {
    const c = this.#config;
    const [timeoutName, seconds] =
      reason === 'reload'
        ? (['reloadTimeout', c.reloadTimeout] as const)
        : (['shutdownTimeout', c.shutdownTimeout] as const);

    await Promise.all(
      workers.map(async (worker) => {
        if (!worker.alive) return;
        worker.drain(reason);
        // A worker already draining for a reload keeps that drain's deadline (drains run once).
        const budgetMs = Math.max(
          this.#retireBudgetMs(reason),
          this.#retireBudgetMs(worker.drainReason ?? reason),
        );
        const since = Date.now();
        const backstop = setTimeout(() => {
          const waitedSeconds = Math.round((Date.now() - since) / 1000);
          this.#log.event('workerKilled', { worker: worker.id, timeoutName, seconds, waitedSeconds });
          worker.kill();
        }, budgetMs);
        void worker.drained.then(() => {
          if (reason === 'reload' && worker.alive) {
            this.#log.event('workerIdle', { worker: worker.id, generation: worker.generation });
          }
          worker.release();
        });
        await worker.exited;
        clearTimeout(backstop);
      }),
    );
  }

  /** The longest a worker may take to drain and exit before the supervisor kills it. */
  #retireBudgetMs(reason: 'reload' | 'shutdown'): number {
    return retireBudgetMs(this.#config, reason);
  }

  #onExit(worker: WorkerProcess, exit: string): void {
    this.#workers.delete(worker);
    if (this.#state === 'stopping' || this.#state === 'stopped' || worker.exitExpected) {
      this.#log.event('workerStopped', { worker: worker.id });
      return;
    }
    this.#log.event('workerCrashed', { worker: worker.id, generation: worker.generation, exit });
    // During boot, and during a reload before its cutover, the waiting code sees the failure itself.
    if (!this.#servingGenerationSettled() || worker.generation !== this.#generation) return;
    if (!worker.wasReady) this.#bootFailures++;
    this.#crashed();
  }

  /**
   * App code in `worker` threw an uncaught exception: the worker has stopped accepting and drains its
   * requests in flight for a short time. It counts as a crash; a replacement is started (after the
   * crash backoff) while it drains, and it is released to exit like any retiring worker.
   */
  #onFatal(worker: WorkerProcess, error: string): void {
    if (worker.exitExpected) return; // already retiring: its drain is running anyway
    this.#log.event('workerFatal', { worker: worker.id, generation: worker.generation, error });
    worker.exitExpected = true;
    void this.#retire([worker], 'reload');
    if (this.#state === 'stopping' || this.#state === 'stopped') return;
    if (!this.#servingGenerationSettled() || worker.generation !== this.#generation) return;
    this.#crashed();
  }

  /**
   * A worker of the serving generation crashed: count it, report a crash loop, and bring the
   * generation back to strength after the backoff. The backoff grows only while replacements fail
   * to boot (doubling from RESTART_BASE_DELAY_MS, capped at RESTART_MAX_DELAY_MS): broken code on
   * disk must not become a fork storm, but a worker that crashed after serving (a request hit a bug)
   * is replaced at once, since the code is known to boot. Only with exitOnCrashLoop does a crash
   * loop end the server.
   */
  #crashed(): void {
    const now = Date.now();
    this.#crashTimes = this.#recentCrashes(now);
    this.#crashTimes.push(now);
    const crashes = this.#crashTimes.length;
    const seconds = CRASH_WINDOW_MS / 1000;
    const delayMs = Math.min(RESTART_BASE_DELAY_MS * 2 ** this.#bootFailures, RESTART_MAX_DELAY_MS);
    if (crashes > MAX_CRASHES) {
      if (this.#config.exitOnCrashLoop) {
        this.#log.event('crashLoop', { crashes, seconds });
        void this.stop(1).then(this.#exit);
        return;
      }
      if (!this.#inCrashLoop) this.#log.event('crashLoopContinuing', { crashes, seconds, delayMs });
      this.#inCrashLoop = true;
    }
    this.#log.event('workerRestarting', { generation: this.#generation, delayMs });
    setTimeout(() => this.#rebalance(), delayMs);
  }

  #recentCrashes(now: number): number[] {
    return this.#crashTimes.filter((t) => now - t < CRASH_WINDOW_MS);
  }

  /**
   * Once a second: a ready worker whose heartbeat is older than workerTimeout is reported and
   * replaced through the handoff (its successor is ready before it is told to drain); if it stays
   * silent for another workerTimeout it is killed (a stopped or blocked process never drains). And
   * the end of a crash loop is reported once no crash is left in the window.
   */
  #watch(): void {
    const now = Date.now();
    const limitMs = this.#config.workerTimeout * 1000;
    for (const worker of this.#workers) {
      if (!worker.wasReady || !worker.alive || worker.unresponsive) continue;
      if (now - worker.lastHeartbeat <= limitMs) continue;
      worker.unresponsive = true;
      const ids = { worker: worker.id, generation: worker.generation };
      this.#log.event('workerUnresponsive', {
        ...ids,
        seconds: Math.round((now - worker.lastHeartbeat) / 1000),
      });
      void this.#replace(worker, `it did not answer for ${this.#config.workerTimeout}s (workerTimeout)`);
      setTimeout(() => {
        if (!worker.alive || !worker.unresponsive) return;
        this.#log.event('workerKilledUnresponsive', {
          ...ids,
          seconds: Math.round((Date.now() - worker.lastHeartbeat) / 1000),
        });
        worker.kill();
      }, limitMs).unref();
    }
    if (this.#inCrashLoop && this.#recentCrashes(now).length === 0) {
      this.#inCrashLoop = false;
      this.#crashTimes = [];
      this.#log.event('crashLoopEnded', { seconds: CRASH_WINDOW_MS / 1000 });
    }
  }

  /**
   * A worker past maxRequests or maxMemory asked to be replaced. Only a serving generation's worker
   * is recycled (a reload replaces every worker anyway; the worker asks again later). If the
   * successor cannot start (the code on disk is broken now), the worker keeps serving and is tried
   * again after RECYCLE_RETRY_MS, rather than shrinking the server.
   */
  #recycle(worker: WorkerProcess, reason: RecycleReason): void {
    if (this.#state !== 'serving' || worker.exitExpected || worker.generation !== this.#generation) return;
    if (Date.now() < worker.recycleNotBefore) return;
    const why =
      reason.limit === 'maxRequests'
        ? `it served ${reason.requests} requests (maxRequests ${reason.max})`
        : `its memory use (RSS ${reason.rssMegabytes} MB) exceeds maxMemory (${reason.max} MB)`;
    void this.#replace(worker, why, true);
  }

  /**
   * Replaces one worker through the same handoff as a reload: its successor is ready before it
   * drains, so the worker count never drops. When the signal went to the whole process group the
   * supervisor's own shutdown is underway (or about to be) and retires everything anyway.
   */
  async #replace(worker: WorkerProcess, why: string, keepIfSuccessorFails = false): Promise<void> {
    if ((this.#state !== 'serving' && this.#state !== 'reloading') || worker.exitExpected) return;
    worker.exitExpected = true;
    this.#log.event('workerReplacing', { worker: worker.id, generation: worker.generation, why });
    if (worker.generation === this.#generation) {
      const successor = this.#spawn(worker.generation);
      let failure: Error | undefined;
      await successor.ready.catch((err: Error) => {
        failure = err;
      });
      // stop() retires everyone.
      if ((this.#state as SupervisorState) === 'stopping' || (this.#state as SupervisorState) === 'stopped')
        return;
      if (failure && keepIfSuccessorFails && worker.alive && worker.state === 'ready') {
        successor.kill();
        worker.exitExpected = false;
        worker.recycleNotBefore = Date.now() + RECYCLE_RETRY_MS;
        this.#log.event('recycleFailed', {
          worker: worker.id,
          generation: worker.generation,
          reason: failure.message,
          retrySeconds: RECYCLE_RETRY_MS / 1000,
        });
        return;
      }
    }
    await this.#retire([worker], 'reload');
  }

  /**
   * The serving generation is the newest one: serving, or reloading after the cutover (while the old
   * generation drains). Its workers are then kept at the wanted number, crashes included.
   */
  #servingGenerationSettled(): boolean {
    return (
      this.#state === 'serving' || (this.#state === 'reloading' && this.#generation === this.#lastGeneration)
    );
  }

  /**
   * Brings the serving generation to the wanted number of workers: spawns the missing ones (and
   * returns them), or drains the surplus as in a reload (workers still starting first, then the
   * oldest).
   */
  #rebalance(): WorkerProcess[] {
    if (!this.#servingGenerationSettled()) return [];
    const current = this.#current();
    if (current.length > this.#desired) {
      const surplus = current
        .sort((a, b) => Number(a.state === 'ready') - Number(b.state === 'ready') || a.id - b.id)
        .slice(0, current.length - this.#desired);
      for (const worker of surplus) worker.exitExpected = true;
      void this.#retire(surplus, 'reload');
      return [];
    }
    return Array.from({ length: this.#desired - current.length }, () => this.#spawn(this.#generation));
  }
}
