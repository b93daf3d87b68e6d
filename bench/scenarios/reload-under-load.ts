// Scenario 2: reloads while the load generator runs (kept-alive and fresh-connection GETs, POSTs
// with bodies, slow requests that span reloads; no client retries). Every failure is counted by
// kind; latency in steady state is compared with latency in the second after each reload. The same
// against `pm2 reload`. The per-request results feed the chart (scenario 7).

import { type Ctx, code, type Section, table } from '../lib/context.ts';
import { rssMb, sleep } from '../lib/procs.ts';
import { type PounceServer, startPm2Cluster, startPounce, workerBoots } from '../lib/servers.ts';
import { fmt, median, ms, percentile, ratio, slowest } from '../lib/stats.ts';
import { type LoadReport, type RequestResult, runLoad } from '../load-generator.ts';
import { WORKERS } from './throughput.ts';

const LOAD = { keepAlive: 4, fresh: 2, post: 2, slow: 2, slowMs: 700, requestTimeoutMs: 10_000 };
/** The window after a reload whose latency is compared with steady state. */
const AFTER_MS = 1000;
/** Pause between the end of one reload and the next. */
const GAP_MS = 150;
/**
 * The reloads run as this many consecutive repetitions, each with its own steady state (the load
 * right before and right after it, with no reload running): the latency target must hold in every
 * one of them, so one bench run shows it three times in a row.
 */
export const REPETITIONS = 3;
/** The target: p99 in the second after a reload at most this many times steady-state p99. */
const MAX_P99_RATIO = 1.5;
/** RSS is sampled this long after reload 1 and after the last one completed. */
export const AFTER_RELOAD_MS = 500;

export interface RssSnapshot {
  supervisor: number | undefined;
  workers: number[];
}

async function snapshot(server: PounceServer): Promise<RssSnapshot> {
  const status = await server.status();
  return {
    supervisor: rssMb(status.pid),
    workers: status.workers.map((w) => rssMb(w.pid)).filter((v): v is number => v !== undefined),
  };
}

export interface ReloadRun {
  name: string;
  report: LoadReport;
  /** Reload start times, ms since the load began. */
  reloads: number[];
  /** Per reload: ms until the new generation served (pounce: cutover; PM2: `pm2 reload` returned). */
  cutover: number[];
  /** Per reload: ms until the reload completed (pounce: old generation drained). */
  complete: number[];
  /** pounce: per reload, the slowest new worker's spawn → ready. */
  newBoot: number[];
  failedReloads: number;
  steady: Pct;
  /** The second after each reload was triggered. */
  after: Pct & { worstP99: number };
  /** From each trigger until the reload completed (at least a second). */
  during: Pct;
  /** The second after the new generation took over. */
  afterCutover: Pct;
  /** Failures of requests that started while a reload ran. */
  failuresDuring: number;
  /** Each repetition on its own (pounce: REPETITIONS of them; PM2: one). */
  repetitions: Repetition[];
  /** pounce: RSS after reload 1 and after the last one. */
  rssAfterFirst?: RssSnapshot;
  rssAfterLast?: RssSnapshot;
  commands: string[];
}

interface Pct {
  p50: number;
  p99: number;
  n: number;
}

/** One repetition: its reloads, and latency in its own steady windows and in the second after each reload. */
export interface Repetition {
  reloads: number;
  steady: Pct;
  after: Pct;
}

function pct(values: number[]): Pct {
  return { p50: percentile(values, 50), p99: percentile(values, 99), n: values.length };
}

