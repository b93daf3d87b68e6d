// What the supervisor tells the rest of pounce: the outcome of a reload or a scale, and its
// lifecycle events (the systemd integration, the upgrade module and the control socket listen).

import type { WorkerMetricsSnapshot } from '../metrics/snapshot.ts';
import type { RetireReason } from './worker-handle.ts';

export type ReloadOutcome = { ok: true; generation: number } | { ok: false; reason: string };
export type ScaleOutcome = { ok: true; workers: number; previous: number } | { ok: false; reason: string };

/** The supervisor's lifecycle, for the systemd integration (and anything else that watches it). */
export interface SupervisorEvents {
  /** Generation 0 is ready: the server serves. */
  ready: [{ generation: number; workers: number }];
  /** A reload began; it reaches its outcome within `budgetMs` (startupTimeout and slack). */
  reloadStarted: [{ generation: number; budgetMs: number }];
  /**
   * The reload reached its outcome: the new generation serves and the old one is told to drain, or
   * the reload failed. (The app's `reloadFinished` event is relayed from here, so that it reaches the
   * old workers before their drain starts.)
   */
  reloadFinished: [ReloadOutcome];
  /**
   * The reload's outcome is what clients see: after a success, every old worker has confirmed that it
   * stopped accepting (or a short bound passed), so the next connection reaches the new code.
   * `pounce reload` answers and systemd hears READY=1 here.
   */
  reloadSettled: [ReloadOutcome];
  /** The previous generation has drained after a successful reload. */
  reloadComplete: [{ generation: number; workers: number }];
  /** The shutdown began; the supervisor ends it within `budgetMs` (its own deadlines and slack). */
  stopping: [{ budgetMs: number }];
  /** The wanted number of workers changed. */
  scaled: [{ workers: number; previous: number }];
  /** SIGUSR2 asked for an upgrade of pounce itself (src/upgrade/ runs it). */
  upgradeSignal: [];
  /** A worker told to drain has closed (or cut, `forced`) its connections, `seconds` after the order. */
  workerDrained: [{ id: number; generation: number; seconds: number; forced: number }];
  /** A worker exited: why, and its last figures (src/metrics/). */
  workerExited: [
    {
      id: number;
      generation: number;
      reason: RetireReason | 'crash' | 'killed';
      metrics: WorkerMetricsSnapshot | undefined;
    },
  ];
}
