// What every signal does in every state of the supervisor. The supervisor looks its action up here
// and does exactly that action; nothing else decides what a signal means. `pounce reload`, `pounce
// stop` and `pounce scale` go through the same table as SIGHUP, SIGTERM and SIGTTIN/SIGTTOU.

import type { PhaseName } from './phase.ts';

export type SupervisorSignal = 'SIGHUP' | 'SIGTERM' | 'SIGINT' | 'SIGTTIN' | 'SIGTTOU' | 'SIGUSR2';

export type Action =
  /** Start a reload now. */
  | 'reload'
  /** A reload is running: queue one more to run after it (any number of requests share it). */
  | 'queueReload'
  /** Graceful shutdown. */
  | 'shutdown'
  /** Abort the running reload (its new workers drain with everyone), then graceful shutdown. */
  | 'abortReloadAndShutdown'
  /** The second SIGTERM/SIGINT: kill every worker and exit 1. */
  | 'exitNow'
  /** Change the wanted number of workers by one (never below 1); applied once serving again. */
  | 'scaleUp'
  | 'scaleDown'
  /** Upgrade pounce itself: a new supervisor from the pounce and Node on disk takes over (src/upgrade/). */
  | 'upgrade'
  | 'ignore';

/** Stopping and stopped: only a second SIGTERM/SIGINT does something (exits at once). */
const WINDING_DOWN: Readonly<Record<SupervisorSignal, Action>> = {
  SIGHUP: 'ignore',
  SIGTERM: 'exitNow',
  SIGINT: 'exitNow',
  SIGTTIN: 'ignore',
  SIGTTOU: 'ignore',
  SIGUSR2: 'ignore',
};

// SIGUSR2 upgrades pounce itself. Only a serving server upgrades: while starting or reloading the
// generation to hand over is not settled, and a stopping server has nothing to hand over.
export const SIGNAL_TABLE: Readonly<Record<PhaseName, Readonly<Record<SupervisorSignal, Action>>>> = {
  // A reload before the first generation is up has nothing to replace.
  starting: {
    SIGHUP: 'ignore',
    SIGTERM: 'shutdown',
    SIGINT: 'shutdown',
    SIGTTIN: 'scaleUp',
    SIGTTOU: 'scaleDown',
    SIGUSR2: 'ignore',
  },
  serving: {
    SIGHUP: 'reload',
    SIGTERM: 'shutdown',
    SIGINT: 'shutdown',
    SIGTTIN: 'scaleUp',
    SIGTTOU: 'scaleDown',
    SIGUSR2: 'upgrade',
  },
  // Any number of SIGHUPs during a reload queue exactly one more reload: the code on disk may have
  // changed again after the running reload imported it.
  reloading: {
    SIGHUP: 'queueReload',
    SIGTERM: 'abortReloadAndShutdown',
    SIGINT: 'abortReloadAndShutdown',
    SIGTTIN: 'scaleUp',
    SIGTTOU: 'scaleDown',
    SIGUSR2: 'ignore',
  },
  // The second SIGTERM/SIGINT: the user means it.
  stopping: WINDING_DOWN,
  stopped: WINDING_DOWN,
};
