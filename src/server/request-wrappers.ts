// Wrappers around the drain engine's request entry point, registered before any server exists:
// the worker's metrics and access log (src/metrics/) when their options are set. With none
// registered, DrainableServer gets its own listener back unchanged, so a request costs exactly
// what it did without them: no extra listener, no check. Wrapping (rather than a second 'request'
// listener) also spares EventEmitter's copy of its listener array on every request.
// Process-wide on purpose: a worker serves one app, through one or several servers (inherited
// sockets, a server script's), all built by DrainableServer.

import type { IncomingMessage, ServerResponse } from 'node:http';

export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;
export type RequestWrapper = (next: RequestListener) => RequestListener;

const wrappers: RequestWrapper[] = [];

/** Every server DrainableServer builds from now on passes its requests through `wrapper` first. */
export function wrapRequests(wrapper: RequestWrapper): void {
  wrappers.push(wrapper);
}

/** `listener` inside every registered wrapper (the first registered runs first); `listener` itself if none. */
export function wrappedListener(listener: RequestListener): RequestListener {
  return wrappers.reduceRight((next, wrap) => wrap(next), listener);
}
