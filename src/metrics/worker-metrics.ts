// A worker's figures for the supervisor: its process (memory, event loop) always — `pounce status`
// and `pounce top` show them — and, only with the `metrics` option, its requests (measured by
// RequestMetrics) and event-loop delay (sampled DELAY_SAMPLE_MS apart).
//
// With `metrics`, snapshots also go out every PUSH_INTERVAL_MS and once more right before the worker
// reports `drained` (after which it serves nothing), so the supervisor holds every request of a
// worker that leaves normally; a worker killed outright (SIGKILL, OOM) loses at most what it served
// since its last snapshot. Each push also closes the one-second window `pounce top` shows.

import type { EventLoopUtilization } from 'node:perf_hooks';
import { RequestMetrics } from './request-metrics.ts';
import { bucketTotals, type WorkerMetricsSnapshot } from './snapshot.ts';

const { performance } = process.getBuiltinModule('node:perf_hooks');

export const PUSH_INTERVAL_MS = 1_000;

type LoopSample = Pick<WorkerMetricsSnapshot, 'elu' | 'loopDelayMean' | 'loopDelayMax'>;
/**
 * The event-loop delay is measured by a timer due every DELAY_SAMPLE_MS: how late it runs is how long
 * the loop was busy. (Not perf_hooks' monitorEventLoopDelay: under load its per-iteration recording
 * cost about a tenth of the throughput in the bench.)
 */
const DELAY_SAMPLE_MS = 50;

export class WorkerMetrics {
  /** Only with the `metrics` option. */
  readonly requests: RequestMetrics | undefined;
  readonly #connections: () => number;
  #delaySum = 0;
  #delayMax = 0;
  #delayCount = 0;
  #elu: EventLoopUtilization = performance.eventLoopUtilization();
  #seq = 0;
  /** Bucket totals at the last push, and the difference over the second before it. */
  #atLastPush: number[] | undefined;
  #window: { requests: number; counts: number[] } | null = null;
  /** The event loop over the last push's second (with `metrics`). */
  #lastSecond: LoopSample | undefined;

  constructor(connections: () => number, measureRequests: boolean) {
    this.#connections = connections;
    if (!measureRequests) return;
    this.requests = new RequestMetrics();
    let last = performance.now();
    setInterval(() => {
      const now = performance.now();
      const late = Math.max(0, now - last - DELAY_SAMPLE_MS) / 1000;
      last = now;
      this.#delaySum += late;
      this.#delayCount++;
      if (late > this.#delayMax) this.#delayMax = late;
    }, DELAY_SAMPLE_MS).unref();
  }

  /** With `metrics`: pushes a snapshot through `send` every PUSH_INTERVAL_MS (unref'd). */
  startPushing(send: (snapshot: WorkerMetricsSnapshot) => void): void {
    if (!this.requests) return;
    setInterval(() => {
      const totals = bucketTotals(this.requests!.requests());
      const before = this.#atLastPush;
      const counts = before ? totals.map((n, i) => n - before[i]!) : totals;
      this.#window = { requests: counts.reduce((a, b) => a + b, 0), counts };
      this.#atLastPush = totals;
      this.#lastSecond = this.#sampleLoop();
      send(this.snapshot());
    }, PUSH_INTERVAL_MS).unref();
  }

  snapshot(): WorkerMetricsSnapshot {
    const memory = process.memoryUsage();
    // With pushes, the event loop is sampled over each push's second (a scrape just after a push
    // must not report a window of a few milliseconds); without, since the previous snapshot.
    const loop = this.#lastSecond ?? this.#sampleLoop();
    return {
      seq: ++this.#seq,
      requests: this.requests?.requests() ?? [],
      window: this.#window,
      inFlight: this.requests?.inFlight ?? null,
      connections: this.#connections(),
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
      heapTotalBytes: memory.heapTotal,
      ...loop,
    };
  }

  /** Event-loop utilisation and delay since the previous sample. */
  #sampleLoop(): LoopSample {
    const elu = performance.eventLoopUtilization(this.#elu);
    this.#elu = performance.eventLoopUtilization();
    const loopDelayMean = this.#delayCount > 0 ? this.#delaySum / this.#delayCount : 0;
    const loopDelayMax = this.#delayMax;
    this.#delaySum = 0;
    this.#delayMax = 0;
    this.#delayCount = 0;
    return { elu: elu.utilization, loopDelayMean, loopDelayMax };
  }
}
