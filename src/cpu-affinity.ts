// Which CPUs a process's threads may run on, read from /proc and set through util-linux's taskset
// (Node has no call for CPU affinity; system-tool.ts finds it). A worker that boots while busy
// workers serve is held to a part of the CPUs until it listens (supervisor/boot-cpus.ts); where
// taskset is missing or fails, nothing is held anywhere.

import { systemTool } from './system-tool.ts';

const { spawnSync } = process.getBuiltinModule('node:child_process');
const { readdirSync, readFileSync } = process.getBuiltinModule('node:fs');

const TASKSET_PATHS = ['/usr/bin/taskset', '/bin/taskset'];

/** The taskset executable, or undefined when this host has none. */
export function tasksetPath(): string | undefined {
  return systemTool(TASKSET_PATHS);
}

/**
 * The CPUs `task` may run on as /proc lists them ("0-3", "0,2"), or undefined without /proc.
 * `task`: a pid (its main thread), `self`, or `PID/task/TID` for one thread.
 */
export function allowedCpus(task: number | string): string | undefined {
  try {
    return /^Cpus_allowed_list:\s*(\S+)$/m.exec(readFileSync(`/proc/${task}/status`, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

/** The CPU list of every thread of `pid` (threads that end meanwhile are left out). */
export function threadCpus(pid: number | 'self'): string[] {
  let threads: string[];
  try {
    threads = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  return threads.flatMap((tid) => allowedCpus(`${pid}/task/${tid}`) ?? []);
}

/** The CPU numbers of a /proc CPU list ("0-2,5" → 0, 1, 2, 5), or undefined if it is not one. */
export function cpuNumbers(list: string): number[] | undefined {
  const numbers: number[] = [];
  for (const part of list.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) return undefined;
    for (let n = Number(m[1]); n <= Number(m[2] ?? m[1]); n++) numbers.push(n);
  }
  return numbers.length ? numbers : undefined;
}

/** True if two CPU lists name the same CPUs ("2-3" and "2,3"). */
export function sameCpus(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  return String(cpuNumbers(a)) === String(cpuNumbers(b));
}

/**
 * Holds every thread of `pid` to the CPUs of `list` (threads it starts later inherit the list of the
 * thread that starts them). False if taskset is missing or failed.
 */
export function setCpus(pid: number, list: string): boolean {
  const path = tasksetPath();
  if (!path) return false;
  const result = spawnSync(path, ['--all-tasks', '--pid', '--cpu-list', list, String(pid)], {
    stdio: 'ignore',
    timeout: 5_000,
  });
  return result.status === 0;
}
