// The access log (option `accessLog`): one JSON line per request, logged by the worker when the
// response has closed, through its own buffered logger (log/logger.ts createAccessLogger: the
// request path never waits for stdout). A wrapper around the drain engine's request entry point
// (src/server/request-wrappers.ts), installed only when the option is set: without it nothing at
// all runs per request.

import type { Logger as Pino } from 'pino';
import type { RequestWrapper } from '../server/request-wrappers.ts';
import { isHttp2 } from '../server/responses.ts';

const { randomUUID } = process.getBuiltinModule('node:crypto');
const { performance } = process.getBuiltinModule('node:perf_hooks');

/** A request id the client (or a proxy) sent is kept as long as it is printable and short. */
const REQUEST_ID = /^[\x21-\x7e]{1,200}$/;

/** `access` carries the line's fixed fields: event, worker, generation. */
export function accessLog(access: Pino): RequestWrapper {
  return (next) => (req, res) => {
    const start = performance.now();
    const header = req.headers['x-request-id'];
    const requestId = typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
    // HTTP/1: the bytes this response put on the connection (headers included). An HTTP/2 stream
    // shares its session's socket and counts no bytes of its own: its declared content-length.
    const h2 = isHttp2(req);
    const socket = h2 ? undefined : req.socket;
    const bytesBefore = socket?.bytesWritten ?? 0;
    res.once('close', () => {
      const declared = Number(res.getHeader('content-length'));
      const bytes = socket ? socket.bytesWritten - bytesBefore : Number.isFinite(declared) ? declared : null;
      const url = req.url ?? '';
      const q = url.indexOf('?');
      access.info(
        {
          method: req.method,
          // The path without its query string: queries carry tokens and personal data.
          path: q === -1 ? url : url.slice(0, q),
          status: res.statusCode,
          bytes,
          durationMs: Math.round((performance.now() - start) * 1000) / 1000,
          requestId,
          completed: res.writableFinished,
        },
        `${req.method} ${q === -1 ? url : url.slice(0, q)} ${res.statusCode}`,
      );
    });
    next(req, res);
  };
}
