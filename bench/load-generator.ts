// A bounded HTTP load generator that counts every failure by kind. Used by the zero-drop tests and
// by the benchmarks. It never retries: a request that fails is a failure, whatever the reason.
//
// Client loops run concurrently, each with its own connection policy:
//   keepAlive — GET / over one kept-alive connection (a new one only when the server closed it)
//   fresh     — GET / on a new connection every time (Connection: close)
//   post      — POST a body to /echo over a kept-alive connection; the echo must match
//   slow      — GET /slow?ms=N, long enough to span reloads
// The app under load must answer those routes (test/fixtures/apps/node-listener.ts does).

import http from 'node:http';
import https from 'node:https';

export type FailureKind =
  | 'reset'
  | 'refused'
  | 'hangup'
  | 'timeout'
  | 'bad-body'
  | `status-${number}`
  | 'other';

export type LoopKind = 'keepAlive' | 'fresh' | 'post' | 'slow';

export interface RequestResult {
  loop: LoopKind;
  /** Start time, ms since the load began. */
  at: number;
  ms: number;
  status: number | undefined;
  failure: FailureKind | undefined;
  detail?: string;
}

export interface LoadOptions {
  url: string;
  /** Stop starting requests after this long. */
  durationMs: number;
  /** Stop starting requests after this many (all loops together). */
  maxRequests?: number;
  keepAlive?: number;
  fresh?: number;
  post?: number;
  slow?: number;
  slowMs?: number;
  /** A request that takes longer than this is a `timeout` failure. */
  requestTimeoutMs?: number;
  /** Keep every result (for latency charts); off by default to bound memory. */
  keepResults?: boolean;
  /** An https: url: the certificate authority to trust (PEM), for a self-signed test certificate. */
  ca?: string;
}

export interface LoadReport {
  total: number;
  ok: number;
  failed: number;
  failures: Partial<Record<FailureKind, number>>;
  /** Up to 20 failures with their details, for the test's message. */
  samples: RequestResult[];
  byLoop: Record<LoopKind, number>;
  latencies: number[];
  results: RequestResult[];
  durationMs: number;
}

export interface LoadRun {
  /** Stop starting new requests; requests in flight still complete. */
  stop(): void;
  /** Completed requests so far. */
  readonly completed: number;
  /** Failed requests so far. */
  readonly failed: number;
  readonly done: Promise<LoadReport>;
}

function classify(err: NodeJS.ErrnoException): FailureKind {
  if (err.message === 'client timeout') return 'timeout';
  if (err.message === 'socket hang up') return 'hangup';
  if (err.code === 'ECONNRESET' || err.code === 'EPIPE') return 'reset';
  if (err.code === 'ECONNREFUSED') return 'refused';
  return 'other';
}

interface Exchange {
  status: number;
  body: string;
}

function exchange(
  url: URL,
  options: { method: string; agent: http.Agent | false; body?: string; timeoutMs: number; ca?: string },
): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'https:' ? https : http).request(
      url,
      {
        method: options.method,
        agent: options.agent,
        ca: options.ca,
        headers: options.body === undefined ? undefined : { 'content-type': 'text/plain' },
        timeout: options.timeoutMs,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('client timeout')));
    req.on('error', reject);
    req.end(options.body);
  });
}

/**
 * The mixed load of the zero-drop tests (reloads, upgrades): every loop kind at once, slow requests
 * long enough to span a handoff, bounded in time and count; stop() it when the test is done.
 */
export function mixedLoad(url: string): LoadRun {
  return runLoad({
    url,
    durationMs: 240_000,
    maxRequests: 500_000,
    keepAlive: 4,
    fresh: 2,
    post: 2,
    slow: 2,
    slowMs: 700,
    requestTimeoutMs: 10_000,
  });
}

