// A worker started while others serve boots at a low CPU priority (see supervisor/boot-priority.ts)
// and takes its normal priority back right before it listens: from then on it serves requests.
// Nice values are per thread on Linux, and threads inherit the priority of the thread that started
// them, so every thread of the process is set back (V8's, libuv's), not only the main one.

import { readdirSync } from 'node:fs';
import os from 'node:os';

let pending: number | undefined;

/** The priority to take back before listening (WorkerInit.bootPriority); undefined: not lowered. */
export function bootedAtLowPriority(priority: number | undefined): void {
  pending = priority;
}

/** Sets every thread back to the priority the supervisor gave; once, and a no-op when not lowered. */
export function restoreBootPriority(): void {
  if (pending === undefined) return;
  const priority = pending;
  pending = undefined;
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
