// The drain engine in-process (src/server/drainable-server.ts and its two rooms): its phases and
// the drain policy (src/server/drain-policy.ts), against real sockets on 127.0.0.1. The end-to-end
// tests (shutdown, pipelining, zero-drop, socket-activation) prove the same through the real CLI.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import net from 'node:net';
import { after, describe, test } from 'node:test';
import { toHandler } from '../src/app/shape.ts';
import { type Config, defaults } from '../src/config/options.ts';
import { type DrainCause, drainPolicy, type SocketLife } from '../src/server/drain-policy.ts';
import { DrainableServer } from '../src/server/drainable-server.ts';
import { type LoggedEvent, recordingLogger } from './helpers/fake-workers.ts';
import { connect, keepAliveAgent, request } from './helpers/http.ts';

const config: Config = { ...defaults(), healthCheckPath: '/health', shutdownTimeout: 5, reloadTimeout: 5 };

const servers: DrainableServer[] = [];
after(() => {
  for (const s of servers) s.server.close();
});

/** A listening engine around an app that answers `ok`; its log is kept in `events`. */
async function engine(socketLife: SocketLife = 'ends-with-server') {
  const events: LoggedEvent[] = [];
  const app = (_req: IncomingMessage, res: ServerResponse) => res.end('ok');
  const handler = await toHandler(app, 'node', 'test app');
  const server = new DrainableServer(handler, config, recordingLogger(events), { socketLife });
  servers.push(server);
  const url = await server.listen({ host: '127.0.0.1', port: 0 }, 511);
  const port = Number(new URL(url).port);
  const policy = (cause: DrainCause) => drainPolicy(cause, server.socketLife, config);
  return { server, url, port, events, policy };
}

describe('drain policy', () => {
  test('one row per drain: listener, new connections, health, app, delay, deadline', () => {
    const c = { ...config, shutdownDelay: 3, shutdownTimeout: 7, reloadTimeout: 9 };
    const row = (cause: DrainCause, life: SocketLife) => {
      const p = drainPolicy(cause, life, c);
      return [
        p.closeListener,
        p.newConnections,
        p.healthDraining,
        p.tellApp,
        p.delaySeconds,
        p.deadline.name,
      ];
    };
    assert.deepEqual(row('reload', 'ends-with-server'), [
      'at-drain',
      'served',
      false,
      'reload',
      0,
      'reloadTimeout',
    ]);
    assert.deepEqual(row('reload', 'outlives-server'), [
      'at-drain',
      'served',
      false,
      'reload',
      0,
      'reloadTimeout',
    ]);
    assert.deepEqual(row('shutdown', 'ends-with-server'), [
      'after-drain',
      'unavailable',
      true,
      'shutdown',
      3,
      'shutdownTimeout',
    ]);
    assert.deepEqual(row('shutdown', 'outlives-server'), [
      'at-signal',
      'unavailable',
      true,
      'shutdown',
      3,
      'shutdownTimeout',
    ]);
    assert.deepEqual(row('unused', 'ends-with-server'), [
      'at-drain',
      'served',
      false,
      undefined,
      0,
      'reloadTimeout',
    ]);
    assert.equal(
      drainPolicy('reload', 'ends-with-server', c, 2).deadline.seconds,
      2,
      'a shorter reload deadline',
    );
    assert.equal(drainPolicy('shutdown', 'ends-with-server', c).deadline.seconds, 7);
  });
});

