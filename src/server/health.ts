// The built-in health endpoint: what load balancers and Kubernetes probes ask. It tells only
// whether this process takes traffic; nothing about the app, versions or hosts leaks through it.

import type { IncomingMessage, ServerResponse } from 'node:http';

const OK = JSON.stringify({ status: 'ok' });
const DRAINING = JSON.stringify({ status: 'draining' });

export function respondHealth(req: IncomingMessage, res: ServerResponse, draining: boolean): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-length': 0 });
    res.end();
    return;
  }
  const body = draining ? DRAINING : OK;
  res.writeHead(draining ? 503 : 200, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  // HEAD: same status and headers as GET, no body (Node drops the body of a HEAD response itself).
  res.end(body);
}
