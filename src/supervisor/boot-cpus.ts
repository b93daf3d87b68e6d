// A worker that boots while busy workers serve is held to part of the CPUs until it listens (the
// upper half of the supervisor's; one of two), on top of its low priority (boot-priority.ts).
// Even under SCHED_IDLE a boot spread over every core costs the serving workers: each time one
// wakes on a core the boot was using it pays a context switch and finds its caches cold. Measured
// under the bench's reload-under-load scenario (2 cores, SCHED_IDLE in both): p99 in the second
// after a reload 1.45, 1.37, 1.40× steady with the boot on every CPU, 1.26, 1.26, 1.18× on one.
//
// Only while the serving workers are busy: on an idle server there is nothing to protect, and two
// new workers booting on one core take twice as long (a reload of 2 workers measured 411 ms
// instead of 222 ms on an idle 2-core machine). So the supervisor keeps a running sample of how
// much CPU the serving workers' main threads (where requests are served) use — read from
// /proc/PID/schedstat at each watchdog tick, when a worker becomes ready and when one is spawned —
// and holds the boot to part of the CPUs only when they used at least BUSY_SHARE of the CPUs since
// the last sample. Without /proc, without taskset, or with a single CPU, nothing is held.

import { allowedCpus, cpuNumbers, tasksetPath } from '../cpu-affinity.ts';
import type { BootCpus } from '../ipc/messages.ts';

const { readFileSync } = process.getBuiltinModule('node:fs');

/**
 * The serving workers are busy when their main threads together used at least this share of the
 * supervisor's CPUs since the last sample. An idle server measures 0.00–0.01 of a CPU (timers,
 * heartbeats); under the bench's reload-under-load scenario (2 cores, one load generator thread)
 * 0.41–0.64, i.e. 0.2–0.3 of the 2 CPUs. A tenth (0.2 of a CPU on 2 cores) sits well between.
 */
export const BUSY_SHARE = 0.1;
/** A shorter interval than this is too noisy for a rate: the last rate is used instead. */
const MIN_INTERVAL_MS = 50;

interface Sample {
  at: number;
  ns: number;
  /** CPUs used (CPU-seconds per second) over the interval that ended at `at`; unknown after the first. */
  rate: number | undefined;
}

/** The CPU time the main thread of `pid` has used (ns), from /proc/PID/schedstat; undefined without it. */
function mainThreadNs(pid: number): number | undefined {
  try {
    const ns = Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]);
    return Number.isFinite(ns) ? ns : undefined;
  } catch {
    return undefined;
  }
}

export class ServingLoad {
  readonly #samples = new Map<number, Sample>();

  /**
   * Samples the serving workers `pids` and returns the CPUs they used together since their last
   * sample (workers sampled for the first time count 0). Workers no longer in `pids` are forgotten.
   * (The clock is process.uptime(): the global `performance` would load perf_hooks into the supervisor.)
   */
  sample(pids: readonly number[], now = process.uptime() * 1000): number {
    for (const pid of this.#samples.keys()) if (!pids.includes(pid)) this.#samples.delete(pid);
    let total = 0;
    for (const pid of pids) {
      const ns = mainThreadNs(pid);
      if (ns === undefined) continue;
      const last = this.#samples.get(pid);
      if (last && now - last.at < MIN_INTERVAL_MS) {
        total += last.rate ?? 0;
        continue;
      }
      const rate = last ? (ns - last.ns) / 1e6 / (now - last.at) : undefined;
      this.#samples.set(pid, { at: now, ns, rate });
      total += rate ?? 0;
    }
    return total;
  }

  /**
   * Where a worker spawned now boots: part of the CPUs if the serving workers `pids` are busy,
   * undefined (every CPU, as usual) if not or if this host cannot hold a process to CPUs.
   */
  bootCpus(pids: readonly number[]): { cpus: BootCpus; load: number } | undefined {
    if (!tasksetPath()) return undefined;
    const load = this.sample(pids);
    const serve = allowedCpus('self');
    const numbers = serve === undefined ? undefined : cpuNumbers(serve);
    if (serve === undefined || numbers === undefined || numbers.length < 2) return undefined;
    if (load < BUSY_SHARE * numbers.length) return undefined;
    return { cpus: { boot: bootHalf(numbers), serve }, load };
  }
}

/** The CPUs a held boot uses: the upper half of `cpus` (the serving workers keep the lower half to themselves). */
export function bootHalf(cpus: readonly number[]): string {
  return cpus.slice(cpus.length - Math.floor(cpus.length / 2)).join(',');
}
