// Promise 1, measured: a bounded load (kept-alive and fresh-connection GETs, POSTs with bodies,
// slow requests that span reloads; no client retries) runs while 20 reloads happen. Every single
// request must get a 2xx — with the default scheduling, and with round-robin (the supervisor
// accepts every connection and hands it to a worker: a retiring worker must be out of its rotation
// before it stops).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { mixedLoad, summarize } from '../bench/load-generator.ts';
import { control, startServer } from './helpers/pounce.ts';
import { ReloadableApp, reloadEachVersion } from './helpers/reloadable-app.ts';

const RELOADS = 20;

describe('zero dropped requests under load across reloads', () => {
  for (const [workers, scheduling, reloads] of [
    [1, 'shared', RELOADS],
    [2, 'shared', RELOADS],
    [2, 'round-robin', 10],
  ] as const) {
    test(`${workers} worker(s), ${scheduling} scheduling, ${reloads} reloads`, async (t) => {
      const app = new ReloadableApp('v0');
      const server = await startServer(t, app.file, [
        '--workers',
        String(workers),
        '--scheduling',
        scheduling,
        '--log-level',
        'info',
      ]);
      const load = mixedLoad(server.url);
      try {
        await reloadEachVersion(app, reloads, () => control(t, server, 'reload'));
      } finally {
        load.stop();
      }
      const report = await load.done;
      t.diagnostic(`${workers} worker(s), ${scheduling}: ${summarize(report)}`);
      assert.equal(report.failed, 0, `${summarize(report)}\n${JSON.stringify(report.samples, null, 1)}`);
      assert.ok(report.total > 500, `enough load to mean something: ${report.total}`);
      for (const kind of ['keepAlive', 'fresh', 'post', 'slow'] as const)
        assert.ok(report.byLoop[kind] > 0, kind);
      const last = await fetch(`${server.url}/version`).then((r) => r.text());
      assert.equal(last, `v${reloads}`);
    });
  }
});
