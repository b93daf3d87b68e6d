// Graceful shutdown of one worker (promise 3 and the draining table of docs/architecture.md), through the real
// CLI, real signals and real sockets, in process and thread mode.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, type TestContext, test } from 'node:test';
import { closed, connect, keepAliveAgent, request } from './helpers/http.ts';
import { modeFlags, WORKER_MODES } from './helpers/modes.ts';
import { appPath, type SpawnOptions, startServer, waitFor } from './helpers/pounce.ts';

const LIFECYCLE = appPath('lifecycle.ts');

async function markerFile(): Promise<string> {
  return path.join(await mkdtemp(path.join(tmpdir(), 'pounce-test-')), 'marker');
}

function readMarker(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').trim().split('\n');
  } catch {
    return [];
  }
}

// The draining table holds in both worker modes: each case runs with workers as processes and as
// threads (their own SO_REUSEPORT listeners, kept open during the shutdown drain like the shared one).
for (const mode of WORKER_MODES) {
  const start = async (t: TestContext, flags: string[] = [], options: SpawnOptions = {}) =>
    startServer(t, LIFECYCLE, [...flags, ...(await modeFlags(mode))], options);

  describe(`shutdown on SIGTERM / SIGINT (${mode} mode)`, () => {
    test('an idle server exits 0 promptly, running the drain signal and the shutdown hooks', async (t) => {
      const marker = await markerFile();
      const server = await start(t, [], { env: { LIFECYCLE_MARKER: marker } });
      server.signal('SIGTERM');
      const exit = await server.exited;
      assert.equal(exit.code, 0);
      assert.deepEqual(readMarker(marker), ['startup', 'signal:shutdown', 'drain:shutdown', 'shutdown-hook']);
      const events = server.logs.map((l) => l.event).filter(Boolean);
      for (const e of [
        'signalShutdown',
        'shuttingDown',
        'workerIdleShutdown',
        'workerStopped',
        'allStopped',
      ]) {
        assert.ok(events.includes(e), `${e} logged: ${events.join(', ')}`);
      }
      assert.equal(
        server.logs.find((l) => l.event === 'signalShutdown')?.msg,
        'Received SIGTERM — initiating shutdown',
      );
    });

    test('idle keep-alive clients do not hold the exit until keepAliveTimeout', async (t) => {
      const server = await start(t, ['--keep-alive-timeout', '60']);
      const agents = [keepAliveAgent(), keepAliveAgent(), keepAliveAgent()];
      for (const agent of agents) assert.equal((await request(`${server.url}/`, { agent })).status, 200);
      const sent = server.signal('SIGTERM');
      const exit = await server.exited;
      assert.equal(exit.code, 0);
      // Closed after the ~1 s idle grace, far from the 60 s keepAliveTimeout.
      assert.ok(Date.now() - sent < 20_000, `exited after ${Date.now() - sent} ms`);
      for (const agent of agents) agent.destroy();
    });

    test('a 1.5 s request in flight gets its full 200 with Connection: close, then the process exits 0', async (t) => {
      const server = await start(t);
      const inFlight = request(`${server.url}/slow?ms=1500`);
      await server.waitForEvent('appRequest'); // the request is being handled
      server.signal('SIGTERM');
      const res = await inFlight;
      assert.equal(res.status, 200);
      assert.equal(res.body, 'slow done 1500\n');
      assert.equal(res.headers.connection, 'close');
      assert.equal((await server.exited).code, 0);
      const draining = server.logs.find((l) => l.event === 'workerDraining');
      assert.equal(draining?.msg, 'Worker 0 draining 1 active connection(s)...');
    });

    test('a request that outlasts shutdownTimeout is cut at the deadline; exit status 0 (documented)', async (t) => {
      const marker = await markerFile();
      const server = await start(t, ['--shutdown-timeout', '1'], {
        env: { LIFECYCLE_MARKER: marker },
      });
      const stuck = request(`${server.url}/slow?ms=60000`).then(
        () => 'completed',
        (err: Error) => err.message,
      );
      await server.waitForEvent('appRequest');
      const sent = server.signal('SIGTERM');
      assert.match(await stuck, /socket hang up|ECONNRESET/);
      const exit = await server.exited;
      assert.equal(exit.code, 0);
      assert.ok(Date.now() - sent < 20_000);
      const forced = server.logs.find((l) => l.event === 'workerForce');
      assert.equal(
        forced?.msg,
        'Worker 0 did not stop within shutdownTimeout (1s) — force terminating 1 connection(s)',
      );
      assert.ok(readMarker(marker).includes('request-aborted:/slow'), 'the request signal was aborted');
      assert.ok(readMarker(marker).includes('shutdown-hook'), 'shutdown hooks still ran');
    });

    test('during the drain: a new connection gets 503 + Connection: close + Retry-After; a kept-alive connection is served with Connection: close', async (t) => {
      const server = await start(t, ['--health-check-path', '/health']);
      const agent = keepAliveAgent();
      const first = await request(`${server.url}/`, { agent });
      assert.equal(first.headers.connection, 'keep-alive');
      const inFlight = request(`${server.url}/slow?ms=2500`); // keeps the drain going
      await server.waitForEvent('appRequest');
      server.signal('SIGTERM');
      await server.waitForEvent('workerDraining');

      const fresh = await request(`${server.url}/`);
      assert.equal(fresh.status, 503);
      assert.equal(fresh.headers.connection, 'close');
      assert.equal(fresh.headers['retry-after'], '1');

      const health = await request(`${server.url}/health`);
      assert.equal(health.status, 503);
      assert.deepEqual(JSON.parse(health.body), { status: 'draining' });

      const reused = await request(`${server.url}/`, { agent });
      assert.ok(reused.reusedSocket, 'the second request went over the open keep-alive connection');
      assert.equal(reused.status, 200);
      assert.equal(reused.headers.connection, 'close');

      assert.equal((await inFlight).status, 200);
      assert.equal((await server.exited).code, 0);
      agent.destroy();
    });

    test('health turns 503 at once; during shutdownDelay the app is still served', async (t) => {
      const server = await start(t, ['--health-check-path', '/health', '--shutdown-delay', '1.5']);
      const before = await request(`${server.url}/health`);
      assert.equal(before.status, 200);
      assert.deepEqual(JSON.parse(before.body), { status: 'ok' });
      assert.equal(before.headers['cache-control'], 'no-store');
      const head = await request(`${server.url}/health`, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.body, '');

      server.signal('SIGTERM');
      await server.waitForEvent('shutdownDelay');
      const during = await request(`${server.url}/health`);
      assert.equal(during.status, 503);
      assert.deepEqual(JSON.parse(during.body), { status: 'draining' });
      const headDuring = await request(`${server.url}/health`, { method: 'HEAD' });
      assert.equal(headDuring.status, 503);
      const app = await request(`${server.url}/`);
      assert.equal(app.status, 200, 'the app is still served while load balancers notice');
      assert.equal((await server.exited).code, 0);
    });

    test('a second SIGINT exits at once with status 1', async (t) => {
      const server = await start(t, ['--shutdown-timeout', '60']);
      const stuck = request(`${server.url}/slow?ms=60000`).catch(() => 'cut');
      await server.waitForEvent('appRequest');
      server.signal('SIGINT');
      await server.waitForEvent('workerDraining');
      const sent = server.signal('SIGINT');
      const exit = await server.exited;
      assert.equal(exit.code, 1);
      assert.ok(Date.now() - sent < 5_000);
      assert.equal(
        server.logs.find((l) => l.event === 'signalForce')?.msg,
        'Received SIGINT again — exiting immediately',
      );
      assert.equal(await stuck, 'cut');
    });

    test('accept-then-silent: connected before SIGTERM, request sent after: a complete response', async (t) => {
      const server = await start(t);
      const sockets = await Promise.all(Array.from({ length: 5 }, () => connect(server.port)));
      server.signal('SIGTERM');
      await server.waitForEvent('signalShutdown');
      const responses = await Promise.all(sockets.map((socket) => request(`${server.url}/`, { socket })));
      for (const res of responses) {
        assert.ok(res.status === 200 || res.status === 503, `status ${res.status}`);
        assert.equal(res.headers.connection, 'close');
        assert.ok(res.body.length > 0);
      }
      await Promise.all(sockets.map(closed));
      assert.equal((await server.exited).code, 0);
    });
  });

  describe(`connections that arrive during the shutdown drain (${mode} mode)`, () => {
    test('a client that connects during the drain and stays silent does not keep the shutdown hooks from running', async (t) => {
      const marker = await markerFile();
      const server = await start(t, ['--shutdown-timeout', '3'], {
        env: { LIFECYCLE_MARKER: marker },
      });
      const slow = request(`${server.url}/slow?ms=800`);
      await server.waitForEvent('appRequest');
      server.signal('SIGTERM');
      await server.waitForEvent('workerDraining');
      const silent = await connect(server.port); // a load balancer's pre-connect, say
      assert.equal((await slow).status, 200);
      const exit = await server.exited;
      assert.equal(exit.code, 0);
      assert.ok(readMarker(marker).includes('shutdown-hook'), 'the shutdown hooks ran');
      assert.ok(
        !server.logs.some((l) => l.event === 'workerKilled'),
        'the supervisor did not have to kill the worker',
      );
      silent.destroy();
    });

    test('connections queued while the worker was busy at the signal get a 503, not a reset (idle server)', async (t) => {
      const release = await markerFile();
      const server = await startServer(t, appPath('busy-drain.ts'), await modeFlags(mode), {
        env: { BUSY_DRAIN_RELEASE: release },
      });
      server.signal('SIGTERM');
      await server.waitForEvent('appDrainBusy');
      // The worker cannot accept now: each connection completes in the kernel and waits in its queue.
      const clients = await Promise.all(Array.from({ length: 5 }, () => connect(server.port)));
      // A client's connect completes on the server's SYN-ACK; the server queues the connection when
      // it has processed the client's ACK, which a loaded machine can defer past the release.
      await waitFor('the 5 connections in the accept queue', () => acceptQueue(server.port) >= 5);
      const answers = clients.map((socket) => {
        socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
        return firstLine(socket);
      });
      writeFileSync(release, '');
      assert.deepEqual(await Promise.all(answers), Array(5).fill('HTTP/1.1 503 Service Unavailable'));
      assert.equal((await server.exited).code, 0);
    });
  });
}