describe('drain phases against real sockets', () => {
  test('shutdown: leaving turns health 503 while the app is served; draining answers new connections 503 and closes kept-alive ones after their next response', async () => {
    const { server, url, port, events, policy } = await engine();
    const agent = keepAliveAgent();
    assert.equal((await request(`${url}/`, { agent })).status, 200);

    server.leave(policy('shutdown'));
    assert.equal((await request(`${url}/health`)).status, 503, 'health says draining from the signal on');
    const during = await request(`${url}/`, { agent });
    assert.equal(during.status, 200, 'still served during shutdownDelay');
    assert.equal(during.headers.connection, 'keep-alive');
    assert.ok(server.server.listening);

    const drained = server.drain(policy('shutdown'));
    const late = await request(`${url}/`);
    assert.equal(late.status, 503, 'a connection accepted during the drain');
    assert.equal(late.headers.connection, 'close');
    assert.equal(late.headers['retry-after'], '1');
    const kept = await request(`${url}/`, { agent });
    assert.equal(kept.status, 200, 'the kept-alive connection is served');
    assert.equal(kept.reusedSocket, true);
    assert.equal(kept.headers.connection, 'close');
    assert.deepEqual(await drained, { forced: 0 });
    assert.equal(server.server.listening, false, 'the listener is closed once the drain is over');
    assert.equal(server.connectionCount, 0);
    await assert.rejects(connect(port), /ECONNREFUSED/);
    assert.ok(events.some((e) => e.event === 'workerDraining'));
    agent.destroy();
  });

  test('reload: the listener closes when the drain starts; health stays 200 on an open connection', async () => {
    const { server, url, port, events, policy } = await engine();
    const agent = keepAliveAgent();
    assert.equal((await request(`${url}/`, { agent })).status, 200);
    const drained = server.drain(policy('reload'));
    assert.equal(server.server.listening, false);
    await assert.rejects(connect(port), /ECONNREFUSED/);
    const health = await request(`${url}/health`, { agent });
    assert.equal(health.status, 200, 'the server as a whole stays in service');
    assert.equal(health.reusedSocket, true);
    assert.equal(health.headers.connection, 'close');
    assert.deepEqual(await drained, { forced: 0 });
    assert.ok(events.some((e) => e.event === 'workerDraining'));
    agent.destroy();
  });

  test('shutdown of a socket that outlives the server: the listener closes at the signal, before the drain', async () => {
    const { server, url, port, policy } = await engine('outlives-server');
    const agent = keepAliveAgent();
    assert.equal((await request(`${url}/`, { agent })).status, 200);
    server.leave(policy('shutdown'));
    assert.equal(server.server.listening, false, 'new connections wait in the socket for the next instance');
    await assert.rejects(connect(port), /ECONNREFUSED/);
    const health = await request(`${url}/health`, { agent });
    assert.equal(health.status, 503);
    assert.deepEqual(await server.drain(policy('shutdown')), { forced: 0 });
  });

  test('unused: the listener closes at once and nothing says a worker drains', async () => {
    const { server, port, events, policy } = await engine();
    assert.deepEqual(await server.drain(policy('unused')), { forced: 0 });
    assert.equal(server.server.listening, false);
    await assert.rejects(connect(port), /ECONNREFUSED/);
    const names = events.map((e) => e.event);
    assert.ok(!names.includes('workerIdleShutdown') && !names.includes('workerDraining'), names.join(', '));
  });

  test('the deadline cuts what is left and counts it', async () => {
    const { server, port, events } = await engine();
    // A connection that sent half a request: never idle, never answered.
    const stuck = await connect(port);
    stuck.write('GET / HTTP/1.1\r\nHost: x\r\n');
    const result = await server.drain(drainPolicy('reload', 'ends-with-server', config, 0.2));
    assert.deepEqual(result, { forced: 1 });
    assert.ok(events.some((e) => e.event === 'workerForce' && e.timeoutName === 'reloadTimeout'));
    stuck.destroy();
  });
});

/** Linux: how many connections wait in the accept queue of the IPv4 socket listening on `port`. */
function acceptQueue(port: number): number {
  const local = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    // local_address, state 0A (LISTEN), tx_queue:rx_queue (rx_queue: the accept queue, for a listener)
    if (f[1]?.endsWith(local) && f[3] === '0A') return Number.parseInt(f[4]!.split(':')[1]!, 16);
  }
  return 0;
}

/** What a client that connected and sent a request got: the status line, or the error. */
function ask(port: number): Promise<string> {
  return new Promise((resolve) => {
    let data = '';
    const socket = net.connect(port, '127.0.0.1', () => socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      data += chunk;
    });
    socket.on('error', (err: NodeJS.ErrnoException) => resolve(data.split('\r\n')[0] || String(err.code)));
    socket.on('close', () => resolve(data.split('\r\n')[0] || 'closed without an answer'));
  });
}

describe('the listener after a shutdown drain', { skip: !existsSync('/proc/net/tcp') }, () => {
  test('connections the kernel queued before an idle server drained get a 503, not a reset', async () => {
    const { server, port, policy } = await engine();
    const answers = Array.from({ length: 5 }, () => ask(port));
    // net.connect() connects on the next tick; this process must not poll (and accept) before the
    // drain, so wait for the ticks, then, without yielding, for the kernel to complete the handshakes.
    await new Promise((resolve) => process.nextTick(resolve));
    const until = Date.now() + 5000;
    while (acceptQueue(port) < 5) assert.ok(Date.now() < until, `accept queue: ${acceptQueue(port)} of 5`);
    // The server is idle: the drain settles at once, before this process has accepted any of them.
    const drained = server.drain(policy('shutdown'));
    assert.deepEqual(await Promise.all(answers), Array(5).fill('HTTP/1.1 503 Service Unavailable'));
    assert.deepEqual(await drained, { forced: 0 });
    assert.equal(server.server.listening, false);
  });
});
