// The app's part in the lifecycle: startup hooks (count toward readiness), readiness checks (asked
// by the health endpoint), the drain signal (for long-lived streams and sockets), and shutdown hooks
// (close pools, flush).
//
// The registry lives on globalThis under a registered symbol, not in this module's scope: an app
// may import `pounce` from its own node_modules while the server runs from another copy (a global
// install, `npx`, a linked checkout). Both copies must see the same hooks.

export type DrainReason = 'reload' | 'shutdown';
export type Hook = () => unknown;
export type DrainListener = (reason: DrainReason) => unknown;

/**
 * The server's lifecycle, told to the app in every worker (for apps that forward it to their own
 * telemetry). Server-wide events (reloads, recycles) reach every live worker, so each worker's
 * listener sees them once: forward them from one worker (say, the lowest `worker` id you know) if
 * your telemetry should count them once.
 */
export type ServerEvent =
  /** A reload began: `generation` is the new generation being started. */
  | { type: 'reloadStarted'; generation: number }
  /** The reload reached its outcome after `seconds`: the new generation serves, or it failed (`reason`). */
  | { type: 'reloadFinished'; ok: true; generation: number; seconds: number }
  | { type: 'reloadFinished'; ok: false; reason: string; seconds: number }
  /** This worker was told to drain (a reload, a recycle, scaling down: `reload`; a shutdown: `shutdown`). */
  | { type: 'drainStarted'; reason: DrainReason; worker: number; generation: number }
  /** A worker past maxRequests or maxMemory was replaced and has exited. */
  | { type: 'workerRecycled'; worker: number; generation: number };
export type ServerEventListener = (event: ServerEvent) => unknown;

interface Registry {
  startup: Hook[];
  shutdown: Hook[];
  /** Absent in a registry made by an older copy of pounce. */
  readiness?: Hook[];
  drain: DrainListener[];
  drainController: AbortController;
  /** Absent in a registry made by an older copy of pounce. */
  events?: ServerEventListener[];
}

const KEY = Symbol.for('pounce.lifecycle.v1');

function registry(): Registry {
  const holder = globalThis as { [KEY]?: Registry };
  holder[KEY] ??= { startup: [], shutdown: [], drain: [], drainController: new AbortController() };
  return holder[KEY];
}

/** Runs `hook` before the worker reports ready; a rejection fails the start (or the reload). */
export function onStartup(hook: Hook): void {
  registry().startup.push(hook);
}

/**
 * Asks `check` whenever the health endpoint is probed (at most once per second, bounded by
 * readinessTimeout): a rejection, a throw, `false`, or no answer in time makes the health endpoint
 * answer 503 not-ready, so load balancers send no traffic while, say, the database is unreachable.
 * Liveness (`livenessPath`) never asks it.
 */
export function onReadinessCheck(check: Hook): void {
  const r = registry();
  r.readiness ??= [];
  r.readiness.push(check);
}

/** Runs `hook` after the connections have drained, before the process exits (close pools, flush). */
export function onShutdown(hook: Hook): void {
  registry().shutdown.push(hook);
}

/** Calls `listener` once when this worker starts draining, with the reason `reload` or `shutdown`. */
export function onDrain(listener: DrainListener): void {
  registry().drain.push(listener);
}

/**
 * Aborted when this worker starts draining; `signal.reason` is `'reload'` or `'shutdown'`. Hand it
 * to long-lived work (SSE streams, WebSocket loops, long polls) so it can end itself in time.
 */
export function drainSignal(): AbortSignal {
  return registry().drainController.signal;
}

/** Calls `listener` with every lifecycle event of the server (see ServerEvent). */
export function onServerEvent(listener: ServerEventListener): void {
  const r = registry();
  r.events ??= [];
  r.events.push(listener);
}

/** Tells every onServerEvent listener; listener errors go to `onError`. */
export function fireServerEvent(event: ServerEvent, onError: (err: unknown) => void): void {
  for (const listener of registry().events ?? []) {
    try {
      const result = listener(event);
      if (result instanceof Promise) result.catch(onError);
    } catch (err) {
      onError(err);
    }
  }
}

export function startupHooks(): readonly Hook[] {
  return registry().startup;
}

export function readinessChecks(): readonly Hook[] {
  return registry().readiness ?? [];
}

export function shutdownHooks(): readonly Hook[] {
  return registry().shutdown;
}

/** Fires the drain signal and listeners once; later calls do nothing. Listener errors go to `onError`. */
export function fireDrain(reason: DrainReason, onError: (err: unknown) => void): void {
  const r = registry();
  if (r.drainController.signal.aborted) return;
  r.drainController.abort(reason);
  for (const listener of r.drain) {
    try {
      const result = listener(reason);
      if (result instanceof Promise) result.catch(onError);
    } catch (err) {
      onError(err);
    }
  }
}
