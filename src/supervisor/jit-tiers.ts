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
// which also spares the compiles of starting up (see there), and names them in BIN_FLAGS_ENV. They
// are not the user's: they come out of process.execArgv here, so that the workers (which fork with
// process.execArgv) keep their compilers and an upgrade's new supervisor gets them as the bin does.

const { setFlagsFromString } = process.getBuiltinModule('node:v8');
/** Set by bin/pounce.js: the flags it put first on node's command line, space-separated. */
export const BIN_FLAGS_ENV = 'POUNCE_INTERNAL_BIN_FLAGS';

/** The flags bin/pounce.js gave this process (taken out of process.execArgv). */
let binFlags: readonly string[] = [];

/**
 * Takes the bin's flags out of process.execArgv (and its variable out of the environment the
 * workers inherit). Flags that are not where the bin puts them (first) are left alone.
 */
function takeBinFlags(): void {
  const named = process.env[BIN_FLAGS_ENV];
  delete process.env[BIN_FLAGS_ENV];
  const flags = named ? named.split(' ') : [];
  if (flags.length === 0 || !flags.every((flag, i) => process.execArgv[i] === flag)) return;
  process.execArgv.splice(0, flags.length);
  binFlags = flags;
}

/** How to start another supervisor as the bin started this one: flags first, and their name. */
export function supervisorFlags(): { execArgv: string[]; env: Record<string, string> } {
  return {
    execArgv: [...binFlags, ...process.execArgv],
    env: binFlags.length > 0 ? { [BIN_FLAGS_ENV]: binFlags.join(' ') } : {},
  };
}

/** V8 flags that choose compilers: with any of them given by the user, pounce leaves the tiers alone. */
const USER_COMPILER_FLAGS = /--(?:no-)?(?:maglev|turbofan|opt|jitless|max-opt|lite-mode|sparkplug)\b/;

function userChoseCompilers(): boolean {
  return USER_COMPILER_FLAGS.test(`${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`);
}

/** For cli/main.ts, before it loads the rest of pounce (and before the compile cache: see its dir). */
export function withoutOptimizingCompilers(): void {
  takeBinFlags();
  if (!userChoseCompilers()) setFlagsFromString('--no-sparkplug --no-maglev --no-turbofan');
}

/** Round-robin scheduling: the supervisor deals every connection, so it gets its compilers back. */
export function restoreOptimizingCompilers(): void {
  if (!userChoseCompilers()) setFlagsFromString('--sparkplug --maglev --turbofan');
}
