// The `metrics` listener: a plain HTTP server in the supervisor, on its own address (never the app's
// port), answering GET /metrics with the whole server's metrics. It lives as long as the supervisor,
// so it answers during a reload and through the shutdown drain (it closes when the process exits).

import http from 'node:http';
import { parseHostPort } from '../config/options.ts';
import { configError, ErrorCode, PounceError } from '../errors.ts';
import type { Logger } from '../log/logger.ts';
import type { Supervisor } from '../supervisor/supervisor.ts';
import { ServerMetrics } from './server-metrics.ts';

export interface MetricsEndpoint {
  readonly url: string;
  readonly metrics: ServerMetrics;
  close(): void;
}

export async function startMetricsServer(
  address: string,
  supervisor: Supervisor,
  log: Logger,
): Promise<MetricsEndpoint> {
  const target = parseHostPort(address);
  if (!target) throw configError(`Invalid metrics ${JSON.stringify(address)}: must be HOST:PORT`);
  const metrics = await ServerMetrics.load(supervisor);
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res
        .writeHead(404, { 'content-type': 'text/plain; charset=utf-8' })
        .end('Not found: try GET /metrics\n');
      return;
    }
    metrics.scrape().then(
      (text) =>
        res
          .writeHead(200, { 'content-type': metrics.contentType })
          .end(req.method === 'HEAD' ? undefined : text),
      (err: unknown) => {
        log.event('metricsError', { error: err instanceof Error ? err.message : String(err) });
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('metrics unavailable\n');
      },
    );
  });
  // A scraper keeps its connection open between scrapes: never let it hold the process's exit.
  server.on('connection', (socket) => socket.unref());
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new PounceError(
          ErrorCode.LISTEN,
          `Cannot listen for metrics on ${address}: ${err.message}${err.code === 'EADDRINUSE' ? ' (the address is in use: choose another with --metrics HOST:PORT)' : ''}`,
        ),
      ),
    );
    // reusePort: during `pounce upgrade` the new supervisor binds the metrics address while the old
    // one still serves it (the kernel spreads scrapes over both until the old one exits). A port
    // held by anything else still fails, as that socket has no SO_REUSEPORT.
    server.listen({ host: target.host, port: target.port, reusePort: true }, resolve);
  });
  server.unref();
  server.on('error', (err) => log.event('metricsError', { error: err.message }));
  const bound = server.address();
  const port = typeof bound === 'object' && bound ? bound.port : target.port;
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  const url = `http://${host}:${port}/metrics`;
  log.event('metricsListening', { url });
  return {
    url,
    metrics,
    close: () => {
      server.close();
      server.closeAllConnections();
    },
  };
}
