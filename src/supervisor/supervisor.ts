// The supervisor: runs generations of workers on the listening socket this process holds, swaps
// generations on reload without dropping a request, replaces crashed and hung workers, and shuts
// everything down gracefully.
//
// Its phase (phase.ts) is one value changed only by #enter; what every signal does in every phase
// is SIGNAL_TABLE (signal-table.ts); how many workers serve is decided in one step (reconcile.ts).
// Around it, one file per role: reloads.ts (a generation swap), handoffs.ts (one worker replaced:
// signalled, recycled, unresponsive), worker-pool.ts (starting and stopping workers),
// crash-policy.ts (backoff and crash loops), scaling.ts (changing the wanted count). What a worker runs in (a process today) is injected
// as a SpawnWorker, so the whole state machine is tested in-process against fake workers
// (test/supervisor-machine.test.ts). The supervisor emits its lifecycle (events.ts) for the
// systemd integration, the upgrade module and the control socket.

import type { ServerEvent } from '../app/lifecycle.ts';
import type { Config } from '../config/options.ts';
import { retireBudgetMs } from '../deploy/timings.ts';
import { ErrorCode, type ErrorCode as ErrorCodeType, PounceError } from '../errors.ts';
import type { InheritedFd } from '../ipc/messages.ts';
import type { Logger } from '../log/logger.ts';
import { bootPriority } from './boot-priority.ts';
import { WINDOW_MS as CRASH_WINDOW_MS, CrashPolicy } from './crash-policy.ts';
import type { ReloadOutcome, ScaleOutcome, SupervisorEvents } from './events.ts';
import { Handoffs } from './handoffs.ts';
import type { Phase, PhaseName } from './phase.ts';
import { spawnProcessWorker } from './process-transport.ts';
import { reconcilePlan, servingGenerationSettled } from './reconcile.ts';
import { Reloads } from './reloads.ts';
import { type ScaleHost, scaleTo } from './scaling.ts';
import { SIGNAL_TABLE, type SupervisorSignal } from './signal-table.ts';
import { type StatusReport, workerStatuses } from './status.ts';
import type { WorkerHandle } from './worker-handle.ts';
import { WorkerPool } from './worker-pool.ts';
import type { SpawnWorker } from './worker-transport.ts';

const { EventEmitter } = process.getBuiltinModule('node:events');

export type { SupervisorSignal } from './signal-table.ts';
export { SIGNAL_TABLE } from './signal-table.ts';
export type { StatusReport, WorkerStatus } from './status.ts';
export type SupervisorState = PhaseName;
export type { ReloadOutcome, ScaleOutcome, SupervisorEvents } from './events.ts';

/** How long a worker's own SIGTERM/SIGINT waits for the supervisor's (a group signal) before a handoff. */
const GROUP_SIGNAL_WINDOW_MS = 200;
/** How often the supervisor checks heartbeats and the crash window, and samples the serving workers' CPU use. */
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
  /** Whether and to what workers booting while others serve restore their priority (boot-priority.ts). */
  bootPriority?: () => number | undefined;
}

