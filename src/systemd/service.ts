// What pounce tells systemd, and when (sd_notify(3)), for Type=notify with ExecReload=pounce reload
// and for Type=notify-reload (systemd sends SIGHUP itself and waits for RELOADING=1 … READY=1):
//
//   start         STATUS=starting N workers + EXTEND_TIMEOUT_USEC (startupTimeout may exceed
//                 TimeoutStartSec)
//   gen. 0 ready  READY=1 + STATUS=serving N workers, generation 0
//   reload        RELOADING=1 + MONOTONIC_USEC (CLOCK_MONOTONIC, which systemd compares with the time
//                 it sent SIGHUP) + STATUS + EXTEND_TIMEOUT_USEC
//   its outcome   READY=1 + STATUS, on success and on failure alike — systemd must never be left
//                 "reloading"; the failure is in STATUS and in the log
//   scale         STATUS with the new count
//   shutdown      STOPPING=1 + STATUS + EXTEND_TIMEOUT_USEC: the drain may legitimately run longer
//                 than TimeoutStopSec; systemd still kills pounce at pounce's own deadline
//   watchdog      WATCHDOG=1 every WATCHDOG_USEC/2 when systemd asks for it (WatchdogSec=)
//   upgrade       the old supervisor: MAINPID=<new pid> + STATUS, then nothing more (it is no longer
//                 the service); the new one, once it has taken over: READY=1 + STATUS. systemd
//                 accepts MAINPID= from the main pid (NotifyAccess=main suffices) for a process of
//                 the unit's cgroup, which the new supervisor, a child of the old, is.
//
// EXTEND_TIMEOUT_USEC only ever extends systemd's timeout, so sending pounce's own bound is safe
// whatever the unit configures.

import type { Config } from '../config/options.ts';
import { reloadBudgetMs } from '../deploy/timings.ts';
import type { Logger } from '../log/logger.ts';
import type { Supervisor } from '../supervisor/supervisor.ts';
import { type Notifier, openNotifier, type Transport } from './notify.ts';

/** Test hook: force one transport (`ffi` or `helper`). */
export const TRANSPORT_ENV = 'POUNCE_INTERNAL_NOTIFY_TRANSPORT';

export interface SystemdLink {
  /** Delivers what is still queued (the helper transport), at most `timeoutMs`. */
  flush(timeoutMs: number): Promise<void>;
  close(): void;
  /** An upgrade's cutover: `pid` is the service's main pid now; this process says nothing more. */
  handOver(pid: number): void;
  /** The cutover failed after handOver(): this process is the main pid again. */
  takeBack(): void;
}

export function workersText(n: number): string {
  return `${n} worker${n === 1 ? '' : 's'}`;
}

function monotonicUsec(): bigint {
  // process.hrtime is CLOCK_MONOTONIC on Linux, the clock systemd's MONOTONIC_USEC is read against.
  return process.hrtime.bigint() / 1000n;
}

function oneLine(text: string, max = 200): string {
  const line = text.split('\n')[0] ?? '';
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/**
 * Reads NOTIFY_SOCKET / WATCHDOG_USEC / WATCHDOG_PID (and removes them from `env`, so the workers
 * and the app never talk to systemd in pounce's name), and reports the supervisor's lifecycle.
 * Returns undefined when pounce does not run under a notify-type service.
 */
export function linkSystemd(
  supervisor: Supervisor,
  config: Config,
  log: Logger,
  env: NodeJS.ProcessEnv = process.env,
): SystemdLink | undefined {
  const socket = env.NOTIFY_SOCKET;
  const watchdogUsec = env.WATCHDOG_USEC;
  const watchdogPid = env.WATCHDOG_PID;
  const prefer = env[TRANSPORT_ENV] as Transport | undefined;
  delete env.NOTIFY_SOCKET;
  delete env.WATCHDOG_USEC;
  delete env.WATCHDOG_PID;
  delete env[TRANSPORT_ENV];
  if (!socket) return undefined;

  let warned = false;
  const opened = openNotifier(
    socket,
    (error) => {
      if (warned) return;
      warned = true;
      log.event('notifyFailed', { error });
    },
    prefer === 'ffi' || prefer === 'helper' ? prefer : undefined,
  );
  if (!opened.ok) {
    log.event('notifyUnavailable', { reason: opened.reason });
    return undefined;
  }
  log.event('notifyTransport', { transport: opened.notifier.transport });
  if (opened.notifier.transport === 'helper' && process.getuid?.() !== 0) log.event('notifyHelper');

  let stopping = false;
  /** Set once this process has handed the service over to a new supervisor (an upgrade). */
  let handedOver = false;
  const inner = opened.notifier;
  const notifier: Notifier = {
    transport: inner.transport,
    send: (state) => {
      if (!handedOver) inner.send(state);
    },
    flush: (timeoutMs) => inner.flush(timeoutMs),
    close: () => inner.close(),
  };
  const serving = () =>
    `serving ${workersText(supervisor.workersWanted)}, generation ${supervisor.generation}`;
  const usec = (ms: number) => ms * 1000;

  // A supervisor started by an upgrade links only once it serves and has taken over.
  if (supervisor.state === 'serving') notifier.send({ READY: 1, STATUS: serving() });
  else
    notifier.send({
      STATUS: `starting ${workersText(supervisor.workersWanted)}`,
      EXTEND_TIMEOUT_USEC: usec(reloadBudgetMs(config)),
    });
  supervisor.on('ready', () => notifier.send({ READY: 1, STATUS: serving() }));
  supervisor.on('reloadStarted', ({ generation, budgetMs }) =>
    notifier.send({
      RELOADING: 1,
      MONOTONIC_USEC: monotonicUsec().toString(),
      STATUS: `reloading: starting generation ${generation}`,
      EXTEND_TIMEOUT_USEC: usec(budgetMs),
    }),
  );
  supervisor.on('reloadSettled', (outcome) => {
    // A reload aborted by the shutdown: systemd already heard STOPPING=1.
    if (stopping) return;
    notifier.send({
      READY: 1,
      STATUS: outcome.ok ? serving() : `${serving()}; reload failed: ${oneLine(outcome.reason)}`,
    });
  });
  supervisor.on('scaled', () => {
    if (supervisor.state === 'serving') notifier.send({ STATUS: serving() });
  });
  supervisor.on('stopping', ({ budgetMs }) => {
    stopping = true;
    notifier.send({
      STOPPING: 1,
      STATUS: `stopping: draining ${workersText(supervisor.workersWanted)}`,
      EXTEND_TIMEOUT_USEC: usec(budgetMs),
    });
  });

  // sd_watchdog_enabled(3): WATCHDOG_PID, when set, names the process that must ping.
  let watchdog: NodeJS.Timeout | undefined;
  const interval = Number(watchdogUsec) / 2000;
  if (
    watchdogUsec &&
    Number.isFinite(interval) &&
    interval > 0 &&
    (!watchdogPid || watchdogPid === String(process.pid))
  ) {
    log.event('watchdogEnabled', { intervalMs: Math.round(interval) });
    watchdog = setInterval(() => notifier.send({ WATCHDOG: 1 }), Math.max(1, Math.round(interval)));
    watchdog.unref();
  }

  return {
    flush: (timeoutMs) => notifier.flush(timeoutMs),
    close() {
      clearInterval(watchdog);
      notifier.close();
    },
    handOver(pid) {
      notifier.send({ MAINPID: pid, STATUS: `upgrading: pid ${pid} takes over` });
      handedOver = true;
    },
    takeBack() {
      handedOver = false;
      notifier.send({ MAINPID: process.pid, STATUS: serving() });
    },
  };
}
