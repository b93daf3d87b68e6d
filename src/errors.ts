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
