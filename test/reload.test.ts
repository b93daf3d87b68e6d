// Reload on SIGHUP / `pounce reload` (promises 1, 2 and 4 of docs/architecture.md) through the real CLI: new code
// is picked up, a broken reload changes nothing, requests in flight and silent connections survive
// the swap, signal storms end consistently, crashes are replaced and nothing is orphaned.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runLoad, summarize } from '../bench/load-generator.ts';
import { closed, connect, request } from './helpers/http.ts';
import { control, isAlive, loadProgressed, serverStatus, startServer, waitFor } from './helpers/pounce.ts';
import { ReloadableApp, type Variant } from './helpers/reloadable-app.ts';

describe('reload', () => {
  test('picks up changed code: /version answers the new value as soon as pounce reload returns', async (t) => {
    const app = new ReloadableApp('v1');
    const server = await startServer(t, app.file, ['--workers', '2']);
    assert.equal((await request(`${server.url}/version`)).body, 'v1');
    app.write('v2');
    const reload = await control(t, server, 'reload');
    assert.equal(reload.code, 0, reload.stderr);
    assert.match(reload.stdout, /Reload complete: generation 1 is serving/);
    for (let i = 0; i < 10; i++) assert.equal((await request(`${server.url}/version`)).body, 'v2');
    await server.waitForEvent('reloadComplete');
    const s = await serverStatus(t, server);
    assert.equal(s.generation, 1);
    assert.deepEqual(
      s.workers.map((w) => [w.generation, w.state]),
      [
        [1, 'ready'],
        [1, 'ready'],
      ],
    );
    const messages = server.logs.map((l) => l.msg);
    for (const line of [
      'Spawning 2 new worker(s) (generation 1)...',
      'New workers spawned. Draining old workers (generation 0)...',
      'Worker 0 (generation 0) is idle',
      'Worker 1 (generation 0) is idle',
      'Graceful reload complete. Running 2 worker(s) on generation 1',
    ]) {
      assert.ok(messages.includes(line), `logged: ${line}`);
    }
  });

  test('a broken reload leaves the old code serving, and pounce reload says why', async (t) => {
    const app = new ReloadableApp('v1');
    const server = await startServer(t, app.file, ['--startup-timeout', '1.5']);
    const broken: [Variant, RegExp][] = [
      ['syntax-error', /SyntaxError/],
      ['throws-on-import', /config for v2 is missing/],
      ['startup-rejects', /migration v2 failed/],
      ['never-ready', /startupTimeout \(1\.5s\)/],
    ];
    for (const [variant, reason] of broken) {
      app.write('v2', variant);
      const reload = await control(t, server, 'reload');
      assert.equal(reload.code, 1, `${variant}: ${reload.stdout}`);
      assert.match(reload.stderr, /^pounce reload: failed — /, variant);
      assert.match(reload.stderr, reason, variant);
      assert.equal((await request(`${server.url}/version`)).body, 'v1', variant);
      const s = await serverStatus(t, server);
      assert.equal(s.generation, 0, variant);
      assert.equal(s.state, 'serving', variant);
      assert.deepEqual(
        s.workers.map((w) => w.generation),
        [0],
        variant,
      );
    }
    assert.equal(server.logs.filter((l) => l.event === 'reloadFailed').length, 4);
    assert.match(
      String(server.logs.find((l) => l.event === 'reloadFailed')?.msg),
      /^Reload failed — continuing with previous version: /,
    );
    app.write('v3');
    assert.equal((await control(t, server, 'reload')).code, 0);
    assert.equal((await request(`${server.url}/version`)).body, 'v3');
  });

  test('a slow request in flight across a reload completes with 200 from the old generation', async (t) => {
    const app = new ReloadableApp('v1');
    const server = await startServer(t, app.file);
    const slow = request(`${server.url}/slow?ms=1500`);
    await server.waitForEvent('appRequest');
    app.write('v2');
    assert.equal((await control(t, server, 'reload')).code, 0);
    const res = await slow;
    assert.equal(res.status, 200);
    assert.equal(res.body, 'v1 slow 1500');
    assert.equal(res.headers.connection, 'close');
    assert.equal((await request(`${server.url}/version`)).body, 'v2');
  });

  test('accept-then-silent across a reload: connect, reload, then send: a complete 200', async (t) => {
    const app = new ReloadableApp('v1');
    const server = await startServer(t, app.file, ['--workers', '2']);
    const sockets = await Promise.all(Array.from({ length: 6 }, () => connect(server.port)));
    app.write('v2');
    assert.equal((await control(t, server, 'reload')).code, 0);
    const responses = await Promise.all(
      sockets.map((socket) => request(`${server.url}/version`, { socket })),
    );
    for (const res of responses) {
      assert.equal(res.status, 200);
      assert.ok(res.body === 'v1' || res.body === 'v2', res.body);
    }
  });

  test('a connection silent across a reload gets 5 s to send its request (not the 1 s of an idle keep-alive one), then is closed', async (t) => {
    const app = new ReloadableApp('v1');
    const server = await startServer(t, app.file, ['--workers', '1']);
    const late = await connect(server.port);
    const silent = await connect(server.port);
    // Both accepted by the v1 worker before the reload (it answers a request in the meantime).
    assert.equal((await request(`${server.url}/version`)).body, 'v1');
    app.write('v2');
    assert.equal((await control(t, server, 'reload')).code, 0);
    const drainStarted = Date.now();
    let silentClosedAfter = Number.NaN;
    void closed(silent).then(() => {
      silentClosedAfter = Date.now() - drainStarted;
    });
    // Longer than the idle grace of a used keep-alive connection (1 s), shorter than 5 s.
    await new Promise((r) => setTimeout(r, 3000));
    assert.ok(!late.destroyed && Number.isNaN(silentClosedAfter), 'both still open after 3 s');
    const res = await request(`${server.url}/version`, { socket: late });
    assert.equal(res.status, 200);
    assert.equal(res.body, 'v1', 'answered by the draining worker');
    assert.equal(res.headers.connection, 'close');
    // The one that never speaks is closed at the grace (not at reloadTimeout, 30 s).
    await closed(silent);
    assert.ok(
      silentClosedAfter >= 4000 && silentClosedAfter < 15_000,
      `closed after ${silentClosedAfter} ms`,
    );
  });

  test('SIGHUP during a reload is queued once: a storm of 10 ends with one consistent generation', async (t) => {
    const app = new ReloadableApp('v1');
    const server = await startServer(t, app.file, ['--workers', '2', '--log-level', 'debug']);
    for (let i = 0; i < 10; i++) {
      server.signal('SIGHUP');
      await new Promise((r) => setTimeout(r, 10));
    }
    await waitFor(
      'two reloads to complete',
      () => server.logs.filter((l) => l.event === 'reloadComplete').length >= 2,
    );
    await new Promise((r) => setTimeout(r, 500)); // a third reload would have started by now
    const s = await serverStatus(t, server);
    assert.equal(s.state, 'serving');
    assert.equal(s.generation, 2);
    assert.deepEqual(
      s.workers.map((w) => w.generation),
      [2, 2],
    );
    assert.equal(server.logs.filter((l) => l.event === 'spawning').length, 2);
    assert.equal(server.logs.filter((l) => l.event === 'workerSpawned').length, 6);
    for (const old of server.logs.filter((l) => l.event === 'workerSpawned' && l.generation !== 2)) {
      assert.ok(!isAlive(Number(old.pid)), `old worker ${old.pid} is gone`);
    }
  });

  test('SIGTERM in the middle of a reload ends cleanly with no process left', async (t) => {
    const app = new ReloadableApp('v1');
    const server = await startServer(t, app.file, ['--workers', '2', '--log-level', 'debug']);
    app.write('v2', 'never-ready');
    server.signal('SIGHUP');
    await server.waitForEvent('spawning');
    await waitFor(
      'the new workers to start',
      () => server.logs.filter((l) => l.event === 'workerSpawned').length === 4,
    );
    server.signal('SIGTERM');
    const exit = await server.exited;
    assert.equal(exit.code, 0);
    assert.ok(server.logs.some((l) => l.event === 'reloadAborted'));
    await waitFor('every process of the group to be gone', () => {
      try {
        process.kill(-server.pid, 0);
        return false;
      } catch {
        return true;
      }
    });
  });
});

