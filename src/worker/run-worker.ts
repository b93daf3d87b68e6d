// A worker — a process (main.ts) or a thread (thread-main.ts): loads the app, runs its startup
// hooks, serves on the supervisor's listening socket (through Node's cluster), on inherited sockets
// (socket activation) or, as a thread, on its own SO_REUSEPORT listener, and follows the
// supervisor's commands over its endpoint (endpoint.ts). It also watches its own recycling limits (maxRequests,
// maxMemory) and asks the supervisor to replace it when one is reached.

import { fireServerEvent } from '../app/lifecycle.ts';
import { loadApp } from '../app/load.ts';
import { resolveAppSpec } from '../app/resolve.ts';
import { startScript } from '../app/script/start-script.ts';
import { errorText, type Interface } from '../app/shape.ts';
import { ErrorCode, PounceError, pounceError } from '../errors.ts';
import {
  dispatch,
  FATAL_DRAIN_MAX_SECONDS,
  type FromWorker,
  type Handlers,
  HEARTBEAT_INTERVAL_MS,
  RECYCLE_RESEND_MS,
  type RecycleReason,
  type ToWorker,
  type WorkerInit,
} from '../ipc/messages.ts';
import { ACCESS_MAX_BUFFER_BYTES, createAccessLogger, createLogger } from '../log/logger.ts';
import { WorkerMetrics } from '../metrics/worker-metrics.ts';
import { socketLife } from '../server/drain-policy.ts';
import { wrapRequests } from '../server/request-wrappers.ts';
import {
  type RunningServer,
  runShutdownHooks,
  runStartupHooks,
  startServer,
  withStartupTimeout,
} from '../server/run-server.ts';
import { collectBootGarbage } from './boot-garbage.ts';
import { bootedAtLowPriority, restoreBootPriority } from './boot-priority.ts';
import type { WorkerEndpoint } from './endpoint.ts';
import { warmUpHttp } from './warm-up.ts';

/** What the entry point may do with a running worker (signals are a process's business only). */
export interface RunningWorker {
  /** Drains and exits as for a shutdown, without waiting for the supervisor's go-ahead. */
  shutdownNow(): void;
}

