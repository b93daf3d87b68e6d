// The node flags the published bin (bin/pounce.js) gives `pounce serve`, named in BIN_FLAGS_ENV:
// V8's compilers off from node's first line (see jit-tiers.ts), --expose-gc (for compact-heap.ts:
// without it, getting `gc` takes node:v8, ~0.8 MB of RSS for the supervisor's whole life) and one
// V8 background thread instead of four (--v8-pool-size=1: −0.1 MB; an idle supervisor's heap is a
// few MB, its collections need no helpers). They are the supervisor's, not the user's: they come
// out of process.execArgv here, first thing, so that the workers (which fork with
// process.execArgv) run node as it was started for them; and an upgrade's new supervisor gets
// them back.

/**
 * Set by bin/pounce.js: the flags it put first on node's command line, space-separated. A contract
 * between pounce versions too: `pounce upgrade` starts the next supervisor with the same flags and
 * this variable, and that version takes them out of its workers' command line only if it reads the
 * same name (a version that did not would run its workers without V8's compilers).
 */
export const BIN_FLAGS_ENV = 'POUNCE_INTERNAL_BIN_FLAGS';

/** The flags bin/pounce.js gave this process (taken out of process.execArgv). */
let taken: readonly string[] = [];

/**
 * For cli/main.ts (through jit-tiers.ts) before anything else: takes the bin's flags out of
 * process.execArgv, and its variable out of the environment the workers inherit. Flags that are
 * not where the bin puts them (first) are left alone. Returns them.
 */
export function takeBinFlags(): readonly string[] {
  const named = process.env[BIN_FLAGS_ENV];
  delete process.env[BIN_FLAGS_ENV];
  const flags = named ? named.split(' ') : [];
  if (flags.length === 0 || !flags.every((flag, i) => process.execArgv[i] === flag)) return taken;
  process.execArgv.splice(0, flags.length);
  taken = flags;
  return taken;
}

/** How to start another supervisor as the bin started this one: its flags first, and their name. */
export function supervisorFlags(): { execArgv: string[]; env: Record<string, string> } {
  return {
    execArgv: [...taken, ...process.execArgv],
    env: taken.length > 0 ? { [BIN_FLAGS_ENV]: taken.join(' ') } : {},
  };
}
