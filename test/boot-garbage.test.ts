// A worker that boots while others serve runs a full garbage collection before it listens
// (src/worker/boot-garbage.ts), without leaving `gc` to the app; a worker of the first generation
// boots as usual. Observed from inside real workers through perf_hooks' 'gc' entries.

import assert from 'node:assert/strict';
import { constants } from 'node:perf_hooks';
import { test } from 'node:test';
import { appPath, startServer } from './helpers/pounce.ts';

interface Answer {
  pid: number;
  beforeFirstRequest: { kind: number; flags: number }[];
  gcVisible: boolean;
}

/** A full collection that was asked for (gc()), not one V8 chose. */
const forcedFull = (a: Answer) =>
  a.beforeFirstRequest.some(
    (g) =>
      g.kind === constants.NODE_PERFORMANCE_GC_MAJOR && g.flags & constants.NODE_PERFORMANCE_GC_FLAGS_FORCED,
  );

test('a worker booting while others serve collects its boot garbage before it listens', async (t) => {
  const server = await startServer(t, appPath('gc-record.ts'), ['--workers', '1']);
  const ask = async () =>
    (await (await fetch(server.url, { headers: { connection: 'close' } })).json()) as Answer;

  const first = await ask();
  assert.ok(!forcedFull(first), 'the first generation boots as usual');

  server.signal('SIGHUP');
  await server.waitForEvent('reloadComplete');
  const next = await ask();
  assert.notEqual(next.pid, first.pid, 'answered by the new generation');
  assert.ok(
    forcedFull(next),
    `a full collection before its first request: ${JSON.stringify(next.beforeFirstRequest)}`,
  );
  assert.equal(next.gcVisible, false, 'and no gc() for the app');
});
