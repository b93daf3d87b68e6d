// Thread mode's listening socket, held by the supervisor as in process mode. The supervisor binds
// host:port or uds once, or adopts the socket it inherited (fd, socket activation, an upgrade),
// through net._createServerHandle (the internal cluster uses for the same thing: a bound socket
// that does not accept), and sends it with every thread's spawn to the worker host, which
// receives it as a descriptor of its own (a new fd for the same socket, SCM_RIGHTS); the thread
// listens on that fd. All threads then accept from one socket and one queue, like process mode's
// shared scheduling: a retiring thread closes only its own descriptor, and what is queued stays
// for the others — whatever net.ipv4.tcp_migrate_req says, which only matters between separate
// SO_REUSEPORT sockets. The socket also outlives every thread (a host crash queues connections
// instead of refusing them).
//
// `pounce upgrade` hands this socket to the new supervisor (its descriptor, inherited at spawn),
// which adopts it instead of binding: the new generation of threads accepts from the very socket
// and queue the old one did, so nothing queued is lost and tcp_migrate_req plays no part. Made
// before keepListeningSocketsOpen's wrap is installed (that wrap is for the cluster's shared
// handles); the supervisor closes its descriptor when it exits.

import type { Config } from '../config/options.ts';
import { pounceError } from '../errors.ts';
import type { CreateServerHandle } from './listening-sockets.ts';

const net = process.getBuiltinModule('node:net');
const path = process.getBuiltinModule('node:path');
const { getSystemErrorName } = process.getBuiltinModule('node:util');

/** libuv's UV_TCP_REUSEPORT bind flag (what net's `reusePort` passes). */
const UV_TCP_REUSEPORT = 2;

const createServerHandle = () =>
  (net as unknown as { _createServerHandle?: CreateServerHandle })._createServerHandle;

/** False when this Node lacks the internal: threads then bind their own SO_REUSEPORT sockets. */
export const threadListenerAvailable = () => typeof createServerHandle() === 'function';

/** The socket threads listen on: close() it on exit; `fd` is what an upgrade hands over. */
export interface ThreadListener {
  readonly fd: number;
  close(): void;
}

/**
 * The socket for the threads, or undefined if !threadListenerAvailable(): adopted when the
 * supervisor inherited one (`inheritedFd`: the previous supervisor's on `pounce upgrade`, or socket
 * activation's), else the `fd` option's, else bound to `uds` (resolved against `cwd`; closing the
 * handle on exit unlinks the path) or to host:port (port 0: the kernel picks one, which the threads
 * report as they listen).
 */
export async function openThreadListener(
  config: Pick<Config, 'fd' | 'uds' | 'host' | 'port'>,
  cwd: string,
  inheritedFd: number | undefined,
): Promise<ThreadListener | undefined> {
  const create = createServerHandle();
  if (typeof create !== 'function') return undefined;
  const fd = inheritedFd ?? config.fd;
  let handle: unknown;
  let target: string;
  if (fd !== undefined) {
    target = `fd ${fd}`;
    handle = create(null, null, null, fd);
  } else if (config.uds !== undefined) {
    target = `unix socket ${config.uds}`;
    // port and addressType -1: a unix socket (Pipe) handle, bound to the path.
    handle = create(path.resolve(cwd, config.uds), -1, -1, undefined);
  } else {
    target = `${config.host}:${config.port}`;
    const family = net.isIP(config.host);
    // node:dns/promises only for a host name, in thread mode: a default supervisor never loads it.
    const address =
      family === 0
        ? await process.getBuiltinModule('node:dns/promises').lookup(config.host)
        : { address: config.host, family };
    handle = create(address.address, config.port, address.family, undefined, UV_TCP_REUSEPORT);
  }
  if (typeof handle === 'number') {
    const step = fd === undefined ? 'bind' : 'adopt';
    throw pounceError('LISTEN', { target, reason: `${step}: ${getSystemErrorName(handle)}` });
  }
  return handle as ThreadListener;
}
