// Clients that are slow on purpose or by neglect: connections that never send a byte, slowloris
// headers, a crawling request body, and a flood of silent connections under a 1024 descriptor
// limit. Each bound holds to within a second, and normal clients keep being served.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { describe, type TestContext, test } from 'node:test';
import tls from 'node:tls';
import { SHED_MIN_AGE_MS } from '../src/server/unused-connections.ts';
import { makeCert } from './helpers/certs.ts';
import { closed, connect, request } from './helpers/http.ts';
import { appPath, CLI, startServer, waitFor } from './helpers/pounce.ts';

const APP = appPath('node-listener.ts');
/** The slack every bound is held to: Node and pounce check their timeouts every 0.5 s. */
const SLACK_MS = 1000;

/**
 * Milliseconds until the server closes `socket`. What the server sends first (a 408, when Node's
 * own headersTimeout check comes before pounce's sweep) is read and dropped: a socket whose received
 * bytes nobody reads never sees the end of the stream, and so never closes.
 */
async function msUntilClosed(socket: net.Socket, since: number): Promise<number> {
  socket.resume();
  await closed(socket);
  return Date.now() - since;
}

function assertWithin(ms: number, boundMs: number, what: string): void {
  assert.ok(ms >= boundMs - 100, `${what}: closed after ${ms} ms, before its ${boundMs} ms bound`);
  assert.ok(ms <= boundMs + SLACK_MS, `${what}: closed after ${ms} ms, bound ${boundMs} ms + ${SLACK_MS} ms`);
}

/** Sends `head`, then `byte` every `everyMs` until the server closes; what it answered, and when. */
async function drip(
  t: TestContext,
  port: number,
  head: string,
  byte: string,
  everyMs: number,
): Promise<{ ms: number; answer: string }> {
  const socket = await connect(port);
  let answer = '';
  socket.setEncoding('latin1').on('data', (c: string) => {
    answer += c;
  });
  // A byte dripped while the server closes (Node answers and destroys the socket at once) meets a
  // closed socket, and the server's kernel answers it with a reset: what the client read before it
  // is the answer; the reset itself is not the server's verdict.
  socket.on('error', () => {});
  const started = Date.now();
  socket.write(head);
  const timer = setInterval(() => {
    if (!socket.destroyed) socket.write(byte);
  }, everyMs);
  t.after(() => clearInterval(timer));
  const ms = await msUntilClosed(socket, started);
  return { ms, answer };
}