export function runLoad(options: LoadOptions): LoadRun {
  const base = new URL(options.url);
  const started = performance.now();
  const timeoutMs = options.requestTimeoutMs ?? 10_000;
  const slowMs = options.slowMs ?? 500;
  const results: RequestResult[] = [];
  const latencies: number[] = [];
  const samples: RequestResult[] = [];
  const failures: Partial<Record<FailureKind, number>> = {};
  const byLoop: Record<LoopKind, number> = { keepAlive: 0, fresh: 0, post: 0, slow: 0 };
  let started_ = 0;
  let completed = 0;
  let ok = 0;
  let stopped = false;
  const deadline = setTimeout(() => {
    stopped = true;
  }, options.durationMs);

  const more = () => !stopped && (options.maxRequests === undefined || started_ < options.maxRequests);

  const record = (result: RequestResult) => {
    completed++;
    byLoop[result.loop]++;
    latencies.push(result.ms);
    if (options.keepResults) results.push(result);
    if (result.failure) {
      failures[result.failure] = (failures[result.failure] ?? 0) + 1;
      if (samples.length < 20) samples.push(result);
    } else ok++;
  };

  async function loop(kind: LoopKind, index: number): Promise<void> {
    const agent =
      kind === 'fresh'
        ? false
        : base.protocol === 'https:'
          ? new https.Agent({ keepAlive: true, maxSockets: 1, ca: options.ca })
          : new http.Agent({ keepAlive: true, maxSockets: 1 });
    let n = 0;
    try {
      while (more()) {
        started_++;
        const at = performance.now();
        const body = kind === 'post' ? `payload ${index} ${n++} ${'x'.repeat(512)}` : undefined;
        const url =
          kind === 'post'
            ? new URL('/echo', base)
            : kind === 'slow'
              ? new URL(`/slow?ms=${slowMs}`, base)
              : base;
        const result: RequestResult = {
          loop: kind,
          at: at - started,
          ms: 0,
          status: undefined,
          failure: undefined,
        };
        try {
          const res = await exchange(url, {
            method: kind === 'post' ? 'POST' : 'GET',
            agent,
            body,
            ca: options.ca,
            timeoutMs: timeoutMs + (kind === 'slow' ? slowMs : 0),
          });
          result.status = res.status;
          if (res.status < 200 || res.status > 299) {
            result.failure = `status-${res.status}`;
            result.detail = res.body.slice(0, 200);
          } else if (body !== undefined && res.body !== body) {
            result.failure = 'bad-body';
            result.detail = `${res.body.length} bytes back for ${body.length}`;
          }
        } catch (err) {
          result.failure = classify(err as NodeJS.ErrnoException);
          result.detail = `${(err as NodeJS.ErrnoException).code ?? ''} ${(err as Error).message}`;
        }
        result.ms = performance.now() - at;
        record(result);
      }
    } finally {
      if (agent) agent.destroy();
    }
  }

  const loops: Promise<void>[] = [];
  const spawnLoops = (kind: LoopKind, count = 0) => {
    for (let i = 0; i < count; i++) loops.push(loop(kind, i));
  };
  spawnLoops('keepAlive', options.keepAlive);
  spawnLoops('fresh', options.fresh);
  spawnLoops('post', options.post);
  spawnLoops('slow', options.slow);

  const done = Promise.all(loops).then((): LoadReport => {
    clearTimeout(deadline);
    return {
      total: completed,
      ok,
      failed: completed - ok,
      failures,
      samples,
      byLoop,
      latencies,
      results,
      durationMs: performance.now() - started,
    };
  });

  return {
    stop: () => {
      stopped = true;
    },
    get completed() {
      return completed;
    },
    get failed() {
      return completed - ok;
    },
    done,
  };
}

/** One line summary of a report, for test messages and logs. */
export function summarize(report: LoadReport): string {
  const kinds = Object.entries(report.failures)
    .map(([kind, n]) => `${kind}=${n}`)
    .join(' ');
  return `${report.total} requests (${Object.entries(report.byLoop)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ')}), ${report.failed} failed${kinds ? `: ${kinds}` : ''}`;
}