describe('crashes and orphans', () => {
  test('kill -9 of a worker under load: it is replaced and the other keeps serving', async (t) => {
    const app = new ReloadableApp('v1');
    const server = await startServer(t, app.file, ['--workers', '2']);
    const before = await serverStatus(t, server);
    const victim = before.workers[0]!;
    const load = runLoad({ url: server.url, durationMs: 20_000, keepAlive: 2, fresh: 2, post: 1 });
    await loadProgressed(load, 100);
    process.kill(victim.pid, 'SIGKILL');
    await server.waitForEvent('workerCrashed');
    await waitFor('the replacement', async () => {
      const s = await serverStatus(t, server);
      return s.workers.length === 2 && s.workers.every((w) => w.state === 'ready' && w.pid !== victim.pid);
    });
    const atReplacement = { completed: load.completed, failed: load.failed };
    await loadProgressed(load, 200, atReplacement.completed);
    load.stop();
    const report = await load.done;
    t.diagnostic(summarize(report));
    // Only requests the killed worker had accepted can fail; after the replacement, none.
    assert.ok(
      report.failed <= 8,
      `at most the killed worker's in-flight requests fail: ${summarize(report)}`,
    );
    assert.equal(
      report.failed,
      atReplacement.failed,
      `no failure after the replacement: ${summarize(report)}`,
    );
    assert.ok(report.total > atReplacement.completed + 50, 'requests kept completing after the replacement');
    const after = await serverStatus(t, server);
    assert.equal(after.generation, 0);
    assert.ok(
      after.workers.some((w) => w.id === 2),
      'the replacement is worker 2 of generation 0',
    );
    assert.match(
      String(server.logs.find((l) => l.event === 'workerCrashed')?.msg),
      /^Worker 0 \(generation 0\) exited unexpectedly \(killed by SIGKILL\)$/,
    );
    for (let i = 0; i < 20; i++) assert.equal((await request(`${server.url}/version`)).status, 200);
  });

  test('SIGTERM to one worker: it is replaced through a handoff, with no failed request', async (t) => {
    const app = new ReloadableApp('v1');
    const server = await startServer(t, app.file, ['--workers', '2']);
    const victim = (await serverStatus(t, server)).workers[1]!;
    const load = runLoad({ url: server.url, durationMs: 20_000, keepAlive: 2, fresh: 2, post: 1, slow: 1 });
    await loadProgressed(load, 50);
    process.kill(victim.pid, 'SIGTERM');
    await waitFor('the handoff', async () => {
      const s = await serverStatus(t, server);
      return s.workers.length === 2 && s.workers.every((w) => w.state === 'ready' && w.pid !== victim.pid);
    });
    await loadProgressed(load, 100, load.completed);
    load.stop();
    const report = await load.done;
    assert.equal(report.failed, 0, summarize(report));
    assert.ok(!server.logs.some((l) => l.event === 'workerCrashed'));
    assert.match(
      String(server.logs.find((l) => l.event === 'workerReplacing')?.msg),
      /Replacing worker 1 \(generation 0\): it received SIGTERM/,
    );
  });

  test('kill -9 of the supervisor: every worker exits on its own (no orphan)', async (t) => {
    const app = new ReloadableApp('v1');
    const server = await startServer(t, app.file, ['--workers', '2']);
    const { workers } = await serverStatus(t, server);
    assert.equal(workers.length, 2);
    process.kill(server.pid, 'SIGKILL');
    await waitFor(
      'every worker to exit with its supervisor',
      () => workers.every((w) => !isAlive(w.pid)),
      // Behaviour, not speed: a worker notices the broken channel at once, but on a loaded machine
      // its exit can take a few seconds.
      10_000,
    );
  });

  test('with exitOnCrashLoop, a worker that keeps crashing ends the server with a clear error', async (t) => {
    const app = new ReloadableApp('v1');
    const server = await startServer(t, app.file, ['--exit-on-crash-loop']);
    // From now on every new worker fails at import; kill the running one repeatedly.
    app.write('v2', 'throws-on-import');
    process.kill((await serverStatus(t, server)).workers[0]!.pid, 'SIGKILL');
    const exit = await server.exited;
    assert.equal(exit.code, 1);
    assert.match(
      String(server.logs.find((l) => l.event === 'crashLoop')?.msg),
      /giving up instead of restarting in a loop/,
    );
  });
});
