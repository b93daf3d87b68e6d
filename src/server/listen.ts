// Binding a server to its listening socket, and naming where it listens.

import type { AddressInfo } from 'node:net';
import { pounceError } from '../errors.ts';
import type { NodeServer } from './create-server.ts';

/** `reusePort`: thread mode, where every thread has its own SO_REUSEPORT listener on the address. */
export type ListenTarget =
  | { fd: number }
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

function describeTarget(target: ListenTarget): string {
  if ('fd' in target) return `inherited fd ${target.fd}`;
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
