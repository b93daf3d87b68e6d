// The reconcile step (src/supervisor/reconcile.ts) as a function, over every phase and any
// generation: the supervisor-machine tests check it in context (crashes, scale, reloads).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { Phase } from '../src/supervisor/phase.ts';
import { reconcilePlan, servingGenerationSettled } from '../src/supervisor/reconcile.ts';
import type { WorkerState } from '../src/supervisor/worker-handle.ts';

const PHASES: Phase[] = [
  { name: 'starting' },
  { name: 'serving' },
  { name: 'reloading', generation: 2, cutover: false, abort: new AbortController() },
  { name: 'reloading', generation: 2, cutover: true },
  { name: 'stopping' },
  { name: 'stopped' },
];

const workers = fc
  .uniqueArray(fc.integer({ min: 0, max: 1000 }), { maxLength: 12 })
  .chain((ids) =>
    fc.tuple(
      ...ids.map((id) => fc.constantFrom<WorkerState>('starting', 'ready').map((state) => ({ id, state }))),
    ),
  );

test('settled only while serving, or reloading after the cutover', () => {
  assert.deepEqual(
    PHASES.map((p) => servingGenerationSettled(p)),
    [false, true, false, true, false, false],
  );
});

test('the plan brings the count to the wanted number, starting or draining, never both', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...PHASES),
      workers,
      fc.integer({ min: 1, max: 12 }),
      (phase, current, wanted) => {
        const plan = reconcilePlan(phase, current, wanted);
        if (!servingGenerationSettled(phase)) {
          assert.deepEqual(plan, { spawn: 0, retire: [] });
          return;
        }
        assert.equal(current.length + plan.spawn - plan.retire.length, wanted);
        assert.ok(plan.spawn === 0 || plan.retire.length === 0);
        // The surplus: workers still starting before ready ones, the oldest (lowest id) first.
        const kept = current.filter((w) => !plan.retire.includes(w));
        for (const gone of plan.retire)
          for (const stays of kept) {
            const goneRank = Number(gone.state === 'ready');
            const staysRank = Number(stays.state === 'ready');
            assert.ok(goneRank < staysRank || (goneRank === staysRank && gone.id < stays.id));
          }
      },
    ),
  );
});

test('the workers given are not reordered (the plan sorts a copy)', () => {
  const current = [
    { id: 3, state: 'ready' as const },
    { id: 1, state: 'starting' as const },
    { id: 2, state: 'ready' as const },
  ];
  const plan = reconcilePlan({ name: 'serving' }, current, 1);
  assert.deepEqual(
    plan.retire.map((w) => w.id),
    [1, 2],
  );
  assert.deepEqual(
    current.map((w) => w.id),
    [3, 1, 2],
  );
});
