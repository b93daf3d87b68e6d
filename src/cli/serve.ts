// `pounce serve APP`: always supervised — a supervisor process holds the listening socket (as
// Node's cluster primary, or inherited through socket activation) and runs `workers` worker
// processes, so SIGHUP reloads work with one worker too. Around the supervisor: signals, the
// control socket, the pid file, systemd notifications and, with --reload, the file watcher.

import type { Cluster } from 'node:cluster';
import { resolveAppSpec } from '../app/resolve.ts';
import { relayServerEvents } from '../app/server-events-relay.ts';
import { loadConfig } from '../config/load.ts';
import type { Config } from '../config/options.ts';
import { controlSocketLocation } from '../control/protocol.ts';
import { startControlServer } from '../control/server.ts';
import { configError, PounceError } from '../errors.ts';
import { reclaimPidFile, writePidFile } from '../fs/pid-file.ts';
import type { InheritedFd } from '../ipc/messages.ts';
import { createLogger, type Logger } from '../log/logger.ts';
import { stdoutMayBlock } from '../log/stdout-lines.ts';
import type { MetricsEndpoint } from '../metrics/metrics-server.ts';
import { carryCounters, receiveCounters } from '../metrics/upgrade-carry.ts';
import { compactHeapSoon } from '../supervisor/compact-heap.ts';
import { restoreOptimizingCompilers } from '../supervisor/jit-tiers.ts';
import { type KeptSockets, keepListeningSocketsOpen } from '../supervisor/listening-sockets.ts';
import { migrateReqWarning } from '../supervisor/migrate-req.ts';
import { Supervisor } from '../supervisor/supervisor.ts';
import { openThreadListener, threadListenerAvailable } from '../supervisor/thread-listener.ts';
import { threadWorkers } from '../supervisor/thread-transport.ts';
import { describeFds, takeListenFds } from '../systemd/listen-fds.ts';
import { linkSystemd, TRANSPORT_ENV } from '../systemd/service.ts';
import { stagingSocketPath, takeHandover, UPGRADE_FAULT_ENV } from '../upgrade/protocol.ts';
import { SuccessorLink } from '../upgrade/successor.ts';
import { Upgrader } from '../upgrade/upgrader.ts';
import { loadCommandConfig, type ParsedArgs } from './args.ts';
import { enablePrivateCompileCache, supervisorEnv } from './compile-cache.ts';
import { checkListenAddress } from './listen-checks.ts';

// @types/node types node:cluster as its ES namespace (`default`); Node returns the module object.
const cluster = process.getBuiltinModule('node:cluster') as unknown as Cluster;
const { rmSync } = process.getBuiltinModule('node:fs');
const path = process.getBuiltinModule('node:path');
const { fileURLToPath } = process.getBuiltinModule('node:url');

/** How long a supervisor that handed over waits for its last control answers before it exits. */
const CONTROL_ANSWER_WAIT_MS = 3_000;

/** How long after it serves, or after a reload, the supervisor compacts its heap (a moment for the tail). */
const COMPACT_HEAP_DELAY_MS = 100;

/** The worker entry point next to this build of pounce (src/*.ts when run from source, dist/*.js when built). */
function workerEntry(name: 'main' | 'thread-host' = 'main'): string {
  const here = fileURLToPath(import.meta.url);
  return path.join(path.dirname(here), '..', 'worker', `${name}${path.extname(here)}`);
}

export async function serveCommand(args: ParsedArgs): Promise<void> {
  // Started by `pounce upgrade` of a running server (src/upgrade/): its configuration and sockets.
  const handover = takeHandover(process.env);
  if (!handover) return serve(args, undefined);
  const log = createLogger({ logLevel: 'info', logFormat: 'auto' });
  const successor = new SuccessorLink(handover, log);
  try {
    await serve(args, successor);
  } catch (err) {
    await successor.failed(err instanceof Error ? err.message : String(err));
    throw err;
  }
}

