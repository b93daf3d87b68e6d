// The supervisor's handle on one worker: its identity (id, generation, pid), its state as the
// worker reports it, and the commands the supervisor can give it. The same for every kind of worker:
// what the worker runs in is behind a WorkerTransport (worker-transport.ts).

import type { ServerEvent } from '../app/lifecycle.ts';
import {
  dispatch,
  type FromWorker,
  type Handlers,
  isFromWorker,
  type RecycleReason,
  type ToWorker,
  type WorkerInit,
} from '../ipc/messages.ts';
import type { WorkerMetricsSnapshot } from '../metrics/snapshot.ts';
import { describeExit, type ExitInfo, type WorkerTransport } from './worker-transport.ts';

export type WorkerState = 'starting' | 'ready' | 'draining' | 'drained' | 'stopped';

/** Why pounce retired a worker (reported with its exit; see `exitReason`). */
export type RetireReason = 'reload' | 'shutdown' | 'recycle' | 'signal' | 'scale' | 'fatal' | 'unresponsive';

export class WorkerHandle {
  readonly id: number;
  readonly generation: number;
  readonly pid: number;
  readonly startedAt = Date.now();
  state: WorkerState = 'starting';
  /** Why the worker was first told to drain; its deadline follows that first drain. */
  drainReason: 'reload' | 'shutdown' | undefined;
  /** The worker reported ready at some point: it listened, and may hold accepted connections. */
  wasReady = false;
  url: string | undefined;
  /** A server script's worker: what the script's listen() asked for (reported with `ready`). */
  scriptAsked: string | undefined;
  /** Set when pounce itself ordered the exit (drain, kill); any other exit is a crash. */
  exitExpected = false;
  /** Why pounce retired the worker: the first reason given wins. */
  retireReason: RetireReason | undefined;
  /** The newest figures the worker sent (src/metrics/worker-metrics.ts). */
  metrics: WorkerMetricsSnapshot | undefined;
  /** Called when the worker reports that it was sent SIGTERM/SIGINT directly. */
  onSignalled: (signal: string) => void = () => {};
  /** Called when the worker asks to be replaced (maxRequests, maxMemory). */
  onRecycle: (reason: RecycleReason) => void = () => {};
  /** Called when app code threw an uncaught exception in the worker (it is retiring on its own). */
  onFatal: (error: string) => void = () => {};
  /** When the worker's last heartbeat (or its `ready`) arrived, ms since the epoch. */
  lastHeartbeat = Date.now();
  /** Set while the worker misses its heartbeats (see `workerTimeout`). */
  unresponsive = false;
  /** Called when the worker sends a heartbeat after it was found unresponsive. */
  onResponsive: () => void = () => {};
  /** A recycle whose successor failed is not tried again before this time (ms since the epoch). */
  recycleNotBefore = 0;
  /** Resolves when the worker reports ready; rejects with the cause if it fails or exits first. */
  readonly ready: Promise<void>;
  /**
   * Resolves when the worker has confirmed a drain order (`draining`: its listener no longer accepts,
   * so every new connection goes to another worker) or has exited.
   */
  readonly stoppedAccepting: Promise<void>;
  /** Resolves when the worker has reported `drained` (connections closed or cut). */
  readonly drained: Promise<number>;
  readonly exited: Promise<ExitInfo>;
  readonly #transport: WorkerTransport;
  readonly #statsWaiters = new Map<number, (connections: number) => void>();
  #nextRequestId = 0;

