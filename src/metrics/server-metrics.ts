// The supervisor's metrics: one Prometheus view of the whole server, built at each scrape from
//   - the supervisor's own lifecycle metrics (prom-client Counter/Histogram, fed by the
//     Supervisor's events: reloads, drains, worker exits),
//   - its state at the scrape (generation, workers by state, health),
//   - the latest snapshot of every live worker (asked for through supervisor.status()), and
//   - the totals of every worker that has exited.
// and merged with prom-client's cluster aggregation (AggregatorRegistry.aggregate).
//
// Why not prom-client's clusterMetrics(): it asks the workers alive at scrape time, so everything a
// worker counted disappears when it exits (siimon/prom-client#385) and rate() over a reload, a
// recycle or a crash goes wrong. Here the supervisor folds the last snapshot of each exiting worker
// into `retired`, so the request counters only ever grow: retired + live is monotonic because each
// worker's own counters are, and a worker is counted in exactly one of the two.
//
// `pounce upgrade` replaces the supervisor itself: the old one hands its counters (its requests and
// its own lifecycle counters and histograms, its predecessors' included) to the new one, which adds
// them to its own (see carried() and inherit(); the carrying is src/metrics/upgrade-carry.ts).
//
// prom-client is loaded only when the `metrics` option is set (see load()).

import type * as PromClient from 'prom-client';
import type { WorkerStatus } from '../supervisor/status.ts';
import type { Supervisor } from '../supervisor/supervisor.ts';
import { addRequests, DURATION_BUCKETS, type RequestSeries, type WorkerMetricsSnapshot } from './snapshot.ts';

type Prom = typeof PromClient;

/** The shape prom-client's getMetricsAsJSON() produces and AggregatorRegistry.aggregate() takes. */
export interface MetricJson {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  aggregator: 'sum';
  values: { value: number; labels: Record<string, string | number>; metricName?: string }[];
}

/**
 * What a supervisor has counted since the server started, its predecessors' (upgrades) included:
 * what an upgrade hands to the next supervisor. Cumulative: each one only grows.
 */
export interface CarriedCounters {
  /** The request histogram of every worker of these supervisors. */
  requests: RequestSeries[];
  /** Their own counters and histograms (reloads, drains, worker exits), as prom-client JSON. */
  lifecycle: MetricJson[];
}