async function serve(args: ParsedArgs, successor: SuccessorLink | undefined): Promise<void> {
  const handover = successor?.handover;
  const cwd = handover?.cwd ?? process.cwd();
  const app = handover?.app ?? args.app!;
  // systemd's variables, which linkSystemd takes from the environment: an upgrade passes them on.
  const systemdEnv = pickEnv(process.env, ['NOTIFY_SOCKET', 'WATCHDOG_USEC', TRANSPORT_ENV]);
  const { config, configFile, platformDefaults } = handover
    ? await loadConfig({ cwd, env: {}, configFile: false, programmatic: handover.config }).then((loaded) => ({
        ...loaded,
        platformDefaults: [],
      }))
    : await loadCommandConfig(args, cwd);
  assertAvailable(config);
  // Checked before anything starts: a control socket path too long to bind is a config error.
  const controlLocation = controlSocketLocation(config, cwd);
  const log = createLogger(config);
  const stdoutBlocks = stdoutMayBlock();
  if (stdoutBlocks && config.logFormat !== 'pretty') log.event('stdoutMayBlock', { why: stdoutBlocks });
  if (configFile) log.event('configLoaded', { file: configFile });
  for (const applied of platformDefaults) log.event('platformDefault', applied);
  // Fail fast on a missing module; everything else about the app is found out by the workers, so
  // the supervisor never imports (and never runs) app code.
  resolveAppSpec(app, cwd);
  // The watcher (chokidar) is loaded only with --reload, a development setting.
  const watch = config.reload ? await import('../watch/watcher.ts') : undefined;
  watch?.watchedDirs(cwd, config.reloadDirs);
  const threadMode = config.workerMode === 'thread';
  // Thread mode: the supervisor adopts (below) the previous supervisor's listener on an upgrade, or
  // the one socket of socket activation; the threads themselves inherit no socket.
  const activated = handover ? [] : inheritedListeners(config, log);
  if (threadMode && activated.length > 1)
    throw configError(
      `Unsupported socket activation with ${activated.length} sockets (LISTEN_FDS) with workerMode "thread", which serves one: use workerMode "process"`,
    );
  const handedThreadListener = threadMode ? (handover?.fds[0] ?? activated[0]) : undefined;
  const inheritedFds = threadMode ? [] : (handover?.fds ?? activated);
  await checkListenAddress(config, cwd, inheritedFds.length > 0 || handedThreadListener !== undefined);

  // Inherited sockets: shared scheduling only (see supervisor/listening-sockets.ts).
  const roundRobin = config.scheduling === 'round-robin' && inheritedFds.length === 0;
  cluster.schedulingPolicy = roundRobin ? cluster.SCHED_RR : cluster.SCHED_NONE;
  if (roundRobin) restoreOptimizingCompilers();
  enablePrivateCompileCache(cwd, log);
  cluster.setupPrimary({ exec: workerEntry(), execArgv: process.execArgv, silent: false });
  // Thread mode: the supervisor holds the listening socket and sends it with every thread
  // (supervisor/thread-listener.ts); made before the kept-sockets wrap is installed.
  const threadListener = threadMode
    ? await openThreadListener(config, cwd, handedThreadListener?.fd)
    : undefined;
  // The listening sockets stay open while no worker is alive (see supervisor/listening-sockets.ts).
  const keptSockets = keepListeningSocketsOpen();
  if (!keptSockets) log.event('listeningSocketsUnprotected');
  if (roundRobin && config.workers === 1) log.event('roundRobinSingleWorker');
  // Only threads with SO_REUSEPORT sockets of their own lose queued connections to a closing one.
  const migrate = threadMode && !threadListener ? migrateReqWarning() : undefined;
  if (migrate) log.event('threadModeMigrateReq', { warning: migrate });

  const cleanups: (() => void)[] = [];
  if (keptSockets) cleanups.push(() => keptSockets.closeAll());
  if (threadListener) cleanups.push(() => threadListener.close());
  const cleanup = () => {
    for (const fn of cleanups.splice(0)) fn();
  };
  let systemd: ReturnType<typeof linkSystemd>;
  const threads = threadMode
    ? threadWorkers(workerEntry('thread-host'), process.execArgv, threadListener)
    : undefined;
  let upgrader: Upgrader | undefined;
  let metrics: MetricsEndpoint | undefined;
  /** After an upgrade's hand-over, with `metrics`: the counters go to the new supervisor. */
  let carried: { finish(): Promise<void> } | undefined;
  const supervisor = new Supervisor({
    config,
    app,
    cwd,
    inheritedFds,
    log,
    spawnWorker: threads?.spawn,
    exit: (code) => {
      cleanup();
      // The helper transport may still be delivering STOPPING=1; do not leave it half-sent. A new
      // supervisor of an upgrade that was underway is stopping too: wait for it.
      // Thread mode: the host process exits before the supervisor (no process is left behind).
      void Promise.all([systemd?.flush(1000), upgrader?.settled(), threads?.close()]).then(() =>
        process.exit(code),
      );
    },
  });
  upgrader = new Upgrader({
    supervisor,
    app,
    cwd,
    config,
    log,
    upgrades: handover?.upgrades ?? 0,
    notYet: () =>
      successor && !successor.hasTakenOver
        ? 'this supervisor is itself the new one of an upgrade that has not finished'
        : undefined,
    listeningFds: () =>
      threadListener ? [{ fd: threadListener.fd, name: undefined }] : listeningFds(keptSockets, inheritedFds),
    metricsFd: () => metrics?.fd(),
    handedOver: (send) => {
      if (metrics) carried = carryCounters(metrics, send);
    },
    env: () => supervisorEnv({ ...process.env, ...systemdEnv }, cwd),
    controlPath: () => (control ? controlLocation.path : undefined),
    onCutover: async (pid) => {
      systemd?.handOver(pid);
      // MAINPID= must reach systemd before the new supervisor's READY=1.
      await systemd?.flush(5000);
    },
    onCutoverUndone: () => systemd?.takeBack(),
    reclaim: async () => {
      await control?.reclaim();
      if (config.pidFile) reclaimPidFile(path.resolve(cwd, config.pidFile), config.pidFile, log);
    },
    // What the new supervisor owns now (control socket, pid file, listening sockets: closing a unix
    // socket's handle would unlink its path) is left as it is: the process just exits, once the
    // requests that reached its control socket before it moved are answered and its last counters
    // are sent.
    exit: (code) => {
      systemd?.close();
      void Promise.all([control?.answered(CONTROL_ANSWER_WAIT_MS), carried?.finish()]).then(() =>
        process.exit(code),
      );
    },
  });
  for (const signal of ['SIGHUP', 'SIGTERM', 'SIGINT', 'SIGTTIN', 'SIGTTOU', 'SIGUSR2'] as const) {
    process.on(signal, () => {
      if (!upgrader.handedOver) supervisor.handleSignal(signal);
      else if (signal === 'SIGTERM' || signal === 'SIGINT') log.event('handOverSignalIgnored', { signal });
    });
  }
  relayServerEvents(supervisor);
  if (successor) successor.onStop = () => supervisor.requestStop();
  // A new supervisor of an upgrade talks to systemd only once it has taken over.
  const linkToSystemd = () => {
    systemd = linkSystemd(supervisor, config, log, { ...process.env, ...systemdEnv });
    if (systemd) cleanups.push(() => systemd?.close());
  };
  if (!successor) linkToSystemd();
  delete process.env.NOTIFY_SOCKET;
  delete process.env.WATCHDOG_USEC;
  delete process.env.WATCHDOG_PID;
  delete process.env[TRANSPORT_ENV];

  let control: Awaited<ReturnType<typeof startControlServer>>;
  try {
    // A new supervisor of an upgrade listens at a staging path until it takes over.
    const location = successor
      ? { ...controlLocation, path: stagingSocketPath(controlLocation.path, process.pid) }
      : controlLocation;
    control = await startControlServer(location, supervisor, log, upgrader);
  } catch (err) {
    cleanup();
    throw err;
  }
  if (control) cleanups.push(() => control.close());
  // prom-client is loaded only when the option is set: without it the supervisor stays as small.
  // The new supervisor of an upgrade serves on the old one's metrics socket, from the hand-over on.
  if (config.metrics !== undefined) {
    try {
      const { startMetricsServer } = await import('../metrics/metrics-server.ts');
      const endpoint = await startMetricsServer(config.metrics, supervisor, log, handover?.metricsFd);
      metrics = endpoint;
      cleanups.push(() => endpoint.close());
      if (successor && handover?.metricsFd !== undefined)
        successor.onCounters = receiveCounters(endpoint, log);
    } catch (err) {
      cleanup();
      throw err;
    }
  }
  const writePid = () => {
    if (!config.pidFile) return;
    const pidFile = path.resolve(cwd, config.pidFile);
    writePidFile(pidFile, config.pidFile);
    cleanups.push(() => rmSync(pidFile, { force: true }));
  };
  if (!successor) {
    try {
      writePid();
    } catch (err) {
      cleanup();
      throw err;
    }
  }

  try {
    await supervisor.start();
  } catch (err) {
    cleanup();
    await Promise.all([systemd?.flush(1000), threads?.close()]);
    if (err instanceof PounceError) log.event('startupFailed', { code: err.code, reason: err.message });
    throw err;
  }

  if (successor && supervisor.state === 'serving') {
    if (!(await successor.ready())) return;
    // The pid file first, then the control socket: a client that read the old pid gets its answer
    // from either supervisor, and the old one names this one as its successor (cli/control.ts).
    writePid();
    if (successor.handover.controlSocket) control?.moveTo(controlLocation.path);
    else control?.close();
    if (process.env[UPGRADE_FAULT_ENV] === 'die-after-move') process.kill(process.pid, 'SIGKILL');
    linkToSystemd();
    successor.tookOver();
    log.event('upgradeTookOver', { previousPid: successor.handover.previousPid });
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
  // Started: drop what starting up left in the heap, and what each reload leaves (see
  // supervisor/compact-heap.ts), once the burst's last log lines and worker messages are handled.
  if (supervisor.state === 'serving') compactHeapSoon(COMPACT_HEAP_DELAY_MS);
  supervisor.on('reloadFinished', () => compactHeapSoon(COMPACT_HEAP_DELAY_MS));
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
 * The sockets an upgrade hands to the next supervisor: the kept listening handles (with the names
 * socket activation gave them).
 */
function listeningFds(kept: KeptSockets | undefined, inherited: readonly InheritedFd[]): InheritedFd[] {
  return (kept?.fds() ?? []).map((fd) => ({ fd, name: inherited.find((f) => f.fd === fd)?.name }));
}

function pickEnv(env: NodeJS.ProcessEnv, names: string[]): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const name of names) {
    const value = env[name];
    if (value !== undefined) picked[name] = value;
  }
  return picked;
}

/**
 * Options that are part of the configuration model but whose feature has not landed yet. Refusing
 * them is better than accepting a setting that silently does nothing.
 */
export function assertAvailable(config: Config): void {
  // Thread mode without a supervisor-held socket (thread-listener.ts): each thread binds host:port.
  if (config.workerMode !== 'thread' || threadListenerAvailable()) return;
  const what =
    config.uds !== undefined
      ? 'uds'
      : config.fd !== undefined
        ? 'fd'
        : config.port === 0
          ? 'port 0'
          : undefined;
  if (what)
    throw configError(
      `Unsupported ${what} with workerMode "thread" on this Node (it lacks net._createServerHandle)`,
    );
}
