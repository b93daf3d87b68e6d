// Crashes and hangs while serving (issue: hardening): the port is never refused while a worker is
// being replaced, crash loops never take the server down, an uncaught exception lets the requests in
// flight on that worker finish, and a hung worker is found and replaced.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { runLoad, summarize } from '../bench/load-generator.ts';
import { request } from './helpers/http.ts';
import { appPath, isAlive, loadProgressed, serverStatus, startServer, waitFor } from './helpers/pounce.ts';

const APP = appPath('node-listener.ts');

describe('the listening socket outlives every worker', () => {
  test('one worker killed with SIGKILL: no connection is refused while it is replaced', async (t) => {
    const server = await startServer(t, APP);
    const victim = (await serverStatus(t, server)).workers[0]!;
    const load = runLoad({ url: server.url, durationMs: 15_000, fresh: 4, requestTimeoutMs: 10_000 });
    await loadProgressed(load, 50);
    process.kill(victim.pid, 'SIGKILL');
    await server.waitForEvent('workerCrashed');
    await waitFor('the replacement', async () => {
      const s = await serverStatus(t, server);
      return s.workers.length === 1 && s.workers[0]!.state === 'ready' && s.workers[0]!.pid !== victim.pid;
    });
    const atReplacement = load.completed;
    await waitFor('requests served by the replacement', () => load.completed > atReplacement + 50);
    load.stop();
    const report = await load.done;
    t.diagnostic(summarize(report));
    assert.equal(report.failures.refused ?? 0, 0, `no connection refused: ${summarize(report)}`);
    // Only what the killed worker had accepted may fail (fresh connections: at most one per loop).
    assert.ok(report.failed <= 4, summarize(report));
  });
});

test('a unix socket path is removed when the server exits, so the next start can bind it', async (t) => {
  const uds = path.join(mkdtempSync(path.join(tmpdir(), 'pounce-uds-')), 'app.sock');
  for (let run = 0; run < 2; run++) {
    const server = await startServer(t, APP, ['--uds', uds]);
    assert.ok(existsSync(uds));
    server.signal('SIGTERM');
    assert.equal((await server.exited).code, 0);
    assert.ok(!existsSync(uds), `run ${run}: the socket file is gone after exit`);
  }
});

/** A request whose handler throws (or rejects) in a timer: it never gets an answer, only a cut. */
function doomed(url: string): Promise<string> {
  return request(url).then(
    (res) => `status ${res.status}`,
    (err: Error) => err.message,
  );
}

