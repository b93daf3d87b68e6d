// A worker started while others serve boots at a low CPU priority (see supervisor/boot-priority.ts)
// and takes its normal priority back right before it listens: from then on it serves requests.
// Nice values and scheduling policies are per thread on Linux, and threads inherit them from the
// thread that starts them, so every thread of the process is set back (V8's, libuv's), not only
// the main one. The same for the CPUs of a worker held to part of them for its boot because the
// serving workers were busy (supervisor/boot-cpus.ts): it serves on the supervisor's.

import { allowedCpus, sameCpus, setCpus, threadCpus } from '../cpu-affinity.ts';
import { pounceError } from '../errors.ts';
import type { BootCpus } from '../ipc/messages.ts';
import { SCHED_IDLE, setPolicy, threadPolicies } from '../sched-idle.ts';

const { readdirSync } = process.getBuiltinModule('node:fs');
const os = process.getBuiltinModule('node:os');

let pending: number | undefined;
let pendingCpus: BootCpus | undefined;

/**
 * The priority to take back before listening (WorkerInit.bootPriority); undefined: not lowered.
 * A thread the supervisor's SCHED_IDLE missed (started by Node while chrt went through the threads)
 * is put under it too, so that the whole boot uses idle CPU only; the same for the boot's CPUs.
 */
export function bootedAtLowPriority(priority: number | undefined, cpus?: BootCpus): void {
  pending = priority;
  pendingCpus = priority === undefined ? undefined : cpus;
  if (priority === undefined || process.platform !== 'linux') return;
  const policies = readPolicies();
  if (policies.includes(SCHED_IDLE) && policies.some((p) => p !== SCHED_IDLE)) setPolicy(process.pid, 'idle');
  // Held (the main thread is, taskset sets it first) and a thread that was not: hold it too.
  if (
    cpus &&
    sameCpus(allowedCpus('self'), cpus.boot) &&
    threadCpus('self').some((l) => !sameCpus(l, cpus.boot))
  )
    setCpus(process.pid, cpus.boot);
}

/**
 * Sets every thread back to the priority (and the CPUs) the supervisor gave; once, and a no-op when
 * not lowered. Throws if a thread stays under SCHED_IDLE or on the boot's CPUs: such a worker must
 * not serve (its requests would wait for idle CPU, or share part of the cores), so its start fails
 * and the old generation keeps serving.
 */
export function restoreBootPriority(): void {
  if (pending === undefined) return;
  const priority = pending;
  const cpus = pendingCpus;
  pending = undefined;
  pendingCpus = undefined;
  // The policy first: under SCHED_IDLE the nice value does not count, and leaving SCHED_IDLE is
  // allowed to the same rights as the nice value (CAP_SYS_NICE or RLIMIT_NICE).
  if (readPolicies().includes(SCHED_IDLE)) {
    setPolicy(process.pid, 'normal');
    if (readPolicies().includes(SCHED_IDLE))
      throw pounceError('WORKER_BOOT_PRIORITY', { what: 'SCHED_IDLE' });
  }
  // (No /proc: threadCpus is empty, and the supervisor could not have held anything either.)
  if (cpus && threadCpus('self').some((list) => !sameCpus(list, cpus.serve))) {
    setCpus(process.pid, cpus.serve);
    if (threadCpus('self').some((list) => !sameCpus(list, cpus.serve)))
      throw pounceError('WORKER_BOOT_PRIORITY', { what: `the CPUs ${cpus.serve}` });
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
