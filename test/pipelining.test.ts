// Pipelined HTTP/1.1 requests across a drain: every request the server already received is
// answered, and the connection closes at a boundary the client can see (Connection: close on the
// last answer). Raw sockets, so nothing in a client library hides a lost request.

import assert from 'node:assert/strict';
import type net from 'node:net';
import { describe, test } from 'node:test';
import tls from 'node:tls';
import { makeCert } from './helpers/certs.ts';
import { connect, parseResponses, readUntilClosed } from './helpers/http.ts';
import { appPath, control, type PounceProcess, startServer } from './helpers/pounce.ts';

const PARKED = appPath('parked.ts');

const get = (i: number) => `GET /park?i=${i} HTTP/1.1\r\nHost: pounce.test\r\n\r\n`;
/** Answered synchronously by the app, in the same turn of the event loop as it arrives. */
const quick = (i: number) => `GET /?i=${i} HTTP/1.1\r\nHost: pounce.test\r\n\r\n`;

/** Sends requests first..last-1 pipelined in one write. */
function pipeline(socket: net.Socket, first: number, last: number, make = get): void {
  let text = '';
  for (let i = first; i < last; i++) text += make(i);
  socket.write(text);
}

/** Sends requests first..last-1 one write each, as a client streaming requests does. */
async function stream(socket: net.Socket, first: number, last: number): Promise<void> {
  for (let i = first; i < last; i++) {
    socket.write(get(i));
    await new Promise((r) => setImmediate(r));
  }
}

function assertAllAnswered(data: Buffer, count: number, oldPid: string, parked = count): void {
  const { responses, incomplete } = parseResponses(data);
  assert.equal(incomplete, false, 'no response was cut');
  assert.equal(
    responses.length,
    count,
    `${responses.length} of ${count} answered: ${data.toString().slice(-300)}`,
  );
  responses.forEach((res, i) => {
    assert.equal(res.status, 200);
    const body = i < parked ? `parked ${i} ${oldPid}\n` : `ok ${i} ${oldPid}\n`;
    assert.equal(res.body, body, 'in order, all from the old worker');
    const last = i === count - 1;
    assert.equal(res.headers.connection, last ? 'close' : 'keep-alive', `response ${i} of ${count}`);
  });
}

/** The pid of the first worker (needs --log-level debug). */
function workerPid(server: PounceProcess): string {
  const spawned = server.logs.filter((l) => l.event === 'workerSpawned');
  return String(spawned[0]?.pid ?? '');
}

describe('pipelined requests across a drain', () => {
  test('5 pipelined requests in flight at a `pounce reload`: all 5 answered, the last with Connection: close', async (t) => {
    const server = await startServer(t, PARKED, ['--workers', '1', '--log-level', 'debug']);
    const socket = await connect(server.port);
    const received = readUntilClosed(socket);
    pipeline(socket, 0, 5);
    await server.waitForCount('appRequest', 5);
    assert.equal((await control(t, server, 'reload')).code, 0);
    assertAllAnswered(await received, 5, workerPid(server));
  });

  test('a stream of 40 across a SIGHUP (20 in flight, 20 sent during the drain): all 40 answered', async (t) => {
    const server = await startServer(t, PARKED, ['--workers', '1', '--log-level', 'debug']);
    const socket = await connect(server.port);
    const received = readUntilClosed(socket);
    pipeline(socket, 0, 20);
    await server.waitForCount('appRequest', 20);
    server.signal('SIGHUP');
    await server.waitForEvent('workerDraining');
    await stream(socket, 20, 40);
    assertAllAnswered(await received, 40, workerPid(server));
  });

  test('5 pipelined in flight at SIGTERM, then a stream of 20 and 20 answered at once in one write: all 45 answered, exit 0', async (t) => {
    const server = await startServer(t, PARKED, ['--workers', '1', '--log-level', 'debug']);
    const socket = await connect(server.port);
    const received = readUntilClosed(socket);
    pipeline(socket, 0, 5);
    await server.waitForCount('appRequest', 5);
    server.signal('SIGTERM');
    await server.waitForEvent('workerDraining');
    await stream(socket, 5, 25);
    pipeline(socket, 25, 45, quick);
    assertAllAnswered(await received, 45, workerPid(server), 25);
    assert.equal((await server.exited).code, 0);
  });

  test('HTTPS (HTTP/1.1 over TLS, on an HTTP/2 server): 5 pipelined across a reload, all answered', async (t) => {
    const cert = makeCert('pipelining');
    const server = await startServer(t, PARKED, [
      '--workers',
      '1',
      '--log-level',
      'debug',
      '--http2',
      '--cert-file',
      cert.cert,
      '--key-file',
      cert.key,
    ]);
    const socket = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const s = tls.connect(
        { host: '127.0.0.1', port: server.port, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] },
        () => resolve(s),
      );
      s.on('error', reject);
    });
    const received = readUntilClosed(socket);
    pipeline(socket, 0, 5);
    await server.waitForCount('appRequest', 5);
    assert.equal((await control(t, server, 'reload')).code, 0);
    assertAllAnswered(await received, 5, workerPid(server));
  });
});

describe('pipelined requests behind a response pounce writes itself', () => {
  test('a requestTimeout 503 and an app error 500 keep the connection for the requests behind them', async (t) => {
    const server = await startServer(t, appPath('node-listener.ts'), ['--request-timeout', '0.5']);
    const socket = await connect(server.port);
    t.after(() => socket.destroy());
    let data = Buffer.alloc(0);
    const three = new Promise<void>((resolve) => {
      socket.on('data', (chunk: Buffer) => {
        data = Buffer.concat([data, chunk]);
        if (parseResponses(data).responses.length >= 3) resolve();
      });
      socket.once('close', () => resolve());
    });
    socket.write(
      ['/slow?ms=3000', '/throw', '/'].map((p) => `GET ${p} HTTP/1.1\r\nHost: pounce.test\r\n\r\n`).join(''),
    );
    await three;
    const { responses } = parseResponses(data);
    assert.deepEqual(
      responses.map((r) => [r.status, r.headers.connection]),
      [
        [503, 'keep-alive'],
        [500, 'keep-alive'],
        [200, 'keep-alive'],
      ],
    );
    assert.equal(responses[2]!.body, 'ts app\n');
  });
});
