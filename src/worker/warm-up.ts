// A worker that starts while others serve (a reload's new generation, a replacement) warms Node's
// HTTP server code before it listens. A fresh process runs the request path (parser callbacks,
// IncomingMessage, ServerResponse, the socket writes) in the interpreter until V8 has seen it often
// enough to compile it: left alone, the first few hundred real requests after the cutover pay for
// that, and they are part of the reload's latency tail (its p99 in the second after the cutover
// was 1.2–1.6× steady; the boot itself, while the old generation serves, costs more: 2–3×). Here a throwaway server on a private loopback port answers a few hundred requests first,
// so the compiling happens before the worker serves — and, when the worker boots at a low CPU
// priority (boot-priority.ts), at that priority.
//
// Only Node's own code is warmed: the throwaway server's handler is not the app (calling the app
// with made-up requests could have effects). Best effort: any error, or the deadline, just ends it.

const http = process.getBuiltinModule('node:http');
/** Requests sent (a few hundred is enough for V8's baseline and first optimizing tiers). */
export const WARM_UP_REQUESTS = 500;
/** Connections they are spread over (kept alive). */
const CONNECTIONS = 4;
/** The warm-up never delays a boot by more than this. */
const DEADLINE_MS = 1_000;
const BODY = 'ok\n';

export async function warmUpHttp(requests = WARM_UP_REQUESTS): Promise<void> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': BODY.length });
    res.end(BODY);
  });
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  try {
    // exclusive: in a cluster worker, bind here rather than through the supervisor's shared handles.
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () =>
        resolve((server.address() as { port: number }).port),
      );
    });
    const until = performance.now() + DEADLINE_MS;
    const one = () =>
      new Promise<void>((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
            res.resume();
            res.once('end', resolve);
            res.once('error', reject);
          })
          .once('error', reject);
      });
    const loop = async (count: number) => {
      for (let i = 0; i < count && performance.now() < until; i++) await one();
    };
    await Promise.all(Array.from({ length: CONNECTIONS }, () => loop(Math.ceil(requests / CONNECTIONS))));
  } catch {
    // no loopback, no port: the worker serves cold, as it would have anyway
  } finally {
    agent.destroy();
    server.closeAllConnections();
    server.close();
  }
}