describe('slow and silent clients', () => {
  test('a connection that never sends a byte is closed at headersTimeout (+ ≤ 1 s)', async (t) => {
    const server = await startServer(t, APP, ['--headers-timeout', '2']);
    const sockets = await Promise.all(Array.from({ length: 10 }, () => connect(server.port)));
    const opened = Date.now();
    const times = await Promise.all(sockets.map((s) => msUntilClosed(s, opened)));
    for (const ms of times) assertWithin(ms, 2000, 'silent connection');
    assert.equal((await request(`${server.url}/`)).status, 200, 'the server keeps serving');
  });

  test('slowloris (a header byte every 200 ms) is cut at headersTimeout (+ ≤ 1 s) with 408', async (t) => {
    const server = await startServer(t, APP, ['--headers-timeout', '2']);
    const { ms, answer } = await drip(t, server.port, 'GET / HTTP/1.1\r\nHost: x\r\n', 'X', 200);
    assertWithin(ms, 2000, 'slowloris');
    assert.match(answer, /^HTTP\/1\.1 408 /);
  });

  test('slowloris that keeps sending after its 408: the answer arrives with a clean end, no reset, and nothing it sends later reaches the app', async (t) => {
    const server = await startServer(t, APP, ['--headers-timeout', '2', '--access-log']);
    // allowHalfOpen: the client goes on sending after the server's end of the stream, as a slow
    // client that has not read yet does.
    const socket = net.connect({ port: server.port, host: '127.0.0.1', allowHalfOpen: true });
    let answer = '';
    let ended = false;
    let failure: Error | undefined;
    socket.setEncoding('latin1').on('data', (c: string) => {
      answer += c;
    });
    socket.on('end', () => {
      ended = true;
    });
    socket.on('error', (err) => {
      failure = err;
    });
    socket.write('GET /after-408 HTTP/1.1\r\nHost: x\r\n');
    const timer = setInterval(() => {
      if (socket.writable) socket.write('X-Slow: 1\r\n');
    }, 200);
    t.after(() => {
      clearInterval(timer);
      socket.destroy();
    });
    await waitFor('the 408 and the end of the stream', () => ended || failure !== undefined);
    assert.equal(failure, undefined, 'no reset before the answer was read');
    assert.match(answer, /^HTTP\/1\.1 408 Request Timeout\r\n/);
    // Half a second on: the rest of the header section, as a request the app would serve.
    await new Promise((r) => setTimeout(r, 500));
    socket.write('\r\n');
    await new Promise((r) => setTimeout(r, 500));
    clearInterval(timer);
    assert.equal(failure, undefined, 'no reset while the server lingers');
    assert.equal(answer.match(/HTTP\/1\.1/g)?.length, 1, `one answer only: ${JSON.stringify(answer)}`);
    assert.ok(!server.logs.some((l) => l.event === 'access'), 'the app saw no request');
    socket.end();
    await closed(socket);
  });

  test('a request body that crawls is cut at requestTimeout (+ ≤ 1 s) with 503', async (t) => {
    const server = await startServer(t, APP, ['--request-timeout', '1.5']);
    const head = 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n';
    const { ms, answer } = await drip(t, server.port, head, 'x', 100);
    assertWithin(ms, 1500, 'crawling body');
    assert.match(answer, /^HTTP\/1\.1 503 /);
  });

  test('TLS: silent before the handshake, and silent after it, each closed at headersTimeout (+ ≤ 1 s)', async (t) => {
    const cert = makeCert('silent');
    const server = await startServer(t, appPath('versioned.mjs'), [
      '--headers-timeout',
      '2',
      '--cert-file',
      cert.cert,
      '--key-file',
      cert.key,
    ]);
    const raw = await connect(server.port);
    const rawOpened = Date.now();
    const secure = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port: server.port, rejectUnauthorized: false }, () =>
        resolve(s),
      );
      s.on('error', reject);
    });
    const handshaken = Date.now();
    const [rawMs, secureMs] = await Promise.all([
      msUntilClosed(raw, rawOpened),
      msUntilClosed(secure, handshaken),
    ]);
    assertWithin(rawMs, 2000, 'silent TCP connection to the TLS port');
    assertWithin(secureMs, 2000, 'silent TLS connection after its handshake');
  });

  test('2000 silent connections under a 1024 descriptor limit: normal clients keep being served, all reaped within headersTimeout', async (t) => {
    // The kernel's accept queue must hold the whole flood: when it overflows, the kernel drops the
    // client's final ACK (tcp_abort_on_overflow=0), the client believes it is connected, and if the
    // SYN-ACK retries run out the server never hears of the connection — it stays open on the client
    // side only, which no server can close. 2000 connections fit in a 4096 backlog.
    const somaxconn = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));
    if (somaxconn < 2000)
      return t.skip(`net.core.somaxconn is ${somaxconn}: the flood would overflow the backlog`);
    const server = await startServer(
      t,
      APP,
      ['--headers-timeout', '4', '--workers', '1', '--backlog', '4096'],
      {
        command: [
          'sh',
          '-c',
          'ulimit -n 1024 && exec "$@"',
          'sh',
          process.execPath,
          '--conditions=pounce-source',
          CLI,
        ],
      },
    );
    const silent: { socket: net.Socket; opened: number; connected: boolean; closedAfter?: number }[] = [];
    const open = async (n: number) => {
      const batch = await Promise.all(
        Array.from({ length: n }, async () => {
          const socket = net.connect(server.port, '127.0.0.1');
          // Timed from the handshake: a connection whose SYN was dropped (the backlog was full)
          // connects only when the client retries it.
          const entry: (typeof silent)[number] = { socket, opened: Date.now(), connected: false };
          socket.on('error', () => {});
          // Silent, but reading: see msUntilClosed.
          socket.resume();
          // A SYN the kernel keeps dropping would be retried for two minutes: give up on it sooner.
          socket.setTimeout(10_000, () => socket.destroy());
          await new Promise<void>((resolve) => {
            socket.once('connect', () => {
              socket.setTimeout(0);
              entry.opened = Date.now();
              entry.connected = true;
              resolve();
            });
            socket.once('close', () => {
              entry.closedAfter = Date.now() - entry.opened;
              resolve();
            });
          });
          return entry;
        }),
      );
      silent.push(...batch);
    };
    t.after(() => {
      for (const { socket } of silent) socket.destroy();
    });
    // 1200 at once: more than the process can hold. What libuv cannot accept it resets (at once);
    // the rest sit, until the server closes the oldest to make room (after SHED_MIN_AGE_MS).
    await open(1200);
    await waitFor('the server to close silent connections to make room', () =>
      silent.some((s) => s.closedAfter !== undefined && s.closedAfter >= SHED_MIN_AGE_MS),
    );
    // Then 800 more in steps, with normal requests among them: each is served.
    for (let step = 0; step < 8; step++) {
      await open(100);
      for (let i = 0; i < 5; i++) assert.equal((await request(`${server.url}/`)).status, 200);
    }
    // Every connection is closed by headersTimeout + slack after the last one opened: waited for
    // with a deadline, so a connection left open fails here with a count instead of a test timeout.
    const everyClosed = Promise.all(silent.map(({ socket }) => closed(socket)));
    await waitFor(
      'every silent connection to be closed',
      async () => {
        await Promise.race([everyClosed, new Promise((r) => setTimeout(r, 100))]);
        return silent.every((s) => s.socket.destroyed);
      },
      4000 + SLACK_MS + 5000,
    ).catch(() => {
      const open = silent.filter((s) => !s.socket.destroyed);
      assert.fail(
        `${open.length} of ${silent.length} silent connections still open (${open.filter((s) => s.connected).length} connected)`,
      );
    });
    const late = silent.filter((s) => s.connected && (s.closedAfter ?? 0) > 4000 + SLACK_MS);
    assert.equal(late.length, 0, `closed later than 4 s + 1 s: ${late.map((s) => s.closedAfter).join(', ')}`);
    const warning = await server.waitForEvent('descriptorsLow');
    assert.match(String(warning.msg), /running out of file descriptors .*limit 1024/);
    assert.equal(server.logs.filter((l) => l.event === 'descriptorsLow').length, 1, 'logged once');
    assert.equal((await request(`${server.url}/`)).status, 200, 'still serving');
  });
});
