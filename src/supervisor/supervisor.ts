// The supervisor: runs generations of workers on the listening socket this process holds, swaps
// generations on reload without dropping a request, replaces crashed and hung workers, and shuts
// everything down gracefully.
//
// Its phase (phase.ts) is one value changed only by #enter; what every signal does in every phase
// is SIGNAL_TABLE (signal-table.ts); how many workers serve is decided in one step, #reconcile.
// Starting and stopping workers is the WorkerPool's job (worker-pool.ts), crash bookkeeping the
// CrashPolicy's (crash-policy.ts). What a worker runs in (a process today) is injected as a
// SpawnWorker, so the whole state machine is tested in-process against fake workers
// (test/supervisor-machine.test.ts).
//
// Besides reloads, one worker at a time is replaced through the same handoff (its successor is
// ready before it drains): when it is signalled directly, when it asks to be recycled (maxRequests,
// maxMemory), or when it stops answering its heartbeat. The supervisor emits its lifecycle (ready,
// reload started/finished, stopping) for the systemd integration.

import { EventEmitter } from 'node:events';
import type { Config } from '../config/options.ts';
import { reloadBudgetMs, retireBudgetMs } from '../deploy/timings.ts';
import { ErrorCode, type ErrorCode as ErrorCodeType, PounceError } from '../errors.ts';
import type { InheritedFd, RecycleReason } from '../ipc/messages.ts';
import type { Logger } from '../log/logger.ts';
import { WINDOW_MS as CRASH_WINDOW_MS, CrashPolicy } from './crash-policy.ts';
import type { Phase, PhaseName } from './phase.ts';
import { spawnProcessWorker } from './process-transport.ts';
import { SIGNAL_TABLE, type SupervisorSignal } from './signal-table.ts';
import { type StatusReport, workerStatuses } from './status.ts';
import type { WorkerHandle } from './worker-handle.ts';
import { WorkerPool } from './worker-pool.ts';
import type { SpawnWorker } from './worker-transport.ts';

export type { SupervisorSignal } from './signal-table.ts';
export { SIGNAL_TABLE } from './signal-table.ts';
export type { StatusReport, WorkerStatus } from './status.ts';
export type SupervisorState = PhaseName;

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
  /** Starts one worker; a process by default (the tests inject fakes). */
  spawnWorker?: SpawnWorker;
}

export class Supervisor extends EventEmitter<SupervisorEvents> {
  readonly startedAt = Date.now();
  readonly #config: Config;
  readonly #log: Logger;
  readonly #exit: (code: number) => void;
  readonly #pool: WorkerPool;
  readonly #crashes = new CrashPolicy();
  #phase: Phase = { name: 'starting' };
  /** The generation that serves (the newest that became ready). */
  #generation = 0;
  /** The last generation number handed out (a failed reload uses one up too). */
  #lastGeneration = 0;
  /** How many workers the serving generation should have. */
  #desired: number;
  /** Settles when the running reload has finished, old generation drained included. */
  #reloadDone: Promise<void> | undefined;
  #queuedReload: Promise<ReloadOutcome> | undefined;
  #stopping: Promise<number> | undefined;
  #watchdog: NodeJS.Timeout | undefined;
  #url: string | undefined;

