// The one IPC protocol between the supervisor and its workers: a discriminated union each way,
// handled on each side by a dispatch table (`Handlers`), so every message has exactly one place
// that understands it.

import type { DrainReason, ServerEvent } from '../app/lifecycle.ts';
import type { Config } from '../config/options.ts';
import type { WorkerMetricsSnapshot } from '../metrics/snapshot.ts';

/** Supervisor → worker. */
export type ToWorker =
  /** Shutdown keeps accepting (new connections answered 503); reload stops accepting at once. */
  | { type: 'drain'; reason: DrainReason }
  /**
   * The worker may exit. Sent only after the supervisor has handled the worker's `drained`, which the
   * worker sends after closing its listener: by then the cluster primary has processed that close
   * and routes no more connections to it. Any connection routed before is ahead of this message on
   * the same channel, so the worker has seen (and refused, for redistribution) all of them.
   */
  | { type: 'exit' }
  | { type: 'stats'; requestId: number }
  /** A lifecycle event for the app's onServerEvent listeners (src/app/server-events-relay.ts). */
  | { type: 'event'; event: ServerEvent };

/** Worker → supervisor. */
export type FromWorker =
  /**
   * App imported, startup hooks done, listening. `scriptAsked`: the app is a server script, and
   * this is what its listen() asked for (the supervisor logs it once per generation).
   */
  | { type: 'ready'; url: string; scriptAsked?: string }
  /** The worker could not start; it exits right after. */
  | { type: 'failed'; code: string; message: string }
  | { type: 'draining'; connections: number }
  /** Every connection has closed (or was cut at the deadline: `forced`); waiting for `exit`. */
  | { type: 'drained'; forced: number }
  /** `metrics`: with the `metrics` option only (src/metrics/worker-metrics.ts). */
  | { type: 'stats'; requestId: number; connections: number; metrics?: WorkerMetricsSnapshot }
  /** The worker's metrics, pushed periodically and right before `drained` (only with `metrics`). */
  | { type: 'metrics'; snapshot: WorkerMetricsSnapshot }
  /**
   * The worker itself received SIGTERM/SIGINT. The supervisor decides: part of its own shutdown
   * (the signal went to the whole process group), or a request to replace this one worker.
   */
  | { type: 'signalled'; signal: 'SIGTERM' | 'SIGINT' }
  /**
   * The worker is past a recycling limit (maxRequests, maxMemory) and asks to be replaced through
   * the handoff. Sent again (at most every RECYCLE_RESEND_MS) while the worker keeps serving, so a
   * request the supervisor could not act on (a reload was running) is not lost.
   */
  | { type: 'recycle'; reason: RecycleReason }
  /**
   * App code threw an uncaught exception (or left a promise rejection unhandled) after the worker
   * became ready. The worker has stopped accepting and gives its requests in flight a short time to
   * finish (FATAL_DRAIN_MAX_SECONDS); it is never reused (Node: the process state is undefined after
   * an uncaught exception). The supervisor counts it as a crash and starts a replacement.
   */
  | { type: 'fatal'; error: string }
  /** Sent every HEARTBEAT_INTERVAL_MS while the worker's event loop runs (see `workerTimeout`). */
  | { type: 'heartbeat' };

/** Why a worker asks to be replaced. */
export type RecycleReason =
  | { limit: 'maxRequests'; requests: number; max: number }
  | { limit: 'maxMemory'; megabytes: number; measure: MemoryMeasure; max: number };

/**
 * What maxMemory is compared with: a process worker's RSS, or, for a thread (RSS is the whole host
 * process's), the thread's own V8 heap in use plus the memory its JS objects hold outside that heap
 * (Buffers, ArrayBuffers: `external`). Both per isolate, so one thread's figure excludes the others'.
 */
export type MemoryMeasure = 'rss' | 'heap+external';

export const RECYCLE_RESEND_MS = 5_000;

export const HEARTBEAT_INTERVAL_MS = 1_000;

/** The longest a worker that hit an uncaught exception lets its requests in flight run (or reloadTimeout, if shorter). */
export const FATAL_DRAIN_MAX_SECONDS = 10;

