// The bundled example: `npm start` serves it on http://127.0.0.1:8000.
//   GET /         → hello
//   GET /slow?ms= → answers after a delay (try a SIGTERM while it runs)
//   GET /version  → the VERSION env variable, to watch a reload pick up new code

import type { IncomingMessage, ServerResponse } from 'node:http';
import { onShutdown } from 'pounce';

export default function app(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname === '/slow') {
    const ms = Math.min(Number(url.searchParams.get('ms') ?? 1000), 60_000);
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`slept ${ms}ms\n`);
    }, ms);
    return;
  }
  if (url.pathname === '/version') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`${process.env.VERSION ?? 'v1'}\n`);
    return;
  }
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end('Hello from pounce\n');
}

onShutdown(() => {
  // Close pools, flush buffers: runs after the connections have drained.
});