/** Latency of the fast requests in steady state and in the windows around each reload. */
function windows(
  results: RequestResult[],
  reloads: { start: number; cutover: number; complete: number }[],
  steadyRanges: [number, number][],
) {
  const fast = results.filter((r) => r.loop !== 'slow' && r.failure === undefined);
  const within = (ranges: [number, number][]) => (at: number) => ranges.some(([a, b]) => at >= a && at < b);
  const afterSignal = reloads.map((r): [number, number] => [r.start, r.start + AFTER_MS]);
  const during = reloads.map((r): [number, number] => [r.start, r.start + Math.max(r.complete, AFTER_MS)]);
  const afterCutover = reloads.map((r): [number, number] => [
    r.start + r.cutover,
    r.start + r.cutover + AFTER_MS,
  ]);
  const pick = (ranges: [number, number][]) => {
    const inside = within(ranges);
    return fast.filter((r) => inside(r.at)).map((r) => r.ms);
  };
  const perReload = afterSignal
    .map((range) => pick([range]))
    .filter((l) => l.length > 0)
    .map((l) => percentile(l, 99));
  const inDuring = within(during);
  return {
    steady: pct(pick(steadyRanges)),
    after: { ...pct(pick(afterSignal)), worstP99: perReload.reduce((a, b) => Math.max(a, b), 0) },
    during: pct(pick(during)),
    afterCutover: pct(pick(afterCutover)),
    failuresDuring: results.filter((r) => r.failure !== undefined && inDuring(r.at)).length,
  };
}

async function underLoad(
  ctx: Ctx,
  url: string,
  reloadOnce: (i: number) => Promise<{ cutover: number; complete: number; newBoot?: number; ok: boolean }>,
  reloads: number,
  repetitions: number,
): Promise<Omit<ReloadRun, 'name' | 'commands'>> {
  const baselineMs = ctx.quick ? 1000 : 3000;
  const tailMs = ctx.quick ? 500 : 2000;
  const warmMs = 300;
  const loadStart = performance.now();
  const load = runLoad({ url, durationMs: 900_000, ...LOAD, keepResults: true });
  const starts: number[] = [];
  const cutover: number[] = [];
  const complete: number[] = [];
  const newBoot: number[] = [];
  /** Reload-free stretches of load: before the first repetition, between two, after the last. */
  const quiet: [number, number][] = [];
  /** Per repetition, the indexes of its reloads. */
  const spansOf: [number, number][] = [];
  let failedReloads = 0;
  try {
    await sleep(baselineMs);
    quiet.push([warmMs, performance.now() - loadStart]);
    for (let r = 0; r < repetitions; r++) {
      const first = Math.round((reloads * r) / repetitions) + 1;
      const last = Math.round((reloads * (r + 1)) / repetitions);
      for (let i = first; i <= last; i++) {
        const t = performance.now() - loadStart;
        starts.push(t);
        const outcome = await reloadOnce(i);
        cutover.push(outcome.cutover);
        complete.push(outcome.complete);
        if (outcome.newBoot !== undefined) newBoot.push(outcome.newBoot);
        if (!outcome.ok) failedReloads++;
        if (i % 10 === 0 || i === reloads)
          ctx.log(`    ${i}/${reloads} reloads, ${load.completed} requests, ${load.failed} failed`);
        await sleep(GAP_MS);
      }
      spansOf.push([first - 1, last]);
      const quietStart = performance.now() - loadStart;
      await sleep(tailMs);
      quiet.push([quietStart, performance.now() - loadStart]);
    }
  } finally {
    load.stop();
  }
  const report = await load.done;
  const spans = starts.map((start, i) => ({ start, cutover: cutover[i] ?? 0, complete: complete[i] ?? 0 }));
  const stats = windows(report.results, spans, quiet);
  const rounds = spansOf.map(([from, to], r): Repetition => {
    const own = windows(report.results, spans.slice(from, to), [quiet[r]!, quiet[r + 1]!]);
    return { reloads: to - from, steady: own.steady, after: own.after };
  });
  return {
    report,
    reloads: starts,
    cutover,
    complete,
    newBoot,
    failedReloads,
    repetitions: rounds,
    ...stats,
  };
}