export type Handlers<M extends { type: string }> = {
  [K in M['type']]: (message: Extract<M, { type: K }>) => void;
};

type Field = (m: Record<string, unknown>) => boolean;
const isNumber = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
const isObject = (v: unknown) => typeof v === 'object' && v !== null;

/**
 * The fields each worker message must have. A worker's IPC channel is shared with app code (any
 * library may call process.send()), so the supervisor checks a message before it acts on it: a
 * malformed one is dropped, never allowed to throw inside the supervisor.
 */
const FROM_WORKER_FIELDS: { [K in FromWorker['type']]: Field } = {
  ready: (m) =>
    typeof m.url === 'string' && (m.scriptAsked === undefined || typeof m.scriptAsked === 'string'),
  failed: (m) => typeof m.code === 'string' && typeof m.message === 'string',
  draining: (m) => isNumber(m.connections),
  drained: (m) => isNumber(m.forced),
  stats: (m) =>
    isNumber(m.requestId) && isNumber(m.connections) && (m.metrics === undefined || isObject(m.metrics)),
  metrics: (m) => isObject(m.snapshot),
  signalled: (m) => m.signal === 'SIGTERM' || m.signal === 'SIGINT',
  recycle: (m) => {
    const r = m.reason as Record<string, unknown> | null;
    if (typeof r !== 'object' || r === null || !isNumber(r.max)) return false;
    return r.limit === 'maxRequests'
      ? isNumber(r.requests)
      : r.limit === 'maxMemory' &&
          isNumber(r.megabytes) &&
          (r.measure === 'rss' || r.measure === 'heap+external');
  },
  fatal: (m) => typeof m.error === 'string',
  heartbeat: () => true,
};

/** True for a well-formed worker → supervisor message. */
export function isFromWorker(message: unknown): message is FromWorker {
  if (typeof message !== 'object' || message === null) return false;
  const m = message as Record<string, unknown>;
  return typeof m.type === 'string' && Object.hasOwn(FROM_WORKER_FIELDS, m.type)
    ? FROM_WORKER_FIELDS[m.type as FromWorker['type']](m)
    : false;
}

/** Calls the handler for `message`, ignoring anything that is not a message of this protocol. */
export function dispatch<M extends { type: string }>(handlers: Handlers<M>, message: unknown): void {
  if (typeof message !== 'object' || message === null) return;
  const type = (message as { type?: unknown }).type;
  if (typeof type !== 'string' || !Object.hasOwn(handlers, type)) return;
  (handlers[type as M['type']] as (m: unknown) => void)(message);
}

/** What a worker is told at birth, through its environment (JSON). */
export interface WorkerInit {
  workerId: number;
  generation: number;
  app: string;
  cwd: string;
  config: Config;
  /**
   * Listening sockets inherited by the supervisor (socket activation's LISTEN_FDS, or `fd`): the
   * worker serves on each of them (through the cluster primary, which keeps them open; see
   * supervisor/listening-sockets.ts). Empty: listen on host, port or uds as configured.
   */
  inheritedFds: readonly InheritedFd[];
  /**
   * Set when the supervisor started this worker at a low CPU priority because others serve (see
   * supervisor/boot-priority.ts): the priority its threads take back right before it listens.
   */
  bootPriority?: number;
  /**
   * Set when the supervisor held this worker to part of the CPUs for its boot because the serving
   * workers are busy (supervisor/boot-cpus.ts): `serve` is the CPU list it takes back before it listens.
   */
  bootCpus?: BootCpus;
  /** Set when others serve: warm Node's HTTP code before listening (worker/warm-up.ts). */
  warmUp?: boolean;
}

/** Where a booting worker runs until it listens, and the CPUs it takes back then (/proc CPU lists). */
export interface BootCpus {
  /** The CPUs it boots on. */
  boot: string;
  /** The supervisor's CPUs, which it serves on. */
  serve: string;
}

export interface InheritedFd {
  fd: number;
  /** The name systemd gave it (LISTEN_FDNAMES), if any. */
  name: string | undefined;
}

export const WORKER_INIT_ENV = 'POUNCE_INTERNAL_WORKER';
