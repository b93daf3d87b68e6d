// Chaos: random sequences of everything an operator, a deploy script and bad luck do to a running
// server — SIGHUP, `pounce reload`, SIGTTIN/SIGTTOU, `pounce scale`, SIGKILL of a worker, SIGSTOP
// then SIGCONT of a worker — under load. fast-check draws the sequences; the seed is printed, and
// POUNCE_CHAOS_SEED=<seed> replays a run.
//
// Invariants, for every sequence:
//   - no connection is ever refused (the supervisor keeps the listening socket open);
//   - no request fails, except those in flight on a worker killed with SIGKILL (resets or hang-ups,
//     at most one per load loop for each kill);
//   - the server serves at the end with the wanted number of ready workers;
//   - a final SIGTERM exits 0 and leaves no process behind.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { runLoad, summarize } from '../bench/load-generator.ts';
import { request } from './helpers/http.ts';
import { appPath, control, isAlive, serverStatus, startServer, waitFor } from './helpers/pounce.ts';

const APP = appPath('node-listener.ts');
const MAX_WORKERS = 3;
const LOOPS = { keepAlive: 2, fresh: 1, post: 1 };
const LOOP_COUNT = LOOPS.keepAlive + LOOPS.fresh + LOOPS.post;

type Action =
  | { kind: 'SIGHUP' | 'reload' | 'SIGTTIN' | 'SIGTTOU' }
  | { kind: 'scale'; workers: number }
  | { kind: 'SIGKILL'; worker: number }
  | { kind: 'SIGSTOP'; worker: number; pauseMs: number };
type Step = { action: Action; waitMs: number };

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  fc.constantFrom<Action>({ kind: 'SIGHUP' }, { kind: 'reload' }, { kind: 'SIGTTIN' }, { kind: 'SIGTTOU' }),
  fc.record({ kind: fc.constant('scale' as const), workers: fc.integer({ min: 1, max: MAX_WORKERS }) }),
  fc.record({ kind: fc.constant('SIGKILL' as const), worker: fc.nat(8) }),
  fc.record({
    kind: fc.constant('SIGSTOP' as const),
    worker: fc.nat(8),
    pauseMs: fc.integer({ min: 100, max: 1500 }),
  }),
);
const stepsArb = fc.array(fc.record({ action: actionArb, waitMs: fc.integer({ min: 0, max: 500 }) }), {
  minLength: 4,
  maxLength: 8,
});

/**
 * Signals a worker seen in the last status; false if it has left meanwhile (recycled, scaled down,
 * replaced): the status is a moment old, so that is part of the game, not a failure.
 */
function signalWorker(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

test('chaos: random signals, reloads, scaling, kills and stops under load keep every promise', async (t) => {
  const seed = Number(process.env.POUNCE_CHAOS_SEED ?? Date.now() % 2 ** 31);
  t.diagnostic(`seed ${seed} (replay with POUNCE_CHAOS_SEED=${seed})`);

  await fc.assert(
    fc.asyncProperty(stepsArb, async (steps: Step[]) => {
      // maxRequests makes workers recycle (handoffs) in the middle of everything else.
      const server = await startServer(t, APP, [
        ...['--workers', '2', '--worker-timeout', '5'],
        ...['--max-requests', '3000', '--max-requests-jitter', '1000'],
      ]);
      const load = runLoad({ url: server.url, durationMs: 60_000, ...LOOPS, requestTimeoutMs: 15_000 });
      const pids = new Set<number>();
      let kills = 0;
      let wanted = 2;
      try {
        for (const { action, waitMs } of steps) {
          const status = await serverStatus(t, server);
          for (const w of status.workers) pids.add(w.pid);
          const live = status.workers.filter((w) => w.state === 'ready');
          const target = 'worker' in action ? live[action.worker % Math.max(live.length, 1)] : undefined;
          switch (action.kind) {
            case 'SIGHUP':
              server.signal('SIGHUP');
              break;
            case 'reload':
              await control(t, server, 'reload'); // may fail (a worker killed meanwhile): not an invariant
              break;
            case 'SIGTTIN':
              if (wanted < MAX_WORKERS) {
                wanted++;
                server.signal('SIGTTIN');
              }
              break;
            case 'SIGTTOU':
              wanted = Math.max(1, wanted - 1);
              server.signal('SIGTTOU');
              break;
            case 'scale':
              wanted = action.workers;
              await control(t, server, 'scale', [String(action.workers)]);
              break;
            case 'SIGKILL':
              if (target && signalWorker(target.pid, 'SIGKILL')) kills++;
              break;
            case 'SIGSTOP':
              if (target && signalWorker(target.pid, 'SIGSTOP')) {
                await new Promise((r) => setTimeout(r, action.pauseMs));
                signalWorker(target.pid, 'SIGCONT');
              }
              break;
          }
          await new Promise((r) => setTimeout(r, waitMs));
        }
        // The load ends first: with maxRequests, a server under load keeps recycling workers, so
        // there would be no moment with exactly the wanted number of ready workers to wait for.
        load.stop();
        let last: unknown;
        await waitFor(
          'the server serving with the wanted workers',
          async () => {
            const s = await serverStatus(t, server);
            last = s;
            for (const w of s.workers) pids.add(w.pid);
            const serving = s.workers.filter((w) => w.state === 'ready' && w.generation === s.generation);
            // Every worker left is of the serving generation: none of an old one survived.
            const stray = s.workers.some((w) => w.generation !== s.generation);
            return s.state === 'serving' && s.workersWanted === wanted && serving.length === wanted && !stray;
          },
          30_000,
        ).catch((err: Error) => {
          throw new Error(`${err.message} (wanted ${wanted}); last status: ${JSON.stringify(last)}`);
        });
        for (let i = 0; i < 5; i++) assert.equal((await request(`${server.url}/`)).status, 200);
      } finally {
        load.stop();
      }
      const report = await load.done;
      const story = `${steps.map((s) => JSON.stringify(s.action)).join(' ')} → ${summarize(report)}`;
      t.diagnostic(story);
      assert.equal(report.failures.refused ?? 0, 0, `no connection refused: ${story}`);
      const cut = (report.failures.reset ?? 0) + (report.failures.hangup ?? 0);
      assert.equal(report.failed, cut, `only resets or hang-ups, from killed workers: ${story}`);
      assert.ok(cut <= kills * LOOP_COUNT, `at most ${LOOP_COUNT} cut per SIGKILL (${kills}): ${story}`);

      server.signal('SIGTERM');
      assert.equal((await server.exited).code, 0, `SIGTERM exits 0: ${story}`);
      for (const pid of pids) assert.ok(!isAlive(pid), `worker ${pid} is gone: ${story}`);
    }),
    { seed, numRuns: 3, endOnFailure: true },
  );
});