const RELOAD_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
const DRAIN_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export class ServerMetrics {
  readonly #prom: Prom;
  readonly #supervisor: Supervisor;
  readonly #registry: PromClient.Registry;
  readonly #reloads: PromClient.Counter<'result'>;
  readonly #reloadDuration: PromClient.Histogram<'result'>;
  readonly #drainDuration: PromClient.Histogram;
  readonly #forced: PromClient.Counter;
  readonly #exits: PromClient.Counter<'reason'>;
  /** Request histogram of every worker that has exited. */
  readonly #retired: RequestSeries[] = [];
  /** Workers already folded into #retired: a status report taken before their exit must skip them. */
  readonly #exited = new Set<number>();
  /** What the previous supervisors counted (an upgrade's hand-over); replaced by each newer one. */
  #inherited: CarriedCounters = { requests: [], lifecycle: [] };
  /** Called when what carried() returns grows by more than a live worker's figures. */
  readonly #onRetired = new Set<() => void>();
  #reloadStartedAt: number | undefined;

  static async load(supervisor: Supervisor): Promise<ServerMetrics> {
    const prom = (await import('prom-client')) as Prom;
    return new ServerMetrics(prom, supervisor);
  }

  constructor(prom: Prom, supervisor: Supervisor) {
    this.#prom = prom;
    this.#supervisor = supervisor;
    const registry = new prom.Registry();
    this.#registry = registry;
    const registers = [registry];
    this.#reloads = new prom.Counter({
      name: 'pounce_reloads_total',
      help: 'Reloads by result (success: the new generation serves; failure: the old one kept serving).',
      labelNames: ['result'],
      registers,
    });
    this.#reloadDuration = new prom.Histogram({
      name: 'pounce_reload_duration_seconds',
      help: 'Time from the reload order to its outcome (the new generation ready and serving, or the failure).',
      labelNames: ['result'],
      buckets: RELOAD_BUCKETS,
      registers,
    });
    this.#drainDuration = new prom.Histogram({
      name: 'pounce_drain_duration_seconds',
      help: 'Time a retiring worker took to close its connections after it was told to drain.',
      buckets: DRAIN_BUCKETS,
      registers,
    });
    this.#forced = new prom.Counter({
      name: 'pounce_drain_forced_connections_total',
      help: 'Connections cut because a drain reached its deadline (reloadTimeout, shutdownTimeout).',
      registers,
    });
    this.#exits = new prom.Counter({
      name: 'pounce_worker_exits_total',
      help: 'Worker exits by reason: crash, fatal (uncaught exception), unresponsive, signal, recycle, scale, reload, shutdown, killed.',
      labelNames: ['reason'],
      registers,
    });
    for (const result of ['success', 'failure']) this.#reloads.inc({ result }, 0);
    this.#forced.inc(0);

    supervisor.on('reloadStarted', () => {
      this.#reloadStartedAt = performance.now();
    });
    supervisor.on('reloadFinished', (outcome) => {
      const seconds =
        this.#reloadStartedAt === undefined ? 0 : (performance.now() - this.#reloadStartedAt) / 1000;
      const result = outcome.ok ? 'success' : 'failure';
      this.#reloads.inc({ result });
      this.#reloadDuration.observe({ result }, seconds);
    });
    supervisor.on('workerDrained', ({ seconds, forced }) => {
      this.#drainDuration.observe(seconds);
      if (forced > 0) this.#forced.inc(forced);
    });
    supervisor.on('workerExited', ({ id, reason, metrics }) => {
      this.#exits.inc({ reason });
      this.#exited.add(id);
      if (metrics) addRequests(this.#retired, metrics.requests);
      this.#retiredChanged();
    });
  }

  /** `listener` runs after each worker exit and each inherit() (upgrade-carry.ts passes them on). */
  onRetired(listener: () => void): void {
    this.#onRetired.add(listener);
  }

  #retiredChanged(): void {
    for (const listener of this.#onRetired) listener();
  }

  /**
   * The counters of the supervisors before this one (from the previous supervisor of an upgrade).
   * Each hand-over is cumulative, so the newest replaces the one before.
   */
  inherit(counters: CarriedCounters): void {
    this.#inherited = counters;
    this.#retiredChanged();
  }

  /** Everything counted so far, with fresh figures from the live workers: for the next supervisor. */
  async carried(): Promise<CarriedCounters> {
    const { requests } = await this.#requests();
    const own = await this.#lifecycle();
    const lifecycle =
      this.#inherited.lifecycle.length === 0
        ? own
        : ((await this.#prom.AggregatorRegistry.aggregate([
            own,
            this.#inherited.lifecycle,
          ]).getMetricsAsJSON()) as unknown as MetricJson[]);
    return { requests, lifecycle };
  }

  async #lifecycle(): Promise<MetricJson[]> {
    return (await this.#registry.getMetricsAsJSON()) as unknown as MetricJson[];
  }

  /**
   * The request totals: the previous supervisors', every exited worker's, and every live worker's
   * latest (asked for now); and the status report they come from.
   */
  async #requests() {
    const report = await this.#supervisor.status();
    const live = report.workers.filter((w) => !this.#exited.has(w.id));
    const snapshots = live.filter((w): w is WorkerStatus & { metrics: WorkerMetricsSnapshot } => !!w.metrics);
    const requests: RequestSeries[] = [];
    addRequests(requests, this.#inherited.requests);
    addRequests(requests, this.#retired);
    for (const w of snapshots) addRequests(requests, w.metrics.requests);
    return { report, live, snapshots, requests };
  }

  get contentType(): string {
    return this.#registry.contentType;
  }

  /** The Prometheus exposition of the whole server, with fresh figures from every live worker. */
  async scrape(): Promise<string> {
    const { report, live, snapshots, requests } = await this.#requests();
    const state: MetricJson[] = [
      gauge('pounce_generation', 'The generation that serves (0 at start, +1 per reload attempt).', [
        { value: report.generation, labels: {} },
      ]),
      gauge('pounce_workers_wanted', 'The wanted number of workers.', [
        { value: report.workersWanted, labels: {} },
      ]),
      gauge(
        'pounce_workers',
        'Live workers by state and generation.',
        countBy(live, (w) => `${w.state}\0${w.generation}`).map(([key, value]) => {
          const [state, generation] = key.split('\0');
          return { value, labels: { state: state!, generation: generation! } };
        }),
      ),
      gauge(
        'pounce_up',
        'Health of the server: 1 while it serves (reloads included), 0 while starting, stopping or stopped.',
        [{ value: report.state === 'serving' || report.state === 'reloading' ? 1 : 0, labels: {} }],
      ),
      gauge(
        'pounce_state',
        'The supervisor state (1 for the current one).',
        ['starting', 'serving', 'reloading', 'stopping', 'stopped'].map((s) => ({
          value: s === report.state ? 1 : 0,
          labels: { state: s },
        })),
      ),
      gauge('pounce_crash_loop', '1 while workers crash more than 5 times a minute.', [
        { value: report.crashLoop ? 1 : 0, labels: {} },
      ]),
    ];
    const merged = this.#prom.AggregatorRegistry.aggregate([
      await this.#lifecycle(),
      this.#inherited.lifecycle,
      state,
      [requestHistogram(requests)],
      ...snapshots.map((w) => workerMetrics(w.id, w.generation, w.metrics)),
    ]);
    return merged.metrics();
  }
}

