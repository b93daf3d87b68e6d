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
  signalForce: event<{ signal: string }>('warn', (f) => `Received ${f.signal} again — exiting immediately`),
  shutdownDelay: event<{ seconds: number }>(
    'info',
    (f) => `Health now reports draining; waiting ${f.seconds}s (shutdownDelay) before draining connections`,
  ),
  shuttingDown: event<{ workers: number }>('info', (f) => `Shutting down ${f.workers} worker(s)...`),
  workerDraining: event<{ worker: number; connections: number }>(
    'info',
    (f) => `Worker ${f.worker} draining ${f.connections} active connection(s)...`,
  ),
  workerIdleShutdown: event<{ worker: number }>(
    'info',
    (f) => `Worker ${f.worker} shutting down (no active connections)`,
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
  clientError: event<{ error: string }>('debug', (f) => `Malformed request from client: ${f.error}`),
} as const;

export type EventName = keyof typeof catalogue;
export type EventFields<E extends EventName> = (typeof catalogue)[E] extends LogEvent<infer F> ? F : never;
