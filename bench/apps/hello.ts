// The benchmark app: hello world on /, plus the routes the load generator needs (/echo, /slow).
// Every contender (pounce, raw cluster, PM2, a single process) serves this very listener, so the
// numbers compare servers, not apps.

import type { IncomingMessage, ServerResponse } from 'node:http';

const HELLO = 'Hello, world!\n';

export default function app(req: IncomingMessage, res: ServerResponse): void {
  const url = req.url ?? '/';
  if (url === '/') {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': HELLO.length });
    res.end(HELLO);
    return;
  }
  if (url.startsWith('/slow')) {
    const ms = Number(new URL(url, 'http://x').searchParams.get('ms') ?? 500);
    const timer = setTimeout(() => res.end(`slow ${ms}\n`), ms);
    res.once('close', () => clearTimeout(timer));
    return;
  }
  if (url === '/echo') {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => res.end(Buffer.concat(chunks)));
    return;
  }
  res.writeHead(404);
  res.end('not found\n');
}
