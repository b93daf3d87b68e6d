// `pounce serve APP`: always supervised — a supervisor process holds the listening socket (as
// Node's cluster primary) and runs `workers` worker processes, so SIGHUP reloads work with one
// worker too.

import cluster from 'node:cluster';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveAppSpec } from '../app/load.ts';
import { loadConfig } from '../config/load.ts';
import type { Config } from '../config/options.ts';
import { controlSocketPath } from '../control/protocol.ts';
import { startControlServer } from '../control/server.ts';
import { configError, PounceError } from '../errors.ts';
import { createLogger } from '../log/logger.ts';
import { Supervisor } from '../supervisor/supervisor.ts';
import type { ParsedArgs } from './args.ts';

/** The worker entry point next to this build of pounce (src/*.ts when run from source, dist/*.js when built). */
function workerEntry(): string {
  const here = fileURLToPath(import.meta.url);
  return path.join(path.dirname(here), '..', 'worker', `main${path.extname(here)}`);
}

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
  // Fail fast on a missing module; everything else about the app is found out by the workers, so
  // the supervisor never imports (and never runs) app code.
  resolveAppSpec(args.app!, cwd);

  cluster.schedulingPolicy = config.scheduling === 'round-robin' ? cluster.SCHED_RR : cluster.SCHED_NONE;
  cluster.setupPrimary({ exec: workerEntry(), execArgv: process.execArgv, silent: false });

  const cleanups: (() => void)[] = [];
  const cleanup = () => {
    for (const fn of cleanups.splice(0)) fn();
  };
  const supervisor = new Supervisor({
    config,
    app: args.app!,
    cwd,
    log,
    exit: (code) => {
      cleanup();
      process.exit(code);
    },
  });
  for (const signal of ['SIGHUP', 'SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => supervisor.handleSignal(signal));
  }

  const control = await startControlServer(controlSocketPath(config, cwd), supervisor, log);
  if (control) cleanups.push(() => control.close());
  if (config.pidFile) {
    const pidFile = path.resolve(cwd, config.pidFile);
    writeFileSync(pidFile, `${process.pid}\n`);
    cleanups.push(() => rmSync(pidFile, { force: true }));
  }

  try {
    await supervisor.start();
  } catch (err) {
    cleanup();
    if (err instanceof PounceError) log.event('startupFailed', { code: err.code, reason: err.message });
    throw err;
  }
}

/**
 * Options that are part of the configuration model but whose feature has not landed yet. Refusing
 * them is better than accepting a setting that silently does nothing.
 */
function assertAvailable(config: Config): void {
  const missing: [boolean, string][] = [
    [
      config.workerMode === 'thread',
      'workerMode "thread": thread workers are not available in this version yet',
    ],
    [config.reload, 'reload: watching files is not available in this version yet'],
  ];
  for (const [set, what] of missing) if (set) throw configError(`Unsupported ${what}`);
}
