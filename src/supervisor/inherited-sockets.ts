// Keeping inherited listening sockets (socket activation's LISTEN_FDS, or `fd`) open for the
// supervisor's whole life.
//
// Workers listen on an inherited fd through the cluster primary: a worker's listen({ fd }) asks the
// primary, whose SharedHandle wraps the primary's fd in a handle and sends each worker a copy. When
// the last worker using that handle goes away (the only worker crashes, is killed by the OOM killer),
// Node's SharedHandle.remove() closes the handle, and with it the primary's fd: the replacement
// worker then has nothing to listen on (seen here: "bind EEXIST", then a crash loop), and the fd
// number is free to be reused by the next file the supervisor opens. A TCP port can simply be bound
// again; an inherited socket cannot.
//
// So for the inherited fds the handle the cluster gets is created once, kept, and its close() does
// nothing: the supervisor owns these sockets until it exits (DESIGN.md: "never closes them"). This
// wraps net._createServerHandle, the export cluster's shared_handle.js calls (an internal of Node,
// so the wrap checks that it is there and says so when it is not). Round-robin scheduling would
// listen in the primary through another path, so inherited sockets always use shared scheduling.

import net from 'node:net';

type CreateServerHandle = (
  address: string | null,
  port: number | null,
  addressType: number | null,
  fd: number | undefined,
  flags?: number,
) => unknown;

/** Returns false if this Node has no net._createServerHandle to wrap (the protection is then off). */
export function keepInheritedSocketsOpen(fds: readonly number[]): boolean {
  const internals = net as unknown as { _createServerHandle?: CreateServerHandle };
  const original = internals._createServerHandle;
  if (typeof original !== 'function') return false;
  const kept = new Map<number, unknown>();
  internals._createServerHandle = function (this: unknown, address, port, addressType, fd, flags) {
    if (typeof fd !== 'number' || !fds.includes(fd)) {
      return original.call(this, address, port, addressType, fd, flags);
    }
    const existing = kept.get(fd);
    if (existing !== undefined) return existing;
    const handle = original.call(this, address, port, addressType, fd, flags);
    if (typeof handle !== 'object' || handle === null) return handle; // an errno: the worker reports it
    (handle as { close: (cb?: () => void) => void }).close = (cb) => cb?.();
    kept.set(fd, handle);
    return handle;
  };
  return true;
}
