// A worker process, started by the supervisor through Node's cluster (process mode). The worker
// itself is run-worker.ts; this entry point adds what belongs to a process: its birth information
// from the environment and its signals.

import { WORKER_INIT_ENV } from '../ipc/messages.ts';
import { processEndpoint } from './endpoint.ts';
import { parseWorkerInit } from './init.ts';
import { runWorker } from './run-worker.ts';

const parsed = process.send ? parseWorkerInit(process.env[WORKER_INIT_ENV]) : undefined;
if (typeof parsed !== 'object') {
  process.stderr.write(
    `pounce: ${parsed ?? 'the worker entry point is started by the pounce supervisor, not directly'}\n`,
  );
  process.exit(2);
}
// The app must not see pounce's internal variable (nor pass it on to its own children).
delete process.env[WORKER_INIT_ENV];

// Signals sent to the worker itself: Ctrl-C reaches the whole foreground process group, systemd's
// default KillMode=control-group signals every process of the unit, and an operator may signal one
// worker to have it replaced. The supervisor tells these apart (it was signalled too, or not), so
// the worker only reports the signal. Without a supervisor it drains and exits on its own. A second
// signal exits at once. (Installed before the app loads, as before: a signal during the start is
// reported too.)
let signalled = false;
let worker: Awaited<ReturnType<typeof runWorker>> | undefined;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (signalled) process.exit(1);
    signalled = true;
    if (process.connected) {
      processEndpoint.send({ type: 'signalled', signal });
      return;
    }
    if (worker) worker.shutdownNow();
    else process.exit(0);
  });
}
// SIGHUP reloads, SIGTTIN/SIGTTOU scale and SIGUSR2 upgrades: orders for the supervisor. Sent to the
// whole process group (a terminal hang-up, `kill -HUP -PGID`) they must not kill (SIGHUP's and
// SIGUSR2's default action) or stop (SIGTTIN/SIGTTOU's) a worker with requests in flight; the
// supervisor acts on them.
for (const signal of ['SIGHUP', 'SIGTTIN', 'SIGTTOU', 'SIGUSR2'] as const) process.on(signal, () => {});

worker = await runWorker(parsed, processEndpoint);
