// One serving process from start to exit: run the app's startup hooks, listen, and on request run
// the shutdown sequence of promise 3 of docs/architecture.md:
//   health 503 at once → wait shutdownDelay → drain signal to the app → drain connections (up to
//   shutdownTimeout, then cut) → stop accepting → app shutdown hooks (up to shutdownHookTimeout).
// Used by `pounce serve` and by the programmatic serve().

import { type DrainReason, fireDrain, shutdownHooks, startupHooks } from '../app/lifecycle.ts';
import { type AppHandler, errorText } from '../app/shape.ts';
import type { Config } from '../config/options.ts';
import { pounceError } from '../errors.ts';
import type { Logger } from '../log/logger.ts';
import { withTimeout } from '../timeout.ts';
import { DrainableServer, type ListenTarget } from './drainable-server.ts';
import { IDLE_GRACE_MS } from './grace.ts';

/** How long a shutting-down server keeps accepting after its drain settled (see shutdown()). */
const LISTENER_LINGER_MS = 100;

export interface ShutdownResult {
  /** Connections cut at the shutdownTimeout deadline. */
  forced: number;
}

export interface RunningServer {
  readonly url: string;
  readonly core: DrainableServer;
  /**
   * Drains the connections for a shutdown or a reload (the table in docs/architecture.md). Runs once: a later call
   * returns the first drain's promise, whatever its reason. `reloadTimeoutSeconds` replaces a
   * reload drain's deadline (a worker that hit an uncaught exception drains for a shorter time).
   */
  drain(reason: DrainReason, reloadTimeoutSeconds?: number): Promise<ShutdownResult>;
  /** The whole single-process shutdown: drain('shutdown'), then the app's shutdown hooks. Runs once. */
  shutdown(): Promise<ShutdownResult>;
}

export function listenTarget(
  config: Pick<Config, 'fd' | 'uds' | 'host' | 'port' | 'workerMode'>,
): ListenTarget {
  if (config.fd !== undefined) return { fd: config.fd };
  if (config.uds !== undefined) return { path: config.uds };
  if (config.workerMode === 'thread') return { host: config.host, port: config.port, reusePort: true };
  return { host: config.host, port: config.port };
}

/** Rejects with STARTUP_TIMEOUT if `work` does not settle within `seconds`. */
export function withStartupTimeout<T>(work: Promise<T>, seconds: number, what: string): Promise<T> {
  return withTimeout(work, seconds * 1000, () => pounceError('STARTUP_TIMEOUT', { what, seconds }));
}

export async function runStartupHooks(): Promise<void> {
  for (const hook of startupHooks()) {
    try {
      await hook();
    } catch (err) {
      throw pounceError('STARTUP_HOOK', { error: errorText(err) }, { cause: err });
    }
  }
}

export async function runShutdownHooks(seconds: number, log: Logger): Promise<void> {
  const all = Promise.all(
    shutdownHooks().map(async (hook) => {
      try {
        await hook();
      } catch (err) {
        log.event('shutdownHookFailed', { error: errorText(err) });
      }
    }),
  );
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    // Unref'd: a shutdown hook that has finished must not wait for this timer (a script's held
    // signal handlers wait for 'beforeExit', which a ref'd timer would hold back).
    timer = setTimeout(() => resolve('timeout'), seconds * 1000);
    timer.unref();
  });
  if ((await Promise.race([all, timedOut])) === 'timeout') log.event('shutdownHookTimeout', { seconds });
  clearTimeout(timer);
}

export async function startServer(
  handler: AppHandler,
  config: Config,
  log: Logger,
  workerId = 0,
): Promise<RunningServer> {
  const core = new DrainableServer(handler, config, log, workerId);
  const url = await core.listen(listenTarget(config), config.backlog);
  return runningServer(core, url, config, log);
}

/** The drain and shutdown sequences around a listening server (created by pounce or adopted). */
export function runningServer(
  core: DrainableServer,
  url: string,
  config: Config,
  log: Logger,
): RunningServer {
  let draining: Promise<ShutdownResult> | undefined;
  let shuttingDown: Promise<ShutdownResult> | undefined;

  const drainForShutdown = async (): Promise<ShutdownResult> => {
    core.markDraining();
    if (config.shutdownDelay > 0) {
      log.event('shutdownDelay', { seconds: config.shutdownDelay });
      await new Promise((r) => setTimeout(r, config.shutdownDelay * 1000));
    }
    fireDrain('shutdown', (err) => log.event('drainHookFailed', { error: errorText(err) }));
    const { forced } = await core.drain({
      reason: 'shutdown',
      keepAccepting: true,
      timeoutSeconds: config.shutdownTimeout,
      timeoutName: 'shutdownTimeout',
    });
    // Connections the kernel completed before the signal may still sit in the accept queue: when
    // the server is idle the drain settles in the very tick the signal arrives, before libuv's next
    // poll has accepted them, and closing the listener then resets them. Keep accepting a little
    // longer (they are answered 503 like any connection accepted during the drain).
    await new Promise((r) => setTimeout(r, LISTENER_LINGER_MS));
    // Not awaited: net.Server's close callback waits for every connection, and a client that
    // connected during the drain and stays silent (a load balancer's pre-connect) would hold it.
    // finishLateConnections bounds that wait, then destroys what is left.
    void core.closeListener();
    await core.finishLateConnections(IDLE_GRACE_MS);
    return { forced };
  };

  // A reload drain stops accepting at once (the new generation accepts) and has its own deadline.
  const drainForReload = async (timeoutSeconds = config.reloadTimeout): Promise<ShutdownResult> => {
    fireDrain('reload', (err) => log.event('drainHookFailed', { error: errorText(err) }));
    return core.drain({
      reason: 'reload',
      keepAccepting: false,
      timeoutSeconds,
      timeoutName: 'reloadTimeout',
    });
  };

  const drain = (reason: DrainReason, reloadTimeoutSeconds?: number) => {
    draining ??= reason === 'reload' ? drainForReload(reloadTimeoutSeconds) : drainForShutdown();
    return draining;
  };

  return {
    url,
    core,
    drain,
    shutdown() {
      shuttingDown ??= drain('shutdown').then(async (result) => {
        await runShutdownHooks(config.shutdownHookTimeout, log);
        return result;
      });
      return shuttingDown;
    },
  };
}
