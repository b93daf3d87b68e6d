// A Server-Sent Events clock that behaves well across reloads and shutdowns.
//   pounce serve examples/sse-clock/app.ts   then: curl -N http://127.0.0.1:8000/clock
//
// Each tick is one complete event. When this worker drains (reload or shutdown) the stream sends a
// last `bye` event and ends cleanly; EventSource reconnects (after `retry`), and on a reload lands
// on the new generation. Nothing is torn: the stream ends between two events, never inside one.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { drainSignal } from 'pounce';

export default function app(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname !== '/clock') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(
      '<!doctype html><pre id="c"></pre><script>new EventSource("/clock").onmessage = (e) => { document.getElementById("c").textContent = e.data; };</script>',
    );
    return;
  }
  const intervalMs = Math.max(10, Number(url.searchParams.get('ms') ?? 1000));
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.write('retry: 1000\n\n');
  let id = 0;
  const tick = () => res.write(`id: ${++id}\ndata: ${new Date().toISOString()} worker ${process.pid}\n\n`);
  const timer = setInterval(tick, intervalMs);
  tick();

  const signal = drainSignal();
  const stop = () => {
    clearInterval(timer);
    res.end(`event: bye\ndata: ${String(signal.reason)}\n\n`);
  };
  if (signal.aborted) stop();
  else signal.addEventListener('abort', stop, { once: true });
  res.on('close', () => {
    clearInterval(timer);
    signal.removeEventListener('abort', stop);
  });
}
