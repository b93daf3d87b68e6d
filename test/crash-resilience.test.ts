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
import { appPath, serverStatus, startServer, waitFor } from './helpers/pounce.ts';

const APP = appPath('node-listener.ts');

describe('the listening socket outlives every worker', () => {
  test('one worker killed with SIGKILL: no connection is refused while it is replaced', async (t) => {
    const server = await startServer(t, APP);
    const victim = (await serverStatus(t, server)).workers[0]!;
    const load = runLoad({ url: server.url, durationMs: 15_000, fresh: 4, requestTimeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 200));
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
