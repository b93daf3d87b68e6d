// What `pounce status --json` and `pounce top` show beyond the supervisor's own report: the last
// reload and its outcome, and figures for the whole server (requests per second and p99 over the
// last second, requests in flight — with the `metrics` option; memory and connections always).
// Kept outside the supervisor: it only listens to its events and reads its status report.

import { isoTime } from '../log/iso-time.ts';
import type { StatusReport } from '../supervisor/status.ts';
import type { Supervisor } from '../supervisor/supervisor.ts';
import { quantile } from './snapshot.ts';

export interface LastReload {
  /** ISO time the reload reached its outcome. */
  at: string;
  ok: boolean;
  /** From the order to the outcome. */
  seconds: number;
  /** The new generation (ok) or why it failed. */
  generation?: number;
  reason?: string;
}

export interface ServerFigures {
  /** Null without the `metrics` option (requests are not measured then). */
  requestsPerSecond: number | null;
  p99Seconds: number | null;
  inFlight: number | null;
  connections: number;
  rssBytes: number;
}

export type LiveStatus = StatusReport & { lastReload: LastReload | null; figures: ServerFigures };

export class StatusFigures {
  readonly #supervisor: Supervisor;
  #reloadStartedAt: number | undefined;
  lastReload: LastReload | null = null;

  constructor(supervisor: Supervisor) {
    this.#supervisor = supervisor;
    supervisor.on('reloadStarted', () => {
      // process.uptime() (monotonic), not performance.now(): see app/server-events-relay.ts.
      this.#reloadStartedAt = process.uptime();
    });
    supervisor.on('reloadFinished', (outcome) => {
      const started = this.#reloadStartedAt ?? process.uptime();
      const seconds = Math.round((process.uptime() - started) * 1000) / 1000;
      const at = isoTime(Date.now());
      this.lastReload = outcome.ok
        ? { at, ok: true, seconds, generation: outcome.generation }
        : { at, ok: false, seconds, reason: outcome.reason };
    });
  }

  async report(): Promise<LiveStatus> {
    const status = await this.#supervisor.status();
    return { ...status, lastReload: this.lastReload, figures: serverFigures(status) };
  }
}

function serverFigures(status: StatusReport): ServerFigures {
  const figures: ServerFigures = {
    requestsPerSecond: null,
    p99Seconds: null,
    inFlight: null,
    connections: 0,
    rssBytes: 0,
  };
  let counts: number[] | undefined;
  for (const { metrics: m, connections } of status.workers) {
    figures.connections += connections ?? 0;
    if (!m) continue;
    figures.rssBytes += m.rssBytes;
    if (m.inFlight !== null) figures.inFlight = (figures.inFlight ?? 0) + m.inFlight;
    if (!m.window) continue;
    figures.requestsPerSecond = (figures.requestsPerSecond ?? 0) + m.window.requests;
    counts = counts ? counts.map((n, i) => n + (m.window!.counts[i] ?? 0)) : [...m.window.counts];
  }
  if (counts) figures.p99Seconds = quantile(counts, 0.99) ?? null;
  return figures;
}
