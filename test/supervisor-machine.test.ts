// The supervisor's state machine, in-process against fake workers (test/helpers/fake-workers.ts):
// every cell of SIGNAL_TABLE and the known races, each in milliseconds. The end-to-end tests
// (reload, supervisor, crash-resilience, chaos) prove the same against real processes.

import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import { CrashPolicy, MAX_CRASHES } from '../src/supervisor/crash-policy.ts';
import type { PhaseName } from '../src/supervisor/phase.ts';
import { type Action, SIGNAL_TABLE, type SupervisorSignal } from '../src/supervisor/signal-table.ts';
import { fakeSupervisor } from './helpers/fake-workers.ts';

type Fake = ReturnType<typeof fakeSupervisor>;

/** A supervisor brought into `phase` (reloading: before its cutover, the new generation hanging). */
async function inPhase(t: TestContext, phase: PhaseName): Promise<Fake> {
  const f = fakeSupervisor({
    behaviour: (init) =>
      phase === 'starting' || (phase === 'reloading' && init.generation > 0)
        ? { boot: 'hang' }
        : { boot: 'ready', stuckDrain: phase === 'stopping' },
  });
  t.after(f.dispose);
  const started = f.supervisor.start();
  if (phase === 'starting') return f;
  await started;
  if (phase === 'reloading') {
    void f.supervisor.reload();
    await f.until('spawning');
  } else if (phase === 'stopping') {
    void f.supervisor.stop();
    await f.until('shuttingDown');
  } else if (phase === 'stopped') {
    await f.supervisor.stop();
  }
  assert.equal(f.supervisor.state, phase);
  return f;
}

/** What each action must visibly do: the first log event (or exit) that proves it happened. */
const PROOF: Record<Action, (f: Fake, seen: { upgrade: boolean }) => Promise<void>> = {
  reload: (f) => f.until('spawning'),
  queueReload: (f) => f.until('reloadQueued'),
  shutdown: (f) => f.until('shuttingDown'),
  abortReloadAndShutdown: async (f) => {
    await f.until('shuttingDown');
    await f.until('reloadAborted');
  },
  exitNow: async (f) => {
    await f.until('signalForce');
    assert.deepEqual(f.exits, [1]);
    assert.ok(
      f.workers.every((w) => !w.alive),
      'every worker was killed',
    );
  },
  scaleUp: async (f) => {
    await f.until('scaling');
    assert.equal(f.events.find((e) => e.event === 'scaling')?.workers, 3);
  },
  scaleDown: async (f) => {
    await f.until('scaling');
    assert.equal(f.events.find((e) => e.event === 'scaling')?.workers, 1);
  },
  upgrade: async (_f, seen) => {
    assert.ok(seen.upgrade, 'the upgrade module is asked to run');
  },
  ignore: async (f, seen) => {
    await new Promise((r) => setImmediate(r));
    assert.ok(
      f.names().some((n) => n === 'reloadIgnored' || n === 'signalIgnored'),
      `the ignored signal is logged: ${f.names().join(', ')}`,
    );
    for (const effect of ['spawning', 'reloadQueued', 'shuttingDown', 'scaling', 'signalForce']) {
      assert.ok(!f.names().includes(effect), `an ignored signal has no effect (${effect})`);
    }
    assert.ok(!seen.upgrade);
  },
};

describe('SIGNAL_TABLE: every signal in every phase does what its action says', () => {
  for (const [phase, row] of Object.entries(SIGNAL_TABLE) as [
    PhaseName,
    Record<SupervisorSignal, Action>,
  ][]) {
    for (const [signal, action] of Object.entries(row) as [SupervisorSignal, Action][]) {
      test(`${phase} + ${signal} → ${action}`, async (t) => {
        const f = await inPhase(t, phase);
        const before = f.events.length;
        const seen = { upgrade: false };
        f.supervisor.on('upgradeSignal', () => {
          seen.upgrade = true;
        });
        f.supervisor.handleSignal(signal);
        const names = () => f.events.slice(before).map((e) => e.event);
        await PROOF[action]({ ...f, events: f.events, names }, seen);
      });
    }
  }
});

