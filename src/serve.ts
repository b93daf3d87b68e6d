// The programmatic API: the same drain engine around a handler in the caller's own process — what
// people reach for terminus, http-terminator or stoppable for.
//
//   import { serve } from 'pounce';
//   const server = await serve(app, { port: 3000, healthCheckPath: '/health', shutdownTimeout: 15 });

import type { Interface, UpgradeHandler } from './app/shape.ts';
import { toHandler } from './app/shape.ts';
import { loadConfig } from './config/load.ts';
import type { UserConfig } from './config/options.ts';
import { ExitCode } from './errors.ts';
import { createLogger } from './log/logger.ts';
import type { NodeServer } from './server/create-server.ts';
import {
  runStartupHooks,
  type ShutdownResult,
  startServer,
  withStartupTimeout,
} from './server/run-server.ts';
import { handleShutdownSignals } from './signals.ts';

export interface ServeOptions
  extends Omit<UserConfig, 'workers' | 'workerMode' | 'reload' | 'reloadDirs' | 'reloadInclude'> {
  /**
   * Handle SIGTERM and SIGINT: run the graceful shutdown, then exit the process (a second signal
   * exits at once). Default true; with false, call `shutdown()` yourself.
   */
  signals?: boolean;
  /** Receives HTTP upgrade requests (WebSocket), e.g. `(req, socket, head) => wss.handleUpgrade(...)`. */
  upgrade?: UpgradeHandler;
}

export interface PounceServer {
  /** Where the server listens, e.g. `http://127.0.0.1:3000` or `unix:/run/app.sock`. */
  readonly url: string;
  /** The underlying Node server (http, https or http2, per the options). */
  readonly server: NodeServer;
  /** Graceful shutdown: health 503, shutdownDelay, drain, close, shutdown hooks. Idempotent. */
  shutdown(): Promise<ShutdownResult>;
}

/**
 * Serves `app` (a Node request listener, a fetch handler, an object with `fetch`, or a factory) in
 * this process with pounce's drain engine. Options are validated like the CLI's: a bad one throws a
 * PounceError with code POUNCE_ERR_CONFIG. The environment and config files are not read.
 */
export async function serve(app: unknown, options: ServeOptions = {}): Promise<PounceServer> {
  const { signals = true, upgrade, ...rest } = options;
  const { config } = await loadConfig({ cwd: process.cwd(), env: {}, configFile: false, programmatic: rest });
  const log = createLogger(config);
  const running = await withStartupTimeout(
    (async () => {
      const handler = await toHandler(app, config.interface as Interface, 'The app passed to serve()');
      handler.upgrade ??= upgrade;
      await runStartupHooks();
      return startServer(handler, config, log);
    })(),
    config.startupTimeout,
    'Starting the app',
  );
  log.event('listening', { url: running.url, workers: 1 });
  if (signals) {
    handleShutdownSignals(log, async () => {
      await running.shutdown();
      return ExitCode.OK;
    });
  }
  return { url: running.url, server: running.server, shutdown: () => running.shutdown() };
}
