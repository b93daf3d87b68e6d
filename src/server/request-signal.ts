// A per-request AbortSignal for Node-listener apps: aborted when the request is cut (requestTimeout,
// the drain deadline, the client going away). Created lazily, so requests of apps that never ask for
// it pay nothing.

import type { IncomingMessage, ServerResponse } from 'node:http';

const kResponse = Symbol('pounce.response');
const kController = Symbol('pounce.requestController');

type Tracked = IncomingMessage & { [kResponse]?: ServerResponse; [kController]?: AbortController };

/** Called by the server for every request, so the signal can later find the response. */
export function linkResponse(req: IncomingMessage, res: ServerResponse): void {
  (req as Tracked)[kResponse] = res;
}

/** The signal of a request served by pounce: aborted if the request is cut before its response ends. */
export function requestSignal(req: IncomingMessage): AbortSignal {
  const tracked = req as Tracked;
  let controller = tracked[kController];
  if (controller) return controller.signal;
  controller = new AbortController();
  tracked[kController] = controller;
  const res = tracked[kResponse];
  if (res) {
    if (res.writableFinished) return controller.signal;
    const ctrl = controller;
    res.once('close', () => {
      if (!res.writableFinished) ctrl.abort(new Error('The request was cut before its response ended'));
    });
  }
  return controller.signal;
}

/** Aborts the request's signal (if anyone asked for it, or will: it is created aborted). */
export function abortRequest(req: IncomingMessage, reason: Error): void {
  const tracked = req as Tracked;
  tracked[kController] ??= new AbortController();
  tracked[kController].abort(reason);
}

type FetchLike = (request: Request, env: { incoming: IncomingMessage; outgoing: ServerResponse }) => unknown;

/**
 * For fetch apps under a requestTimeout: the Request the app sees carries a signal that also aborts
 * when pounce cuts the request (the adapter's own signal only aborts when the client goes away).
 * Costs a Request copy per request, so it is used only when requestTimeout is set.
 */
export function withRequestSignal(fetch: FetchLike): FetchLike {
  return (request, env) => {
    const signal = AbortSignal.any([request.signal, requestSignal(env.incoming)]);
    return fetch(new Request(request, { signal, duplex: 'half' } as RequestInit), env);
  };
}
