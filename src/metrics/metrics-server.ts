// The `metrics` listener: a plain HTTP server in the supervisor, on its own address (never the app's
// port), answering GET /metrics with the whole server's metrics. It lives as long as the supervisor,
// so it answers during a reload and through the shutdown drain (it closes when the process exits).
// `pounce upgrade` hands its socket to the new supervisor (never two supervisors answering at once:
// the old one's answers lack the new one's counts, the new one's would lack the old one's last
// ones), see upgrade-carry.ts.

import type net from 'node:net';
import { parseHostPort } from '../config/options.ts';
import { configError, ErrorCode, PounceError } from '../errors.ts';
import type { Logger } from '../log/logger.ts';
import type { Supervisor } from '../supervisor/supervisor.ts';
import { ServerMetrics } from './server-metrics.ts';

const http = process.getBuiltinModule('node:http');

export interface MetricsEndpoint {
  /** The address it answers at (known once it listens: see accept()). */
  readonly url: string | undefined;
  readonly metrics: ServerMetrics;
  /** The listening socket's file descriptor, for an upgrade to hand on (undefined: not listening). */
  fd(): number | undefined;
  /**
   * Stops answering scrapes for good (an upgrade: the next supervisor answers on the same socket,
   * where connections wait in the kernel's queue meanwhile). Kept-alive connections are closed once
   * their request in flight is answered. Resolves when no scrape is being answered any more.
   */
  release(): Promise<void>;
  /** Starts answering on the socket handed over by the previous supervisor (see `handedFd`). */
  accept(): Promise<void>;
  close(): void;
}

/**
 * `handedFd`: the listening socket the previous supervisor of an upgrade served metrics on (already
 * bound and listening): nothing is bound, and scrapes are answered only once accept() is called —
 * until then the previous supervisor answers them.
 */
export async function startMetricsServer(
  address: string,
  supervisor: Supervisor,
  log: Logger,
  handedFd?: number,
): Promise<MetricsEndpoint> {
  const target = parseHostPort(address);
  if (!target) throw configError(`Invalid metrics ${JSON.stringify(address)}: must be HOST:PORT`);
  const metrics = await ServerMetrics.load(supervisor);
  let released = false;
  let accepting: Promise<void> | undefined;
  let answering = 0;
  let idle: () => void = () => {};
  const server = http.createServer((req, res) => {
    answering++;
    res.once('close', () => {
      if (--answering === 0) idle();
    });
    // Released meanwhile: this answer is the connection's last.
    if (released) res.shouldKeepAlive = false;
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res
        .writeHead(404, { 'content-type': 'text/plain; charset=utf-8' })
        .end('Not found: try GET /metrics\n');
      return;
    }
    metrics.scrape().then(
      (text) => {
        if (released) res.shouldKeepAlive = false;
        res
          .writeHead(200, { 'content-type': metrics.contentType })
          .end(req.method === 'HEAD' ? undefined : text);
      },
      (err: unknown) => {
        log.event('metricsError', { error: err instanceof Error ? err.message : String(err) });
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('metrics unavailable\n');
      },
    );
  });
  // A scraper keeps its connection open between scrapes: never let it hold the process's exit.
  server.on('connection', (socket) => socket.unref());
  const listen = (options: net.ListenOptions | { fd: number }) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          new PounceError(
            ErrorCode.LISTEN,
            `Cannot listen for metrics on ${address}: ${err.message}${err.code === 'EADDRINUSE' ? ' (the address is in use: choose another with --metrics HOST:PORT)' : ''}`,
          ),
        ),
      );
      server.listen(options as net.ListenOptions, () => {
        server.unref();
        server.on('error', (e) => log.event('metricsError', { error: e.message }));
        const bound = server.address();
        const port = typeof bound === 'object' && bound ? bound.port : target.port;
        const host = target.host.includes(':') ? `[${target.host}]` : target.host;
        endpoint.url = `http://${host}:${port}/metrics`;
        log.event('metricsListening', { url: endpoint.url });
        resolve();
      });
    });
  const endpoint: { -readonly [K in keyof MetricsEndpoint]: MetricsEndpoint[K] } = {
    url: undefined,
    metrics,
    // (Node keeps a listening socket's fd on its libuv handle, as listening-sockets.ts reads it.)
    fd: () =>
      (server as unknown as { _handle?: { fd?: number } | null })._handle?.fd ??
      (released ? undefined : handedFd),
    release: () => {
      released = true;
      // Closing this process's handle leaves the socket listening: the next supervisor has it.
      server.close();
      server.closeIdleConnections();
      if (answering === 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        idle = resolve;
      });
    },
    accept: () => {
      accepting ??= handedFd === undefined ? Promise.resolve() : listen({ fd: handedFd });
      return accepting;
    },
    close: () => {
      server.close();
      server.closeAllConnections();
    },
  };
  if (handedFd === undefined) await listen({ host: target.host, port: target.port });
  return endpoint;
}
