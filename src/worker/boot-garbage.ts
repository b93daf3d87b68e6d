// A worker that boots while others serve collects the garbage of its boot before it listens.
// Importing pounce and the app, compiling them and the warm-up (warm-up.ts) leave a heap full of
// short-lived objects; left alone, V8 collects them with its first full (mark-compact) collections
// after the worker has started serving — pauses of the new worker's requests, right after the
// cutover. Collected here, the pause happens at the boot's low priority instead. Measured under the
// bench's reload-under-load scenario (two A/Bs of 3 rounds × 12 reloads, p99 relative to steady):
// the 100 ms before / after the cutover 1.98 / 2.38× → 1.37 / 1.70× and 1.95 / 2.18× → 1.36 /
// 1.55×. The second after SIGHUP as a whole moved less (1.31, 2.75, 1.14× → 1.16, 1.11, 1.17×;
// 1.21, 1.21, 1.20× → 1.24, 1.16, 1.35×): under load the boot fills most of it. The collection
// costs the boot some idle CPU (ready under load ~1.7 → ~1.85 s).
//
// Node exposes no call for a full collection but `gc()`, which gc-function.ts gets without leaving
// it to the app.

import { gcFunction } from '../gc-function.ts';

/** Runs a full garbage collection now. Best effort: a V8 that refuses the flag just skips it. */
export function collectBootGarbage(): void {
  gcFunction()?.();
}
