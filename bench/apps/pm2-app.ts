// The benchmark app as PM2 runs it in cluster mode, with PM2's documented graceful setup:
// `process.send('ready')` once listening (the ecosystem sets wait_ready), and on SIGINT close the
// server and exit. PORT from the environment.

import http from 'node:http';
import app from './hello.ts';

const server = http.createServer(app);
server.listen(Number(process.env.PORT), '127.0.0.1', () => process.send?.('ready'));
process.on('SIGINT', () => {
  server.close(() => process.exit(0));
});
