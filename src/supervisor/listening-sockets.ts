// Keeping every listening socket open for the supervisor's whole life, so that a moment with no
// worker alive (the only worker crashed, every worker was killed) queues connections in the
// kernel's backlog for the replacement instead of refusing them.
//
// With shared scheduling, workers listen through the cluster primary: a worker's listen() asks the
// primary, whose SharedHandle creates (binds) the socket with net._createServerHandle and sends each
// worker a copy; the workers' listen() makes it a listening socket. When the last worker using that
// handle goes away, Node's SharedHandle.remove() closes the primary's copy, and with it the socket:
// connections are refused (ECONNREFUSED, measured ~210 ms with one worker, up to ~900 ms with the
// crash backoff) until a replacement binds the port again. For an inherited socket (LISTEN_FDS,
// `fd`) it is worse: the replacement has nothing to listen on ("bind EEXIST", a crash loop), and the
// fd number is free to be reused by the next file the supervisor opens.
//
// So the handle the cluster gets is created once per address, kept, and its close() does nothing:
// the next SharedHandle for the same address gets the same, still listening, socket. The supervisor
// closes the kept sockets itself when it exits (closing a unix socket's handle unlinks its path).
// This wraps net._createServerHandle, the export cluster's shared_handle.js calls (an internal of
// Node, so the wrap checks that it is there and says so when it is not).
//
// Round-robin scheduling listens in the primary through another path (a net.Server per
// RoundRobinHandle) that this cannot reach: there, connections arriving while no worker is alive are
// refused, as the README says. Inherited sockets therefore always use shared scheduling.

const net = process.getBuiltinModule('node:net');
export type CreateServerHandle = (
  address: string | null,
  port: number | null,
  addressType: number | null,
  fd: number | undefined,
  flags?: number,
) => unknown;

interface Closable {
  close: (cb?: () => void) => void;
  /** The socket's file descriptor (libuv stream handles have one on Unix; -1 when closed). */
  fd?: number;
}

export interface KeptSockets {
  /** Closes every kept socket for real (unlinking unix socket paths). Call once, on exit. */
  closeAll(): void;
  /**
   * The file descriptors of the kept sockets, for an upgrade to hand to the next supervisor
   * (src/upgrade/). Empty until a worker has listened (the cluster creates the handle then).
   */
  fds(): number[];
}

/** Returns undefined if this Node has no net._createServerHandle to wrap (the protection is then off). */
export function keepListeningSocketsOpen(): KeptSockets | undefined {
  const internals = net as unknown as { _createServerHandle?: CreateServerHandle };
  const original = internals._createServerHandle;
  if (typeof original !== 'function') return undefined;
  const kept = new Map<string, { handle: Closable; close: Closable['close'] }>();
  internals._createServerHandle = function (this: unknown, address, port, addressType, fd, flags) {
    const key = `${address}|${port}|${addressType}|${fd}|${flags}`;
    const existing = kept.get(key);
    if (existing !== undefined) return existing.handle;
    const handle = original.call(this, address, port, addressType, fd, flags);
    if (typeof handle !== 'object' || handle === null) return handle; // an errno: the worker reports it
    const closable = handle as Closable;
    const close = closable.close.bind(closable);
    closable.close = (cb) => cb?.();
    kept.set(key, { handle: closable, close });
    return handle;
  };
  return {
    closeAll() {
      for (const { close } of kept.values()) close();
      kept.clear();
    },
    fds() {
      return [...kept.values()].map(({ handle }) => handle.fd ?? -1).filter((fd) => fd >= 0);
    },
  };
}