// A shutdown hook that does not finish: shutdownHookTimeout ends the wait for it; a worker that
// cannot exit at all (its event loop blocked) is killed by the supervisor at its own bound —
// shutdownDelay + shutdownTimeout + shutdownHookTimeout + 4 s — which the generated platform
// timeouts rest on (docs/deploy/README.md). Both exits are graceful for the platform: status 0.
describe('a shutdown hook that does not finish', () => {
  const STUCK = appPath('stuck-shutdown.ts');
  const FLAGS = ['--workers', '1', '--shutdown-timeout', '1', '--shutdown-hook-timeout', '1'];
  const stopped = async (server: Awaited<ReturnType<typeof startServer>>) => {
    const since = Date.now();
    server.signal('SIGTERM');
    const exit = await server.exited;
    return { code: exit.code, seconds: (Date.now() - since) / 1000 };
  };

  test('a hook that never settles: shutdownHookTimeout ends the wait, the worker exits, status 0', {
    timeout: 30_000,
  }, async (t) => {
    const server = await startServer(t, STUCK, FLAGS, { env: { SHUTDOWN_HOOK: 'hang' } });
    const { code, seconds } = await stopped(server);
    assert.equal(code, 0);
    const events = server.logs.map((l) => l.event);
    assert.ok(events.includes('shutdownHookTimeout'), events.join(' '));
    assert.ok(!events.includes('workerKilled'), 'the worker exited by itself');
    // Well before the supervisor's bound (0 + 1 + 1 + 4 = 6 s), which would kill it.
    assert.ok(seconds < 5, `exited after ${seconds} s`);
  });

  test('a hook that blocks the event loop: the supervisor kills the worker at delay + timeout + hooks + 4 s, status 0', {
    timeout: 30_000,
  }, async (t) => {
    const server = await startServer(t, STUCK, FLAGS, { env: { SHUTDOWN_HOOK: 'spin' } });
    const { code, seconds } = await stopped(server);
    assert.equal(code, 0);
    const killed = server.logs.find((l) => l.event === 'workerKilled');
    assert.ok(killed, server.logs.map((l) => l.event).join(' '));
    assert.equal(killed.timeoutName, 'shutdownTimeout');
    // Not before the bound (a kill earlier would cut hooks the docs give their time), and not long after.
    assert.ok(seconds >= 6 && seconds < 12, `exited after ${seconds} s`);
  });
});

