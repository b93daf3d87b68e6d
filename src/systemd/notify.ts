// Sending sd_notify(3) messages to the service manager: one datagram per message, on the AF_UNIX
// datagram socket named by $NOTIFY_SOCKET. Node's dgram module has no AF_UNIX datagrams, so there
// are two ways to send, tried in this order:
//
//   ffi     libc's socket() and sendto() called through node:ffi (Node >= 26.1). The message comes
//           from pounce's own pid, which is what systemd's default NotifyAccess=main accepts, and
//           costs one syscall (cheap enough for watchdog pings).
//   helper  the systemd-notify binary, one run per message, in order. systemd-notify sends in the
//           name of its parent (pounce) only when it runs as root (faking the sender pid in
//           SCM_CREDENTIALS needs privilege); otherwise the message carries the helper's own pid and
//           the unit needs NotifyAccess=all. It waits until systemd has processed the message
//           (sd_notify_barrier), so systemd never sees a message from a pid that already exited.
//
// Neither is a native addon: nothing has to compile at install time, which matters for a server
// installed on machines without a compiler or with a Node whose ABI the prebuilt binaries miss. When
// neither works, pounce says so once and carries on (systemd then times out the start, which names
// the problem better than pounce refusing to run).

const { spawn } = process.getBuiltinModule('node:child_process');
const { existsSync } = process.getBuiltinModule('node:fs');
const path = process.getBuiltinModule('node:path');
export type Transport = 'ffi' | 'helper';

/** One notification: `{ READY: 1, STATUS: 'serving' }` is sent as `READY=1\nSTATUS=serving`. */
export type NotifyState = Readonly<Record<string, string | number>>;

export interface Notifier {
  readonly transport: Transport;
  /** Sends one message. Messages arrive in the order they were sent. Never throws. */
  send(state: NotifyState): void;
  /** Resolves when every message sent so far has been delivered (or `timeoutMs` passed). */
  flush(timeoutMs: number): Promise<void>;
  close(): void;
}

export type NotifierResult = { ok: true; notifier: Notifier } | { ok: false; reason: string };

export function formatState(state: NotifyState): string {
  return Object.entries(state)
    .map(([key, value]) => `${key}=${String(value).replace(/[\r\n]+/g, ' ')}`)
    .join('\n');
}

/**
 * Opens a notifier for `socket` ($NOTIFY_SOCKET). `prefer` forces one transport (tests use it to
 * cover both); otherwise ffi, then the helper. `onError` hears about each failed send.
 */
export function openNotifier(
  socket: string,
  onError: (error: string) => void,
  prefer?: Transport,
): NotifierResult {
  const reasons: string[] = [];
  if (prefer !== 'helper') {
    const ffi = openFfi(socket, onError);
    if (typeof ffi !== 'string') return { ok: true, notifier: ffi };
    reasons.push(`node:ffi: ${ffi}`);
    if (prefer === 'ffi') return { ok: false, reason: reasons.join('; ') };
  }
  const helper = openHelper(socket, onError);
  if (typeof helper !== 'string') return { ok: true, notifier: helper };
  reasons.push(`systemd-notify: ${helper}`);
  return { ok: false, reason: reasons.join('; ') };
}

// --- ffi -------------------------------------------------------------------------------------

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000; // Linux: the workers must not inherit the socket.
const MSG_NOSIGNAL = 0x4000;
const SUN_PATH_MAX = 108;

/** The few node:ffi calls used here (node:ffi is experimental and not in @types/node yet). */
interface FfiModule {
  dlopen(
    path: string | null,
    definitions: Record<string, { arguments: string[]; return: string }>,
  ): { functions: Record<string, (...args: unknown[]) => unknown> };
}