/** `flags`: extra `pounce serve` flags (scenario 8 runs this in thread mode too). */
export async function pounceUnderLoad(
  ctx: Ctx,
  reloads: number,
  options: { flags?: string[] } = {},
): Promise<ReloadRun> {
  // Debug level for the workers' spawn/ready lines (a few lines per reload).
  const server = await startPounce({ workers: WORKERS, logLevel: 'debug', flags: options.flags });
  let rssAfterFirst: RssSnapshot | undefined;
  let rssAfterLast: RssSnapshot | undefined;
  try {
    const { proc } = server;
    const run = await underLoad(
      ctx,
      server.url,
      async (i) => {
        const from = proc.logs.length;
        const sent = proc.signal('SIGHUP');
        const done = await proc.waitForEvent(['reloadComplete', 'reloadFailed'], { from, timeoutMs: 60_000 });
        const cut = proc.logs.find((l, index) => index >= from && l.event === 'drainingOld');
        if (i === 1 || i === reloads) {
          await sleep(AFTER_RELOAD_MS);
          const rss = await snapshot(server);
          if (i === 1) rssAfterFirst = rss;
          else rssAfterLast = rss;
        }
        return {
          newBoot: slowest(workerBoots(proc.logs, from)),
          cutover: (cut?.at ?? Number.NaN) - sent,
          complete: done.at - sent,
          ok: done.event === 'reloadComplete',
        };
      },
      reloads,
      Math.min(REPETITIONS, reloads),
    );
    return {
      name: `pounce (${WORKERS} workers), SIGHUP`,
      commands: [
        server.command,
        `kill -HUP $SUPERVISOR_PID  # ${reloads}×, next one ${GAP_MS} ms after "reloadComplete"`,
      ],
      ...run,
      rssAfterFirst,
      rssAfterLast,
    };
  } finally {
    await server.stop();
  }
}

export async function pm2UnderLoad(ctx: Ctx, reloads: number): Promise<ReloadRun | undefined> {
  const pm2 = ctx.pm2;
  if (!pm2) return undefined;
  const server = await startPm2Cluster(pm2, WORKERS);
  try {
    const run = await underLoad(
      ctx,
      server.url,
      async () => {
        const result = await pm2.reload();
        return { cutover: result.ms, complete: result.ms, ok: result.code === 0 };
      },
      reloads,
      1,
    );
    return {
      name: `PM2 cluster (${WORKERS} instances), pm2 reload`,
      commands: [
        server.command,
        `${pm2.reloadCommand}  # ${reloads}×, next one ${GAP_MS} ms after it returned`,
      ],
      ...run,
    };
  } finally {
    await server.stop();
  }
}

