// The supervisor runs V8's interpreter only, without its compilers: Sparkplug (the baseline
// compiler) and the optimizing Maglev and TurboFan. cli/main.ts turns them off first thing for
// `pounce serve` (v8.setFlagsFromString, this process only: the workers fork with
// process.execArgv, which it does not change). Loading pounce resolves a few hundred paths and URLs,
// enough for Node's path functions to get "hot": Maglev then compiles a dozen of them and, with a
// long enough install path, TurboFan compiles path.normalize's loop — and every compiler V8 runs
// stays in the process's memory as code pages of the node binary it touched, and its code on the
// heap: TurboFan's ~5 MB, Maglev's ~1.5 MB more, Sparkplug's ~0.7 MB (measured on the compiled
// supervisor, bench scenario 5). A supervisor that idles between reloads gains nothing from them.
//
// Except with `scheduling: round-robin`, where the supervisor accepts every connection and hands it
// to a worker: there the compilers are worth their memory, so they are turned back on as soon as
// the configuration says so. A user who chose compiler flags themselves (on the command line or in
// NODE_OPTIONS) keeps their choice: pounce then changes nothing.
//
// The published bin (bin/pounce.js) puts the same flags on node's command line for `pounce serve`,
// which also spares the compiles of starting up (see there); then there is nothing to do here, and
// node:v8 (~0.8 MB of RSS) is not loaded. The workers keep their compilers (bin-flags.ts).

import { takeBinFlags } from './bin-flags.ts';

/** V8 flags that choose compilers: with any of them given by the user, pounce leaves the tiers alone. */
const USER_COMPILER_FLAGS = /--(?:no-)?(?:maglev|turbofan|opt|jitless|max-opt|lite-mode|sparkplug)\b/;

function userChoseCompilers(): boolean {
  return USER_COMPILER_FLAGS.test(`${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`);
}

/**
 * For cli/main.ts, before it loads the rest of pounce (and before the compile cache, which from
 * source serves the supervisor's own modules too: V8's flags are part of its entries' version).
 */
export function withoutOptimizingCompilers(): void {
  if (takeBinFlags().length > 0) return;
  if (!userChoseCompilers())
    process.getBuiltinModule('node:v8').setFlagsFromString('--no-sparkplug --no-maglev --no-turbofan');
}

/** Round-robin scheduling: the supervisor deals every connection, so it gets its compilers back. */
export function restoreOptimizingCompilers(): void {
  if (!userChoseCompilers())
    process.getBuiltinModule('node:v8').setFlagsFromString('--sparkplug --maglev --turbofan');
}