function gauge(name: string, help: string, values: MetricJson['values']): MetricJson {
  return { name, help, type: 'gauge', aggregator: 'sum', values };
}

function countBy<T>(items: readonly T[], key: (item: T) => string): [string, number][] {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return [...counts];
}

/** http_server_request_duration_seconds, in prom-client's histogram JSON (cumulative buckets). */
function requestHistogram(requests: readonly RequestSeries[]): MetricJson {
  const name = 'http_server_request_duration_seconds';
  const values: MetricJson['values'] = [];
  for (const s of requests) {
    const labels = { http_request_method: s.method, http_response_status_code: s.status };
    let cumulative = 0;
    for (let i = 0; i < s.counts.length; i++) {
      cumulative += s.counts[i]!;
      const le = i < DURATION_BUCKETS.length ? DURATION_BUCKETS[i]! : '+Inf';
      values.push({ value: cumulative, labels: { ...labels, le }, metricName: `${name}_bucket` });
    }
    values.push({ value: s.sum, labels, metricName: `${name}_sum` });
    values.push({ value: cumulative, labels, metricName: `${name}_count` });
  }
  return {
    name,
    help: 'Duration of HTTP server requests (OpenTelemetry http.server.request.duration), counted over every worker the server ever ran.',
    type: 'histogram',
    aggregator: 'sum',
    values,
  };
}

/** One live worker's gauges. */
function workerMetrics(id: number, generation: number, m: WorkerMetricsSnapshot): MetricJson[] {
  const labels = { worker: id, generation };
  return [
    gauge('http_server_active_requests', 'Requests in flight (OpenTelemetry http.server.active_requests).', [
      { value: m.inFlight ?? 0, labels: {} },
    ]),
    gauge('pounce_open_connections', 'Open client connections on the workers.', [
      { value: m.connections, labels: {} },
    ]),
    gauge('pounce_worker_resident_memory_bytes', 'Resident memory (RSS) of each worker.', [
      { value: m.rssBytes, labels },
    ]),
    gauge('pounce_worker_heap_used_bytes', 'V8 heap in use in each worker.', [
      { value: m.heapUsedBytes, labels },
    ]),
    gauge('pounce_worker_heap_total_bytes', 'V8 heap size of each worker.', [
      { value: m.heapTotalBytes, labels },
    ]),
    gauge(
      'pounce_worker_event_loop_utilization',
      'Event-loop utilisation (0..1) of each worker since its previous snapshot.',
      [{ value: m.elu, labels }],
    ),
    gauge(
      'pounce_worker_event_loop_delay_seconds',
      'Event-loop delay of each worker since its previous snapshot: mean and max.',
      [
        { value: m.loopDelayMean, labels: { ...labels, stat: 'mean' } },
        { value: m.loopDelayMax, labels: { ...labels, stat: 'max' } },
      ],
    ),
  ];
}
