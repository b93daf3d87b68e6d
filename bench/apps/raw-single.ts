// Baseline: one plain node:http process serving the benchmark app. PORT from the environment.

import http from 'node:http';
import app from './hello.ts';

const server = http.createServer(app);
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
