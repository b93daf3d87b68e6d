// `pounce serve APP`: load the configuration and the app, serve, and shut down gracefully on
// SIGTERM/SIGINT.

import { loadApp, resolveAppSpec } from '../app/load.ts';
import { loadConfig } from '../config/load.ts';
import type { Config } from '../config/options.ts';
import { configError, ExitCode, PounceError } from '../errors.ts';
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
  assertAvailable(config);
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

/**
 * Options that are part of the configuration model but whose feature has not landed yet. Refusing
 * them is better than accepting a setting that silently does nothing.
 */
function assertAvailable(config: Config): void {
  const missing: [boolean, string][] = [
    [
      config.workers > 1,
      `workers ${config.workers}: more than one worker is not available in this version yet`,
    ],
    [
      config.workerMode === 'thread',
      'workerMode "thread": thread workers are not available in this version yet',
    ],
    [config.reload, 'reload: watching files is not available in this version yet'],
  ];
  for (const [set, what] of missing) if (set) throw configError(`Unsupported ${what}`);
}