export function reloadSection(ctx: Ctx, runs: ReloadRun[], reloads: number): Section {
  const rows = runs.map((r) => [
    r.name,
    String(r.reloads.length),
    fmt(r.report.total),
    `**${fmt(r.report.failed)}**`,
    Object.entries(r.report.failures)
      .filter(([, n]) => n)
      .map(([kind, n]) => `${kind} ${n}`)
      .join(', ') || '—',
    String(r.failuresDuring),
    String(r.failedReloads),
    fmt((r.report.failed / Math.max(1, r.reloads.length)) * 100),
  ]);
  const show = (p: Pct) => `${ms(p.p50, 1)} / ${ms(p.p99, 1)}`;
  const latency = runs.map((r) => [
    r.name,
    `${show(r.steady)} (n=${fmt(r.steady.n)})`,
    `${show(r.after)} (n=${fmt(r.after.n)}), **${ratio(r.after.p99, r.steady.p99)}**`,
    ms(r.after.worstP99, 1),
    `${show(r.during)}, ${ratio(r.during.p99, r.steady.p99)}`,
    `${show(r.afterCutover)}, ${ratio(r.afterCutover.p99, r.steady.p99)}`,
    `${ms(median(r.cutover))} / ${ms(median(r.complete))}`,
    r.newBoot.length ? ms(median(r.newBoot)) : 'n/a',
  ]);
  const pounce = runs[0]!;
  const p99Ratio = pounce.after.p99 / pounce.steady.p99;
  const roundRatios = pounce.repetitions.map((r) => r.after.p99 / r.steady.p99);
  const repetitionRows = pounce.repetitions.map((r, i) => [
    String(i + 1),
    String(r.reloads),
    `${show(r.steady)} (n=${fmt(r.steady.n)})`,
    `${show(r.after)} (n=${fmt(r.after.n)})`,
    `**${ratio(r.after.p99, r.steady.p99)}**`,
  ]);
  const body = [
    `Load (bench/load-generator.ts, in the bench process, no retries): ${LOAD.keepAlive} kept-alive GET / loops, ` +
      `${LOAD.fresh} fresh-connection GET / loops, ${LOAD.post} POST /echo loops (body checked), ${LOAD.slow} loops ` +
      `of GET /slow?ms=${LOAD.slowMs}; client timeout ${LOAD.requestTimeoutMs / 1000} s. ` +
      `${runs.map((r) => `${r.name}: ${r.reloads.length} reloads`).join('; ')}; each reload starts ${GAP_MS} ms ` +
      `after the previous one completed. pounce's reloads run as ${pounce.repetitions.length} consecutive ` +
      `repetitions on the same server and load, with ${ctx.quick ? 0.5 : 2} s of load without reloads after each. ` +
      `Steady state: the load without reloads — the ${ctx.quick ? 1 : 3} s before the first reload (first ` +
      `300 ms skipped) and the stretch after each repetition; a repetition's own steady state is the stretch ` +
      `before it and the one after it. "Second after each reload": requests started within ${AFTER_MS} ms of the ` +
      'trigger (SIGHUP; for PM2 the start of `pm2 reload`) — the target\'s window. "Whole reload": from the ' +
      'trigger until the reload completed (pounce: old generation exited; PM2: `pm2 reload` returned). ' +
      '"Second after the cutover": the second after pounce\'s new generation took over ("drainingOld"; PM2 has ' +
      `no such event, there it is the second after \`pm2 reload\` returned). Latency percentiles are over the ` +
      `fast requests (GET / and POST /echo); the ${LOAD.slowMs} ms requests count for failures only.`,
    ctx.pm2 ? '' : `PM2: ${ctx.pm2Note}`,
    table(
      [
        'server',
        'reloads',
        'requests',
        'failed',
        'failures by kind',
        'failed while a reload ran',
        'failed reloads',
        'failed per 100 reloads',
      ],
      rows,
    ),
    table(
      [
        'server',
        'steady p50 / p99',
        'second after each reload: p50 / p99, p99 vs steady',
        'worst single-reload p99',
        'whole reload (trigger → complete)',
        'second after the cutover',
        'reload: serving / complete (median)',
        "new workers' boot (median)",
      ],
      latency,
    ),
    `pounce, each repetition against its own steady state (the target holds only if it holds in all ${pounce.repetitions.length}):`,
    table(
      ['repetition', 'reloads', 'steady p50 / p99', 'second after each reload: p50 / p99', 'p99 vs steady'],
      repetitionRows,
    ),
    runs.some((r) => r.report.samples.length > 0)
      ? `Failure samples (first few):\n\n${runs
          .flatMap((r) =>
            r.report.samples
              .slice(0, 6)
              .map(
                (s) => `- ${r.name}: ${s.loop} at ${fmt(s.at / 1000, 1)} s: ${s.failure} (${s.detail ?? ''})`,
              ),
          )
          .join('\n')}`
      : '',
    code(runs.flatMap((r) => r.commands)),
  ]
    .filter(Boolean)
    .join('\n\n');
  return {
    title: '2. Reload under load',
    body,
    targets: [
      {
        name: 'Zero failures',
        goal: `0 failed requests over ${reloads} reloads`,
        measured: `${pounce.report.failed} failed of ${fmt(pounce.report.total)} (${pounce.failedReloads} failed reloads)`,
        pass: pounce.report.failed === 0 && pounce.failedReloads === 0 && pounce.reloads.length === reloads,
      },
      {
        name: 'Latency after a reload',
        goal: `p99 in the second after a reload ≤ ${MAX_P99_RATIO}× steady-state p99, in each of ${REPETITIONS} repetitions in a row`,
        measured:
          `${roundRatios.map((r) => `${fmt(r, 2)}×`).join(', ')} ` +
          `(all reloads: ${ms(pounce.after.p99, 2)} vs ${ms(pounce.steady.p99, 2)}, ${fmt(p99Ratio, 2)}×)`,
        pass: roundRatios.length > 0 && roundRatios.every((r) => r <= MAX_P99_RATIO),
        why:
          `in that second the ${WORKERS} new workers boot (the slowest took ${ms(median(pounce.newBoot))} under this ` +
          `load; scenario 3 has the same boot on an idle server), competing for the ${WORKERS} cores with the ` +
          'serving workers and the load generator; once the new generation serves, p99 is ' +
          `${ms(pounce.afterCutover.p99, 1)} (${ratio(pounce.afterCutover.p99, pounce.steady.p99)} steady)`,
      },
    ],
  };
}
