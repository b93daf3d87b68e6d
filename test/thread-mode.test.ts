// Thread mode (--worker-mode thread): workers are threads of one worker-host process, each with its
// own SO_REUSEPORT listener. The same lifecycle as process mode: zero-drop reloads (proven inside a
// network namespace with net.ipv4.tcp_migrate_req=1, and reported with it at 0), one thread's crash
// or process.exit() replaced without touching the others, shutdown drain, scale, clean-up.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { describe, test } from 'node:test';
import { type LoadReport, summarize } from '../bench/load-generator.ts';
import { netns, netnsUnavailable } from './helpers/netns.ts';
import { CLI, control, FIXTURES, killGroup, ROOT, runPounce, startServer } from './helpers/pounce.ts';
import { ReloadableApp, reloadEachVersion } from './helpers/reloadable-app.ts';

const APP = path.join(FIXTURES, 'threads/app.mjs');
const RELOADS = 20;

/** A port free right now (thread mode needs a fixed port: every thread binds it). */
async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

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

async function threadServer(t: Parameters<typeof startServer>[0], flags: string[] = []) {
  const port = await freePort();
  return startServer(t, APP, [
    '--worker-mode',
    'thread',
    '--port',
    String(port),
    '--log-level',
    'debug',
    ...flags,
  ]);
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

  test('uds, fd and port 0 are refused in thread mode', async (t) => {
    for (const flags of [
      ['--uds', '/tmp/pounce-thread.sock'],
      ['--fd', '3'],
      ['--port', '0'],
    ]) {
      const run = await runPounce(t, ['check', APP, '--worker-mode', 'thread', ...flags]);
      assert.notEqual(run.code, 0, flags.join(' '));
      assert.match(run.stderr, /workerMode "thread"/);
    }
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
        const warned = server.logs.some((l) => l.event === 'threadModeMigrateReq');
        assert.equal(warned, migrate === '0', 'the tcp_migrate_req warning is logged exactly when it is 0');
        const load = spawn(
          ns.exec[0]!,
          [
            ...ns.exec.slice(1),
            process.execPath,
            '--conditions=pounce-source',
            'test/helpers/load-child.ts',
            server.url,
          ],
          { cwd: ROOT, detached: true, stdio: ['pipe', 'pipe', 'inherit'] },
        );
        t.after(() => killGroup(load.pid!, 'SIGKILL'));
        let out = '';
        load.stdout!.setEncoding('utf8').on('data', (c) => {
          out += c;
        });
        const finished = new Promise((r) => load.once('exit', r));
        try {
          await reloadEachVersion(app, RELOADS, () => control(t, server, 'reload'));
        } finally {
          load.stdin!.end();
        }
        await finished;
        const report = JSON.parse(out) as LoadReport;
        t.diagnostic(`tcp_migrate_req=${migrate}, ${workers} thread(s): ${summarize(report)}`);
        assert.ok(report.total > 500, `enough load to mean something: ${report.total}`);
        if (migrate === '1')
          assert.equal(report.failed, 0, `${summarize(report)}\n${JSON.stringify(report.samples, null, 1)}`);
        server.signal('SIGTERM');
        assert.equal((await server.exited).code, 0);
      });
    }
  });
});
