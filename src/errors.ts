// Every error pounce reports on purpose carries a stable code, so a test can match it and a
// user can search for it (as Fastify's FST_ERR_* and undici's UND_ERR_* do).

export const ErrorCode = {
  /** A configuration value, flag, env variable or config file is invalid. Exit status 2. */
  CONFIG: 'POUNCE_ERR_CONFIG',
  /** The command line is malformed (unknown command, missing APP argument). Exit status 2. */
  USAGE: 'POUNCE_ERR_USAGE',
  /** The app module file does not exist. */
  APP_NOT_FOUND: 'POUNCE_ERR_APP_NOT_FOUND',
  /** The app module threw (or failed to parse) while being imported. */
  APP_IMPORT: 'POUNCE_ERR_APP_IMPORT',
  /** The requested export (default, `app`, or `path:name`) does not exist. */
  APP_EXPORT_MISSING: 'POUNCE_ERR_APP_EXPORT_MISSING',
  /** The export is not a request listener, fetch handler, `{ fetch }` object or factory. */
  APP_SHAPE: 'POUNCE_ERR_APP_SHAPE',
  /** The app factory threw or rejected. */
  APP_FACTORY: 'POUNCE_ERR_APP_FACTORY',
  /** The exported app's own start failed (a Fastify instance's ready(): one of its plugins). */
  APP_READY: 'POUNCE_ERR_APP_READY',
  /** A startup hook threw or rejected. */
  STARTUP_HOOK: 'POUNCE_ERR_STARTUP_HOOK',
  /** The app was not ready within `startupTimeout`. */
  STARTUP_TIMEOUT: 'POUNCE_ERR_STARTUP_TIMEOUT',
  /** The TLS certificate, key or CA file is missing or invalid. */
  TLS: 'POUNCE_ERR_TLS',
  /** A worker failed to start for a reason that has no code of its own (the message has it). */
  WORKER: 'POUNCE_ERR_WORKER',
  /** The listening socket could not be opened (address in use, permission, bad fd). */
  LISTEN: 'POUNCE_ERR_LISTEN',
  /**
   * A directory or socket pounce would trust (control socket, compile cache, pid file) could be
   * controlled by another user. Exit status 2 for `serve`, 1 for the client commands.
   */
  UNSAFE_PATH: 'POUNCE_ERR_UNSAFE_PATH',
  /** Printed by the CLI entry (cli/main.ts) when this Node is older than package.json engines. Exit status 2. */
  NODE_VERSION: 'POUNCE_ERR_NODE_VERSION',
  /** A server script did not call listen() within `startupTimeout`. */
  SCRIPT_NO_LISTEN: 'POUNCE_ERR_SCRIPT_NO_LISTEN',
  /** The first server a server script listens with is not an HTTP server pounce can serve. */
  SCRIPT_NOT_HTTP: 'POUNCE_ERR_SCRIPT_NOT_HTTP',
  /** A server script listened a second time (another port, another server) and `scriptExtraListeners` is `error`. */
  SCRIPT_EXTRA_LISTENER: 'POUNCE_ERR_SCRIPT_EXTRA_LISTENER',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Process exit statuses, as documented in the README. */
export const ExitCode = {
  /** Clean shutdown (also when stragglers were cut at `shutdownTimeout`: the shutdown policy ran to its end). */
  OK: 0,
  /** The app could not start (import, shape, startup hook, listen), or a second signal forced an immediate exit. */
  FAILURE: 1,
  /** Bad configuration or command line. */
  USAGE: 2,
} as const;

export class PounceError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PounceError';
    this.code = code;
  }

  /** The exit status a CLI run that ends with this error should use. */
  get exitCode(): number {
    return this.code === ErrorCode.CONFIG ||
      this.code === ErrorCode.USAGE ||
      this.code === ErrorCode.UNSAFE_PATH ||
      this.code === ErrorCode.NODE_VERSION
      ? ExitCode.USAGE
      : ExitCode.FAILURE;
  }
}

