// Directories pounce keeps things in that another local user must not control: the control socket
// directory, the compile cache, the pid file's directory. A directory is only as safe as the path
// to it: whoever can write to (or owns) a directory on the way can rename it away and put their own
// in its place. So every check here covers the whole path, and the directories pounce creates are
// created 0700 one level at a time, each checked with lstat (a symlink planted in a sticky /tmp is
// never followed into someone else's directory).

import type { Stats } from 'node:fs';
import { type PounceError, pounceError } from '../errors.ts';

const { lstatSync, mkdirSync, realpathSync } = process.getBuiltinModule('node:fs');
const path = process.getBuiltinModule('node:path');

const STICKY = 0o1000;
const GROUP_OR_WORLD_WRITABLE = 0o022;

function currentUid(): number | undefined {
  return typeof process.getuid === 'function' ? process.getuid() : undefined;
}

function unsafe(what: string, dir: string, reason: string, advice: string): PounceError {
  return pounceError('UNSAFE_DIR', { what, dir, reason, advice });
}

function lstatOrUndefined(p: string): Stats | undefined {
  try {
    return lstatSync(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Why `st` cannot be trusted as a directory on the way (owned by us or root, writable only by its owner unless sticky), or undefined. */
function untrustedReason(st: Stats, uid: number): string | undefined {
  if (!st.isDirectory()) return 'it is not a directory';
  if (st.uid !== uid && st.uid !== 0)
    return `it is owned by uid ${st.uid}, not by uid ${uid} (this user) or root`;
  if ((st.mode & GROUP_OR_WORLD_WRITABLE) !== 0 && (st.mode & STICKY) === 0)
    return `it is writable by other users (mode ${(st.mode & 0o7777).toString(8)}) and not sticky`;
  return undefined;
}

/** Why `st` is not a private directory of `uid` (a real directory it owns, writable by it alone), or undefined. */
function notPrivateReason(st: Stats, uid: number): string | undefined {
  if (st.isSymbolicLink()) return 'it is a symbolic link';
  if (!st.isDirectory()) return 'it is not a directory';
  if (st.uid !== uid) return `it is owned by uid ${st.uid}, not by uid ${uid} (this user)`;
  if ((st.mode & GROUP_OR_WORLD_WRITABLE) !== 0)
    return `it is writable by other users (mode ${(st.mode & 0o7777).toString(8)})`;
  return undefined;
}

export interface PathCheck {
  /** Names the directory in messages: "The control socket directory". */
  what: string;
  /** What the user can do about it, after the reason. */
  advice: string;
}

/**
 * Checks that every directory from / down to the existing directory `dir` is trustworthy: owned by
 * this user or root, and not writable by others unless sticky (like /tmp, where others cannot
 * rename or delete what is ours). Symbolic links on the way are resolved first, so /var/run → /run
 * is checked as /run. Throws POUNCE_ERR_UNSAFE_PATH naming the first one that is not.
 */
export function checkTrustedPath(dir: string, check: PathCheck): void {
  const uid = currentUid();
  if (uid === undefined) return; // no POSIX owners (Windows): nothing to compare
  const real = realpathSync(dir);
  const chain: string[] = [];
  for (let p = real; ; p = path.dirname(p)) {
    chain.unshift(p);
    if (path.dirname(p) === p) break;
  }
  for (const p of chain) {
    const reason = untrustedReason(lstatSync(p), uid);
    if (reason)
      throw unsafe(check.what, dir, p === real ? reason : `${p}, on its path: ${reason}`, check.advice);
  }
}

/**
 * Creates `dir` (and any missing parents) mode 0700, or reuses it, and checks that it is private to
 * this user: a real directory (not a symlink) owned by this uid and writable by nobody else, on a
 * trustworthy path (checkTrustedPath). With `create: false` a missing directory is reported as
 * 'missing' instead of created. Throws POUNCE_ERR_UNSAFE_PATH when the directory cannot be trusted.
 */
export function ensurePrivateDir(dir: string, check: PathCheck, create = true): 'ok' | 'missing' {
  const uid = currentUid();
  const target = path.resolve(dir);
  const missing: string[] = [];
  let existing = target;
  while (lstatOrUndefined(existing) === undefined) {
    missing.unshift(existing);
    const parent = path.dirname(existing);
    if (parent === existing) break;
    existing = parent;
  }
  if (missing.length > 0 && !create) return 'missing';
  if (uid === undefined) {
    if (create) mkdirSync(target, { recursive: true, mode: 0o700 });
    return 'ok';
  }
  // The part of the path that already existed must be trustworthy; a directory pounce is about to
  // reuse as its own (the target itself) must in addition be private, and must not be a symlink.
  if (existing === target) {
    const reason = notPrivateReason(lstatSync(target), uid);
    if (reason) throw unsafe(check.what, target, reason, check.advice);
  }
  checkTrustedPath(existing, check);
  for (const dirToMake of missing) {
    try {
      mkdirSync(dirToMake, { mode: 0o700 });
    } catch (err) {
      // Someone else created it between our lstat and mkdir: the check below decides.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const reason = notPrivateReason(lstatSync(dirToMake), uid);
    if (reason) throw unsafe(check.what, dirToMake, reason, check.advice);
  }
  return 'ok';
}
