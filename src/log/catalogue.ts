// The catalogue of every log line pounce prints on purpose: its event name, level and message.
// Messages follow the wording users of the Python pounce already know ("Received SIGHUP —
// triggering graceful reload"), so their dashboards and grep habits keep working.

type Level = 'debug' | 'info' | 'warn' | 'error' | 'fatal';

interface LogEvent<F> {
  readonly level: Level;
  readonly message: (fields: F) => string;
}

const event = <F = Record<string, never>>(level: Level, message: (fields: F) => string): LogEvent<F> => ({
  level,
  message,
});

export const catalogue = {
  // Starting
  configLoaded: event<{ file: string }>('debug', (f) => `Loaded configuration from ${f.file}`),
  appLoaded: event<{ app: string; shape: string }>('debug', (f) => `Loaded app ${f.app} (${f.shape})`),
  listening: event<{ url: string; workers: number }>(
    'info',
    (f) => `Listening on ${f.url} with ${f.workers} worker(s)`,
  ),
  startupFailed: event<{ code: string; reason: string }>('fatal', (f) => `Startup failed — ${f.reason}`),
  // Shutdown
  signalShutdown: event<{ signal: string }>('info', (f) => `Received ${f.signal} — initiating shutdown`),
  stopRequested: event('info', () => 'Stop requested through the control socket — initiating shutdown'),
  signalForce: event<{ signal: string }>('warn', (f) => `Received ${f.signal} again — exiting immediately`),
  shutdownDelay: event<{ seconds: number }>(
    'info',
    (f) => `Health now reports draining; waiting ${f.seconds}s (shutdownDelay) before draining connections`,
  ),
  readinessFailed: event<{ reason: string }>(
    'warn',
    (f) => `Readiness check failing — health answers 503 not-ready: ${f.reason}`,
  ),
  readinessRestored: event('info', () => 'Readiness check passes again — health answers 200'),
  platformDefault: event<{ option: string; value: unknown; reason: string }>(
    'info',
    (f) => `Using ${f.option} ${String(f.value)} (not set; ${f.reason})`,
  ),
  shuttingDown: event<{ workers: number }>('info', (f) => `Shutting down ${f.workers} worker(s)...`),
  workerDraining: event<{ worker: number; connections: number }>(
    'info',
    (f) => `Worker ${f.worker} draining ${f.connections} active connection(s)...`,
  ),
  workerIdleShutdown: event<{ worker: number; reason: 'reload' | 'shutdown' }>(
    'info',
    // The shutdown wording is the one users of the Python pounce know.
    (f) =>
      `Worker ${f.worker} ${f.reason === 'shutdown' ? 'shutting down' : 'leaving'} (no active connections)`,
  ),
  workerForce: event<{ worker: number; timeoutName: string; seconds: number; connections: number }>(
    'warn',
    (f) =>
      `Worker ${f.worker} did not stop within ${f.timeoutName} (${f.seconds}s) — force terminating ${f.connections} connection(s)`,
  ),
  workerStopped: event<{ worker: number }>('info', (f) => `Worker ${f.worker} stopped`),
  allStopped: event('info', () => 'All workers stopped'),
  shutdownHookFailed: event<{ error: string }>('error', (f) => `Shutdown hook failed: ${f.error}`),
  shutdownHookTimeout: event<{ seconds: number }>(
    'warn',
    (f) => `Shutdown hooks did not finish within shutdownHookTimeout (${f.seconds}s) — continuing`,
  ),
  drainHookFailed: event<{ error: string }>('error', (f) => `Drain hook failed: ${f.error}`),
  // Supervisor and workers
  workerSpawned: event<{ worker: number; generation: number; pid: number }>(
    'debug',
    (f) => `Worker ${f.worker} (generation ${f.generation}) started as pid ${f.pid}`,
  ),
  bootCpus: event<{ worker: number; cpus: string; load: number }>(
    'debug',
    (f) =>
      `Worker ${f.worker} boots on CPU(s) ${f.cpus} only: the serving workers are busy (${f.load} of a CPU)`,
  ),
  workerReady: event<{ worker: number; generation: number; url: string }>(
    'debug',
    (f) => `Worker ${f.worker} (generation ${f.generation}) is ready`,
  ),
  workerFailed: event<{ worker: number; generation: number; code: string; reason: string }>(
    'error',
    (f) => `Worker ${f.worker} (generation ${f.generation}) failed to start: ${f.reason}`,
  ),
  workerCrashed: event<{ worker: number; generation: number; exit: string }>(
    'error',
    (f) => `Worker ${f.worker} (generation ${f.generation}) exited unexpectedly (${f.exit})`,
  ),
  workerRestarting: event<{ generation: number; delayMs: number }>(
    'warn',
    (f) => `Starting a replacement worker (generation ${f.generation}) in ${f.delayMs} ms`,
  ),
  workerReplacing: event<{ worker: number; generation: number; why: string }>(
    'info',
    (f) => `Replacing worker ${f.worker} (generation ${f.generation}): ${f.why}`,
  ),
  crashLoop: event<{ crashes: number; seconds: number }>(
    'fatal',
    (f) =>
      `Workers crashed ${f.crashes} times within ${f.seconds}s — giving up instead of restarting in a loop (exitOnCrashLoop)`,
  ),
  crashLoopContinuing: event<{ crashes: number; seconds: number; delayMs: number }>(
    'error',
    (f) =>
      `Workers crashed ${f.crashes} times within ${f.seconds}s — crash loop: still replacing them, at most every ${f.delayMs} ms (set exitOnCrashLoop to exit instead)`,
  ),
  crashLoopEnded: event<{ seconds: number }>(
    'info',
    (f) => `No worker crashed for ${f.seconds}s — the crash loop is over`,
  ),
  uncaughtException: event<{
    worker: number;
    origin: string;
    error: string;
    stack: string | undefined;
    again: boolean;
  }>('error', (f) =>
    f.again
      ? `Worker ${f.worker}: another ${f.origin === 'unhandledRejection' ? 'unhandled rejection' : 'uncaught exception'} while it retires: ${f.error}`
      : `Worker ${f.worker}: ${f.origin === 'unhandledRejection' ? 'unhandled rejection' : 'uncaught exception'}: ${f.error} — it stops accepting, finishes its requests in flight and is replaced`,
  ),
  workerFatal: event<{ worker: number; generation: number; error: string }>(
    'error',
    (f) =>
      `Worker ${f.worker} (generation ${f.generation}) hit an uncaught error (${f.error}) — replacing it`,
  ),
  workerUnresponsive: event<{ worker: number; generation: number; seconds: number }>(
    'error',
    (f) =>
      `Worker ${f.worker} (generation ${f.generation}) has not answered for ${f.seconds}s (workerTimeout) — its event loop is blocked or the process is stopped; replacing it`,
  ),
  workerResponsive: event<{ worker: number; generation: number; seconds: number }>(
    'warn',
    (f) => `Worker ${f.worker} (generation ${f.generation}) answers again after ${f.seconds}s of silence`,
  ),
  workerKilledUnresponsive: event<{ worker: number; generation: number; seconds: number }>(
    'error',
    (f) => `Worker ${f.worker} (generation ${f.generation}) stayed silent for ${f.seconds}s — killing it`,
  ),
  workerKilled: event<{ worker: number; timeoutName: string; seconds: number; waitedSeconds: number }>(
    'warn',
    (f) =>
      `Worker ${f.worker} did not stop within ${f.timeoutName} (${f.seconds}s) — force terminating after ${f.waitedSeconds}s (${f.timeoutName}, shutdown hooks and grace)`,
  ),
  reloadSignal: event('info', () => 'Received SIGHUP — triggering graceful reload'),
  reloadRequested: event(
    'info',
    () => 'Reload requested through the control socket — triggering graceful reload',
  ),
  reloadQueued: event('info', () => 'A reload is in progress — queued one more reload to run after it'),
  reloadIgnored: event<{ state: string }>('warn', (f) => `Reload ignored: the server is ${f.state}`),
  spawning: event<{ workers: number; generation: number }>(
    'info',
    (f) => `Spawning ${f.workers} new worker(s) (generation ${f.generation})...`,
  ),
  drainingOld: event<{ generation: number }>(
    'info',
    (f) => `New workers spawned. Draining old workers (generation ${f.generation})...`,
  ),
  workerIdle: event<{ worker: number; generation: number }>(
    'info',
    (f) => `Worker ${f.worker} (generation ${f.generation}) is idle`,
  ),
  reloadComplete: event<{ workers: number; generation: number }>(
    'info',
    (f) => `Graceful reload complete. Running ${f.workers} worker(s) on generation ${f.generation}`,
  ),
  reloadFailed: event<{ reason: string }>(
    'error',
    (f) => `Reload failed — continuing with previous version: ${f.reason}`,
  ),
  reloadAborted: event('warn', () => 'Reload aborted by shutdown'),
  // Upgrades of pounce itself (src/upgrade/)
  upgradeRequested: event<{ via: string }>(
    'info',
    (f) => `${f.via} — upgrading: starting a new supervisor from the pounce and Node on disk`,
  ),
  upgradeStarting: event<{ pid: number; node: string; pounceVersion: string }>(
    'info',
    (f) =>
      `New supervisor started (pid ${f.pid}, pounce ${f.pounceVersion}, ${f.node}) — it takes over once its workers are ready`,
  ),
  upgradeRefused: event<{ reason: string }>('warn', (f) => `Upgrade refused: ${f.reason}`),
  upgradeFailed: event<{ reason: string }>(
    'error',
    (f) => `Upgrade failed — this supervisor keeps serving: ${f.reason}`,
  ),
  upgradeComplete: event<{ pid: number; pounceVersion: string; nodeVersion: string; upgrades: number }>(
    'info',
    (f) =>
      `Upgrade complete: pid ${f.pid} (pounce ${f.pounceVersion}, Node ${f.nodeVersion}) serves now (upgrade ${f.upgrades})`,
  ),
  handingOver: event<{ workers: number }>(
    'info',
    (f) => `Handed over to the new supervisor — draining ${f.workers} worker(s), then exiting`,
  ),
  handOverSignalIgnored: event<{ signal: string }>(
    'info',
    (f) => `${f.signal} ignored: this supervisor has handed over and exits once its workers have drained`,
  ),
  upgradeSuccessor: event<{ previousPid: number; upgrades: number }>(
    'info',
    (f) =>
      `Started by pid ${f.previousPid} to upgrade it (upgrade ${f.upgrades}) — taking over once every worker is ready`,
  ),
  upgradeTookOver: event<{ previousPid: number }>(
    'info',
    (f) =>
      `Took over from pid ${f.previousPid}: control socket, pid file and systemd main pid are this process's`,
  ),
  upgradeAbandoned: event<{ reason: string }>(
    'warn',
    (f) => `The supervisor that started this one for an upgrade ${f.reason} — shutting down`,
  ),
  signalIgnored: event<{ signal: string; state: string }>(
    'warn',
    (f) => `${f.signal} ignored: the server is ${f.state}`,
  ),
  scaling: event<{ via: string; previous: number; workers: number }>(
    'info',
    (f) =>
      `${f.via} — scaling ${f.workers > f.previous ? 'up' : 'down'} from ${f.previous} to ${f.workers} worker(s)`,
  ),
  scaleUnchanged: event<{ via: string; workers: number; minimum: boolean }>(
    'info',
    (f) => `${f.via} — keeping ${f.workers} worker(s)${f.minimum ? ': never fewer than 1' : ''}`,
  ),
  scaleDeferred: event<{ workers: number; state: string }>(
    'info',
    (f) => `The server is ${f.state}: ${f.workers} worker(s) will run once it is serving`,
  ),
  recycleFailed: event<{ worker: number; generation: number; reason: string; retrySeconds: number }>(
    'warn',
    (f) =>
      `Could not replace worker ${f.worker} (generation ${f.generation}): its successor failed to start (${f.reason}) — it keeps serving; next try in ${f.retrySeconds}s`,
  ),
  socketActivation: event<{ sockets: string }>(
    'info',
    (f) =>
      `Serving on socket(s) inherited from the service manager: ${f.sockets} (host, port and uds are not used)`,
  ),
  threadModeMigrateReq: event<{ warning: string }>('warn', (f) => f.warning),
  listeningSocketsUnprotected: event(
    'warn',
    () =>
      'This Node has no net._createServerHandle: while no worker is alive the listening socket is closed (connections are refused), and an inherited socket cannot be served again',
  ),
  roundRobinSingleWorker: event(
    'warn',
    () =>
      'scheduling round-robin with 1 worker: connections are refused while that worker is being replaced after a crash (Node closes the round-robin listener when its last worker exits); shared scheduling keeps them queued',
  ),
  listenFdsIgnored: event<{ listenPid: string; pid: number }>(
    'warn',
    (f) => `LISTEN_FDS is meant for pid ${f.listenPid}, not this process (${f.pid}) — ignoring it`,
  ),
  accessLogDropped: event<{ lines: number; bufferMb: number }>(
    'warn',
    (f) =>
      `${f.lines} access log line(s) dropped: stdout did not keep up and ${f.bufferMb} MB of lines were waiting`,
  ),
  stdoutMayBlock: event<{ why: string }>(
    'info',
    (f) =>
      `${f.why}: lines are written to it as they come, and a reader that stops reading stops this server at its next line`,
  ),
  logLinesDropped: event<{ lines: number; queuedKb: number }>(
    'warn',
    (f) =>
      `${f.lines} log line(s) dropped: stdout did not keep up and ${f.queuedKb} KB of lines were waiting`,
  ),
  notifyTransport: event<{ transport: string }>(
    'debug',
    (f) => `Sending systemd notifications through ${f.transport}`,
  ),
  notifyHelper: event(
    'warn',
    () =>
      "Sending systemd notifications through the systemd-notify helper (this Node has no node:ffi): as pounce does not run as root, the messages come from the helper's pid — set NotifyAccess=all in the unit",
  ),
  notifyUnavailable: event<{ reason: string }>(
    'warn',
    (f) =>
      `NOTIFY_SOCKET is set but pounce cannot send systemd notifications (${f.reason}) — systemd will not learn when pounce is ready; install systemd-notify or run on Node >= 26.1`,
  ),
  notifyFailed: event<{ error: string }>('warn', (f) => `Sending a systemd notification failed: ${f.error}`),
  watchdogEnabled: event<{ intervalMs: number }>(
    'debug',
    (f) => `Sending systemd watchdog keep-alive pings every ${f.intervalMs} ms`,
  ),
  watching: event<{ dirs: string; extensions: string }>(
    'info',
    (f) => `Watching ${f.dirs} for changes to ${f.extensions} files`,
  ),
  filesChanged: event<{ files: string; count: number }>(
    'info',
    (f) => `Detected changes in ${f.files}${f.count > 1 ? ` (${f.count} files)` : ''} — reloading`,
  ),
  watchError: event<{ error: string }>('warn', (f) => `File watcher error: ${f.error}`),
  compileCacheDisabled: event<{ reason: string }>(
    'warn',
    (f) => `Compile cache off (workers boot slower): ${f.reason}`,
  ),
  serverEventListenerFailed: event<{ error: string }>(
    'error',
    (f) => `An onServerEvent listener failed: ${f.error}`,
  ),
  metricsListening: event<{ url: string }>('info', (f) => `Metrics at ${f.url}`),
  metricsError: event<{ error: string }>('warn', (f) => `Metrics endpoint error: ${f.error}`),
  controlListening: event<{ path: string }>('debug', (f) => `Control socket listening at ${f.path}`),
  pidFileReclaimed: event<{ file: string }>(
    'warn',
    (f) => `Pid file ${f.file} names this supervisor again (the new one failed to take over)`,
  ),
  pidFileReclaimFailed: event<{ file: string; error: string }>(
    'error',
    (f) => `Pid file ${f.file} could not be rewritten after a failed take-over: ${f.error}`,
  ),
  controlReclaimFailed: event<{ path: string; error: string }>(
    'error',
    (f) => `Control socket ${f.path} could not be taken back after a failed take-over: ${f.error}`,
  ),
  controlReclaimed: event<{ path: string }>(
    'warn',
    (f) => `Control socket ${f.path} taken back from the new supervisor that failed to take over`,
  ),
  controlUnavailable: event<{ path: string; error: string }>(
    'warn',
    (f) =>
      `Control socket ${f.path} unavailable (${f.error}) — pounce reload/stop/status will not reach this server`,
  ),
  // Server scripts (modules that call listen() themselves)
  scriptListening: event<{ generation: number; asked: string; url: string }>(
    'info',
    (f) =>
      `Server script asked to listen on ${f.asked}; generation ${f.generation} serves it on ${f.url} (every worker)`,
  ),
  scriptWorkerListening: event<{ worker: number; asked: string; url: string }>(
    'debug',
    (f) => `Server script asked to listen on ${f.asked}; worker ${f.worker} serves it on ${f.url}`,
  ),
  scriptAlias: event<{ asked: string }>(
    'debug',
    (f) =>
      `Server script listened again with the same app on ${f.asked} (another address of the same service, as Fastify does for localhost) — not bound: pounce's listener already serves it`,
  ),
  scriptExtraListener: event<{ asked: string; server: string; action: 'ignored' | 'bound' }>('warn', (f) =>
    f.action === 'ignored'
      ? `Server script started another listener (${f.server} on ${f.asked}) — not bound (scriptExtraListeners=ignore)`
      : `Server script started another listener (${f.server} on ${f.asked}) — bound where it asked, not drained by pounce (scriptExtraListeners=passthrough)`,
  ),
  scriptExportWins: event<{ app: string }>(
    'info',
    (f) =>
      `${f.app} exports an app and also called listen(): serving the export; the server it started was closed`,
  ),
  scriptSignalHandlers: event<{ count: number }>(
    'debug',
    (f) =>
      `Server script installed ${f.count} SIGTERM/SIGINT handler(s): held back, they run as shutdown hooks after the drain`,
  ),
  scriptExitHeld: event<{ code: string }>(
    'warn',
    (f) =>
      `Server script called ${f.code.startsWith('process.') ? f.code : `process.exit(${f.code})`} during the drain — held until the drain's responses are sent and the shutdown hooks ran`,
  ),
  // Requests
  requestTimeout: event<{ method: string; url: string; seconds: number; responseStarted: boolean }>(
    'warn',
    (f) =>
      `Request ${f.method} ${f.url} exceeded requestTimeout (${f.seconds}s) — ${f.responseStarted ? 'connection cut' : 'answered 503'}`,
  ),
  requestError: event<{ method: string; url: string; error: string }>(
    'error',
    (f) => `Unhandled error in app while serving ${f.method} ${f.url}: ${f.error}`,
  ),
  descriptorsLow: event<{ worker: number; limit?: number; connections?: number; closed: number }>(
    'warn',
    (f) =>
      `Worker ${f.worker} is running out of file descriptors (${f.connections ?? '?'} connections, limit ${f.limit ?? 'unknown'}): closed ${f.closed} connection(s) that had sent nothing; logged at most once a minute`,
  ),
  silentClosed: event<{ connections: number; seconds: number }>(
    'debug',
    (f) => `Closed ${f.connections} connection(s) that sent nothing within headersTimeout (${f.seconds}s)`,
  ),
  serverError: event<{ error: string }>(
    'error',
    (f) => `Server error (the worker keeps serving): ${f.error}`,
  ),
} as const;

export type EventName = keyof typeof catalogue;
export type EventFields<E extends EventName> = (typeof catalogue)[E] extends LogEvent<infer F> ? F : never;