  constructor(init: WorkerInit, transport: WorkerTransport) {
    this.id = init.workerId;
    this.generation = init.generation;
    this.#transport = transport;
    this.pid = transport.pid;

    let onReady: () => void = () => {};
    let onFailed: (err: Error) => void = () => {};
    this.ready = new Promise<void>((resolve, reject) => {
      onReady = resolve;
      onFailed = reject;
    });
    // A failed start is observed through `ready`; never let it surface as an unhandled rejection.
    this.ready.catch(() => {});
    let onStoppedAccepting: () => void = () => {};
    this.stoppedAccepting = new Promise((resolve) => {
      onStoppedAccepting = resolve;
    });
    let onDrained: (forced: number) => void = () => {};
    this.drained = new Promise((resolve) => {
      onDrained = resolve;
    });
    this.exited = new Promise((resolve) => {
      transport.onExit((info) => {
        this.state = 'stopped';
        onFailed(new Error(`worker ${this.id} exited before it was ready (${describeExit(info)})`));
        onStoppedAccepting();
        onDrained(0);
        for (const waiter of this.#statsWaiters.values()) waiter(0);
        resolve(info);
      });
    });

    const handlers: Handlers<FromWorker> = {
      ready: (message) => {
        this.wasReady = true;
        this.lastHeartbeat = Date.now();
        // A drain may already be on its way to a worker whose `ready` was in flight: never move back.
        if (this.state === 'starting') this.state = 'ready';
        this.url = message.url;
        this.scriptAsked = message.scriptAsked;
        onReady();
      },
      failed: (message) => {
        onFailed(Object.assign(new Error(message.message), { code: message.code }));
      },
      draining: () => {
        this.state = 'draining';
        onStoppedAccepting();
      },
      drained: (message) => {
        this.state = 'drained';
        onDrained(message.forced);
      },
      signalled: (message) => this.onSignalled(message.signal),
      recycle: (message) => this.onRecycle(message.reason),
      fatal: (message) => this.onFatal(message.error),
      heartbeat: () => {
        this.lastHeartbeat = Date.now();
        if (this.unresponsive) {
          this.unresponsive = false;
          this.onResponsive();
        }
      },
      metrics: (message) => this.#takeMetrics(message.snapshot),
      stats: (message) => {
        if (message.metrics) this.#takeMetrics(message.metrics);
        this.#statsWaiters.get(message.requestId)?.(message.connections);
        this.#statsWaiters.delete(message.requestId);
      },
    };
    // Only well-formed messages reach the handlers (see isFromWorker: app code shares the channel).
    transport.onMessage((message) => {
      if (isFromWorker(message)) dispatch(handlers, message);
    });
  }

  /** A push and a reply to a status request may cross: keep the newer snapshot. */
  #takeMetrics(snapshot: WorkerMetricsSnapshot): void {
    if (!this.metrics || snapshot.seq > this.metrics.seq) this.metrics = snapshot;
  }

  /** Why the worker exited: a reason pounce gave, or a crash. */
  get exitReason(): RetireReason | 'crash' | 'killed' {
    if (!this.exitExpected) return 'crash';
    return this.retireReason ?? 'killed';
  }

  get alive(): boolean {
    return this.state !== 'stopped';
  }

  #send(message: ToWorker): void {
    this.#transport.send(message);
  }

  /** Passes a lifecycle event on to the app in this worker (if it is still connected). */
  tell(event: ServerEvent): void {
    this.#send({ type: 'event', event });
  }

  /** Tells the worker to drain; it reports `drained` and then waits for release(). */
  drain(reason: 'reload' | 'shutdown'): void {
    this.drainReason ??= reason;
    this.exitExpected = true;
    if (this.state === 'starting' || this.state === 'ready') this.state = 'draining';
    this.#send({ type: 'drain', reason });
  }

  /** Lets a drained worker exit (see `exit` in ipc/messages.ts for why this is a separate step). */
  release(): void {
    this.#send({ type: 'exit' });
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.exitExpected = true;
    this.#transport.kill(signal);
  }

  /** Open connections of the worker, or undefined if it does not answer within `timeoutMs`. */
  connections(timeoutMs = 1000): Promise<number | undefined> {
    if (!this.alive) return Promise.resolve(0);
    const requestId = this.#nextRequestId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#statsWaiters.delete(requestId);
        resolve(undefined);
      }, timeoutMs);
      this.#statsWaiters.set(requestId, (n) => {
        clearTimeout(timer);
        resolve(n);
      });
      this.#send({ type: 'stats', requestId });
    });
  }
}
