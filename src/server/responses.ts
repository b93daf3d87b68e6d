// Responses pounce writes itself (503 while draining, timeouts, app errors), on HTTP/1.x and on
// HTTP/2 alike. HTTP/2 forbids connection-specific headers (a `Connection` header there is a
// protocol error), and ends the exchange with the stream instead.

import type { IncomingMessage, ServerResponse } from 'node:http';

export function isHttp2(req: IncomingMessage): boolean {
  return req.httpVersionMajor === 2;
}

/** `Connection: close` where the protocol has it. */
export function closeHeader(req: IncomingMessage): Record<string, string> {
  return isHttp2(req) ? {} : { connection: 'close' };
}

/**
 * `close: false` leaves the Connection header to the drain, which puts it on the last of the
 * requests pipelined on the connection.
 */
export function respondUnavailable(
  req: IncomingMessage,
  res: ServerResponse,
  body = 'Service Unavailable: the server is shutting down\n',
  close = true,
): void {
  res.writeHead(503, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'retry-after': '1',
    ...(close ? closeHeader(req) : {}),
  });
  res.end(body);
}

/** An upgrade request (WebSocket) refused on a draining worker: the client should come back. */
export const UPGRADE_UNAVAILABLE =
  'HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n';

/**
 * After pounce answered a timed-out request itself, the app still holds `res` and will write to it
 * when its slow work ends. writeHead() on a sent response throws, and in an async callback that
 * would crash the worker; make the app's late writes no-ops instead.
 */
export function neuter(res: ServerResponse): void {
  const r = res as unknown as Record<string, unknown>;
  r.writeHead = () => res;
  r.setHeader = () => res;
  r.appendHeader = () => res;
  r.removeHeader = () => undefined;
  r.flushHeaders = () => undefined;
  r.write = () => true;
  r.end = () => res;
  res.on('error', () => {});
}

/** True when `url` is `path` itself or `path` followed by a query string. */
export function isPath(url: string | undefined, path: string): boolean {
  if (url === undefined || !url.startsWith(path)) return false;
  return url.length === path.length || url[path.length] === '?';
}

/** Headers rendered with Connection: close (Node's `_last`: it ends the connection after it). */
export function rendersClose(res: ServerResponse): boolean {
  return res.headersSent && (res as ServerResponse & { _last?: boolean })._last === true;
}

/**
 * Undoes our setHeader('connection', 'close'). removeHeader alone would make Node send no
 * Connection header at all (its `_removedConnection` flag); with the flag cleared Node renders the
 * header it would have (keep-alive, with its Keep-Alive timeout).
 */
export function restoreKeepAlive(res: ServerResponse): void {
  res.removeHeader('connection');
  (res as ServerResponse & { _removedConnection?: boolean })._removedConnection = false;
}