  constructor(options: SupervisorOptions) {
    super();
    this.#config = options.config;
    this.#desired = options.config.workers;
    this.#log = options.log;
    this.#exit = options.exit;
    this.#pool = new WorkerPool({
      config: options.config,
      app: options.app,
      cwd: options.cwd,
      inheritedFds: options.inheritedFds ?? [],
      log: options.log,
      spawnWorker: options.spawnWorker ?? spawnProcessWorker,
      events: {
        ready: () => this.#crashes.workerReady(),
        exited: (worker, exit) => this.#onExit(worker, exit),
        // A signal sent to the whole process group reaches the worker and the supervisor together,
        // and the worker's report can arrive first: give the supervisor's own signal a moment to
        // arrive (its shutdown then retires everyone) before replacing this one worker.
        signalled: (worker, signal) =>
          setTimeout(() => void this.#replace(worker, `it received ${signal}`), GROUP_SIGNAL_WINDOW_MS),
        recycle: (worker, reason) => this.#recycle(worker, reason),
        fatal: (worker, error) => this.#onFatal(worker, error),
      },
    });
  }

  get state(): PhaseName {
    return this.#phase.name;
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

  /** The one place the phase changes. */
  #enter(phase: Phase): void {
    this.#phase = phase;
  }

  /** Starts generation 0; rejects with the first worker's failure if it cannot start. */
  async start(): Promise<void> {
    this.#watchdog = setInterval(() => this.#watch(), WATCHDOG_INTERVAL_MS).unref();
    const fresh = this.#pool.spawnGeneration(0, this.#desired);
    try {
      await this.#pool.allReady(fresh, undefined);
    } catch (err) {
      if (this.#phase.name !== 'starting') return; // a signal stopped the start; stop() ends the process
      this.#enter({ name: 'stopping' });
      for (const worker of fresh) worker.kill();
      await Promise.all(fresh.map((w) => w.exited));
      this.#enter({ name: 'stopped' });
      clearInterval(this.#watchdog);
      const code = (err as { code?: ErrorCodeType }).code ?? ErrorCode.STARTUP_TIMEOUT;
      throw new PounceError(code, `No worker could start: ${(err as Error).message}`);
    }
    if (this.#phase.name !== 'starting') return;
    this.#url = fresh[0]?.url;
    this.#enter({ name: 'serving' });
    this.#log.event('listening', { url: this.#url ?? '?', workers: fresh.length });
    this.emit('ready', { generation: 0, workers: fresh.length });
    // SIGTTIN/SIGTTOU during the start changed the wanted count.
    this.#reconcile();
  }

  /** Does what SIGNAL_TABLE says `signal` does now. */
  handleSignal(signal: SupervisorSignal): void {
    this.#apply(signal, 'signal');
  }

  /**
   * `pounce stop`: what SIGTERM does — except that a stop while already stopping only waits (a
   * retried deploy script must not turn a graceful shutdown into an immediate one).
   */
  requestStop(): void {
    if (this.#shuttingDown()) return;
    this.#apply('SIGTERM', 'control');
  }

  #apply(signal: SupervisorSignal, origin: 'signal' | 'control'): void {
    const action = SIGNAL_TABLE[this.#phase.name][signal];
    switch (action) {
      case 'reload':
        this.#log.event('reloadSignal');
        void this.#beginReload();
        return;
      case 'queueReload':
        this.#log.event('reloadSignal');
        void this.#queueReload();
        return;
      case 'shutdown':
      case 'abortReloadAndShutdown':
        if (origin === 'control') this.#log.event('stopRequested');
        else this.#log.event('signalShutdown', { signal });
        // stop() aborts a reload that has not reached its cutover.
        void this.stop(0).then(this.#exit);
        return;
      case 'exitNow':
        this.#log.event('signalForce', { signal });
        this.#pool.killAll();
        this.#exit(1);
        return;
      case 'scaleUp':
      case 'scaleDown':
        void this.scale(this.#desired + (action === 'scaleUp' ? 1 : -1), `Received ${signal}`);
        return;
      case 'upgrade':
        this.emit('upgradeSignal');
        return;
      case 'ignore':
        if (signal === 'SIGHUP') this.#log.event('reloadIgnored', { state: this.#phase.name });
        else this.#log.event('signalIgnored', { signal, state: this.#phase.name });
        return;
    }
  }

  /**
   * `pounce reload` (and the file watcher): what SIGHUP does now, by SIGNAL_TABLE. Resolves at the
   * cutover — the new generation serving, the old one told to drain — or with the failure; the old
   * generation's drain goes on after that (the reload is complete when it ends, and is logged then).
   * During a reload, further requests share one queued reload.
   */
  reload(): Promise<ReloadOutcome> {
    const action = SIGNAL_TABLE[this.#phase.name].SIGHUP;
    if (action === 'reload') return this.#beginReload();
    if (action === 'queueReload') return this.#queueReload();
    return this.#reloadRefused();
  }

  #reloadRefused(): Promise<ReloadOutcome> {
    this.#log.event('reloadIgnored', { state: this.#phase.name });
    return Promise.resolve({ ok: false, reason: `the server is ${this.#phase.name}` });
  }

  #queueReload(): Promise<ReloadOutcome> {
    const running = this.#reloadDone;
    if (!running) return this.#beginReload();
    if (!this.#queuedReload) {
      this.#log.event('reloadQueued');
      this.#queuedReload = running.then(() => {
        this.#queuedReload = undefined;
        // By now the server may be stopping: the table decides again.
        return SIGNAL_TABLE[this.#phase.name].SIGHUP === 'reload'
          ? this.#beginReload()
          : this.#reloadRefused();
      });
    }
    return this.#queuedReload;
  }

  #beginReload(): Promise<ReloadOutcome> {
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
        if (this.#phase.name === 'reloading') this.#enter({ name: 'serving' });
      })
      .finally(() => {
        this.#reloadDone = undefined;
      });
    return outcome;
  }

  async #runReload(report: (outcome: ReloadOutcome) => void): Promise<void> {
    const abort = new AbortController();
    const oldGeneration = this.#generation;
    const generation = ++this.#lastGeneration;
    this.#enter({ name: 'reloading', generation, cutover: false, abort });
    this.#log.event('spawning', { workers: this.#desired, generation });
    this.emit('reloadStarted', { generation, budgetMs: reloadBudgetMs(this.#config) });
    const finish = (outcome: ReloadOutcome) => {
      report(outcome);
      this.emit('reloadFinished', outcome);
    };
    const fresh = this.#pool.spawnGeneration(generation, this.#desired);
    try {
      await this.#pool.allReady(fresh, abort.signal);
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
      for (const worker of fresh) {
        if (worker.wasReady || !worker.alive) continue;
        worker.drain('reload');
        setTimeout(() => worker.kill(), NOT_READY_KILL_MS).unref();
      }
      await this.#pool.retire(
        fresh.filter((w) => w.wasReady),
        'reload',
      );
      // A SIGTERM during that retire started the shutdown: the phase is not ours to reset.
      if (this.#phase.name !== 'reloading') return;
      this.#enter({ name: 'serving' });
      this.#reconcile();
      return;
    }
    if (abort.signal.aborted) {
      this.#log.event('reloadAborted');
      finish({ ok: false, reason: 'aborted by shutdown' });
      return;
    }

    // The cutover: the new generation serves; from now on its crashes are replaced.
    this.#generation = generation;
    this.#enter({ name: 'reloading', generation, cutover: true });
    const old = this.#pool.all.filter((w) => w.generation !== generation && !w.exitExpected);
    this.#log.event('drainingOld', { generation: oldGeneration });
    finish({ ok: true, generation });
    await this.#pool.retire(old, 'reload');
    if (this.#phase.name !== 'reloading') return;
    const workers = this.#pool.active(generation).length;
    this.#log.event('reloadComplete', { workers, generation });
    this.#enter({ name: 'serving' });
    this.emit('reloadComplete', { generation, workers });
    this.#reconcile();
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
      const phase = this.#phase;
      this.#enter({ name: 'stopping' });
      if (how === 'shutdown') this.emit('stopping', { budgetMs: retireBudgetMs(this.#config, 'shutdown') });
      if (phase.name === 'reloading' && !phase.cutover) phase.abort.abort();
      const live = this.#pool.all;
      this.#log.event(how === 'shutdown' ? 'shuttingDown' : 'handingOver', { workers: live.length });
      await this.#pool.retire(live, how === 'shutdown' ? 'shutdown' : 'reload');
      this.#enter({ name: 'stopped' });
      clearInterval(this.#watchdog);
      this.#log.event('allStopped');
      return exitCode;
    })();
    return this.#stopping;
  }

  /**
   * Sets the number of workers (at least 1). Serving: new workers join the serving generation (the
   * promise settles when they are ready), surplus ones drain as in a reload (the promise settles
   * when they were told to). Starting or reloading: the number applies once serving again.
   */
  async scale(workers: number, via: string): Promise<ScaleOutcome> {
    const phase = this.#phase.name;
    if (phase === 'stopping' || phase === 'stopped') {
      this.#log.event('signalIgnored', { signal: via, state: phase });
      return { ok: false, reason: `the server is ${phase}` };
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
    if (phase !== 'serving') {
      this.#log.event('scaleDeferred', { workers: wanted, state: phase });
      return { ok: true, workers: wanted, previous };
    }
    // A new worker that cannot start (broken code on disk) is not a crash to restart in a loop: it is
    // stopped and the wanted count goes back down by one.
    let failed = 0;
    await Promise.all(
      this.#reconcile().map((worker) =>
        worker.ready.catch(() => {
          // A worker pounce itself retired meanwhile (a second scale) did not fail.
          if (worker.exitExpected) return;
          failed++;
          worker.kill();
        }),
      ),
    );
    if (failed === 0) return { ok: true, workers: wanted, previous };
    if (this.#phase.name === 'serving') {
      const before = this.#desired;
      this.#desired = Math.max(1, this.#desired - failed);
      this.emit('scaled', { workers: this.#desired, previous: before });
    }
    const running = this.#pool.active(this.#generation).length;
    return {
      ok: false,
      reason: `${failed} new worker(s) failed to start (see the server's log); running ${running}`,
    };
  }

  async status(): Promise<StatusReport> {
    const now = Date.now();
    return {
      pid: process.pid,
      state: this.#phase.name,
      generation: this.#generation,
      workersWanted: this.#desired,
      url: this.#url,
      uptimeSeconds: Math.round((now - this.startedAt) / 1000),
      crashesLastMinute: this.#crashes.crashesInWindow,
      crashLoop: this.#crashes.inLoop,
      workers: await workerStatuses(this.#pool.all, now),
    };
  }

  #shuttingDown(): boolean {
    return this.#phase.name === 'stopping' || this.#phase.name === 'stopped';
  }

  /**
   * The serving generation is the newest one: serving, or reloading after the cutover (while the old
   * generation drains). Its workers are then kept at the wanted number, crashes included.
   */
  #servingGenerationSettled(): boolean {
    const phase = this.#phase;
    return phase.name === 'serving' || (phase.name === 'reloading' && phase.cutover);
  }

  /**
   * The one step that decides how many workers serve: brings the serving generation to the wanted
   * number — spawns the missing ones (and returns them), or drains the surplus as in a reload
   * (workers still starting first, then the oldest). Does nothing while a generation is starting.
   */
  #reconcile(): WorkerHandle[] {
    if (!this.#servingGenerationSettled()) return [];
    const current = this.#pool.active(this.#generation);
    if (current.length > this.#desired) {
      const surplus = current
        .sort((a, b) => Number(a.state === 'ready') - Number(b.state === 'ready') || a.id - b.id)
        .slice(0, current.length - this.#desired);
      for (const worker of surplus) worker.exitExpected = true;
      void this.#pool.retire(surplus, 'reload');
      return [];
    }
    return Array.from({ length: this.#desired - current.length }, () => this.#pool.spawn(this.#generation));
  }

  #onExit(worker: WorkerHandle, exit: string): void {
    if (this.#shuttingDown() || worker.exitExpected) {
      this.#log.event('workerStopped', { worker: worker.id });
      return;
    }
    this.#log.event('workerCrashed', { worker: worker.id, generation: worker.generation, exit });
    // During boot, and during a reload before its cutover, the waiting code sees the failure itself.
    if (!this.#servingGenerationSettled() || worker.generation !== this.#generation) return;
    this.#crashed(!worker.wasReady);
  }

  /**
   * App code in `worker` threw an uncaught exception: the worker has stopped accepting and drains its
   * requests in flight for a short time. It counts as a crash; a replacement is started (after the
   * crash backoff) while it drains, and it is released to exit like any retiring worker.
   */
  #onFatal(worker: WorkerHandle, error: string): void {
    if (worker.exitExpected) return; // already retiring: its drain is running anyway
    this.#log.event('workerFatal', { worker: worker.id, generation: worker.generation, error });
    worker.exitExpected = true;
    void this.#pool.retire([worker], 'reload');
    if (!this.#servingGenerationSettled() || worker.generation !== this.#generation) return;
    this.#crashed(false);
  }

  /** A worker of the serving generation crashed: ask the crash policy, then reconcile after its delay. */
  #crashed(beforeReady: boolean): void {
    const verdict = this.#crashes.crashed(beforeReady);
    const seconds = CRASH_WINDOW_MS / 1000;
    if (verdict.inLoop && this.#config.exitOnCrashLoop) {
      this.#log.event('crashLoop', { crashes: verdict.crashes, seconds });
      void this.stop(1).then(this.#exit);
      return;
    }
    if (verdict.loopStarted) {
      this.#log.event('crashLoopContinuing', { crashes: verdict.crashes, seconds, delayMs: verdict.delayMs });
    }
    this.#log.event('workerRestarting', { generation: this.#generation, delayMs: verdict.delayMs });
    setTimeout(() => this.#reconcile(), verdict.delayMs);
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
    for (const worker of this.#pool.all) {
      if (!worker.wasReady || !worker.alive || worker.unresponsive) continue;
      if (now - worker.lastHeartbeat <= limitMs) continue;
      worker.unresponsive = true;
      const ids = { worker: worker.id, generation: worker.generation };
      const silentSeconds = () => Math.round((Date.now() - worker.lastHeartbeat) / 1000);
      this.#log.event('workerUnresponsive', { ...ids, seconds: silentSeconds() });
      void this.#replace(worker, `it did not answer for ${this.#config.workerTimeout}s (workerTimeout)`);
      setTimeout(() => {
        if (!worker.alive || !worker.unresponsive) return;
        this.#log.event('workerKilledUnresponsive', { ...ids, seconds: silentSeconds() });
        worker.kill();
      }, limitMs).unref();
    }
    if (this.#crashes.loopEnded()) this.#log.event('crashLoopEnded', { seconds: CRASH_WINDOW_MS / 1000 });
  }

  /**
   * A worker past maxRequests or maxMemory asked to be replaced. Only a serving generation's worker
   * is recycled (a reload replaces every worker anyway; the worker asks again later). If the
   * successor cannot start (the code on disk is broken now), the worker keeps serving and is tried
   * again after RECYCLE_RETRY_MS, rather than shrinking the server.
   */
  #recycle(worker: WorkerHandle, reason: RecycleReason): void {
    if (this.#phase.name !== 'serving' || worker.exitExpected || worker.generation !== this.#generation)
      return;
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
  async #replace(worker: WorkerHandle, why: string, keepIfSuccessorFails = false): Promise<void> {
    const phase = this.#phase.name;
    if ((phase !== 'serving' && phase !== 'reloading') || worker.exitExpected) return;
    worker.exitExpected = true;
    this.#log.event('workerReplacing', { worker: worker.id, generation: worker.generation, why });
    if (worker.generation === this.#generation) {
      const successor = this.#pool.spawn(worker.generation);
      let failure: Error | undefined;
      await successor.ready.catch((err: Error) => {
        failure = err;
      });
      if (this.#shuttingDown()) return; // stop() retires everyone

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
    await this.#pool.retire([worker], 'reload');
  }
}
