// SCHED_IDLE, Linux's scheduling policy for work that should only use otherwise idle CPU: a thread
// under it runs when no normal thread wants the core, and any normal thread that wakes up takes the
// core from it at once. A booting worker uses it (supervisor/boot-priority.ts): nice 19 alone was
// not enough — the kernel lets a running nice-19 thread finish a slice before a woken worker gets
// the core, and in the bench the second after a reload measured p99 1.55× steady with nice 19
// against 1.38× with SCHED_IDLE (the notes of issue 15).
//
// Node has no call for scheduling policies, so util-linux's chrt sets it, on every thread of a
// process (`--all-tasks`). Used only where chrt exists at a fixed path (system-tool.ts); where it
// does not, or fails, the worker boots at nice 19 alone.

import { systemTool } from './system-tool.ts';

const { spawnSync } = process.getBuiltinModule('node:child_process');
const { readdirSync, readFileSync } = process.getBuiltinModule('node:fs');

const CHRT_PATHS = ['/usr/bin/chrt', '/bin/chrt'];
/** SCHED_IDLE in linux/sched.h (field 41, `policy`, of /proc/PID/task/TID/stat). */
export const SCHED_IDLE = 5;

/** The chrt executable, or undefined when this host has none. */
export function chrtPath(): string | undefined {
  return systemTool(CHRT_PATHS);
}

/**
 * Sets every thread of `pid` to SCHED_IDLE (`idle`) or back to the normal policy (`normal`). Threads
 * it starts later inherit the policy of the thread that starts them. False if chrt is missing or failed.
 */
export function setPolicy(pid: number, policy: 'idle' | 'normal'): boolean {
  const tool = chrtPath();
  if (!tool) return false;
  const result = spawnSync(
    tool,
    [policy === 'idle' ? '--idle' : '--other', '--all-tasks', '--pid', '0', String(pid)],
    {
      stdio: 'ignore',
      timeout: 5_000,
    },
  );
  return result.status === 0;
}

/** The scheduling policy of every thread of `pid` (threads that end meanwhile are left out). */
export function threadPolicies(pid: number | 'self'): number[] {
  return readdirSync(`/proc/${pid}/task`).flatMap((tid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      return [Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[38])];
    } catch {
      return [];
    }
  });
}
