// `pounce serve APP`: load the configuration and the app, serve, and shut down gracefully on
// SIGTERM/SIGINT.

import { loadApp, resolveAppSpec } from '../app/load.ts';
import { loadConfig } from '../config/load.ts';
import { ExitCode, PounceError } from '../errors.ts';
import { createLogger } from '../log/logger.ts';
import {
  type RunningServer,
  runStartupHooks,
  startServer,
  withStartupTimeout,
} from '../server/run-server.ts';
import { handleShutdownSignals } from '../signals.ts';
import type { ParsedArgs } from './args.ts';

export async function serveCommand(args: ParsedArgs): Promise<void> {
  const cwd = process.cwd();
  const { config, configFile } = await loadConfig({
    cwd,
    env: process.env,
    flags: args.flags,
    configFile: args.configFile,
  });
  const log = createLogger(config);
  if (configFile) log.event('configLoaded', { file: configFile });

  let running: RunningServer | undefined;
  // Installed before the app loads: a SIGTERM during a slow start must still end the process
  // (there is nothing to drain yet).
  handleShutdownSignals(log, async () => {
    if (!running) return ExitCode.OK;
    log.event('shuttingDown', { workers: 1 });
    await running.shutdown();
    log.event('allStopped');
    return ExitCode.OK;
  });

  try {
    running = await withStartupTimeout(
      (async () => {
        const { handler } = await loadApp(resolveAppSpec(args.app!, cwd), config.interface);
        log.event('appLoaded', { app: args.app!, shape: handler.shape });
        await runStartupHooks();
        return startServer(handler, config, log);
      })(),
      config.startupTimeout,
      'Starting the app',
    );
  } catch (err) {
    if (err instanceof PounceError) log.event('startupFailed', { code: err.code, reason: err.message });
    throw err;
  }
  log.event('listening', { url: running.url, workers: 1 });
}
