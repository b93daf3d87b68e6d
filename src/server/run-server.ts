// One serving process from start to exit: run the app's startup hooks, listen, and on request run
// the shutdown sequence of promise 3 of docs/architecture.md:
//   health 503 at once → wait shutdownDelay → drain signal to the app → drain connections (up to
//   shutdownTimeout, then cut) → stop accepting → app shutdown hooks (up to shutdownHookTimeout).
// Used by `pounce serve` and by the programmatic serve().

import { fireDrain, shutdownHooks, startupHooks } from '../app/lifecycle.ts';
import { type AppHandler, errorText } from '../app/shape.ts';
import type { Config } from '../config/options.ts';
import { pounceError } from '../errors.ts';
import type { Logger } from '../log/logger.ts';
import { settleWithin, TIMED_OUT, withTimeout } from '../timeout.ts';
import type { NodeServer } from './create-server.ts';
import { type DrainCause, drainPolicy } from './drain-policy.ts';
import { DrainableServer, type EngineOptions, type ListenTarget } from './drainable-server.ts';

const { setTimeout: delay } = process.getBuiltinModule('node:timers/promises');

export interface ShutdownResult {
  /** Connections cut at the shutdownTimeout deadline. */
  forced: number;
}

export interface RunningServer {
  readonly url: string;
  /** The Node server (what the programmatic serve() hands back). */
  readonly server: NodeServer;
  /** Open connections (including ones accepted while draining). */
  readonly connectionCount: number;
  /**
   * Drains the connections for a shutdown, a reload, or a server that is not used (the table in
   * src/server/drain-policy.ts). Runs once: a later call returns the first drain's promise, whatever
   * its cause. `reloadTimeoutSeconds` replaces a reload drain's deadline (a worker that hit an
   * uncaught exception drains for a shorter time).
   */
  drain(cause: DrainCause, reloadTimeoutSeconds?: number): Promise<ShutdownResult>;
  /** The whole single-process shutdown: drain('shutdown'), then the app's shutdown hooks. Runs once. */
  shutdown(): Promise<ShutdownResult>;
}

export function listenTarget(
  config: Pick<Config, 'fd' | 'uds' | 'host' | 'port' | 'workerMode'>,
): ListenTarget {
  if (config.fd !== undefined)
    return config.uds === undefined ? { fd: config.fd } : { fd: config.fd, path: config.uds };
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
  // Unref'd: a shutdown hook that has finished must not wait for this timer (a script's held
  // signal handlers wait for 'beforeExit', which a ref'd timer would hold back).
  if ((await settleWithin(all, seconds * 1000, { unref: true })) === TIMED_OUT) {
    log.event('shutdownHookTimeout', { seconds });
  }
}

export async function startServer(
  handler: AppHandler,
  config: Config,
  log: Logger,
  options: Omit<EngineOptions, 'adopt'> = {},
): Promise<RunningServer> {
  const engine = new DrainableServer(handler, config, log, options);
  const url = await engine.listen(listenTarget(config), config.backlog);
  return runningServer(engine, url, config, log);
}

/**
 * The drain and shutdown sequences around a listening server (created by pounce or adopted):
 * the signal (health per the policy) → shutdownDelay → drain signal to the app → the engine's drain.
 */
export function runningServer(
  engine: DrainableServer,
  url: string,
  config: Config,
  log: Logger,
): RunningServer {
  let draining: Promise<ShutdownResult> | undefined;
  let shuttingDown: Promise<ShutdownResult> | undefined;

  // No await before engine.drain() when there is no delay: a caller that drains an unused server
  // and listens again on the same address relies on the listener being closed when drain() returns.
  const drainFor = async (cause: DrainCause, reloadTimeoutSeconds?: number): Promise<ShutdownResult> => {
    const policy = drainPolicy(cause, engine.socketLife, config, reloadTimeoutSeconds);
    engine.leave(policy);
    if (policy.delaySeconds > 0) {
      log.event('shutdownDelay', { seconds: policy.delaySeconds });
      await delay(policy.delaySeconds * 1000);
    }
    if (policy.tellApp)
      fireDrain(policy.tellApp, (err) => log.event('drainHookFailed', { error: errorText(err) }));
    return engine.drain(policy);
  };

  const drain = (cause: DrainCause, reloadTimeoutSeconds?: number) => {
    draining ??= drainFor(cause, reloadTimeoutSeconds);
    return draining;
  };

  return {
    url,
    server: engine.server,
    get connectionCount() {
      return engine.connectionCount;
    },
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
