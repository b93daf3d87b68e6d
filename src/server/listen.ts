// The listening socket of a server: binding it, naming where it listens, and closing it — after
// the connections already queued in it were accepted.

import type { AddressInfo } from 'node:net';
import { pounceError } from '../errors.ts';
import type { NodeServer } from './create-server.ts';

const net = process.getBuiltinModule('node:net');

/**
 * `reusePort`: thread mode, where every thread has its own SO_REUSEPORT listener on the address.
 * `path` with `fd`: a unix socket the descriptor is bound to (thread mode's supervisor-held socket),
 * which the server cannot tell from the descriptor alone.
 */
export type ListenTarget =
  | { fd: number; path?: string }
  | { path: string }
  | { host: string; port: number; reusePort?: boolean };

/**
 * Listens on `target`; resolves with the URL it listens on. Rejects with POUNCE_ERR_LISTEN (the
 * address in use, a bad fd, …).
 */
export function listenOn(
  server: NodeServer,
  target: ListenTarget,
  backlog: number,
  scheme: 'http' | 'https',
): Promise<string> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      reject(pounceError('LISTEN', { target: describeTarget(target), reason: err.message }));
    };
    server.once('error', onError);
    const done = () => {
      server.off('error', onError);
      resolve(addressUrl(server.address(), target, scheme));
    };
    if ('fd' in target) server.listen({ fd: target.fd, backlog }, done);
    else if ('path' in target) server.listen({ path: target.path, backlog }, done);
    else server.listen({ host: target.host, port: target.port, backlog, reusePort: target.reusePort }, done);
  });
}

/**
 * The longest a shutting-down server keeps accepting after its drain settled, while connections
 * keep arriving (see lingerWhileAccepting).
 */
const LINGER_MAX_MS = 100;

/**
 * Connections the kernel completed before the signal may still sit in the accept queue: when the
 * server is idle the drain settles in the very tick the signal arrives, before libuv's next poll
 * has accepted them, and closing the listener then resets them (or leaves them queued until the
 * supervisor exits and resets them). So the listener stays open for one more poll of the event
 * loop — libuv's poll accepts everything queued — and for one more after each poll that brought a
 * connection, up to LINGER_MAX_MS. `accepted` counts the server's accepted connections. An idle
 * server polls once (well under a millisecond) instead of waiting.
 */
export async function lingerWhileAccepting(accepted: () => number): Promise<void> {
  const until = performance.now() + LINGER_MAX_MS;
  for (;;) {
    const seen = accepted();
    await afterNextPoll();
    if (accepted() === seen || performance.now() >= until) return;
  }
}

/** Resolves after the event loop's next poll phase, where libuv accepts what the accept queue holds. */
function afterNextPoll(): Promise<void> {
  // An immediate runs in the check phase that follows a poll phase; one set from there runs only
  // after the next iteration's poll (which does not block: an immediate is pending).
  return new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
}

/**
 * Stops accepting. Only the listening socket is closed (net.Server's close): http.Server's close
 * would also destroy idle keep-alive connections, which is exactly the reset the drain avoids.
 * Settles once every connection is gone; a no-op if the server does not listen.
 */
export function closeListener(server: NodeServer): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve) => net.Server.prototype.close.call(server, () => resolve()));
}

function describeTarget(target: ListenTarget): string {
  if ('fd' in target) return target.path === undefined ? `inherited fd ${target.fd}` : `unix:${target.path}`;
  if ('path' in target) return `unix socket ${target.path}`;
  return `${target.host}:${target.port}`;
}

function addressUrl(
  address: string | AddressInfo | null,
  target: ListenTarget,
  scheme: 'http' | 'https',
): string {
  if (typeof address === 'string') return `unix:${address}`;
  if (address === null) return describeTarget(target);
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `${scheme}://${host}:${address.port}`;
}
