// The one step that decides how many workers serve. Whatever changed — a worker crashed, the wanted
// number was scaled, a reload reached its cutover, a recycle ended — the supervisor asks this step
// what to do, and it answers by comparing the serving generation with the wanted number: start the
// missing workers, or drain the surplus. Nothing else starts or drains workers for the count's
// sake, so the count cannot drift when several of those happen at once (gunicorn's arbiter has the
// same shape: one loop that brings workers back to the wanted count).

import type { Phase } from './phase.ts';
import type { WorkerState } from './worker-handle.ts';

/**
 * The serving generation is the newest one: serving, or reloading after the cutover (while the old
 * generation drains). Only then are its workers kept at the wanted number, crashes included: while
 * a generation is starting (the first one, or a reload's before its cutover), the code waiting for
 * it sees each failure itself; while stopping, nothing is replaced.
 */
export function servingGenerationSettled(phase: Phase): boolean {
  return phase.name === 'serving' || (phase.name === 'reloading' && phase.cutover);
}

export interface ReconcilePlan<W> {
  /** How many workers of the serving generation to start. */
  readonly spawn: number;
  /** Which to drain, as in a reload (never together with spawn). */
  readonly retire: readonly W[];
}

/**
 * What brings `current` (the serving generation's live workers) to `wanted`: the missing number to
 * start, or the surplus to drain — workers still starting first (they serve nobody yet), then the
 * oldest (lowest id). Nothing while no generation is settled (servingGenerationSettled).
 */
export function reconcilePlan<W extends { readonly id: number; readonly state: WorkerState }>(
  phase: Phase,
  current: readonly W[],
  wanted: number,
): ReconcilePlan<W> {
  if (!servingGenerationSettled(phase)) return { spawn: 0, retire: [] };
  if (current.length <= wanted) return { spawn: wanted - current.length, retire: [] };
  const retire = current
    .toSorted((a, b) => Number(a.state === 'ready') - Number(b.state === 'ready') || a.id - b.id)
    .slice(0, current.length - wanted);
  return { spawn: 0, retire };
}
