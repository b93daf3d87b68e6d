// The worker's request measurement, installed only when `metrics` is set: a wrapper around the
// drain engine's request entry point (src/server/request-wrappers.ts), so that with metrics off the
// request path is exactly what it was, not one branch longer. Every request the server receives is
// counted — the app's, health probes, and the 503s of a shutdown drain — once its response has
// closed (finished, or cut).
//
// Per request: one performance.now(), one property write (the start time, on the response) and one
// 'close' listener — a function shared by every request, not a closure per request. The series a
// request lands in is found by a numeric key (method index × 1000 + status code), so counting
// allocates nothing once a (method, status) pair has been seen.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { RequestListener } from '../server/request-wrappers.ts';
import { DURATION_BUCKETS, type RequestSeries } from './snapshot.ts';

const { performance } = process.getBuiltinModule('node:perf_hooks');

/** The methods OpenTelemetry names; any other is recorded as `_OTHER` (no unbounded label). */
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH', '_OTHER'];
const OTHER = METHODS.length - 1;

function methodIndex(method: string | undefined): number {
  switch (method) {
    case 'GET':
      return 0;
    case 'HEAD':
      return 1;
    case 'POST':
      return 2;
    case 'PUT':
      return 3;
    case 'DELETE':
      return 4;
    case 'CONNECT':
      return 5;
    case 'OPTIONS':
      return 6;
    case 'TRACE':
      return 7;
    case 'PATCH':
      return 8;
    default:
      return OTHER;
  }
}

interface Series {
  readonly method: string;
  readonly status: number;
  readonly counts: Float64Array;
  sum: number;
}

const kStart = Symbol('pounce.metrics.start');
type Response = (ServerResponse | Http2ServerResponse) & {
  [kStart]?: number;
  req?: IncomingMessage | Http2ServerRequest;
};

export class RequestMetrics {
  readonly #series = new Map<number, Series>();
  #inFlight = 0;

  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * Resolves once no request is in flight, or after `ms`. A drain that cut connections at its
   * deadline returns before their responses emit 'close' (a socket closes on a later turn of the
   * event loop): the worker's final snapshot waits for them.
   */
  async settled(ms: number): Promise<void> {
    const until = Date.now() + ms;
    while (this.#inFlight > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
  }

  /** Measures every request that goes through `next` (see wrapRequests). */
  wrap = (next: RequestListener): RequestListener => {
    return (req, res) => {
      this.#inFlight++;
      (res as Response)[kStart] = performance.now();
      res.on('close', this.#onClose);
      next(req, res);
    };
  };

  // `this` is bound by the arrow function to the collector; the response comes from the event's
  // emitter, which EventEmitter passes as `this` only to non-arrow functions: hence the wrapper.
  #onClose = onClose(this);

  /** @internal called by the shared close listener */
  record(res: Response): void {
    this.#inFlight--;
    const start = res[kStart];
    if (start === undefined) return;
    const seconds = (performance.now() - start) / 1000;
    const m = methodIndex(res.req?.method);
    // 0: the connection closed before the response's status line went out (cut, aborted).
    const status = res.headersSent ? res.statusCode : 0;
    const key = m * 1000 + status;
    let series = this.#series.get(key);
    if (series === undefined) {
      series = { method: METHODS[m]!, status, counts: new Float64Array(DURATION_BUCKETS.length + 1), sum: 0 };
      this.#series.set(key, series);
    }
    let i = 0;
    while (i < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[i]!) i++;
    series.counts[i]!++;
    series.sum += seconds;
  }

  /** A copy of the cumulative histogram (off the request path: taken for a snapshot). */
  requests(): RequestSeries[] {
    return [...this.#series.values()].map((s) => ({
      method: s.method,
      status: s.status,
      counts: [...s.counts],
      sum: s.sum,
    }));
  }
}

function onClose(metrics: RequestMetrics): (this: Response) => void {
  return function (this: Response) {
    metrics.record(this);
  };
}