describe('reloads', () => {
  test('a reload replaces the generation once every new worker is ready', async (t) => {
    const f = fakeSupervisor();
    t.after(f.dispose);
    await f.supervisor.start();
    const outcome = await f.supervisor.reload();
    assert.deepEqual(outcome, { ok: true, generation: 1 });
    await f.until('reloadComplete');
    assert.equal(f.supervisor.state, 'serving');
    assert.equal(f.live(0).length, 0, 'the old generation has exited');
    assert.equal(f.live(1).length, 2);
    assert.ok(f.workers.filter((w) => w.init.generation === 0).every((w) => w.exitedWith?.code === 0));
  });

  test('a reload answers only once the old workers stopped accepting (the next request sees new code)', async (t) => {
    const f = fakeSupervisor({
      behaviour: (init) => ({ boot: 'ready', confirmDrainMs: init.generation === 0 ? 50 : 0 }),
    });
    t.after(f.dispose);
    await f.supervisor.start();
    const settled: boolean[] = [];
    f.supervisor.on('reloadSettled', () => settled.push(f.live(0).every((w) => w.confirmedDrain)));
    const outcome = await f.supervisor.reload();
    assert.deepEqual(outcome, { ok: true, generation: 1 });
    const old = f.workers.filter((w) => w.init.generation === 0);
    assert.ok(
      old.every((w) => w.confirmedDrain || !w.alive),
      'every old worker confirmed its drain before the answer',
    );
    assert.deepEqual(settled, [true], 'systemd hears READY=1 (reloadSettled) after the confirmations too');
  });

  test('an old worker that never confirms its drain delays the answer by a bounded wait only', async (t) => {
    const f = fakeSupervisor({
      behaviour: (init) => ({ boot: 'ready', stuckDrain: init.generation === 0 }),
    });
    t.after(f.dispose);
    await f.supervisor.start();
    const started = Date.now();
    assert.deepEqual(await f.supervisor.reload(), { ok: true, generation: 1 });
    const waited = Date.now() - started;
    assert.ok(waited >= 900 && waited < 4_000, `answered after ${waited} ms`);
  });

  test('a SIGHUP storm during a reload queues exactly one more reload', async (t) => {
    const f = fakeSupervisor({ behaviour: () => ({ boot: 'ready', readyMs: 5 }) });
    t.after(f.dispose);
    await f.supervisor.start();
    for (let i = 0; i < 10; i++) f.supervisor.handleSignal('SIGHUP');
    await f.until('reloadComplete', 2);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(f.names().filter((n) => n === 'spawning').length, 2);
    assert.equal(f.supervisor.generation, 2);
  });

  test('a new worker that fails to boot aborts the reload; the old generation keeps serving', async (t) => {
    const f = fakeSupervisor({ behaviour: (init) => ({ boot: init.generation === 0 ? 'ready' : 'fail' }) });
    t.after(f.dispose);
    await f.supervisor.start();
    const outcome = await f.supervisor.reload();
    assert.equal(outcome.ok, false);
    await f.inState('serving');
    assert.equal(f.supervisor.generation, 0);
    assert.equal(f.live(0).length, 2);
    assert.equal(f.live(1).length, 0);
    assert.ok(!f.names().includes('workerRestarting'), 'a failed boot in a reload is not a crash to restart');
  });

  test('SIGTERM before the cutover aborts the reload and drains everyone; nothing is killed', async (t) => {
    const f = fakeSupervisor({ behaviour: (init) => ({ boot: init.generation === 0 ? 'ready' : 'hang' }) });
    t.after(f.dispose);
    await f.supervisor.start();
    const outcome = f.supervisor.reload();
    await f.until('spawning');
    f.supervisor.handleSignal('SIGTERM');
    assert.deepEqual(await outcome, { ok: false, reason: 'aborted by shutdown' });
    await f.until('allStopped');
    assert.deepEqual(f.exits, [0]);
    assert.ok(f.workers.every((w) => w.exitedWith?.signal === undefined || w.exitedWith.signal === null));
  });

  test('a crash of a new worker after the cutover is replaced at once, while the old generation drains', async (t) => {
    const f = fakeSupervisor({
      behaviour: (init) => ({ boot: 'ready', drainMs: init.generation === 0 ? 200 : 0 }),
    });
    t.after(f.dispose);
    await f.supervisor.start();
    await f.supervisor.reload();
    assert.equal(f.supervisor.state, 'reloading', 'after the cutover, the old generation drains');
    f.live(1)[0]!.crash();
    await f.until('workerRestarting');
    await f.until('workerSpawned', 5);
    assert.equal(f.workers.at(-1)!.init.generation, 1, 'the replacement joins the new generation');
    await f.until('reloadComplete');
  });

  test('scale during a reload is applied once the reload is complete', async (t) => {
    const f = fakeSupervisor({ behaviour: () => ({ boot: 'ready', readyMs: 5 }) });
    t.after(f.dispose);
    await f.supervisor.start();
    const reload = f.supervisor.reload();
    await f.until('spawning');
    assert.deepEqual(await f.supervisor.scale(3, 'test'), { ok: true, workers: 3, previous: 2 });
    assert.ok(f.names().includes('scaleDeferred'));
    await reload;
    await f.until('reloadComplete');
    await f.until('workerSpawned', 5);
    assert.equal(f.workers.filter((w) => w.init.generation === 1).length, 3);
  });
});