export class Supervisor extends EventEmitter<SupervisorEvents> {
  readonly startedAt = Date.now();
  readonly #config: Config;
  readonly #log: Logger;
  readonly #exit: (code: number) => void;
  readonly #pool: WorkerPool;
  readonly #crashes = new CrashPolicy();
  readonly #handoffs: Handoffs;
  readonly #reloads: Reloads;
  readonly #scaleHost: ScaleHost;
  #phase: Phase = { name: 'starting' };
  /** The generation that serves (the newest that became ready). */
  #generation = 0;
  /** The last generation number handed out (a failed reload uses one up too). */
  #lastGeneration = 0;
  /** How many workers the serving generation should have. */
  #desired: number;
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
      bootPriority: options.bootPriority ?? bootPriority,
      // Process workers (process-transport.ts holds them); threads share the one host process.
      holdBootCpus: options.spawnWorker === undefined,
      events: {
        ready: () => this.#crashes.workerReady(),
        exited: (worker, exit) => this.#onExit(worker, exit),
        // A signal sent to the whole process group reaches the worker and the supervisor together,
        // and the worker's report can arrive first: give the supervisor's own signal a moment to
        // arrive (its shutdown then retires everyone) before replacing this one worker.
        signalled: (worker, signal) =>
          setTimeout(
            () => void this.#handoffs.replace(worker, `it received ${signal}`, 'signal'),
            GROUP_SIGNAL_WINDOW_MS,
          ),
        recycle: (worker, reason) => this.#handoffs.recycle(worker, reason),
        fatal: (worker, error) => this.#onFatal(worker, error),
        drained: (worker, seconds, forced) =>
          this.emit('workerDrained', { id: worker.id, generation: worker.generation, seconds, forced }),
      },
    });
    this.#handoffs = new Handoffs({
      config: options.config,
      log: options.log,
      pool: this.#pool,
      phase: () => this.#phase.name,
      servingGeneration: () => this.#generation,
    });
    this.#reloads = new Reloads({
      config: options.config,
      log: options.log,
      pool: this.#pool,
      phase: () => this.#phase,
      enter: (phase) => this.#enter(phase),
      workersWanted: () => this.#desired,
      servingGeneration: () => this.#generation,
      nextGeneration: () => ++this.#lastGeneration,
      cutover: (generation) => {
        this.#generation = generation;
      },
      reconcile: () => this.#reconcile(),
      emit: (event, ...args) => this.emit(event, ...(args as never)),
    });
    this.#scaleHost = {
      log: options.log,
      phase: () => this.#phase.name,
      workersWanted: () => this.#desired,
      setWorkersWanted: (workers) => {
        this.#desired = workers;
      },
      reconcile: () => this.#reconcile(),
      running: () => this.#pool.active(this.#generation).length,
      emit: (event, ...args) => this.emit(event, ...(args as never)),
    };
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
    this.#watchdog = setInterval(() => {
      this.#handoffs.checkHeartbeats(Date.now());
      this.#pool.sampleLoad();
      if (this.#crashes.loopEnded()) this.#log.event('crashLoopEnded', { seconds: CRASH_WINDOW_MS / 1000 });
    }, WATCHDOG_INTERVAL_MS).unref();
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
      throw new PounceError(code, `The first generation could not start: ${(err as Error).message}`);
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
        void this.#reloads.begin();
        return;
      case 'queueReload':
        this.#log.event('reloadSignal');
        void this.#reloads.queue();
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
   * cutover, or with the failure (see reloads.ts).
   */
  reload(): Promise<ReloadOutcome> {
    return this.#reloads.request();
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

  /** Sets the number of workers (at least 1); see scaling.ts. */
  scale(workers: number, via: string): Promise<ScaleOutcome> {
    return scaleTo(this.#scaleHost, workers, via);
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

  /** Passes a lifecycle event to the app in every live worker (see onServerEvent). */
  tellWorkers(event: ServerEvent): void {
    for (const worker of this.#pool.all) if (worker.alive) worker.tell(event);
  }

  #shuttingDown(): boolean {
    return this.#phase.name === 'stopping' || this.#phase.name === 'stopped';
  }

  /**
   * The serving generation is the newest one: serving, or reloading after the cutover (while the old
   * generation drains). Its workers are then kept at the wanted number, crashes included.
   */
  #servingGenerationSettled(): boolean {
    return servingGenerationSettled(this.#phase);
  }

  /**
   * The one step that decides how many workers serve (reconcile.ts), carried out: spawns the
   * missing workers of the serving generation (and returns them), or drains the surplus.
   */
  #reconcile(): WorkerHandle[] {
    const plan = reconcilePlan(this.#phase, this.#pool.active(this.#generation), this.#desired);
    for (const worker of plan.retire) {
      worker.exitExpected = true;
      worker.retireReason ??= 'scale';
    }
    if (plan.retire.length > 0) void this.#pool.retire([...plan.retire], 'reload');
    return Array.from({ length: plan.spawn }, () => this.#pool.spawn(this.#generation));
  }

  #onExit(worker: WorkerHandle, exit: string): void {
    this.emit('workerExited', {
      id: worker.id,
      generation: worker.generation,
      reason: worker.exitReason,
      metrics: worker.metrics,
    });
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
    worker.retireReason ??= 'fatal';
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
}