/** Connections waiting in the accept queues of the TCP sockets listening on `port` (Linux /proc). */
function acceptQueue(port: number): number {
  let queued = 0;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const [, local, , state, queues] = line.trim().split(/\s+/);
      // State 0A is LISTEN; for a listening socket rx_queue is its accept queue's length.
      if (state !== '0A' || Number.parseInt(local?.split(':')[1] ?? '', 16) !== port) continue;
      queued += Number.parseInt(queues?.split(':')[1] ?? '0', 16);
    }
  }
  return queued;
}

/** The status line a client got on `socket`, or how the connection ended without one. */
function firstLine(socket: net.Socket): Promise<string> {
  return new Promise((resolve) => {
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      data += chunk;
    });
    socket.on('error', (err: NodeJS.ErrnoException) => resolve(data.split('\r\n')[0] || String(err.code)));
    socket.on('close', () => resolve(data.split('\r\n')[0] || 'closed without an answer'));
  });
}

describe('requestTimeout', () => {
  test('503 when no response started; connection cut when it had; the request signal is aborted', async (t) => {
    const marker = await markerFile();
    const server = await startServer(t, LIFECYCLE, ['--request-timeout', '0.5'], {
      env: { LIFECYCLE_MARKER: marker },
    });
    const slow = await request(`${server.url}/slow?ms=3000`);
    assert.equal(slow.status, 503);
    assert.equal(slow.body, 'Request timed out\n');
    assert.equal(slow.headers.connection, 'close');

    const streamed = await request(`${server.url}/stream?ms=3000`).then(
      () => 'completed',
      (err: Error) => err.message,
    );
    assert.match(streamed, /aborted|ECONNRESET|socket hang up/);

    assert.equal((await request(`${server.url}/`)).status, 200, 'the server keeps serving');
    const lines = readMarker(marker);
    assert.ok(lines.includes('request-aborted:/slow'), lines.join(','));
    assert.ok(lines.includes('request-aborted:/stream'), lines.join(','));
    // The app's late write after the 503 must not crash the process.
    await new Promise((r) => setTimeout(r, 2800));
    assert.equal((await request(`${server.url}/`)).status, 200);
    const timeouts = server.logs.filter((l) => l.event === 'requestTimeout');
    assert.equal(timeouts.length, 2);
  });

  test('a fetch app sees request.signal abort when its request times out', async (t) => {
    const server = await startServer(t, appPath('fetch-timeout.mjs'), ['--request-timeout', '0.5']);
    const res = await request(`${server.url}/slow`);
    assert.equal(res.status, 503);
    assert.equal(res.body, 'Request timed out\n');
    const seen = await server.waitForEvent('appSawAbort');
    assert.match(String(seen.msg), /requestTimeout exceeded/);
    const post = await request(`${server.url}/echo`, { method: 'POST', body: 'hello' });
    assert.equal(post.body, 'fetch POST hello', 'request bodies still reach the app');
  });
});