describe('booting while others serve (supervisor/boot-priority.ts, worker/warm-up.ts)', () => {
  test('workers started while others serve boot at a low priority and warm up; the first generation does not', async (t) => {
    const f = fakeSupervisor({ bootPriority: 3 });
    t.after(f.dispose);
    const boot = (w: (typeof f.workers)[number]) => [w.init.bootPriority, w.init.warmUp];
    await f.supervisor.start();
    assert.deepEqual(
      f.workers.map(boot),
      [
        [undefined, undefined],
        [undefined, undefined],
      ],
      'nobody serves yet: full priority, no warm-up',
    );
    await f.supervisor.reload();
    await f.until('reloadComplete');
    assert.deepEqual(f.live(1).map(boot), [
      [3, true],
      [3, true],
    ]);
    f.live(1)[0]!.crash();
    await f.until('workerSpawned', 5);
    assert.deepEqual(boot(f.workers.at(-1)!), [3, true], 'a replacement too: the other one serves');
  });

  test('without the right to give the priority back, no worker is lowered (they still warm up)', async (t) => {
    const f = fakeSupervisor({ bootPriority: undefined });
    t.after(f.dispose);
    await f.supervisor.start();
    await f.supervisor.reload();
    await f.until('reloadComplete');
    assert.deepEqual(
      f.workers.map((w) => w.init.bootPriority),
      [undefined, undefined, undefined, undefined],
    );
    assert.deepEqual(
      f.live(1).map((w) => w.init.warmUp),
      [true, true],
    );
  });
});

describe('crashes, recycling and handoffs', () => {
  test('crashes while serving are replaced; a crash loop is reported and the server keeps going', async (t) => {
    const f = fakeSupervisor({ config: { workers: 1 } });
    t.after(f.dispose);
    await f.supervisor.start();
    for (let i = 0; i <= MAX_CRASHES; i++) {
      f.live(0)[0]!.crash();
      await f.until('workerRestarting', i + 1);
      await f.until('workerReady', i + 2);
    }
    await f.until('crashLoopContinuing');
    assert.deepEqual(f.exits, [], 'the server did not exit');
    const status = await f.supervisor.status();
    assert.equal(status.crashLoop, true);
    assert.equal(status.crashesLastMinute, MAX_CRASHES + 1);
  });

  test('with exitOnCrashLoop, the crash loop ends the server with status 1', async (t) => {
    const f = fakeSupervisor({ config: { workers: 1, exitOnCrashLoop: true } });
    t.after(f.dispose);
    await f.supervisor.start();
    for (let i = 0; i <= MAX_CRASHES; i++) {
      f.live(0)[0]!.crash();
      await f.until('workerCrashed', i + 1);
      if (i < MAX_CRASHES) await f.until('workerReady', i + 2);
    }
    await f.until('crashLoop');
    await f.until('allStopped');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(f.exits, [1]);
  });

  test('an uncaught error in a worker retires it and starts a replacement', async (t) => {
    const f = fakeSupervisor({ config: { workers: 1 } });
    t.after(f.dispose);
    await f.supervisor.start();
    const victim = f.live(0)[0]!;
    victim.say({ type: 'fatal', error: 'Error: boom' });
    await f.until('workerFatal');
    assert.ok(victim.received.some((m) => m.type === 'drain'));
    await f.until('workerSpawned', 2);
    await f.until('workerStopped');
    assert.equal(victim.exitedWith?.code, 0, 'released after its drain, not killed');
    assert.ok(!f.names().includes('workerCrashed'));
  });

  test('a recycle whose successor fails to boot leaves the worker serving', async (t) => {
    let generation0Spawned = 0;
    const f = fakeSupervisor({
      config: { workers: 1 },
      behaviour: () => ({ boot: generation0Spawned++ === 0 ? 'ready' : 'fail' }),
    });
    t.after(f.dispose);
    await f.supervisor.start();
    const worker = f.live(0)[0]!;
    worker.say({ type: 'recycle', reason: { limit: 'maxRequests', requests: 10, max: 10 } });
    await f.until('recycleFailed');
    assert.ok(worker.alive);
    assert.ok(!worker.received.some((m) => m.type === 'drain'));
    assert.equal((await f.supervisor.status()).workers.find((w) => w.pid === worker.pid)?.state, 'ready');
  });

  test('a worker signalled on its own is replaced through the handoff: successor ready first', async (t) => {
    const f = fakeSupervisor({ config: { workers: 1 } });
    t.after(f.dispose);
    await f.supervisor.start();
    const worker = f.live(0)[0]!;
    worker.say({ type: 'signalled', signal: 'SIGTERM' });
    await f.until('workerReplacing');
    await f.until('workerStopped');
    assert.equal(f.live(0).length, 1);
    assert.notEqual(f.live(0)[0], worker);
  });
});

