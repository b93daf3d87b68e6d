// The option table: every configuration option pounce has, with its default, its rule and one line
// of documentation. The config loader, the CLI flag parser, the env reader and the README's
// reference table are all derived from this one table, so they cannot disagree.

const { isIPv4, isIPv6 } = process.getBuiltinModule('node:net');
/** A value read from the environment or the command line arrives as text; from a config file it is typed. */
export type Source = 'text' | 'typed';

/** Result of parsing one raw value: the value, or the rule it broke. */
type Parsed<T> = { ok: true; value: T } | { ok: false };

interface OptionSpec<T> {
  readonly doc: string;
  readonly default: T;
  /** The rule, phrased to follow "must be": "a number of seconds greater than 0". */
  readonly rule: string;
  /** Extra environment variables, lowest precedence first (POUNCE_<NAME> always wins over these). */
  readonly env?: readonly string[];
  /** The kind of CLI flag: a flag that takes a value, a boolean switch, or a repeatable list. */
  readonly flag: 'value' | 'boolean' | 'list';
  readonly placeholder?: string;
  parse(raw: unknown, source: Source): Parsed<T>;
}

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const bad = { ok: false } as const;

function toNumber(raw: unknown, source: Source): number | undefined {
  if (typeof raw === 'number') return raw;
  // Text must be a plain decimal number: Number('') is 0 and Number('0x10') is 16, neither of which a
  // user who typed them meant.
  // An exponent (1e3) is a plain number too; Infinity and NaN are not numbers of anything.
  if (source === 'text' && typeof raw === 'string' && /^\s*-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i.test(raw))
    return Number(raw);
  return undefined;
}

/** The longest timer Node has is 2^31-1 ms: 2147483 whole seconds. */
const MAX_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

function seconds(
  doc: string,
  def: number,
  opts: { allowZero?: boolean; min?: number; env?: string[] } = {},
): OptionSpec<number> {
  const lower =
    opts.min !== undefined
      ? `a number of seconds, at least ${opts.min},`
      : opts.allowZero
        ? 'a number of seconds, 0 or more'
        : 'a number of seconds greater than 0';
  return {
    doc,
    default: def,
    rule: `${lower} and at most ${MAX_SECONDS} (about 24.8 days, the longest timer Node has)`,
    env: opts.env,
    flag: 'value',
    placeholder: 'SECONDS',
    parse(raw, source) {
      const n = toNumber(raw, source);
      if (n === undefined || !Number.isFinite(n) || n < 0 || (n === 0 && !opts.allowZero)) return bad;
      if (opts.min !== undefined && n < opts.min) return bad;
      // setTimeout cannot wait longer than 2^31-1 ms; a larger value would silently fire at once.
      if (n > MAX_SECONDS) return bad;
      return ok(n);
    },
  };
}

function optionalSeconds(doc: string): OptionSpec<number | undefined> {
  const inner = seconds(doc, 1);
  return { ...inner, default: undefined, parse: (raw, source) => inner.parse(raw, source) };
}

function integer(
  doc: string,
  def: number,
  min: number,
  max: number,
  extra: Partial<OptionSpec<number>> = {},
) {
  const spec: OptionSpec<number> = {
    doc,
    default: def,
    rule: `an integer from ${min} to ${max}`,
    flag: 'value',
    placeholder: 'N',
    ...extra,
    parse(raw, source) {
      const n = toNumber(raw, source);
      return n !== undefined && Number.isInteger(n) && n >= min && n <= max ? ok(n) : bad;
    },
  };
  return spec;
}

function optionalInteger(
  doc: string,
  min: number,
  max: number,
  placeholder: string,
): OptionSpec<number | undefined> {
  const inner = integer(doc, min, min, max);
  return { ...inner, default: undefined, placeholder, parse: (raw, source) => inner.parse(raw, source) };
}

function choice<const T extends string>(doc: string, def: T, values: readonly T[]): OptionSpec<T> {
  return {
    doc,
    default: def,
    rule: `one of ${values.join(', ')}`,
    flag: 'value',
    placeholder: values.join('|'),
    parse: (raw) =>
      typeof raw === 'string' && (values as readonly string[]).includes(raw) ? ok(raw as T) : bad,
  };
}

