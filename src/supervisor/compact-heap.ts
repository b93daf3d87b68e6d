// One memory-reducing garbage collection each time the supervisor goes back to idling: once it
// serves, and after each reload. Starting up (parsing the configuration, compiling pounce's
// modules, forking the first generation) and a reload (forking a generation, its messages and log
// lines) grow the V8 heap to what that burst needed: the young generation several times its
// minimum and the old one full of garbage. The supervisor then idles for hours or days, and V8
// shrinks neither by itself (its memory reducer did not run within 15 s of idling here). One "last
// resort" collection — what V8 does under memory pressure: full collections until nothing more is
// freed, compaction, the young generation shrunk back — returns it: −2.8 MB RSS for the compiled
// supervisor of `pounce serve` with 2 workers (59.0 → 56.2 MB, bench scenario 5's measure), in
// 25–75 ms while the workers serve. Without it after each reload, the heap grows back within
// ~10 reloads (55.9 → 58.3 MB here), and the startup's gain would only last until the first deploys.
//
// Node offers no call for it but `gc()` (gc-function.ts). The bin starts the supervisor with
// --expose-gc (bin-flags.ts; the only user code the supervisor runs is a pounce.config file, which
// may see a global `gc` it has no use for), so node:v8 and node:vm are never loaded for it;
// otherwise (`node …/dist/cli/main.js`, from source) they are, on the first collection. Best
// effort: on a Node where any of it fails, the heap stays as it was.

import { gcFunction } from '../gc-function.ts';

let pending: NodeJS.Timeout | undefined;

/**
 * Runs the collection `delayMs` from now (not keeping the process alive for it); a call while one
 * is pending postpones it, so a burst of reloads is followed by one collection.
 */
export function compactHeapSoon(delayMs: number): void {
  clearTimeout(pending);
  pending = setTimeout(compactHeap, delayMs).unref();
}

export function compactHeap(): void {
  try {
    gcFunction()?.({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  } catch {
    // an older V8 without the options: the heap stays as it was
  }
}
