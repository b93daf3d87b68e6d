// Changing how many workers the server wants (SIGTTIN/SIGTTOU, `pounce scale`). The wanted count
// stays the supervisor's, and the workers are brought to it by its one reconcile step; this file
// decides what a request to scale means in each phase and what happens when new workers cannot
// start.

import type { Logger } from '../log/logger.ts';
import type { ScaleOutcome, SupervisorEvents } from './events.ts';
import type { PhaseName } from './phase.ts';
import type { WorkerHandle } from './worker-handle.ts';

/** The most workers a scale sets (the `workers` option's own limit). */
const MAX_WORKERS = 1024;

/** What scaling needs from the supervisor. */
export interface ScaleHost {
  readonly log: Logger;
  phase(): PhaseName;
  workersWanted(): number;
  setWorkersWanted(workers: number): void;
  /** Brings the serving generation to the wanted number; returns the workers it spawned. */
  reconcile(): WorkerHandle[];
  /** Workers of the serving generation that are running. */
  running(): number;
  emit<E extends keyof SupervisorEvents>(event: E, ...args: SupervisorEvents[E]): boolean;
}

/**
 * Sets the number of workers (at least 1). Serving: new workers join the serving generation (the
 * promise settles when they are ready), surplus ones drain as in a reload (the promise settles
 * when they were told to). Starting or reloading: the number applies once serving again.
 */
export async function scaleTo(host: ScaleHost, workers: number, via: string): Promise<ScaleOutcome> {
  const { log } = host;
  const phase = host.phase();
  if (phase === 'stopping' || phase === 'stopped') {
    log.event('signalIgnored', { signal: via, state: phase });
    return { ok: false, reason: `the server is ${phase}` };
  }
  const previous = host.workersWanted();
  const wanted = Math.max(1, Math.min(MAX_WORKERS, Math.trunc(workers)));
  if (wanted === previous) {
    log.event('scaleUnchanged', { via, workers: wanted, minimum: workers < 1 });
    return { ok: true, workers: wanted, previous };
  }
  host.setWorkersWanted(wanted);
  log.event('scaling', { via, previous, workers: wanted });
  host.emit('scaled', { workers: wanted, previous });
  if (phase !== 'serving') {
    log.event('scaleDeferred', { workers: wanted, state: phase });
    return { ok: true, workers: wanted, previous };
  }
  // A new worker that cannot start (broken code on disk) is not a crash to restart in a loop: it is
  // stopped and the wanted count goes back down by one.
  let failed = 0;
  await Promise.all(
    host.reconcile().map((worker) =>
      worker.ready.catch(() => {
        // A worker pounce itself retired meanwhile (a second scale) did not fail.
        if (worker.exitExpected) return;
        failed++;
        worker.kill();
      }),
    ),
  );
  if (failed === 0) return { ok: true, workers: wanted, previous };
  if (host.phase() === 'serving') {
    const before = host.workersWanted();
    host.setWorkersWanted(Math.max(1, before - failed));
    host.emit('scaled', { workers: host.workersWanted(), previous: before });
  }
  return {
    ok: false,
    reason: `${failed} new worker(s) failed to start (see the server's log); running ${host.running()}`,
  };
}
