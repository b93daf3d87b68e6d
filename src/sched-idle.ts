// SCHED_IDLE, Linux's scheduling policy for work that should only use otherwise idle CPU: a thread
// under it runs when no normal thread wants the core, and any normal thread that wakes up takes the
// core from it at once. A booting worker uses it (supervisor/boot-priority.ts): nice 19 alone was
// not enough — the kernel lets a running nice-19 thread finish a slice before a woken worker gets
// the core, and in the bench the second after a reload measured p99 1.55× steady with nice 19
// against 1.38× with SCHED_IDLE (the notes of issue 15).
//
// Node has no call for scheduling policies, so util-linux's chrt sets it, on every thread of a
// process (`--all-tasks`). Used only where chrt exists at a fixed path (never looked up in PATH:
// the supervisor may run as root); where it does not, or fails, the worker boots at nice 19 alone.
//
// The booting worker is also held to one CPU (util-linux's taskset, the same way): even on idle CPU
// only, a boot on every core costs the serving workers their caches and a context switch each time
// they wake; on one core the others serve undisturbed. Measured with SCHED_IDLE in both: p99 in
// the second after a reload 1.45, 1.37, 1.40× steady on every CPU, 1.26, 1.26, 1.18× on one.

import { spawnSync } from 'node:child_process';
import { accessSync, constants, readdirSync, readFileSync } from 'node:fs';

const CHRT_PATHS = ['/usr/bin/chrt', '/bin/chrt'];
const TASKSET_PATHS = ['/usr/bin/taskset', '/bin/taskset'];
/** SCHED_IDLE in linux/sched.h (field 41, `policy`, of /proc/PID/task/TID/stat). */
export const SCHED_IDLE = 5;

const found = new Map<string, string | undefined>();

/** The first executable of `paths` (Linux only; read once per tool). */
function tool(paths: string[]): string | undefined {
  const key = paths[0]!;
  if (!found.has(key)) {
    found.set(
      key,
      process.platform !== 'linux'
        ? undefined
        : paths.find((candidate) => {
            try {
              accessSync(candidate, constants.X_OK);
              return true;
            } catch {
              return false;
            }
          }),
    );
  }
  return found.get(key);
}

/** The chrt executable, or undefined when this host has none. */
export function chrtPath(): string | undefined {
  return tool(CHRT_PATHS);
}

/** The taskset executable, or undefined when this host has none. */
export function tasksetPath(): string | undefined {
  return tool(TASKSET_PATHS);
}

/** The CPUs a process may run on (`pid`: a pid, `self` or `PID/task/TID` for one thread), as /proc shows them ("0-3", "0,2"), or undefined. */
export function allowedCpus(pid: number | string): string | undefined {
  try {
    return /^Cpus_allowed_list:\s*(\S+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

/** The highest-numbered CPU of a /proc CPU list, if it names more than one CPU. */
export function oneOfSeveral(list: string): string | undefined {
  const numbers = list.split(/[,-]/).map(Number);
  if (numbers.length < 2 || numbers.some((n) => !Number.isInteger(n))) return undefined;
  return String(Math.max(...numbers));
}

/** Holds every thread of `pid` to the CPUs of `list` (taskset). False if taskset is missing or failed. */
export function setCpus(pid: number, list: string): boolean {
  const path = tasksetPath();
  if (!path) return false;
  const result = spawnSync(path, ['--all-tasks', '--pid', '--cpu-list', list, String(pid)], {
    stdio: 'ignore',
    timeout: 5_000,
  });
  return result.status === 0;
}

/**
 * Sets every thread of `pid` to SCHED_IDLE (`idle`) or back to the normal policy (`normal`). Threads
 * it starts later inherit the policy of the thread that starts them. False if chrt is missing or failed.
 */
export function setPolicy(pid: number, policy: 'idle' | 'normal'): boolean {
  const path = chrtPath();
  if (!path) return false;
  const result = spawnSync(
    path,
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