export async function runWorker(init: WorkerInit, endpoint: WorkerEndpoint): Promise<RunningWorker> {
  const { config, workerId, inheritedFds, generation } = init;
  bootedAtLowPriority(init.bootPriority, init.bootCpus);
  const log = createLogger(config).child({ generation: init.generation });
  const send = (message: FromWorker) => endpoint.send(message);

  /** One server per listening socket: one, or one per inherited socket (LISTEN_FDS may pass several). */
  let servers: RunningServer[] = [];
  let exitAllowed: () => void = () => {};
  const exitPermission = new Promise<void>((resolve) => {
    exitAllowed = resolve;
  });

  const connectionCount = () => servers.reduce((n, s) => n + s.connectionCount, 0);
  /** Requests are measured only with the `metrics` option: without it nothing runs per request. */
  const figures = new WorkerMetrics(connectionCount, config.metrics !== undefined);
  const metrics = figures.requests;
  const access = config.accessLog
    ? createAccessLogger(config, { event: 'access', generation, worker: workerId }, (lines) =>
        log.event('accessLogDropped', { lines, bufferMb: ACCESS_MAX_BUFFER_BYTES / 2 ** 20 }),
      )
    : undefined;
  const onEventError = (err: unknown) => log.event('serverEventListenerFailed', { error: errorText(err) });

  /**
   * Drain, report, wait for the supervisor's go-ahead (see `exit` in ipc/messages.ts), then exit.
   * `reloadTimeoutSeconds` shortens a reload drain (after an uncaught exception).
   */
  let draining: Promise<void> | undefined;
  function drainAndExit(
    reason: 'reload' | 'shutdown',
    code = 0,
    reloadTimeoutSeconds?: number,
  ): Promise<void> {
    if (!draining) {
      fireServerEvent({ type: 'drainStarted', reason, worker: workerId, generation }, onEventError);
    }
    draining ??= (async () => {
      if (servers.length) {
        // (An inherited socket outlives this process: its drain policy stops accepting at once, so
        // that new connections wait in the kernel's queue for the next instance; drain-policy.ts.)
        const drains = servers.map((s) => s.drain(reason, reloadTimeoutSeconds));
        send({ type: 'draining', connections: connectionCount() });
        const results = await Promise.all(drains);
        // The last requests this worker served: the supervisor keeps them past its exit.
        if (metrics) {
          await metrics.settled(1000);
          send({ type: 'metrics', snapshot: figures.snapshot() });
        }
        send({ type: 'drained', forced: results.reduce((n, r) => n + r.forced, 0) });
        await exitPermission;
        await runShutdownHooks(config.shutdownHookTimeout, log);
      }
      // The access lines still buffered (written at exit anyway, but synchronously: a write the
      // buffer already handed to libuv could still be under way then).
      await access?.flush();
      endpoint.exit(code);
    })();
    return draining;
  }

  const handlers: Handlers<ToWorker> = {
    drain: (message) => {
      void drainAndExit(message.reason);
    },
    event: (message) => fireServerEvent(message.event, onEventError),
    exit: () => exitAllowed(),
    stats: (message) =>
      send({
        type: 'stats',
        requestId: message.requestId,
        connections: connectionCount(),
        metrics: figures.snapshot(),
      }),
  };
  endpoint.onMessage((message) => dispatch(handlers, message));

  endpoint.onDisconnect(() => endpoint.exit(0));

  // The heartbeat: the supervisor replaces a worker that stays silent for workerTimeout (its event loop
  // is blocked, or the process was stopped). Unref'd: it never keeps a finished worker alive.
  setInterval(() => send({ type: 'heartbeat' }), HEARTBEAT_INTERVAL_MS).unref();

  /**
   * An uncaught exception or an unhandled rejection in app code. Left to Node, it would end the process
   * at once and reset every request in flight on this worker. Instead the worker logs it with its
   * stack, stops accepting, tells the supervisor (which starts a replacement), and lets the requests
   * in flight finish for a short time before it exits. It never serves new connections again: after an
   * uncaught exception the process's state is undefined (Node's own advice). Before the worker is
   * ready the exception is a failed start, reported like any other.
   */
  let serving = false;
  let fatal = false;
  // (In a thread, `process` is the thread's own: this handler sees this thread's exceptions only.)
  process.on('uncaughtException', (err, origin) => {
    const error = errorText(err);
    const stack = err instanceof Error ? err.stack : undefined;
    if (!serving) {
      fail(pounceError('WORKER_START_CRASH', { origin, error }));
      return;
    }
    log.event('uncaughtException', { worker: workerId, origin, error, stack, again: fatal });
    if (fatal) return;
    fatal = true;
    send({ type: 'fatal', error });
    void drainAndExit('reload', 1, Math.min(config.reloadTimeout, FATAL_DRAIN_MAX_SECONDS));
  });

  /**
   * Recycling: asks the supervisor for a replacement once this worker has served `maxRequests`
   * (plus its own random jitter) requests, or its RSS exceeds `maxMemory`. The request count is one
   * increment in a request wrapper (request-wrappers.ts), registered only when maxRequests is set;
   * memory is sampled once a second. The request is repeated (at most every RECYCLE_RESEND_MS) until the supervisor acts: it
   * ignores requests during a reload, which replaces this worker anyway, or retries later when it
   * could not start a successor.
   */
  let lastAsked = 0;
  const askRecycle = (reason: RecycleReason) => {
    const now = Date.now();
    if (now - lastAsked < RECYCLE_RESEND_MS) return;
    lastAsked = now;
    send({ type: 'recycle', reason });
  };
  /** Registered before any server exists: every server's requests pass through it. */
  function countRequests(): void {
    if (config.maxRequests === undefined) return;
    const max = config.maxRequests + Math.floor(Math.random() * (config.maxRequestsJitter + 1));
    let requests = 0;
    wrapRequests((next) => (req, res) => {
      if (++requests >= max && !draining) askRecycle({ limit: 'maxRequests', requests, max });
      next(req, res);
    });
  }
  function watchMemory(): void {
    if (config.maxMemory !== undefined) {
      const max = config.maxMemory;
      setInterval(() => {
        const megabytes = endpoint.memoryMegabytes();
        if (megabytes > max && !draining)
          askRecycle({ limit: 'maxMemory', megabytes, measure: endpoint.memoryMeasure, max });
      }, 1000).unref();
    }
  }

  // Before any server exists: the first request a worker receives is measured and logged too.
  if (metrics) wrapRequests(metrics.wrap);
  // Loaded only with the option (it needs node:crypto, which a worker otherwise never loads).
  if (access) wrapRequests((await import('../metrics/access-log.ts')).accessLog(access.pino));
  countRequests();

  let scriptAsked: string | undefined;
  try {
    servers = await withStartupTimeout(
      (async () => {
        const spec = resolveAppSpec(init.app, init.cwd);
        // A module that calls listen() itself (a server script): src/app/script/.
        const script = await startScript(spec, config, log, { workerId, inheritedFds });
        if (script) {
          scriptAsked = script.asked;
          return [script.server];
        }
        const { handler } = await loadApp(spec, config.interface as Interface);
        await runStartupHooks();
        // Started while others serve: warm Node's HTTP code before listening (warm-up.ts), then
        // collect what the boot left, still at the boot's priority (boot-garbage.ts).
        if (init.warmUp) {
          await warmUpHttp();
          collectBootGarbage();
        }
        restoreBootPriority();
        const options = { workerId, socketLife: socketLife(inheritedFds) };
        if (inheritedFds.length === 0) return [await startServer(handler, config, log, options)];
        return Promise.all(
          inheritedFds.map(({ fd }) => startServer(handler, { ...config, fd }, log, options)),
        );
      })(),
      config.startupTimeout,
      `Worker ${workerId} starting the app`,
    );
    watchMemory();
    figures.startPushing((snapshot) => send({ type: 'metrics', snapshot }));
    serving = true;
    restoreBootPriority(); // (a no-op unless a path above listened without it)
    send({ type: 'ready', url: servers.map((s) => s.url).join(', '), scriptAsked });
  } catch (err) {
    fail(err);
  }

  /** Reports a failed start to the supervisor and exits 1. */
  function fail(err: unknown): void {
    const code = err instanceof PounceError ? err.code : ErrorCode.WORKER;
    const message: FromWorker = {
      type: 'failed',
      code,
      message: err instanceof PounceError ? err.message : errorText(err),
    };
    // Exit once the message has left; a supervisor that is already gone must not keep us alive.
    endpoint.send(message, () => endpoint.exit(1));
  }

  return {
    shutdownNow() {
      exitAllowed();
      void drainAndExit('shutdown');
    },
  };
}