describe('crashes while serving never take the server down', () => {
  test('an uncaught exception: the requests in flight on that worker complete, the error is logged with its stack', async (t) => {
    const server = await startServer(t, APP, ['--reload-timeout', '2']);
    const victim = (await serverStatus(t, server)).workers[0]!;
    const slow = [request(`${server.url}/slow?ms=1200`), request(`${server.url}/slow?ms=1200`)];
    await server.waitForCount('appRequest', 2);
    const thrown = doomed(`${server.url}/throw-later`);
    const fatal = await server.waitForEvent('uncaughtException');
    for (const res of await Promise.all(slow)) {
      assert.equal(res.status, 200, 'a request in flight on the crashing worker completes');
      assert.equal(res.body, 'slow done 1200\n');
    }
    assert.match(await thrown, /socket hang up|ECONNRESET/, 'the request whose handler crashed is cut');
    assert.equal(fatal.error, 'Error: boom in a timer');
    assert.equal(fatal.origin, 'uncaughtException');
    assert.match(String(fatal.stack), /boom in a timer\n\s+at /, 'the log line carries the stack');
    assert.match(
      String((await server.waitForEvent('workerFatal')).msg),
      /^Worker 0 \(generation 0\) hit an uncaught error \(Error: boom in a timer\) — replacing it$/,
    );
    await waitFor('the replacement', async () => {
      const s = await serverStatus(t, server);
      return s.workers.length === 1 && s.workers[0]!.state === 'ready' && s.workers[0]!.pid !== victim.pid;
    });
    assert.equal((await request(`${server.url}/`)).status, 200);
    assert.ok(!server.logs.some((l) => l.event === 'workerCrashed'), 'a retiring worker is no crash');
  });

  test('an unhandled rejection is handled the same way', async (t) => {
    const server = await startServer(t, APP, ['--reload-timeout', '1']);
    const slow = request(`${server.url}/slow?ms=800`);
    await server.waitForEvent('appRequest');
    void doomed(`${server.url}/reject-later`);
    const fatal = await server.waitForEvent('uncaughtException');
    assert.equal(fatal.origin, 'unhandledRejection');
    assert.equal(fatal.error, 'Error: rejected in a timer');
    assert.equal((await slow).status, 200);
    await waitFor('the replacement', async () => {
      const s = await serverStatus(t, server);
      return s.workers.length === 1 && s.workers[0]!.state === 'ready' && s.workers[0]!.id === 1;
    });
  });

  test('a storm of 20 crashing requests: the server keeps serving, reports the crash loop, and exits 0 on SIGTERM', async (t) => {
    const server = await startServer(t, APP, ['--workers', '2', '--reload-timeout', '1']);
    const cut: Promise<string>[] = [];
    for (let i = 0; i < 20; i++) {
      cut.push(doomed(`${server.url}/throw-later`));
      await server.waitForCount('workerFatal', i + 1);
    }
    await Promise.all(cut);
    assert.match(
      String((await server.waitForEvent('crashLoopContinuing')).msg),
      /^Workers crashed 6 times within 60s — crash loop: still replacing them/,
    );
    await waitFor('two ready workers', async () => {
      const s = await serverStatus(t, server);
      return s.workers.filter((w) => w.state === 'ready').length === 2;
    });
    const status = await serverStatus(t, server);
    assert.equal(status.crashLoop, true);
    assert.equal(status.crashesLastMinute, 20);
    for (let i = 0; i < 10; i++) assert.equal((await request(`${server.url}/`)).status, 200);
    server.signal('SIGTERM');
    assert.equal((await server.exited).code, 0);
  });
});

describe('a hung worker is found and replaced', () => {
  test('a SIGSTOPped worker misses its heartbeat: reported, replaced through the handoff, then killed', async (t) => {
    const server = await startServer(t, APP, ['--workers', '2', '--worker-timeout', '2']);
    const [victim, other] = (await serverStatus(t, server)).workers;
    process.kill(victim!.pid, 'SIGSTOP');
    t.after(() => {
      try {
        process.kill(victim!.pid, 'SIGCONT');
      } catch {}
    });
    const unresponsive = await server.waitForEvent('workerUnresponsive');
    assert.match(
      String(unresponsive.msg),
      /^Worker 0 \(generation 0\) has not answered for \d+s \(workerTimeout\) — its event loop is blocked or the process is stopped; replacing it$/,
    );
    const seen = await serverStatus(t, server);
    assert.equal(seen.workers.find((w) => w.pid === victim!.pid)?.state, 'unresponsive');
    await server.waitForEvent('workerKilledUnresponsive');
    await waitFor('the stopped worker gone and two ready workers', async () => {
      const s = await serverStatus(t, server);
      return (
        !isAlive(victim!.pid) &&
        s.workers.length === 2 &&
        s.workers.every((w) => w.state === 'ready' && w.pid !== victim!.pid)
      );
    });
    assert.ok(isAlive(other!.pid), 'the healthy worker was left alone');
    for (let i = 0; i < 10; i++) assert.equal((await request(`${server.url}/`)).status, 200);
  });

  test('a worker that answers again after a pause is left serving', async (t) => {
    const server = await startServer(t, APP, ['--worker-timeout', '2']);
    const victim = (await serverStatus(t, server)).workers[0]!;
    process.kill(victim.pid, 'SIGSTOP');
    await new Promise((r) => setTimeout(r, 500));
    process.kill(victim.pid, 'SIGCONT');
    assert.equal((await request(`${server.url}/`)).status, 200);
    await new Promise((r) => setTimeout(r, 2500));
    assert.ok(!server.logs.some((l) => l.event === 'workerUnresponsive'));
    assert.equal((await serverStatus(t, server)).workers[0]!.pid, victim.pid);
  });
});
