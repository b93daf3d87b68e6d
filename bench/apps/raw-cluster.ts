// Baseline: Node's own cluster with WORKERS plain node:http workers serving the benchmark app —
// the physical limit for a Node server with N workers. Node's default scheduling (round-robin on
// Linux). PORT and WORKERS from the environment.

import cluster from 'node:cluster';
import http from 'node:http';
import app from './hello.ts';

if (cluster.isPrimary) {
  const workers = Number(process.env.WORKERS ?? 2);
  for (let i = 0; i < workers; i++) cluster.fork();
  process.on('SIGTERM', () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill();
    process.exit(0);
  });
} else {
  http.createServer(app).listen(Number(process.env.PORT), '127.0.0.1');
}
