// Worker recycling (maxRequests with maxRequestsJitter, maxMemory): a worker past its limit is
// replaced through the same handoff as a reload — its successor is ready before it drains — so
// recycling under load fails no request.

import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { summarize } from '../bench/load-generator.ts';
import { request } from './helpers/http.ts';
import { loadSkip, modeFlags, startForLoad, WORKER_MODES } from './helpers/modes.ts';
import { FIXTURES, runPounce, serverStatus, startServer, waitFor } from './helpers/pounce.ts';
import { ReloadableApp } from './helpers/reloadable-app.ts';

for (const mode of WORKER_MODES) {
  describe(`worker recycling (${mode} mode)`, () => {
    test('maxRequests 50 under load: workers recycle again and again, and no request fails', {
      skip: loadSkip(mode),
    }, async (t) => {
      const app = new ReloadableApp('v1');
      const { server, load } = await startForLoad(t, mode, app.file, [
        '--workers',
        '2',
        '--max-requests',
        '50',
        '--max-requests-jitter',
        '10',
      ]);
      const run = load({ durationMs: 30_000, keepAlive: 2, fresh: 2, post: 1, slow: 1 });
      await waitFor(
        'six recycles',
        () => server.logs.filter((l) => l.event === 'workerReplacing').length >= 6,
        30_000,
      );
      run.stop();
      const report = await run.done;
      t.diagnostic(summarize(report));
      assert.equal(report.failed, 0, summarize(report));
      const replaced = server.logs.filter((l) => l.event === 'workerReplacing');
      for (const line of replaced) {
        assert.match(
          String(line.msg),
          /^Replacing worker \d+ \(generation 0\): it served (\d+) requests \(maxRequests (5\d|60)\)$/,
        );
      }
      // The jitter gives the workers different limits (50..60); with six recycles at least two differ.
      const limits = new Set(replaced.map((l) => /maxRequests (\d+)/.exec(String(l.msg))![1]));
      assert.ok(limits.size >= 2, `limits vary: ${[...limits].join(', ')}`);
      assert.ok(!server.logs.some((l) => l.event === 'workerCrashed'));
      await waitFor('two ready workers', async () => {
        const s = await serverStatus(t, server);
        return s.workers.length === 2 && s.workers.every((w) => w.state === 'ready');
      });
    });

    test(`maxMemory: a worker whose ${mode === 'process' ? 'RSS' : 'heap + external memory'} grows past the limit is replaced; the server keeps serving`, async (t) => {
      const server = await startServer(t, path.join(FIXTURES, 'ops/memory-app.mjs'), [
        '--max-memory',
        '200',
        ...(await modeFlags(mode)),
      ]);
      const { workers } = await serverStatus(t, server);
      await request(`${server.url}/grow?mb=256`);
      const replacing = await server.waitForEvent('workerReplacing');
      const measure = mode === 'process' ? 'RSS' : 'V8 heap \\+ external';
      assert.match(
        String(replacing.msg),
        new RegExp(
          `^Replacing worker 0 \\(generation 0\\): its memory use \\(${measure} \\d+ MB\\) exceeds maxMemory \\(200 MB\\)$`,
        ),
      );
      await waitFor('the successor to serve', async () => {
        const s = await serverStatus(t, server);
        return (
          s.workers.length === 1 && s.workers[0]!.id !== workers[0]!.id && s.workers[0]!.state === 'ready'
        );
      });
      const after = (await request(`${server.url}/`)).body;
      assert.match(after, /^pid \d+ thread \d+ rss \d+/);
    });
  });
}

describe('worker recycling', () => {
  test('a successor that cannot start (broken code on disk) leaves the worker serving', async (t) => {
    const app = new ReloadableApp('v1');
    const server = await startServer(t, app.file, ['--max-requests', '5']);
    const { workers } = await serverStatus(t, server);
    app.write('v2', 'syntax-error');
    for (let i = 0; i < 5; i++) assert.equal((await request(`${server.url}/version`)).body, 'v1');
    const failed = await server.waitForEvent('recycleFailed');
    assert.match(
      String(failed.msg),
      /^Could not replace worker 0 \(generation 0\): its successor failed to start \(.*SyntaxError.*\) — it keeps serving; next try in 10s$/,
    );
    for (let i = 0; i < 10; i++) assert.equal((await request(`${server.url}/version`)).body, 'v1');
    const s = await serverStatus(t, server);
    assert.deepEqual(
      s.workers.map((w) => [w.pid, w.state]),
      [[workers[0]!.pid, 'ready']],
    );
    assert.ok(!server.logs.some((l) => l.event === 'workerCrashed' || l.event === 'crashLoop'));
  });

  test('maxRequestsJitter without maxRequests is a configuration error', async (t) => {
    const result = await runPounce(t, [
      'check',
      path.join(FIXTURES, 'apps/esm.mjs'),
      '--max-requests-jitter',
      '5',
    ]);
    assert.equal(result.code, 2);
    assert.match(
      result.stderr,
      /POUNCE_ERR_CONFIG: Invalid maxRequestsJitter: it is set without maxRequests/,
    );
  });
});
