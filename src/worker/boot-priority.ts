// A worker started while others serve boots at a low CPU priority (see supervisor/boot-priority.ts)
// and takes its normal priority back right before it listens: from then on it serves requests.
// Nice values and scheduling policies are per thread on Linux, and threads inherit them from the
// thread that starts them, so every thread of the process is set back (V8's, libuv's), not only
// the main one.

import { pounceError } from '../errors.ts';
import { SCHED_IDLE, setPolicy, threadPolicies } from '../sched-idle.ts';

const { readdirSync } = process.getBuiltinModule('node:fs');
const os = process.getBuiltinModule('node:os');

let pending: number | undefined;

/**
 * The priority to take back before listening (WorkerInit.bootPriority); undefined: not lowered.
 * A thread the supervisor's SCHED_IDLE missed (started by Node while chrt went through the threads)
 * is put under it too, so that the whole boot uses idle CPU only.
 */
export function bootedAtLowPriority(priority: number | undefined): void {
  pending = priority;
  if (priority === undefined || process.platform !== 'linux') return;
  const policies = readPolicies();
  if (policies.includes(SCHED_IDLE) && policies.some((p) => p !== SCHED_IDLE)) setPolicy(process.pid, 'idle');
}

/**
 * Sets every thread back to the priority the supervisor gave; once, and a no-op when not lowered.
 * Throws if a thread stays under SCHED_IDLE: such a worker must not serve (its requests would wait
 * for idle CPU), so its start fails and the old generation keeps serving.
 */
export function restoreBootPriority(): void {
  if (pending === undefined) return;
  const priority = pending;
  pending = undefined;
  // The policy first: under SCHED_IDLE the nice value does not count, and leaving SCHED_IDLE is
  // allowed to the same rights as the nice value (CAP_SYS_NICE or RLIMIT_NICE).
  if (readPolicies().includes(SCHED_IDLE)) {
    setPolicy(process.pid, 'normal');
    if (readPolicies().includes(SCHED_IDLE)) throw pounceError('WORKER_BOOT_PRIORITY', {});
  }
  let threads: string[];
  try {
    threads = readdirSync('/proc/self/task');
  } catch {
    threads = [String(process.pid)];
  }
  for (const tid of threads) {
    try {
      os.setPriority(Number(tid), priority);
    } catch {
      // a thread that ended meanwhile
    }
  }
}

function readPolicies(): number[] {
  try {
    return threadPolicies('self');
  } catch {
    return []; // no /proc: nothing was lowered through it either
  }
}
