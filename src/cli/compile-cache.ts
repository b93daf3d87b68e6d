// V8's compile cache, shared by every worker: a worker that finds pounce and the app already
// compiled boots in about half the time (measured 234 → 129 ms), so each reload's new generation
// is ready sooner.
//
// Node's default place for it is os.tmpdir()/node-compile-cache, which Node does not check: a local
// user who creates that directory first can plant cache entries, and V8 then runs their code as
// pounce's user. So pounce never uses the default. It uses a directory it creates 0700 and checks
// (fs/private-dir.ts): $XDG_CACHE_HOME/pounce/compile-cache (~/.cache/pounce/compile-cache), else
// the app's node_modules/.cache/pounce/compile-cache; when neither can be made private, the cache
// is off, with one warning. Workers find the directory through NODE_COMPILE_CACHE.
//
// The compiled supervisor (the published bin) does not read its own modules from the cache: Node
// keeps every entry it used in memory for the life of the process (to write the new ones at exit),
// ~0.8 MB of RSS for as long as the server runs, to spare ~20 ms of the supervisor's start (its first
// response at 197 rather than 177 ms; measured on the installed bin, 2 workers). From TypeScript
// source (tests, development) it does: there the cache also spares type stripping (224 rather than
// 290 ms).

import { ErrorCode, PounceError } from '../errors.ts';
import { ensurePrivateDir } from '../fs/private-dir.ts';
import type { Logger } from '../log/logger.ts';

const { accessSync, constants, existsSync } = process.getBuiltinModule('node:fs');
const { enableCompileCache } = process.getBuiltinModule('node:module');
const os = process.getBuiltinModule('node:os');
const path = process.getBuiltinModule('node:path');

const CHECK = {
  what: 'The compile cache directory',
  advice: 'another user could plant compiled code there that pounce would run',
};

/** Where pounce may keep its compile cache, best first. */
function candidates(cwd: string): string[] {
  const dirs: string[] = [];
  const xdg = process.env.XDG_CACHE_HOME;
  if (xdg && path.isAbsolute(xdg)) dirs.push(path.join(xdg, 'pounce', 'compile-cache'));
  else {
    try {
      // Absolute only, as the workers are handed it: a relative one (HOME=rel) would name another
      // directory for any process of the app that runs elsewhere.
      const home = os.homedir();
      if (home && path.isAbsolute(home)) dirs.push(path.join(home, '.cache', 'pounce', 'compile-cache'));
    } catch {
      // no home directory (a system user): the next candidate
    }
  }
  if (existsSync(path.join(cwd, 'node_modules')))
    dirs.push(path.join(cwd, 'node_modules', '.cache', 'pounce', 'compile-cache'));
  return dirs;
}

/** Whether this process reads its own modules from the cache, or only hands it to its workers. */
const CACHE_OWN_MODULES = import.meta.url.endsWith('.ts');

/** NODE_COMPILE_CACHE as this process found it: set by the user, not by pounce. */
const userChoice = process.env.NODE_COMPILE_CACHE;

/**
 * What enableCompileCacheEarly did: undefined when it did not run (or left the choice to
 * enablePrivateCompileCache), else why the cache is off (undefined `off`: it is on).
 */
let early: { off: string | undefined } | undefined;

/**
 * The private cache directory, enabled for the workers (NODE_COMPILE_CACHE) and, from source, for
 * this process; or why there is none.
 */
function enablePrivateDir(cwd: string): { off: string | undefined } {
  let reason = 'no cache directory (no home directory, no node_modules)';
  for (const dir of candidates(cwd)) {
    try {
      ensurePrivateDir(dir, CHECK);
    } catch (err) {
      if (reason.startsWith('no cache')) reason = (err as Error).message;
      continue;
    }
    if (!CACHE_OWN_MODULES) {
      // What enableCompileCache would have found out for this process (a read-only file system).
      try {
        accessSync(dir, constants.W_OK);
      } catch (err) {
        reason = `Node could not use ${dir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
        continue;
      }
      process.env.NODE_COMPILE_CACHE = dir;
      return { off: undefined };
    }
    const result = enableCompileCache(dir);
    if (result.directory) {
      process.env.NODE_COMPILE_CACHE = result.directory;
      return { off: undefined };
    }
    reason = result.message ?? `Node could not use ${dir}`;
  }
  return { off: reason };
}

/**
 * `pounce serve` calls this first, before it loads the rest of pounce, so that from source the
 * supervisor's own modules come from the cache too (see the top of this file). Never throws: a
 * NODE_COMPILE_CACHE the user set, or a cache that cannot be made, is left to
 * enablePrivateCompileCache, which reports it once logging is set up.
 */
export function enableCompileCacheEarly(cwd: string): void {
  if (process.env.NODE_DISABLE_COMPILE_CACHE || userChoice || typeof enableCompileCache !== 'function')
    return;
  try {
    early = enablePrivateDir(cwd);
  } catch {
    early = undefined; // reported by enablePrivateCompileCache, which tries again
  }
}

/**
 * Turns the compile cache on for the workers (through NODE_COMPILE_CACHE) and, from source, this
 * process, in a private directory — or reports what enableCompileCacheEarly found. A
 * NODE_COMPILE_CACHE the user set is their choice and is kept — but Node has already read this
 * process's modules from it, so a directory another user controls is refused
 * (POUNCE_ERR_UNSAFE_PATH) rather than used by every worker too; one that merely cannot be used is
 * dropped for the workers, with the warning.
 */
export function enablePrivateCompileCache(cwd: string, log: Logger): void {
  if (process.env.NODE_DISABLE_COMPILE_CACHE) return;
  if (early) {
    if (early.off !== undefined) log.event('compileCacheDisabled', { reason: early.off });
    return;
  }
  const chosen = userChoice;
  if (chosen) {
    try {
      ensurePrivateDir(path.resolve(cwd, chosen), { ...CHECK, what: 'NODE_COMPILE_CACHE' });
    } catch (err) {
      const advice = 'unset NODE_COMPILE_CACHE or point it at a directory only this user can write';
      if (err instanceof PounceError)
        throw new PounceError(ErrorCode.UNSAFE_PATH, `${err.message}; ${advice}`);
      // Not a danger, only unusable (a path under a file, no permission): the workers go without.
      delete process.env.NODE_COMPILE_CACHE;
      log.event('compileCacheDisabled', {
        reason: `NODE_COMPILE_CACHE ${chosen} cannot be used (${(err as Error).message})`,
      });
    }
    return;
  }
  if (typeof enableCompileCache !== 'function') return;
  const { off } = enablePrivateDir(cwd);
  if (off !== undefined) log.event('compileCacheDisabled', { reason: off });
}

/**
 * The environment for another supervisor (an upgrade's new one), from this one's: without the
 * NODE_COMPILE_CACHE pounce set for its workers — Node reads it at start, so the compiled new
 * supervisor would hold its own modules' entries after all (see the top of this file); it chooses
 * the same directory again itself. A NODE_COMPILE_CACHE the user set is passed on as it was, unless
 * it names pounce's own directory: then it is what an older pounce, which read its modules from the
 * cache, handed to this supervisor, and it would stay with every later upgrade.
 */
export function supervisorEnv(env: NodeJS.ProcessEnv, cwd: string): NodeJS.ProcessEnv {
  const { NODE_COMPILE_CACHE: _ours, ...rest } = env;
  if (userChoice === undefined || candidates(cwd).includes(path.resolve(cwd, userChoice))) return rest;
  return { ...rest, NODE_COMPILE_CACHE: userChoice };
}
