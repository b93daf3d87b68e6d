// The supervisor's side of onServerEvent: turns the Supervisor's events into ServerEvents and sends
// them (IPC `event`, src/ipc/messages.ts) to every live worker, whose app listeners get them there
// (src/worker/main.ts). `drainStarted` needs no relay: each worker fires it itself when told to drain.

import type { Supervisor } from '../supervisor/supervisor.ts';

export function relayServerEvents(supervisor: Supervisor): void {
  // process.uptime() (monotonic), not performance.now(): the global `performance` would load Node's
  // perf_hooks into the supervisor for one subtraction.
  let startedAt = process.uptime();
  const seconds = () => Math.round((process.uptime() - startedAt) * 1000) / 1000;
  supervisor.on('reloadStarted', ({ generation }) => {
    startedAt = process.uptime();
    supervisor.tellWorkers({ type: 'reloadStarted', generation });
  });
  supervisor.on('reloadFinished', (outcome) =>
    supervisor.tellWorkers(
      outcome.ok
        ? { type: 'reloadFinished', ok: true, generation: outcome.generation, seconds: seconds() }
        : { type: 'reloadFinished', ok: false, reason: outcome.reason, seconds: seconds() },
    ),
  );
  supervisor.on('workerExited', ({ id, generation, reason }) => {
    if (reason === 'recycle') supervisor.tellWorkers({ type: 'workerRecycled', worker: id, generation });
  });
}