function optionalString(doc: string, rule: string, placeholder: string, test: (s: string) => boolean) {
  const spec: OptionSpec<string | undefined> = {
    doc,
    default: undefined,
    rule,
    flag: 'value',
    placeholder,
    parse: (raw) => (typeof raw === 'string' && test(raw) ? ok(raw) : bad),
  };
  return spec;
}

function filePath(doc: string): OptionSpec<string | undefined> {
  return optionalString(doc, 'a non-empty file path', 'PATH', (s) => s.length > 0 && !s.includes('\0'));
}

function urlPath(doc: string): OptionSpec<string | undefined> {
  return optionalString(doc, 'a path starting with /', 'PATH', (s) => /^\/[^\s?#]*$/.test(s));
}

function boolean(doc: string, def: boolean): OptionSpec<boolean> {
  return {
    doc,
    default: def,
    rule: 'true or false',
    flag: 'boolean',
    parse(raw, source) {
      if (typeof raw === 'boolean') return ok(raw);
      if (source === 'text' && typeof raw === 'string') {
        const t = raw.trim().toLowerCase();
        if (['1', 'true', 'yes', 'on'].includes(t)) return ok(true);
        if (['0', 'false', 'no', 'off'].includes(t)) return ok(false);
      }
      return bad;
    },
  };
}

function stringList(doc: string, rule: string, test: (s: string) => boolean): OptionSpec<readonly string[]> {
  return {
    doc,
    default: [],
    rule,
    flag: 'list',
    placeholder: 'LIST',
    parse(raw, source) {
      let items: unknown[];
      if (Array.isArray(raw))
        items = raw.flatMap((x) => (source === 'text' && typeof x === 'string' ? x.split(',') : [x]));
      else if (source === 'text' && typeof raw === 'string') items = raw.split(',');
      else return bad;
      const list = items.map((x) => (typeof x === 'string' ? x.trim() : x)).filter((x) => x !== '');
      return list.every((x): x is string => typeof x === 'string' && test(x)) ? ok(Object.freeze(list)) : bad;
    },
  };
}

const HOST_LABEL = '[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?';
const HOST_NAME = new RegExp(`^(?=.{1,253}$)${HOST_LABEL}(?:\\.${HOST_LABEL})*\\.?$`);

/**
 * An IP literal or a syntactically valid host name. Whether the name resolves is found out at
 * startup (serve); what looks like an IPv4 address must be one, so 999.1.1.1 is refused here
 * rather than sent to the resolver as a name.
 */
function isHost(s: string): boolean {
  if (s.includes(':')) return isIPv6(s);
  if (/^[\d.]+$/.test(s)) return isIPv4(s);
  return HOST_NAME.test(s);
}

/** `127.0.0.1:9464`, `[::1]:9464`, `localhost:9464` → host and port; anything else → undefined. */
export function parseHostPort(s: string): { host: string; port: number } | undefined {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(s);
  if (!match) return undefined;
  const host = match[1] ?? match[2]!;
  const port = Number(match[3]);
  if (port > 65535) return undefined;
  if (match[1] !== undefined ? !isIPv6(host) : !isHost(host)) return undefined;
  return { host, port };
}

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

export const options = {
  host: {
    doc: 'Address to listen on (IPv4, IPv6 or a host name).',
    default: '127.0.0.1',
    rule: 'an IP address (IPv4 such as 0.0.0.0, IPv6 such as ::1) or a host name',
    env: ['HOST'],
    flag: 'value',
    placeholder: 'ADDR',
    parse: (raw: unknown) => (typeof raw === 'string' && isHost(raw) ? ok(raw) : bad),
  } satisfies OptionSpec<string>,
  port: integer('TCP port to listen on; 0 picks a free port.', 8000, 0, 65535, {
    env: ['PORT'],
    placeholder: 'PORT',
  }),
  uds: filePath('Listen on this unix domain socket path instead of host/port.'),
  fd: optionalInteger(
    'Listen on this inherited, already-listening file descriptor instead of host/port.',
    0,
    65535,
    'FD',
  ),
  certFile: filePath(
    'TLS certificate chain (PEM). With keyFile, serves HTTPS; re-read by every reload, so rotating a certificate is one reload.',
  ),
  keyFile: filePath('TLS private key (PEM) for certFile.'),
  caFile: filePath(
    'CA certificates (PEM): they complete the chain the server sends (intermediates, root) and, with clientCertificates, are the CAs client certificates must chain to (the only ones); read and checked like certFile.',
  ),
  clientCertificates: choice(
    'Mutual TLS: ask TLS clients for a certificate. none; request (a client may send one: the app reads req.socket.authorized and getPeerCertificate()); require (a client without a certificate caFile trusts cannot connect — load balancer health checks too). Needs caFile.',
    'none',
    ['none', 'request', 'require'],
  ),
  http2: boolean(
    'Serve HTTP/2 over TLS, negotiated by ALPN; HTTP/1.1 clients are still served. Needs certFile/keyFile.',
    false,
  ),
  backlog: integer('Maximum length of the queue of pending connections.', 511, 1, 65535),
  workers: integer('Number of worker processes serving the app.', 1, 1, 1024, { env: ['WEB_CONCURRENCY'] }),
  workerMode: choice(
    'How workers run: separate processes, or threads in one process (Linux; see Thread mode).',
    'process',
    ['process', 'thread'],
  ),
  scheduling: choice(
    'How connections reach workers: the kernel hands them to whichever worker accepts (shared), or the supervisor deals them out in turn (round-robin).',
    'shared',
    ['shared', 'round-robin'],
  ),
  controlSocket: filePath(
    'Unix socket for `pounce reload|stop|status`; default: one per working directory and listen address, in a private directory pounce-<uid> under $XDG_RUNTIME_DIR or the temp dir.',
  ),
  pidFile: filePath('Write the supervisor pid to this file while it runs.'),
  interface: choice(
    'How to call the app: a Node (req, res) listener, a fetch handler, a server script that calls listen() itself, or auto-detect (a module that exports no app is a server script).',
    'auto',
    ['auto', 'node', 'fetch', 'script'],
  ),
  scriptExtraListeners: choice(
    'What a server script gets for a second listen() (an admin port, another server): the worker fails, the call binds nothing, or it binds where it asked (not drained).',
    'error',
    ['error', 'ignore', 'passthrough'],
  ),
  shutdownTimeout: seconds(
    'Longest time in-flight requests may take to finish on shutdown before they are cut.',
    10,
    {
      env: ['SHUTDOWN_TIMEOUT'],
    },
  ),
  shutdownDelay: seconds(
    'Seconds between the shutdown signal (health turns 503 at once) and the start of draining, for load balancers to notice. When unset: 0, or 5 in Kubernetes (KUBERNETES_SERVICE_HOST set).',
    0,
    { allowZero: true },
  ),
  shutdownHookTimeout: seconds('Longest time the app shutdown hooks may run (closing pools, flushing).', 5),
  reloadTimeout: seconds('Longest time an old worker may drain during a reload before it is stopped.', 30),
  startupTimeout: seconds(
    'Longest time a worker may take to import the app, run its startup hook and listen.',
    30,
  ),
  requestTimeout: optionalSeconds(
    'Longest time one request may take: 503 if no response started, the connection cut otherwise. Off unless set.',
  ),
  keepAliveTimeout: seconds('How long an idle keep-alive connection is kept open between requests.', 5),
  headersTimeout: seconds(
    'Longest time a client may take to send the request headers, counted from the accept for a connection’s first request: a connection that sends nothing is closed after it (a TLS handshake gets as long again).',
    60,
  ),
  healthCheckPath: urlPath(
    'Path of the built-in health (readiness) endpoint: 200 {"status":"ok"}, 503 while draining or while the app\'s readiness check fails. Off unless set.',
  ),
  livenessPath: urlPath(
    'Path of the liveness endpoint: 200 {"status":"alive"} while the process serves, draining included, so a Kubernetes livenessProbe never restarts an instance for draining or for a failing readiness check. Off unless set.',
  ),
  readinessTimeout: seconds(
    "Longest time the app's readiness check (onReadinessCheck) may take before the health endpoint answers 503 not-ready; its result is reused for 1 s.",
    1,
  ),
  maxRequests: optionalInteger(
    'Replace a worker after it has served this many requests (its successor is ready before it drains). Off unless set.',
    1,
    1_000_000_000,
    'N',
  ),
  maxRequestsJitter: integer(
    'Add a random 0..N to maxRequests for each worker, so that workers do not all recycle at once.',
    0,
    0,
    1_000_000_000,
  ),
  maxMemory: optionalInteger(
    'Replace a worker whose resident memory (RSS) exceeds this many megabytes; in thread mode, its V8 heap in use plus external memory (Buffers). Off unless set.',
    1,
    1_048_576,
    'MB',
  ),
  workerTimeout: seconds(
    'A worker whose event loop does not answer the heartbeat for this long (blocked, stopped) is replaced and then killed. Heartbeats come every second, so at least 2.',
    30,
    { min: 2 },
  ),
  exitOnCrashLoop: boolean(
    'Exit with status 1 when workers crash more than 5 times within 60 s, for a supervisor above (systemd) that can do better; by default pounce keeps replacing them.',
    false,
  ),
  metrics: optionalString(
    'Serve Prometheus metrics of the whole server (requests, workers, reloads, drains) at http://ADDR/metrics, from the supervisor on its own listener, never the app port. Off unless set.',
    'an address HOST:PORT such as 127.0.0.1:9464 (IPv6 as [::1]:9464; port 0 picks a free one)',
    'HOST:PORT',
    (s) => parseHostPort(s) !== undefined,
  ),
  accessLog: boolean(
    'Log one line per request (method, path, status, bytes, duration, worker, generation, request id). Lines are buffered per worker (up to 16 MB while stdout does not keep up; beyond that they are dropped and the count is logged as accessLogDropped).',
    false,
  ),
  reload: boolean('Watch files and reload on change (development).', false),
  reloadDirs: stringList(
    'Extra directories to watch with --reload.',
    'a comma-separated list of directories',
    (s) => s.length > 0 && !s.includes('\0'),
  ),
  reloadInclude: stringList(
    'Extra file extensions to watch with --reload, e.g. .html,.css.',
    'a comma-separated list of extensions starting with a dot',
    (s) => /^\.[\w.-]+$/.test(s),
  ),
  logLevel: choice('Lowest level of log lines printed.', 'info', LOG_LEVELS),
  logFormat: choice(
    'Log format: JSON lines, readable lines, or pretty on a terminal and JSON otherwise.',
    'auto',
    ['auto', 'json', 'pretty'],
  ),
} as const;

export type OptionName = keyof typeof options;

type ValueOf<S> = S extends OptionSpec<infer T> ? T : never;

/** The frozen, validated configuration every part of pounce reads. */
export type Config = { readonly [K in OptionName]: ValueOf<(typeof options)[K]> };

/** What a `pounce.config.*` file (or the programmatic API) may set. */
export type UserConfig = Partial<{ -readonly [K in OptionName]: ValueOf<(typeof options)[K]> }>;

export const optionNames = Object.keys(options) as OptionName[];

export function optionSpec(name: OptionName): OptionSpec<unknown> {
  return options[name] as OptionSpec<unknown>;
}

export function isOptionName(name: string): name is OptionName {
  return Object.hasOwn(options, name);
}

/** `shutdownTimeout` → `shutdown-timeout` (the CLI flag). */
export function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** `shutdownTimeout` → `POUNCE_SHUTDOWN_TIMEOUT`. */
export function envName(name: string): string {
  return `POUNCE_${kebab(name).replaceAll('-', '_').toUpperCase()}`;
}

export function defaults(): Config {
  return Object.fromEntries(optionNames.map((n) => [n, optionSpec(n).default])) as Config;
}
