// `pounce serve APP`: always supervised — a supervisor process holds the listening socket (as
// Node's cluster primary, or inherited through socket activation) and runs `workers` worker
// processes, so SIGHUP reloads work with one worker too. Around the supervisor: signals, the
// control socket, the pid file, systemd notifications and, with --reload, the file watcher.

import cluster from 'node:cluster';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveAppSpec } from '../app/resolve.ts';
import type { Config } from '../config/options.ts';
import { controlSocketLocation } from '../control/protocol.ts';
import { startControlServer } from '../control/server.ts';
import { configError, PounceError } from '../errors.ts';
import { writePidFile } from '../fs/pid-file.ts';
import type { InheritedFd } from '../ipc/messages.ts';
import { createLogger, type Logger } from '../log/logger.ts';
import { keepListeningSocketsOpen } from '../supervisor/listening-sockets.ts';
import { Supervisor } from '../supervisor/supervisor.ts';
import { describeFds, takeListenFds } from '../systemd/listen-fds.ts';
import { linkSystemd } from '../systemd/service.ts';
import { loadCommandConfig, type ParsedArgs } from './args.ts';
import { enablePrivateCompileCache } from './compile-cache.ts';
import { checkListenAddress } from './listen-checks.ts';

/** The worker entry point next to this build of pounce (src/*.ts when run from source, dist/*.js when built). */
function workerEntry(): string {
  const here = fileURLToPath(import.meta.url);
  return path.join(path.dirname(here), '..', 'worker', `main${path.extname(here)}`);
}

export async function serveCommand(args: ParsedArgs): Promise<void> {
  const cwd = process.cwd();
  const { config, configFile, platformDefaults } = await loadCommandConfig(args, cwd);
  assertAvailable(config);
  // Checked before anything starts: a control socket path too long to bind is a config error.
  const controlLocation = controlSocketLocation(config, cwd);
  const log = createLogger(config);
  if (configFile) log.event('configLoaded', { file: configFile });
  for (const applied of platformDefaults) log.event('platformDefault', applied);
  // Fail fast on a missing module; everything else about the app is found out by the workers, so
  // the supervisor never imports (and never runs) app code.
  resolveAppSpec(args.app!, cwd);
  // The watcher (chokidar) is loaded only with --reload, a development setting.
  const watch = config.reload ? await import('../watch/watcher.ts') : undefined;
  watch?.watchedDirs(cwd, config.reloadDirs);
  const inheritedFds = inheritedListeners(config, log);
  await checkListenAddress(config, cwd, inheritedFds.length > 0);

  // Inherited sockets: shared scheduling only (see supervisor/listening-sockets.ts).
  const roundRobin = config.scheduling === 'round-robin' && inheritedFds.length === 0;
  cluster.schedulingPolicy = roundRobin ? cluster.SCHED_RR : cluster.SCHED_NONE;
  enablePrivateCompileCache(cwd, log);
  cluster.setupPrimary({ exec: workerEntry(), execArgv: process.execArgv, silent: false });
  // The listening sockets stay open while no worker is alive (see supervisor/listening-sockets.ts).
  const keptSockets = keepListeningSocketsOpen();
  if (!keptSockets) log.event('listeningSocketsUnprotected');
  if (roundRobin && config.workers === 1) log.event('roundRobinSingleWorker');

  const cleanups: (() => void)[] = [];
  if (keptSockets) cleanups.push(() => keptSockets.closeAll());
  const cleanup = () => {
    for (const fn of cleanups.splice(0)) fn();
  };
  let systemd: ReturnType<typeof linkSystemd>;
  const supervisor = new Supervisor({
    config,
    app: args.app!,
    cwd,
    inheritedFds,
    log,
    exit: (code) => {
      cleanup();
      // The helper transport may still be delivering STOPPING=1; do not leave it half-sent.
      void (systemd?.flush(1000) ?? Promise.resolve()).then(() => process.exit(code));
    },
  });
  for (const signal of ['SIGHUP', 'SIGTERM', 'SIGINT', 'SIGTTIN', 'SIGTTOU'] as const) {
    process.on(signal, () => supervisor.handleSignal(signal));
  }
  systemd = linkSystemd(supervisor, config, log);
  if (systemd) cleanups.push(() => systemd?.close());

  let control: Awaited<ReturnType<typeof startControlServer>>;
  try {
    control = await startControlServer(controlLocation, supervisor, log);
  } catch (err) {
    cleanup();
    throw err;
  }
  if (control) cleanups.push(() => control.close());
  if (config.pidFile) {
    const pidFile = path.resolve(cwd, config.pidFile);
    try {
      writePidFile(pidFile, config.pidFile);
    } catch (err) {
      cleanup();
      throw err;
    }
    cleanups.push(() => rmSync(pidFile, { force: true }));
  }

  try {
    await supervisor.start();
  } catch (err) {
    cleanup();
    await systemd?.flush(1000);
    if (err instanceof PounceError) log.event('startupFailed', { code: err.code, reason: err.message });
    throw err;
  }

  if (watch && supervisor.state === 'serving') {
    const watcher = await watch.watchForChanges({
      cwd,
      config,
      onChange: (files) => {
        log.event('filesChanged', { files: files.slice(0, 3).join(', '), count: files.length });
        void supervisor.reload();
      },
      onError: (err) => log.event('watchError', { error: err.message }),
    });
    cleanups.push(() => void watcher.close());
    log.event('watching', { dirs: watcher.dirs.join(', '), extensions: watcher.extensions.join(' ') });
  }
}

/**
 * The listening sockets this process inherited: `fd` if set, else socket activation's LISTEN_FDS.
 * Either way the workers get them at the same fd numbers (see WorkerInit.inheritedFds).
 */
function inheritedListeners(config: Config, log: Logger): InheritedFd[] {
  const activation = takeListenFds(process.env, process.pid);
  if (activation.kind === 'not-ours') {
    log.event('listenFdsIgnored', { listenPid: activation.listenPid, pid: process.pid });
  }
  if (config.fd !== undefined) {
    const named = activation.kind === 'sockets' ? activation.fds.find((f) => f.fd === config.fd) : undefined;
    return [{ fd: config.fd, name: named?.name }];
  }
  if (activation.kind !== 'sockets') return [];
  log.event('socketActivation', { sockets: describeFds(activation.fds) });
  return activation.fds;
}

/**
 * Options that are part of the configuration model but whose feature has not landed yet. Refusing
 * them is better than accepting a setting that silently does nothing.
 */
export function assertAvailable(config: Config): void {
  const missing: [boolean, string][] = [
    [
      config.workerMode === 'thread',
      'workerMode "thread": thread workers are not available in this version yet',
    ],
  ];
  for (const [set, what] of missing) if (set) throw configError(`Unsupported ${what}`);
}
