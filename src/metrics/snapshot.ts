// What a worker reports about itself to the supervisor (over IPC, in `metrics` and `stats`
// messages): its cumulative request histogram and its process figures. Plain numbers only, so it
// crosses IPC as JSON; the supervisor turns it into Prometheus metrics (see server-metrics.ts).

/**
 * Bucket bounds (seconds) of http_server_request_duration_seconds: the ones the OpenTelemetry HTTP
 * semantic conventions advise for http.server.request.duration.
 */
export const DURATION_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
] as const;

/** One (method, status code) series of the request histogram. */
export interface RequestSeries {
  method: string;
  status: number;
  /**
   * Requests per bucket, NOT cumulative: counts[i] took at most DURATION_BUCKETS[i] seconds and
   * more than the bound before it; the last entry counts those slower than every bound.
   */
  counts: number[];
  /** Total seconds. */
  sum: number;
}

export interface WorkerMetricsSnapshot {
  /**
   * Increases with every snapshot the worker takes: of two snapshots of one worker the supervisor
   * keeps the higher (a reply to a status request and a periodic push may cross).
   */
  seq: number;
  /**
   * Cumulative since the worker started (these only grow). Empty without the `metrics` option: then
   * requests are not measured at all.
   */
  requests: RequestSeries[];
  /** The last complete second (with `metrics`), for `pounce top`: requests and their histogram. */
  window: { requests: number; counts: number[] } | null;
  /** Requests received whose response has not closed yet (null without `metrics`). */
  inFlight: number | null;
  connections: number;
  rssBytes: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  /** Event-loop utilisation (0..1) since the previous snapshot. */
  elu: number;
  /** Event-loop delay since the previous snapshot, seconds: mean and maximum (0 without `metrics`). */
  loopDelayMean: number;
  loopDelayMax: number;
}

/** Adds the request series of `from` into `into` (the supervisor's totals of retired workers). */
export function addRequests(into: RequestSeries[], from: readonly RequestSeries[]): void {
  for (const series of from) {
    const same = into.find((s) => s.method === series.method && s.status === series.status);
    if (!same) {
      into.push({
        method: series.method,
        status: series.status,
        counts: [...series.counts],
        sum: series.sum,
      });
      continue;
    }
    for (let i = 0; i < series.counts.length; i++) same.counts[i] = (same.counts[i] ?? 0) + series.counts[i]!;
    same.sum += series.sum;
  }
}

export function requestTotal(requests: readonly RequestSeries[]): number {
  let n = 0;
  for (const s of requests) for (const c of s.counts) n += c;
  return n;
}

/** Per-bucket (non-cumulative) counts of every series added together. */
export function bucketTotals(requests: readonly RequestSeries[]): number[] {
  const totals = new Array<number>(DURATION_BUCKETS.length + 1).fill(0);
  for (const s of requests) for (let i = 0; i < totals.length; i++) totals[i]! += s.counts[i] ?? 0;
  return totals;
}

/**
 * The quantile `q` (0..1) of a histogram given as per-bucket counts, interpolated linearly inside
 * its bucket (as Prometheus's histogram_quantile does); the slowest bucket answers its lower bound.
 * undefined when the histogram is empty.
 */
export function quantile(counts: readonly number[], q: number): number | undefined {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return undefined;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i]!;
    if (seen + c >= rank && c > 0) {
      const lower = i === 0 ? 0 : DURATION_BUCKETS[i - 1]!;
      if (i >= DURATION_BUCKETS.length) return lower;
      return lower + (DURATION_BUCKETS[i]! - lower) * ((rank - seen) / c);
    }
    seen += c;
  }
  return DURATION_BUCKETS[DURATION_BUCKETS.length - 1];
}
