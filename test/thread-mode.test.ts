// Thread mode (--worker-mode thread): workers are threads of one worker-host process, each with its
// listener on the supervisor's one socket. The same lifecycle as process mode: zero-drop reloads
// (inside a network namespace, with net.ipv4.tcp_migrate_req at 1 and at 0), one thread's crash
// or process.exit() replaced without touching the others, a thread stuck in a busy loop terminated,
// the host process's death, server scripts, metrics, shutdown drain, scale, clean-up. (The draining
// table, recycling and scaling under load run in both modes in shutdown, recycle and scale tests.)

import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { describe, test } from 'node:test';
import { summarize } from '../bench/load-generator.ts';
import { request } from './helpers/http.ts';
import { freePort, loadChild } from './helpers/modes.ts';
import { netns, netnsUnavailable } from './helpers/netns.ts';
import {
  CLI,
  control,
  FIXTURES,
  hasExited,
  POUNCE_COMMAND,
  type SpawnOptions,
  scratchDir,
  serverStatus,
  spawnPounce,
  startServer,
  waitFor,
} from './helpers/pounce.ts';
import { ReloadableApp, reloadEachVersion } from './helpers/reloadable-app.ts';

const APP = path.join(FIXTURES, 'threads/app.mjs');
const LAUNCHER = path.join(FIXTURES, 'ops/socket-launcher.py');
const RELOADS = 20;

/** GET on a fresh connection (the kernel picks a thread per connection). */
function get(
  url: string,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Promise<string> }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        const body = new Promise<string>((done, fail) => {
          let text = '';
          res.setEncoding('utf8').on('data', (c) => {
            text += c;
          });
          res.on('end', () => done(text)).on('error', fail);
        });
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      })
      .on('error', reject);
  });
}

/** Asks `path?not=THREAD` until a thread other than THREAD answers (at most 200 connections). */
async function onAnotherThread(url: string, route: string, thread: string): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const text = await (await get(`${url}${route}?not=${thread}`)).body;
    if (text !== 'same') return text;
  }
  throw new Error(`never reached a thread other than ${thread}`);
}

async function threadServer(
  t: Parameters<typeof startServer>[0],
  flags: string[] = [],
  app = APP,
  options: SpawnOptions = {},
) {
  const port = await freePort();
  return startServer(
    t,
    app,
    ['--worker-mode', 'thread', '--port', String(port), '--log-level', 'debug', ...flags],
    options,
  );
}

function hostPid(server: { logs: { event?: string; pid?: number }[] }): number {
  const spawned = server.logs.find((l) => l.event === 'workerSpawned') as { pid?: number } | undefined;
  return Number(spawned?.pid);
}