describe('CrashPolicy', () => {
  test('the backoff grows only while replacements fail to boot, and a crash loop ends after a quiet window', () => {
    let now = 0;
    const policy = new CrashPolicy(() => now);
    assert.equal(policy.crashed(false).delayMs, 100, 'a crash after serving: replaced at once');
    assert.equal(policy.crashed(true).delayMs, 200);
    assert.equal(policy.crashed(true).delayMs, 400);
    policy.workerReady();
    assert.equal(policy.crashed(false).delayMs, 100, 'the code booted again');
    for (let i = 0; i < 10; i++) policy.crashed(true);
    assert.equal(policy.crashed(true).delayMs, 5_000, 'capped');
    assert.equal(policy.inLoop, true);
    now += 59_000;
    assert.equal(policy.loopEnded(), false);
    now += 2_000;
    assert.equal(policy.loopEnded(), true);
    assert.equal(policy.loopEnded(), false, 'reported once');
    assert.equal(policy.crashesInWindow, 0);
  });
});

describe('races between a handoff and a reload', () => {
  test('a recycle in progress when a reload cuts over: the recycled old worker is retired too', async (t) => {
    // Generation 0 boots; the recycle's successor (gen 0) is slow; the reload's workers are quick.
    let spawned = 0;
    const f = fakeSupervisor({
      config: { workers: 1 },
      behaviour: (init) => ({ boot: 'ready', readyMs: init.generation === 0 && spawned++ > 0 ? 50 : 0 }),
    });
    t.after(f.dispose);
    await f.supervisor.start();
    const recycled = f.live(0)[0]!;
    recycled.say({ type: 'recycle', reason: { limit: 'maxRequests', requests: 10, max: 10 } });
    await f.until('workerReplacing');
    await f.supervisor.reload();
    await f.until('reloadComplete');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(f.live(0).length, 0, `no generation-0 worker is left: ${f.names().join(', ')}`);
    assert.ok(!recycled.alive);
    assert.equal(f.live(1).length, 1);
  });
});

test('malformed messages on a worker channel (app code may call process.send) are dropped, not acted on', async (t) => {
  const f = fakeSupervisor({ config: { workers: 1 } });
  t.after(f.dispose);
  await f.supervisor.start();
  const worker = f.live(0)[0]!;
  for (const junk of [
    { type: 'recycle' },
    { type: 'recycle', reason: null },
    { type: 'fatal', error: 42 },
    { type: 'drained' },
    { type: 'signalled', signal: 'SIGKILL' },
    { type: 'toString' },
    'ready',
    null,
  ]) {
    worker.say(junk as never);
  }
  await new Promise((r) => setTimeout(r, 250));
  assert.ok(worker.alive);
  assert.equal((await f.supervisor.status()).workers[0]?.state, 'ready');
  assert.deepEqual(
    f.names().filter((n) => n !== 'workerSpawned' && n !== 'workerReady' && n !== 'listening'),
    [],
  );
});

test('a scale down during a recycle handoff: the server ends with the wanted number of workers', async (t) => {
  let spawned = 0;
  const f = fakeSupervisor({
    config: { workers: 2 },
    // The recycle's successor (third worker) is slow, so the scale down finds it still starting.
    behaviour: () => ({ boot: 'ready', readyMs: spawned++ === 2 ? 50 : 0 }),
  });
  t.after(f.dispose);
  await f.supervisor.start();
  f.live(0)[0]!.say({ type: 'recycle', reason: { limit: 'maxRequests', requests: 10, max: 10 } });
  await f.until('workerReplacing');
  await f.supervisor.scale(1, 'test');
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(f.live(0).length, 1, `one worker left: ${f.names().join(', ')}`);
  assert.equal(f.supervisor.workersWanted, 1);
});
