// Small HTTP helpers for the bench: a free port, a bounded GET, and "poll until the first 200".

import http from 'node:http';
import net from 'node:net';

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface Got {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

export function get(
  url: string,
  options: { agent?: http.Agent | false; timeoutMs?: number } = {},
): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      url,
      { agent: options.agent ?? false, timeout: options.timeoutMs ?? 10_000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('client timeout')));
    req.on('error', reject);
  });
}

/**
 * Polls `url` every `everyMs` until it answers 200; resolves with performance.now() of the moment
 * the 200 arrived. Rejects after `timeoutMs`, or as soon as `gone()` says the server died.
 */
export async function waitForOk(
  url: string,
  options: { everyMs?: number; timeoutMs?: number; gone?: () => boolean } = {},
): Promise<number> {
  const until = performance.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    try {
      const res = await get(url, { timeoutMs: 2_000 });
      if (res.status === 200) return performance.now();
    } catch {
      // not listening yet
    }
    if (options.gone?.()) throw new Error(`server for ${url} exited before answering 200`);
    if (performance.now() > until)
      throw new Error(`${url} did not answer 200 within ${options.timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, options.everyMs ?? 5));
  }
}
