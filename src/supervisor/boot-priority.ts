// A worker that boots while others serve (a reload's new generation, a replacement, a scale-up)
// competes with them for the CPU: starting Node, importing pounce and the app and compiling them
// takes a few hundred ms of CPU, and on a machine whose cores the serving workers use, that time
// came out of their requests' latency (p99 in the second after a reload was 1.4–2× steady). So such
// a worker boots at the lowest CPU priority, and sets its threads back to the supervisor's priority
// right before it listens (worker/boot-priority.ts): the serving workers win the CPU, the boot gets
// what is left, and the new worker serves at the same priority as the old.
//
// The lowest priority is nice 19 from the fork on, then SCHED_IDLE where util-linux's chrt can set
// it (sched-idle.ts): with nice 19 alone the kernel still lets a booting thread finish its slice
// before a woken serving worker gets the core, which measured 1.5–1.6× steady p99 in the second after
// a reload against 1.3–1.4× with SCHED_IDLE from the fork on.
//
// Only when the priority can be given back. Raising a priority again (a lower nice value, or
// leaving SCHED_IDLE) needs CAP_SYS_NICE (root has it) or an RLIMIT_NICE that allows it: an
// unprivileged process can lower a worker's priority but never restore it, and a worker left low
// would serve at that priority for its whole life. Without that right, workers boot at their
// normal priority, as before. Linux only: nice values and policies are per thread there, and the
// rights are read from /proc.

import { setCpus } from '../cpu-affinity.ts';
import { setPolicy } from '../sched-idle.ts';

const { readFileSync } = process.getBuiltinModule('node:fs');
const os = process.getBuiltinModule('node:os');

/** The nice value a booting worker runs at. */
export const BOOT_NICE = 19;
/** CAP_SYS_NICE's bit in the capability sets (linux/capability.h). */
const CAP_SYS_NICE = 23n;

let restorable: number | null | undefined;

/**
 * The priority a worker lowered for its boot gets back before it listens (this process's own), or
 * undefined when lowering is not used: not Linux, this process already at BOOT_NICE, or no right to
 * raise a priority again. Read once.
 */
export function bootPriority(): number | undefined {
  if (restorable === undefined) restorable = process.platform === 'linux' ? readRestorable() : null;
  return restorable ?? undefined;
}

function readRestorable(): number | null {
  try {
    const own = os.getPriority();
    if (own >= BOOT_NICE) return null;
    return mayRaiseTo(own) ? own : null;
  } catch {
    return null;
  }
}

/** True if this process (and so a worker it starts) may set a thread's nice value back down to `nice`. */
function mayRaiseTo(nice: number): boolean {
  const status = readFileSync('/proc/self/status', 'utf8');
  const effective = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  if (effective && (BigInt(`0x${effective}`) >> CAP_SYS_NICE) & 1n) return true;
  // RLIMIT_NICE: a nice value down to 20 - limit is allowed (setrlimit(2)).
  const limits = readFileSync('/proc/self/limits', 'utf8');
  const soft = /^Max nice priority\s+(\d+)/m.exec(limits)?.[1];
  return soft !== undefined && 20 - Number(soft) <= nice;
}

/**
 * Forks a worker that boots at the lowest priority: the calling thread (the supervisor's main
 * thread) runs at BOOT_NICE while it forks, so the child starts there from its first instruction,
 * and so does every thread Node starts in it (threads inherit the nice value of the thread that
 * starts them) — lowering the child after the fork left its first milliseconds at the normal
 * priority. Then every thread of the child is put under SCHED_IDLE where chrt can (it boots at
 * nice 19 where not). Nothing else is started at BOOT_NICE meanwhile: the fork is synchronous on
 * this thread, and libuv's other threads and the children started before keep their priority
 * (nice values are per thread). With `cpus` (a /proc CPU list), every thread of the child is also
 * held to those CPUs (boot-cpus.ts); the worker takes the supervisor's back before it listens.
 */
export function forkForBoot<T>(fork: () => T, pidOf: (child: T) => number | undefined, cpus?: string): T {
  const own = os.getPriority();
  os.setPriority(0, BOOT_NICE);
  let child: T;
  try {
    child = fork();
  } finally {
    // Allowed: bootPriority() found the right to raise a priority back before anything was lowered.
    os.setPriority(0, own);
  }
  const pid = pidOf(child);
  if (pid === undefined) return child;
  setPolicy(pid, 'idle');
  if (cpus !== undefined) setCpus(pid, cpus);
  return child;
}
