// The process harness shared by the tests (test/helpers) and the bench (bench/lib/procs.ts): every
// child they start leads its own process group (spawned detached), so one kill(-pgid) reaches the
// server and every worker it forked. Groups are remembered until released and SIGKILLed when this
// process exits for any reason, so no server outlives the run that started it. It lives under bench/
// because the bench must not import from test/; the tests import it from here.

import { readFileSync } from 'node:fs';

/** Sends `signal` to the whole process group `pgid`; a group that is already gone is fine. */
export function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

const liveGroups = new Set<number>();

/** SIGKILLs every group still remembered (synchronous: runs from the 'exit' handler). */
export function killTrackedGroups(): void {
  for (const pgid of liveGroups) killGroup(pgid, 'SIGKILL');
  liveGroups.clear();
}

process.on('exit', killTrackedGroups);

/** Remembers `pgid` until the returned function is called (once the leader exited and its group was killed). */
export function trackGroup(pgid: number): () => void {
  liveGroups.add(pgid);
  return () => liveGroups.delete(pgid);
}

/** True while `pid` exists (a zombie counts: use hasExited to wait for an exit). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * True once `pid` has exited: gone, or a zombie nobody has reaped yet (a supervisor replaced by an
 * upgrade is re-parented, and what it is re-parented to may reap late or never).
 */
export function hasExited(pid: number): boolean {
  if (!isAlive(pid)) return true;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

/** Variables of the caller's own environment that would configure the server under test. */
const CONFIGURING = new Set([
  'NODE_OPTIONS',
  'NODE_COMPILE_CACHE',
  'PORT',
  'HOST',
  'WEB_CONCURRENCY',
  'SHUTDOWN_TIMEOUT',
  'WORKERS',
]);
const configures = (key: string) =>
  key.startsWith('POUNCE_') || key.startsWith('PM2_') || CONFIGURING.has(key);

/**
 * The environment for a child: this process's own minus anything that would configure a server,
 * then `extra` on top (an `undefined` value removes the variable).
 */
export function scrubbedEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!configures(key)) env[key] = value;
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}
