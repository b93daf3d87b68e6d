// A worker process: loads the app, runs its startup hooks, serves on the supervisor's listening
// socket (through Node's cluster), and follows the supervisor's commands over IPC.

import { loadApp, resolveAppSpec } from '../app/load.ts';
import { errorText } from '../app/shape.ts';
import { PounceError } from '../errors.ts';
import {
  dispatch,
  type FromWorker,
  type Handlers,
  type ToWorker,
  WORKER_INIT_ENV,
  type WorkerInit,
} from '../ipc/messages.ts';
import { createLogger } from '../log/logger.ts';
import {
  type RunningServer,
  runShutdownHooks,
  runStartupHooks,
  startServer,
  withStartupTimeout,
} from '../server/run-server.ts';

const init = JSON.parse(process.env[WORKER_INIT_ENV] ?? 'null') as WorkerInit | null;
if (!init || !process.send) {
  process.stderr.write('pounce: the worker entry point is started by the pounce supervisor, not directly\n');
  process.exit(2);
}
// The app must not see pounce's internal variable (nor pass it on to its own children).
delete process.env[WORKER_INIT_ENV];

const { config, workerId } = init;
const log = createLogger(config).child({ generation: init.generation });
const send = (message: FromWorker) => process.send?.(message);

let running: RunningServer | undefined;
let exitAllowed: () => void = () => {};
const exitPermission = new Promise<void>((resolve) => {
  exitAllowed = resolve;
});

/** Drain, report, wait for the supervisor's go-ahead (see `exit` in ipc/messages.ts), then exit. */
async function drainAndExit(reason: 'reload' | 'shutdown', code = 0): Promise<never> {
  if (running) {
    const drain = running.drain(reason);
    send({ type: 'draining', connections: running.core.connectionCount });
    const { forced } = await drain;
    send({ type: 'drained', forced });
    await exitPermission;
    await runShutdownHooks(config.shutdownHookTimeout, log);
  }
  process.exit(code);
}

const handlers: Handlers<ToWorker> = {
  drain: (message) => {
    void drainAndExit(message.reason);
  },
  exit: () => exitAllowed(),
  stats: (message) =>
    send({ type: 'stats', requestId: message.requestId, connections: running?.core.connectionCount ?? 0 }),
};
process.on('message', (message) => dispatch(handlers, message));

// Signals sent to the worker itself: Ctrl-C reaches the whole foreground process group, systemd's
// default KillMode=control-group signals every process of the unit, and an operator may signal one
// worker to have it replaced. The supervisor tells these apart (it was signalled too, or not), so
// the worker only reports the signal. Without a supervisor it drains and exits on its own. A second
// signal exits at once.
let signalled = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (signalled) process.exit(1);
    signalled = true;
    if (process.connected) {
      send({ type: 'signalled', signal });
      return;
    }
    exitAllowed();
    void drainAndExit('shutdown');
  });
}
// The supervisor is gone (killed with SIGKILL, crashed): exit now rather than serve unsupervised.
process.on('disconnect', () => process.exit(0));

try {
  running = await withStartupTimeout(
    (async () => {
      const { handler } = await loadApp(resolveAppSpec(init.app, init.cwd), config.interface);
      await runStartupHooks();
      return startServer(handler, config, log, workerId);
    })(),
    config.startupTimeout,
    `Worker ${workerId} starting the app`,
  );
  send({ type: 'ready', url: running.url });
} catch (err) {
  const code = err instanceof PounceError ? err.code : 'POUNCE_ERR_WORKER';
  const message: FromWorker = {
    type: 'failed',
    code,
    message: err instanceof PounceError ? err.message : errorText(err),
  };
  // Exit once the message has left; a supervisor that is already gone must not keep us alive.
  if (!process.send?.(message, undefined, {}, () => process.exit(1))) process.exit(1);
}