/** One message template: the code it is reported with and the sentence built from the facts. */
function template<F>(
  code: ErrorCode,
  message: (facts: F) => string,
): { code: ErrorCode; message: (facts: F) => string } {
  return { code, message };
}

/**
 * Every error with a fixed sentence, its code and its template in one place (as Fastify's
 * lib/errors.js and undici's lib/core/errors.js keep theirs): call sites pass only the facts, through
 * pounceError(), so a message cannot drift between two places that report the same thing. Values
 * arrive already shown (describeValue, JSON.stringify) where the caller knows best how to show them.
 * Configuration errors are built by configError(): the option table (config/options.ts) supplies
 * each option's rule, and config/load.ts words them all the same way.
 */
export const ERRORS = {
  APP_NOT_FOUND: template(
    ErrorCode.APP_NOT_FOUND,
    (f: { module: string; base: string; extensions: readonly string[] }) =>
      `App module ${JSON.stringify(f.module)} not found (looked for ${f.base} with ${f.extensions.join(', ')} and index files)`,
  ),
  APP_IMPORT: template(
    ErrorCode.APP_IMPORT,
    (f: { module: string; error: string; location: string }) =>
      `App module ${f.module} threw while being imported: ${f.error}${f.location}`,
  ),
  APP_EXPORT_MISSING: template(
    ErrorCode.APP_EXPORT_MISSING,
    (f: { file: string; name: string; available: string }) =>
      `App module ${f.file} has no export named ${JSON.stringify(f.name)} (exports: ${f.available})`,
  ),
  APP_NO_DEFAULT_EXPORT: template(
    ErrorCode.APP_EXPORT_MISSING,
    (f: { file: string; module: string; available: string }) =>
      `App module ${f.file} has neither a default export nor an export named "app" (exports: ${f.available}); export one, name it with ${f.module}:NAME, or, if the module starts its own server with listen(), serve it with --interface script`,
  ),
  APP_SHAPE: template(
    ErrorCode.APP_SHAPE,
    (f: { where: string; value: unknown }) =>
      `${f.where} is ${describeValue(f.value)}, not an app. Export a Node request listener (req, res), a fetch handler (request) => Response, an object with a fetch method, or a factory () => one of these.`,
  ),
  APP_UPGRADE_SHAPE: template(
    ErrorCode.APP_SHAPE,
    (f: { value: unknown }) =>
      `Export upgrade of the app module is ${describeValue(f.value)}; it must be a function (req, socket, head)`,
  ),
  APP_HOOK_SHAPE: template(
    ErrorCode.APP_SHAPE,
    (f: { name: string; value: unknown }) =>
      `Export ${f.name} of the app module is ${describeValue(f.value)}; it must be a function`,
  ),
  APP_FACTORY: template(
    ErrorCode.APP_FACTORY,
    (f: { where: string; error: string }) => `${f.where} is a factory and it threw: ${f.error}`,
  ),
  APP_READY: template(
    ErrorCode.APP_READY,
    (f: { where: string; error: string }) =>
      `${f.where} is a Fastify instance and its ready() failed: ${f.error}`,
  ),
  STARTUP_HOOK: template(ErrorCode.STARTUP_HOOK, (f: { error: string }) => `Startup hook failed: ${f.error}`),
  STARTUP_TIMEOUT: template(
    ErrorCode.STARTUP_TIMEOUT,
    (f: { what: string; seconds: number }) =>
      `${f.what} did not finish within startupTimeout (${f.seconds}s)`,
  ),
  WORKER_NOT_READY: template(
    ErrorCode.STARTUP_TIMEOUT,
    (f: { seconds: number }) => `a worker did not become ready within startupTimeout (${f.seconds}s)`,
  ),
  WORKER_START_CRASH: template(
    ErrorCode.WORKER,
    (f: { origin: 'uncaughtException' | 'unhandledRejection'; error: string }) =>
      `${f.origin === 'unhandledRejection' ? 'Unhandled rejection' : 'Uncaught exception'} while starting: ${f.error}`,
  ),
  WORKER_BOOT_PRIORITY: template(
    ErrorCode.WORKER,
    (f: { what: string }) =>
      `The worker booted at a low priority and could not take back ${f.what} before listening (chrt or taskset failed): it would serve at its boot priority`,
  ),
  TLS_FILE: template(
    ErrorCode.TLS,
    (f: { option: string; file: string; reason: string }) => `${f.option} ${f.file} ${f.reason}`,
  ),
  TLS_PAIR: template(
    ErrorCode.TLS,
    (f: { certFile: string; keyFile: string; reason: string }) =>
      `certFile ${f.certFile} / keyFile ${f.keyFile} cannot be used: ${f.reason}`,
  ),
  LISTEN: template(
    ErrorCode.LISTEN,
    (f: { target: string; reason: string }) => `Cannot listen on ${f.target}: ${f.reason}`,
  ),
  LISTEN_HOST_UNRESOLVED: template(
    ErrorCode.LISTEN,
    (f: { host: string; port: number; reason: string }) =>
      `Cannot listen on ${f.host}:${f.port}: the host name ${JSON.stringify(f.host)} does not resolve (${f.reason})`,
  ),
  LISTEN_SOCKET_BUSY: template(
    ErrorCode.LISTEN,
    (f: { path: string }) => `Cannot listen on unix:${f.path}: another server is listening on it`,
  ),
  LISTEN_SOCKET_FOREIGN: template(
    ErrorCode.LISTEN,
    (f: { path: string; uid: number }) =>
      `Cannot listen on unix:${f.path}: a stale socket of uid ${f.uid} is in the way — pounce removes only its own user's; remove it`,
  ),
  SCRIPT_INHERITED_SOCKETS: template(
    ErrorCode.LISTEN,
    (f: { count: number }) =>
      `A server script has one server, but ${f.count} listening sockets were inherited (socket activation): pass one socket, or export the app instead`,
  ),
  SCRIPT_NO_LISTEN: template(
    ErrorCode.SCRIPT_NO_LISTEN,
    (f: { module: string; seconds: number; served: boolean }) =>
      `Server script ${f.module} did not call listen() within startupTimeout (${f.seconds}s)${f.served ? '' : ': a module served by pounce must export an app (default or "app") or start an HTTP server'}`,
  ),
  SCRIPT_NOT_HTTP: template(
    ErrorCode.SCRIPT_NOT_HTTP,
    (f: { address: string; kind: string }) =>
      `The server script's first listen() (on ${f.address}) is on ${f.kind}, not an HTTP server: pounce serves HTTP and HTTPS servers (http.createServer, https.createServer, and the frameworks built on them)`,
  ),
  SCRIPT_EXTRA_LISTENER: template(
    ErrorCode.SCRIPT_EXTRA_LISTENER,
    (f: { address: string; kind: string }) =>
      `The server script started a second listener (${f.kind} on ${f.address}) besides the HTTP server pounce serves; pounce serves one. Set scriptExtraListeners to ignore (bind nothing) or passthrough (bind it where it asks, without draining)`,
  ),
  UNSAFE_DIR: template(
    ErrorCode.UNSAFE_PATH,
    (f: { what: string; dir: string; reason: string; advice: string }) =>
      `${f.what} ${f.dir} is not safe to use: ${f.reason} — ${f.advice}`,
  ),
  UNSAFE_CONTROL_SOCKET_SERVE: template(
    ErrorCode.UNSAFE_PATH,
    (f: { path: string; owner: number; uid: number }) =>
      `The control socket ${f.path} is not safe to use: it is a socket of uid ${f.owner}, not of uid ${f.uid} (this user) — another user may be waiting for pounce reload/stop/status there; remove it, or choose another --control-socket`,
  ),
  UNSAFE_CONTROL_SOCKET_CLIENT: template(
    ErrorCode.UNSAFE_PATH,
    (f: { path: string; owner: number; uid: number }) =>
      `The control socket ${f.path} is not safe to use: it belongs to uid ${f.owner}, not to uid ${f.uid} (this user) or root — it is not your pounce server; refusing to talk to it`,
  ),
  UNTRUSTED_SERVER_PID: template(
    ErrorCode.UNSAFE_PATH,
    (f: { path: string; pid: number; pidFile: string; expected: number }) =>
      `the server at ${f.path} is pid ${f.pid}, but the pid file ${f.pidFile} names pid ${f.expected} — they are not the same server; not trusting its answer`,
  ),
  UNKNOWN_FLAG: template(
    ErrorCode.CONFIG,
    (f: { flag: string }) => `Unknown flag ${f.flag} — run pounce --help for the list of flags`,
  ),
  FLAG_VALUE_MISSING: template(
    ErrorCode.CONFIG,
    (f: { flag: string | undefined }) =>
      `Missing value for ${f.flag} — it takes a value, as in ${f.flag} VALUE`,
  ),
  FLAG_IS_SWITCH: template(
    ErrorCode.CONFIG,
    (f: { flag: string | undefined }) =>
      `Flag ${f.flag} does not take a value — it is a switch (${f.flag} or ${f.flag?.replace(/^--/, '--no-')})`,
  ),
  TOP_NEEDS_TERMINAL: template(
    ErrorCode.USAGE,
    (_: Record<string, never>) =>
      'pounce top needs a terminal (stdout is not one) — run pounce top --once to print one frame, or pounce status --json',
  ),
  INVALID_URL_FLAG: template(
    ErrorCode.USAGE,
    (f: { url: string }) => `Invalid --url ${JSON.stringify(f.url)} — it must be an http:// or https:// URL`,
  ),
  UNKNOWN_TARGET: template(
    ErrorCode.USAGE,
    (f: { target: string; targets: readonly string[] }) =>
      `Unknown target ${JSON.stringify(f.target)} — pounce generate takes one of: ${f.targets.join(', ')}`,
  ),
  INVALID_NAME_FLAG: template(
    ErrorCode.USAGE,
    (f: { name: string }) =>
      `Invalid --name ${JSON.stringify(f.name)} — it must be a DNS label: lowercase letters, digits and -, at most 63, starting and ending with a letter or digit`,
  ),
} as const;

