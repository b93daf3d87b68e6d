// The supervisor runs without V8's optimizing compilers (Maglev, TurboFan); cli/main.ts turns them
// off first thing for `pounce serve` (v8.setFlagsFromString, this process only: the workers fork
// with process.execArgv, which it does not change). Loading pounce resolves a few hundred paths and
// URLs, enough for Node's path functions to get "hot": Maglev then compiles a dozen of them and,
// with a long enough install path, TurboFan compiles path.normalize's loop — and every compiler
// V8 runs stays in the process's memory as code pages of the node binary it touched: TurboFan's
// ~5 MB, Maglev's ~1.5 MB more (measured on the compiled supervisor, bench scenario 5: 61.4 →
// 54.3 MB RSS with a 14-character package directory name; 55.4 → 54.3 with an 8-character one).
// A supervisor that idles between reloads gains nothing from them: Sparkplug (the baseline
// compiler) and the interpreter run its code.
//
// Except with `scheduling: round-robin`, where the supervisor accepts every connection and hands it
// to a worker: there the optimizing compilers are worth their memory, so they are turned back on as
// soon as the configuration says so. A user who chose compiler flags themselves (on the command
// line or in NODE_OPTIONS) keeps their choice: pounce then changes nothing.

const { setFlagsFromString } = process.getBuiltinModule('node:v8');
/** V8 flags that choose compilers: with any of them given by the user, pounce leaves the tiers alone. */
const USER_COMPILER_FLAGS = /--(?:no-)?(?:maglev|turbofan|opt|jitless|max-opt|lite-mode|sparkplug)\b/;

function userChoseCompilers(): boolean {
  return USER_COMPILER_FLAGS.test(`${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`);
}

/** For cli/main.ts, before it loads the rest of pounce (and before the compile cache: see its dir). */
export function withoutOptimizingCompilers(): void {
  if (!userChoseCompilers()) setFlagsFromString('--no-maglev --no-turbofan');
}

/** Round-robin scheduling: the supervisor deals every connection, so it gets its compilers back. */
export function restoreOptimizingCompilers(): void {
  if (!userChoseCompilers()) setFlagsFromString('--maglev --turbofan');
}
