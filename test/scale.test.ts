// Scaling at runtime: SIGTTIN adds a worker, SIGTTOU removes one (never below 1), `pounce scale N`
// sets the number; status and the log show it, and scaling under load fails no request.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { summarize } from '../bench/load-generator.ts';
import type { StatusReport } from '../src/supervisor/supervisor.ts';
import { request } from './helpers/http.ts';
import { loadSkip, modeFlags, startForLoad, WORKER_MODES } from './helpers/modes.ts';
import { control, runPounce, serverStatus, startServer } from './helpers/pounce.ts';
import { ReloadableApp } from './helpers/reloadable-app.ts';

type TestContext = Parameters<typeof control>[0];

async function waitForWorkers(t: TestContext, server: { control: string }, n: number): Promise<StatusReport> {
  const until = Date.now() + 20_000;
  for (;;) {
    const s = await serverStatus(t, server);
    if (s.workers.length === n && s.workers.every((w) => w.state === 'ready')) return s;
    if (Date.now() > until)
      throw new Error(`timed out waiting for ${n} ready workers: ${JSON.stringify(s.workers)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

for (const mode of WORKER_MODES) {
  describe(`scaling (${mode} mode)`, () => {
    test('SIGTTIN adds a worker, SIGTTOU removes one, never below 1; the log and status say so', async (t) => {
      const app = new ReloadableApp('v1');
      const server = await startServer(t, app.file, ['--workers', '2', ...(await modeFlags(mode))]);
      // One signal at a time: a second SIGTTOU sent while the first is still pending merges with it.
      const signal = async (sig: 'SIGTTIN' | 'SIGTTOU') => {
        const before = server.logs.filter(
          (l) => l.event === 'scaling' || l.event === 'scaleUnchanged',
        ).length;
        server.signal(sig);
        const until = Date.now() + 10_000;
        while (
          server.logs.filter((l) => l.event === 'scaling' || l.event === 'scaleUnchanged').length === before
        ) {
          if (Date.now() > until) throw new Error(`${sig} was not logged`);
          await new Promise((r) => setTimeout(r, 20));
        }
      };
      await signal('SIGTTIN');
      let s = await waitForWorkers(t, server, 3);
      assert.equal(s.workersWanted, 3);
      await signal('SIGTTOU');
      await signal('SIGTTOU');
      s = await waitForWorkers(t, server, 1);
      assert.equal(s.workersWanted, 1);
      await signal('SIGTTOU');
      s = await waitForWorkers(t, server, 1);
      assert.equal(s.workersWanted, 1);
      assert.equal((await request(`${server.url}/version`)).body, 'v1');
      const messages = server.logs
        .filter((l) => l.event === 'scaling' || l.event === 'scaleUnchanged')
        .map((l) => l.msg);
      assert.deepEqual(messages, [
        'Received SIGTTIN — scaling up from 2 to 3 worker(s)',
        'Received SIGTTOU — scaling down from 3 to 2 worker(s)',
        'Received SIGTTOU — scaling down from 2 to 1 worker(s)',
        'Received SIGTTOU — keeping 1 worker(s): never fewer than 1',
      ]);
      const text = await control(t, server, 'status');
      assert.match(text.stdout, /^workers: 1 wanted, 1 serving$/m);
    });

    test('pounce scale N under load: up to 4, down to 1, and no request fails; a reload keeps the count', {
      skip: loadSkip(mode),
    }, async (t) => {
      const app = new ReloadableApp('v1');
      const { server, load: startLoad, get } = await startForLoad(t, mode, app.file);
      const load = startLoad({ durationMs: 30_000, keepAlive: 2, fresh: 2, post: 1, slow: 1 });
      const up = await control(t, server, 'scale', ['4']);
      assert.equal(up.code, 0, up.stderr);
      assert.equal(up.stdout, 'Scaled from 1 to 4 worker(s)\n');
      // The command returns once the new workers are ready.
      const s = await serverStatus(t, server);
      assert.equal(s.workers.filter((w) => w.state === 'ready').length, 4);
      app.write('v2');
      assert.equal((await control(t, server, 'reload')).code, 0);
      await waitForWorkers(t, server, 4);
      const down = await control(t, server, 'scale', ['1']);
      assert.equal(down.code, 0, down.stderr);
      assert.equal(down.stdout, 'Scaled from 4 to 1 worker(s)\n');
      await waitForWorkers(t, server, 1);
      await new Promise((r) => setTimeout(r, 300));
      load.stop();
      const report = await load.done;
      t.diagnostic(summarize(report));
      assert.equal(report.failed, 0, summarize(report));
      assert.ok(
        server.logs.some(
          (l) => l.msg === 'Scale requested through the control socket — scaling up from 1 to 4 worker(s)',
        ),
      );
      assert.equal(await get('/version'), 'v2');
    });
  });
}

describe('scaling', () => {
  test('pounce scale rejects a bad count before reaching the server', async (t) => {
    for (const bad of ['0', 'two', '2000']) {
      const result = await runPounce(t, ['scale', bad, '--control-socket', '/nonexistent/control.sock']);
      assert.equal(result.code, 2, bad);
      assert.match(result.stderr, /POUNCE_ERR_USAGE: .*usage: pounce scale N/, bad);
    }
    const missing = await runPounce(t, ['scale']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /Missing number of workers — usage: pounce scale N/);
  });
});