export type ErrorId = keyof typeof ERRORS;
type Facts<K extends ErrorId> = Parameters<(typeof ERRORS)[K]['message']>[0];

/** The error `id` reports, built from its template: `pounceError('APP_NOT_FOUND', { module, base, extensions })`. */
export function pounceError<K extends ErrorId>(
  id: K,
  facts: Facts<K>,
  options?: { cause?: unknown },
): PounceError {
  const { code, message } = ERRORS[id] as { code: ErrorCode; message: (facts: Facts<K>) => string };
  return new PounceError(code, message(facts), options);
}

export function configError(message: string): PounceError {
  return new PounceError(ErrorCode.CONFIG, message);
}

/** Short, human description of an arbitrary value, for error messages ("a number (42)"). */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  switch (typeof value) {
    case 'string':
      return `a string (${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)})`;
    case 'number':
    case 'bigint':
    case 'boolean':
      return `a ${typeof value} (${String(value)})`;
    case 'function':
      return `a function${value.name ? ` named ${value.name}` : ''} taking ${value.length} argument(s)`;
    case 'symbol':
      return 'a symbol';
    default: {
      const proto = Object.getPrototypeOf(value);
      const ctor = proto?.constructor?.name;
      const keys = Object.keys(value as object);
      const kind = ctor && ctor !== 'Object' ? `an instance of ${ctor}` : 'an object';
      return keys.length ? `${kind} with keys ${keys.slice(0, 8).join(', ')}` : `${kind} with no own keys`;
    }
  }
}