describe('thread mode', () => {
  test('threads share one worker-host process; scale adds a thread to it', async (t) => {
    const server = await threadServer(t, ['--workers', '2']);
    const host = hostPid(server);
    assert.notEqual(host, server.pid);
    const scaled = await control(t, server, 'scale', ['3']);
    assert.equal(scaled.code, 0, scaled.stderr);
    const status = await control(t, server, 'status', ['--json']);
    const workers = (JSON.parse(status.stdout) as { workers: { pid: number; state: string }[] }).workers;
    assert.equal(workers.filter((w) => w.state === 'ready').length, 3, status.stdout);
    for (const w of workers) assert.equal(w.pid, host, 'every thread runs in the host process');
    server.signal('SIGTERM');
    assert.equal((await server.exited).code, 0);
    assert.equal(existsSync(`/proc/${host}`), false, 'the host process is gone');
  });

  for (const [route, how] of [
    ['/throw', 'throws an uncaught exception'],
    ['/exit', 'calls process.exit()'],
  ] as const) {
    test(`a thread that ${how} is replaced; a request in flight on another thread completes`, async (t) => {
      const server = await threadServer(t, ['--workers', '2']);
      const host = hostPid(server);
      const slow = await get(`${server.url}/slow?ms=1500`);
      const busyThread = String(slow.headers['x-thread']);
      assert.equal(
        await onAnotherThread(server.url, route, busyThread),
        route === '/throw' ? 'throwing' : 'exiting',
      );
      await server.waitForEvent(route === '/throw' ? 'workerFatal' : 'workerCrashed');
      assert.equal(await slow.body, 'done', 'the request in flight on the other thread completed');
      await server.waitForCount('workerReady', 3);
      // The replacement runs in the same host: the other thread and the process were not touched.
      const spawned = server.logs.filter((l) => l.event === 'workerSpawned') as { pid?: number }[];
      assert.equal(spawned.length, 3);
      for (const s of spawned) assert.equal(s.pid, host);
      assert.match(await (await get(`${server.url}/`)).body, /^\d+$/);
      server.signal('SIGTERM');
      assert.equal((await server.exited).code, 0);
      assert.equal(existsSync(`/proc/${host}`), false);
    });
  }

  test('shutdown drains a request in flight, then nothing is left', async (t) => {
    const server = await threadServer(t, ['--workers', '2']);
    const host = hostPid(server);
    const slow = await get(`${server.url}/slow?ms=1000`);
    server.signal('SIGTERM');
    assert.equal(await slow.body, 'done');
    assert.equal((await server.exited).code, 0);
    assert.equal(existsSync(`/proc/${host}`), false);
  });

  test('port 0, a unix socket and a socket-activated one: the supervisor holds it, every thread serves it, across a reload', async (t) => {
    const app = new ReloadableApp('v1');
    const threads = ['--worker-mode', 'thread', '--workers', '2'];
    // Port 0 (startServer's default): the kernel picks the port once, for every thread.
    const anyPort = await startServer(t, app.file, threads);
    assert.notEqual(anyPort.port, 0);
    // A unix socket, bound by the supervisor and removed when it exits.
    const uds = path.join(scratchDir(t, 'pounce-thread-uds-'), 'app.sock');
    const onUds = await startServer(t, app.file, [...threads, '--uds', uds]);
    assert.equal(onUds.url, `unix:${uds}`);
    const viaUds = () => request('http://localhost/version', { socket: net.connect(uds) });
    // Socket activation: the launcher's socket, adopted by the supervisor.
    const launched = spawnPounce(t, ['--', ...POUNCE_COMMAND, 'serve', app.file, ...threads], {
      command: ['python3', LAUNCHER, '--tcp', '127.0.0.1:0'],
    });
    const launchedPort = Number((await launched.waitForEvent('launcher-listening')).port);
    await launched.waitForEvent('listening');
    const activated = `http://127.0.0.1:${launchedPort}`;

    assert.equal((await request(`${anyPort.url}/version`)).body, 'v1');
    assert.equal((await viaUds()).body, 'v1');
    assert.equal((await request(`${activated}/version`)).body, 'v1');
    app.write('v2');
    anyPort.signal('SIGHUP');
    onUds.signal('SIGHUP');
    // pounce, not the launcher (whose child it is).
    process.kill(Number((await launched.waitForEvent('launcher-started')).pid), 'SIGHUP');
    for (const server of [anyPort, onUds, launched]) await server.waitForEvent('reloadComplete');
    assert.equal((await request(`${anyPort.url}/version`)).body, 'v2');
    assert.equal((await viaUds()).body, 'v2');
    assert.equal((await request(`${activated}/version`)).body, 'v2');

    onUds.signal('SIGTERM');
    assert.equal((await onUds.exited).code, 0);
    assert.ok(!existsSync(uds), 'the socket file is removed at exit');
  });

  test('socket activation with two sockets is refused in thread mode, which serves one', async (t) => {
    const launched = spawnPounce(t, ['--', ...POUNCE_COMMAND, 'serve', APP, '--worker-mode', 'thread'], {
      command: ['python3', LAUNCHER, '--tcp', '127.0.0.1:0', '--tcp', '127.0.0.1:0'],
    });
    const exited = await launched.waitForEvent('launcher-exited');
    assert.notEqual(exited.status, 0);
    assert.match(
      launched.stderr(),
      /socket activation with 2 sockets .*workerMode "thread", which serves one/,
    );
  });

  test('a thread stuck in a busy loop misses its heartbeat: replaced, then terminated; the other thread is left alone', async (t) => {
    const server = await threadServer(t, ['--workers', '2', '--worker-timeout', '2']);
    const host = hostPid(server);
    const before = (await serverStatus(t, server)).workers;
    assert.equal(await (await get(`${server.url}/spin`)).body, 'spinning');
    const unresponsive = await server.waitForEvent('workerUnresponsive');
    const victim = Number(unresponsive.worker);
    // Worker.terminate() stops JavaScript that never yields (V8 TerminateExecution), which a
    // signal could not do here: it would reach every thread of the host.
    await server.waitForEvent('workerKilledUnresponsive');
    await waitFor('the stuck thread gone and two ready threads', async () => {
      const s = await serverStatus(t, server);
      return s.workers.length === 2 && s.workers.every((w) => w.state === 'ready' && w.id !== victim);
    });
    const after = (await serverStatus(t, server)).workers;
    const other = before.find((w) => w.id !== victim)!;
    assert.ok(
      after.some((w) => w.id === other.id),
      'the healthy thread was left alone',
    );
    for (const w of after) assert.equal(w.pid, host, 'the host process was not restarted');
    for (let i = 0; i < 10; i++) assert.match(await (await get(`${server.url}/`)).body, /^\d+$/);
    server.signal('SIGTERM');
    assert.equal((await server.exited).code, 0);
    assert.equal(existsSync(`/proc/${host}`), false);
  });

  test('the worker-host process killed with SIGKILL: every thread is replaced in a new host, which serves', async (t) => {
    const server = await threadServer(t, ['--workers', '2']);
    const host = hostPid(server);
    process.kill(host, 'SIGKILL');
    let next = 0;
    await waitFor('two ready threads in a new host', async () => {
      const s = await serverStatus(t, server);
      next = s.workers[0]?.pid ?? 0;
      return (
        s.workers.length === 2 &&
        s.workers.every((w) => w.state === 'ready' && w.pid === next && w.pid !== host)
      );
    });
    assert.equal(server.logs.filter((l) => l.event === 'workerCrashed').length, 2, 'both threads reported');
    assert.match(await (await get(`${server.url}/`)).body, /^\d+$/);
    server.signal('SIGTERM');
    assert.equal((await server.exited).code, 0);
    assert.equal(existsSync(`/proc/${host}`), false);
    assert.equal(existsSync(`/proc/${next}`), false, 'the new host is gone too');
  });

  test('kill -9 of the supervisor: the worker-host process exits on its own (no orphan threads serving)', async (t) => {
    const server = await threadServer(t, ['--workers', '2']);
    const host = hostPid(server);
    assert.ok(existsSync(`/proc/${host}`));
    process.kill(server.pid, 'SIGKILL');
    // Behaviour, not speed: the host notices the closed channel at once; a loaded machine may take
    // a few seconds to let it exit.
    // (hasExited: reparented, it may be reaped late; a zombie has exited.)
    await waitFor('the worker host to exit with its supervisor', () => hasExited(host), 10_000);
  });

  test("a server script (it calls listen()) is served by every thread on pounce's port, reloads, and drains on SIGTERM", async (t) => {
    const versionFile = path.join(scratchDir(t, 'pounce-script-'), 'version');
    writeFileSync(versionFile, 'v0');
    const server = await threadServer(t, ['--workers', '2'], path.join(FIXTURES, 'scripts/express.mjs'), {
      env: { SCRIPT_VERSION_FILE: versionFile },
    });
    // Each thread says it at debug; the supervisor says it once for the generation.
    await server.waitForCount('scriptWorkerListening', 2);
    for (const line of server.logs.filter((l) => l.event === 'scriptWorkerListening')) {
      assert.equal(line.asked, 'port 3000');
      assert.equal(line.url, server.url);
    }
    const generation = await server.waitForEvent('scriptListening');
    assert.deepEqual([generation.generation, generation.asked, generation.url], [0, 'port 3000', server.url]);
    assert.equal(await (await get(`${server.url}/`)).body, 'express v0');
    writeFileSync(versionFile, 'v1');
    const reload = await control(t, server, 'reload');
    assert.equal(reload.code, 0, reload.stderr);
    assert.equal(await (await get(`${server.url}/version`)).body, 'v1');
    const slow = get(`${server.url}/slow?ms=1500`);
    await server.waitForEvent('appRequest');
    server.signal('SIGTERM');
    const res = await slow;
    assert.equal(res.status, 200);
    assert.equal(await res.body, 'slow 1500');
    assert.equal((await server.exited).code, 0);
  });

  test("metrics count every thread's requests, across a reload; the access log names the thread worker", async (t) => {
    const server = await threadServer(t, ['--workers', '2', '--access-log', '--metrics', '127.0.0.1:0']);
    const metrics = String((await server.waitForEvent('metricsListening')).url);
    const count = async () => {
      const text = await (await get(metrics)).body;
      let total = 0;
      for (const line of text.split('\n'))
        if (line.startsWith('http_server_request_duration_seconds_count'))
          total += Number(line.split(' ').pop());
      return total;
    };
    const { workers } = await serverStatus(t, server);
    for (let i = 0; i < 20; i++) assert.equal((await get(`${server.url}/`)).status, 200);
    assert.equal(await count(), 20);
    assert.equal((await control(t, server, 'reload')).code, 0);
    for (let i = 0; i < 5; i++) assert.equal((await get(`${server.url}/`)).status, 200);
    assert.equal(await count(), 25, "the old threads' count is kept after they left");
    await waitFor('25 access lines', () => server.logs.filter((l) => l.event === 'access').length === 25);
    const served = new Set(server.logs.filter((l) => l.event === 'access').map((l) => Number(l.worker)));
    const ids = new Set(workers.map((w) => w.id));
    assert.ok(
      [...served].some((id) => ids.has(id)),
      'generation 0 threads logged their requests',
    );
    assert.ok(
      [...served].some((id) => !ids.has(id)),
      'generation 1 threads logged theirs',
    );
  });

  describe('zero dropped requests across reloads, inside a network namespace', () => {
    const skip = netnsUnavailable();
    for (const [migrate, workers] of [
      ['1', 1],
      ['1', 2],
      ['0', 2],
    ] as const) {
      test(`tcp_migrate_req=${migrate}, ${workers} thread(s), ${RELOADS} reloads`, { skip }, async (t) => {
        const ns = netns(t, { 'net.ipv4.tcp_migrate_req': migrate });
        const app = new ReloadableApp('v0');
        const server = await startServer(
          t,
          app.file,
          ['--worker-mode', 'thread', '--workers', String(workers), '--port', '18080', '--log-level', 'info'],
          { command: [...ns.exec, process.execPath, '--conditions=pounce-source', CLI] },
        );
        // The threads share the supervisor's one listening socket (supervisor/thread-listener.ts): no
        // thread closes a socket with connections queued on it, so the sysctl does not matter.
        const warned = server.logs.some((l) => l.event === 'threadModeMigrateReq');
        assert.equal(warned, false, 'no tcp_migrate_req warning: the threads share one socket');
        const load = loadChild(t, ns.exec, server.url);
        try {
          await reloadEachVersion(app, RELOADS, () => control(t, server, 'reload'));
        } finally {
          load.stop();
        }
        const report = await load.done;
        t.diagnostic(`tcp_migrate_req=${migrate}, ${workers} thread(s): ${summarize(report)}`);
        assert.ok(report.total > 500, `enough load to mean something: ${report.total}`);
        assert.equal(report.failed, 0, `${summarize(report)}\n${JSON.stringify(report.samples, null, 1)}`);
        server.signal('SIGTERM');
        assert.equal((await server.exited).code, 0);
      });
    }
  });
});
