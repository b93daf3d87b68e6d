// What `pounce status` reports: the wire type of the control protocol's status answer, and how the
// supervisor's workers become it.

import type { WorkerMetricsSnapshot } from '../metrics/snapshot.ts';
import type { PhaseName } from './phase.ts';
import type { WorkerHandle } from './worker-handle.ts';

export interface WorkerStatus {
  id: number;
  pid: number;
  generation: number;
  /** starting, ready, draining, drained, stopped — or unresponsive while it misses its heartbeats. */
  state: string;
  connections: number | null;
  uptimeSeconds: number;
  /** Its latest figures (memory, event loop; requests with the `metrics` option): src/metrics/. */
  metrics?: WorkerMetricsSnapshot;
}

export interface StatusReport {
  pid: number;
  state: PhaseName;
  generation: number;
  /** The wanted number of workers (`workers`, changed by SIGTTIN/SIGTTOU and `pounce scale`). */
  workersWanted: number;
  url: string | undefined;
  uptimeSeconds: number;
  /** Unexpected worker exits and uncaught errors within the last minute. */
  crashesLastMinute: number;
  /** More than 5 of them: the server is in a crash loop (and keeps replacing workers). */
  crashLoop: boolean;
  workers: WorkerStatus[];
}

/** Each worker's line, with its open connections (asked over IPC; null if it does not answer). */
export async function workerStatuses(workers: Iterable<WorkerHandle>, now: number): Promise<WorkerStatus[]> {
  const statuses = await Promise.all(
    [...workers].map(async (w) => ({
      id: w.id,
      pid: w.pid,
      generation: w.generation,
      state: w.unresponsive && w.alive ? 'unresponsive' : w.state,
      connections: (await w.connections()) ?? null,
      uptimeSeconds: Math.round((now - w.startedAt) / 1000),
      ...(w.metrics ? { metrics: w.metrics } : {}),
    })),
  );
  return statuses.sort((a, b) => a.id - b.id);
}