/** Loads node:ffi without printing its ExperimentalWarning (this is the one use, and a small one). */
function loadFfi(): FfiModule | undefined {
  const getBuiltin = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  if (!getBuiltin) return undefined;
  const emitWarning = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const text = typeof warning === 'string' ? warning : warning.message;
    if (/\bFFI\b/.test(text)) return;
    (emitWarning as (...args: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  try {
    return getBuiltin.call(process, 'node:ffi') as FfiModule | undefined;
  } catch {
    return undefined; // disabled (--no-experimental-ffi, the permission model) or not built in
  } finally {
    process.emitWarning = emitWarning;
  }
}

/** struct sockaddr_un for a path, or an abstract name (`@name`). */
export function sockaddrUn(socket: string): { address: Buffer; length: number } | string {
  const abstract = socket.startsWith('@');
  const name = Buffer.from(abstract ? socket.slice(1) : socket);
  if (!abstract && !path.isAbsolute(socket)) return `NOTIFY_SOCKET ${socket} is neither a path nor @abstract`;
  if (name.length + 1 > SUN_PATH_MAX) return `NOTIFY_SOCKET ${socket} is too long for a unix socket`;
  const address = Buffer.alloc(2 + SUN_PATH_MAX);
  address.writeUInt16LE(AF_UNIX, 0);
  // An abstract address starts with a NUL byte and its length counts no trailing NUL.
  name.copy(address, abstract ? 3 : 2);
  return { address, length: abstract ? 3 + name.length : 2 + name.length + 1 };
}

function openFfi(socket: string, onError: (error: string) => void): Notifier | string {
  if (process.platform !== 'linux') return `not on Linux (${process.platform})`;
  const target = sockaddrUn(socket);
  if (typeof target === 'string') return target;
  const ffi = loadFfi();
  if (!ffi) return 'not available in this Node';
  let libc: Record<string, (...args: unknown[]) => unknown>;
  try {
    libc = ffi.dlopen(null, {
      socket: { arguments: ['int32', 'int32', 'int32'], return: 'int32' },
      sendto: {
        arguments: ['int32', 'buffer', 'uint64', 'int32', 'buffer', 'uint32'],
        return: 'int64',
      },
      close: { arguments: ['int32'], return: 'int32' },
    }).functions;
  } catch (err) {
    return `cannot resolve socket/sendto in libc (${(err as Error).message})`;
  }
  const fd = Number(libc.socket!(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (fd < 0) return 'socket(AF_UNIX, SOCK_DGRAM) failed';
  let open = true;
  return {
    transport: 'ffi',
    send(state) {
      if (!open) return;
      const message = Buffer.from(formatState(state));
      try {
        const sent = libc.sendto!(
          fd,
          message,
          BigInt(message.length),
          MSG_NOSIGNAL,
          target.address,
          target.length,
        );
        if (Number(sent) !== message.length) onError(`sendto ${socket} failed`);
      } catch (err) {
        onError((err as Error).message);
      }
    },
    flush: () => Promise.resolve(),
    close() {
      if (open) libc.close!(fd);
      open = false;
    },
  };
}

// --- helper ----------------------------------------------------------------------------------

const HELPER_DIRS = ['/usr/bin', '/bin', '/usr/local/bin'];

export function findHelper(envPath = process.env.PATH ?? ''): string | undefined {
  const dirs = [...envPath.split(path.delimiter).filter(Boolean), ...HELPER_DIRS];
  for (const dir of dirs) {
    const file = path.join(dir, 'systemd-notify');
    if (path.isAbsolute(file) && existsSync(file)) return file;
  }
  return undefined;
}

/** How long one helper run may take (its barrier waits up to 5 s for systemd). */
const HELPER_TIMEOUT_MS = 10_000;

function openHelper(socket: string, onError: (error: string) => void): Notifier | string {
  const helper = findHelper();
  if (!helper) return 'not found on PATH';
  // Sequential: systemd must see READY=1 before the RELOADING=1 that follows it.
  let chain = Promise.resolve();
  let open = true;
  const run = (state: NotifyState) =>
    new Promise<void>((resolve) => {
      const args = Object.entries(state).map(([k, v]) => `${k}=${String(v).replace(/[\r\n]+/g, ' ')}`);
      const child = spawn(helper, args, {
        env: { ...process.env, NOTIFY_SOCKET: socket },
        stdio: ['ignore', 'ignore', 'pipe'],
        timeout: HELPER_TIMEOUT_MS,
      });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk;
      });
      child.once('error', (err) => {
        onError(`${helper}: ${err.message}`);
        resolve();
      });
      child.once('close', (code, signal) => {
        if (code !== 0)
          onError(`${helper} ${signal ? `killed by ${signal}` : `exit status ${code}`}: ${stderr.trim()}`);
        resolve();
      });
    });
  return {
    transport: 'helper',
    send(state) {
      if (!open) return;
      chain = chain.then(() => run(state));
    },
    async flush(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([chain, new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
      clearTimeout(timer);
    },
    close() {
      open = false;
    },
  };
}
