// Thread mode's listening socket, held by the supervisor as in process mode. The supervisor binds
// host:port once (net._createServerHandle, the internal cluster uses for the same thing: a bound
// socket that does not accept) and sends it with every thread's spawn to the worker host, which
// receives it as a descriptor of its own (a new fd for the same socket, SCM_RIGHTS); the thread
// listens on that fd. All threads then accept from one socket and one queue, like process mode's
// shared scheduling: a retiring thread closes only its own descriptor, and what is queued stays
// for the others — whatever net.ipv4.tcp_migrate_req says, which only matters between separate
// SO_REUSEPORT sockets. The socket also outlives every thread (a host crash queues connections
// instead of refusing them).
//
// Bound with SO_REUSEPORT, so that `pounce upgrade`'s new supervisor can bind its own socket while
// this one still serves (between the two supervisors' sockets, tcp_migrate_req matters again, once
// per upgrade). Bound before keepListeningSocketsOpen's wrap is installed: it is not an inherited
// socket to hand over; the supervisor closes it when it exits.

import { lookup } from 'node:dns/promises';
import net from 'node:net';
import { getSystemErrorName } from 'node:util';
import { pounceError } from '../errors.ts';
import type { CreateServerHandle } from './listening-sockets.ts';

/** libuv's UV_TCP_REUSEPORT bind flag (what net's `reusePort` passes). */
const UV_TCP_REUSEPORT = 2;

const createServerHandle = () =>
  (net as unknown as { _createServerHandle?: CreateServerHandle })._createServerHandle;

/** False when this Node lacks the internal: threads then bind their own SO_REUSEPORT sockets. */
export const threadListenerAvailable = () => typeof createServerHandle() === 'function';

/** A bound TCP handle for host:port (close() it on exit), or undefined if !threadListenerAvailable(). */
export async function bindThreadListener(host: string, port: number): Promise<{ close(): void } | undefined> {
  const create = createServerHandle();
  if (typeof create !== 'function') return undefined;
  const family = net.isIP(host);
  const address = family === 0 ? await lookup(host) : { address: host, family };
  const handle = create(address.address, port, address.family, undefined, UV_TCP_REUSEPORT);
  if (typeof handle === 'number')
    throw pounceError('LISTEN', { target: `${host}:${port}`, reason: `bind: ${getSystemErrorName(handle)}` });
  return handle as { close(): void };
}
