// Scenario 8: thread mode next to process mode (`workerMode`). For 1, 2 and 4 workers, in
// interleaved runs: throughput and p99 (the load tool, kept-alive GETs) and the memory of the whole
// server right after (PSS and RSS summed over the supervisor, the worker-host process and the
// workers). With 2 workers: reloads under the mixed load (duration, p99 in the second after each
// SIGHUP, failed requests) on this machine's network settings. Then the reload failure count of
// thread mode inside a network namespace the bench creates, once with net.ipv4.tcp_migrate_req=0
// and once with 1 (it matters only to threads with SO_REUSEPORT sockets of their own, not to the
// supervisor's shared socket they use when Node has the internal; needs root, skipped otherwise).

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Ctx, code, type Section, table } from '../lib/context.ts';
import { createNetns, netnsUnavailable } from '../lib/netns.ts';
import { atExit, NODE, pssMb, rssMb, showCommand, sleep, spawnProc } from '../lib/procs.ts';
import { pounceArgs, startPounce } from '../lib/servers.ts';
import { fmt, mb, median, ms } from '../lib/stats.ts';
import type { LoadReport } from '../load-generator.ts';
import { pounceUnderLoad } from './reload-under-load.ts';

type Mode = 'process' | 'thread';
const MODES: Mode[] = ['process', 'thread'];
const COUNTS = [1, 2, 4];
const CONNECTIONS = 64;
const flagsOf = (mode: Mode) => (mode === 'thread' ? ['--worker-mode', 'thread'] : []);
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

interface Sample {
  mode: Mode;
  workers: number;
  rps: number;
  p99: number;
  /** Summed over the distinct pids (supervisor, host or worker processes). */
  pss: number;
  rss: number;
  processes: number;
}

/** The machine's own tcp_migrate_req (what the reloads outside the namespace ran with). */
function hostMigrateReq(): string {
  try {
    return readFileSync('/proc/sys/net/ipv4/tcp_migrate_req', 'utf8').trim();
  } catch {
    return 'absent (kernel < 5.14)';
  }
}

async function throughputAndMemory(ctx: Ctx, commands: string[]): Promise<Sample[]> {
  const warm = ctx.quick ? 0 : 1;
  const seconds = ctx.quick ? 1 : 3;
  const samples: Sample[] = [];
  for (const workers of ctx.quick ? [1] : COUNTS) {
    for (const mode of MODES) {
      ctx.log(`  ${mode} mode, ${workers} worker(s): throughput and memory`);
      const server = await startPounce({ workers, flags: flagsOf(mode) });
      try {
        commands.push(server.command);
        if (warm) await ctx.tool.measure(`${server.url}/`, warm, CONNECTIONS);
        const result = await ctx.tool.measure(`${server.url}/`, seconds, CONNECTIONS);
        commands.push(result.command.replace(/127\.0\.0\.1:\d+/, '127.0.0.1:$PORT'));
        const status = await server.status();
        // Threads all report the host's pid: each process is counted once.
        const pids = [...new Set([status.pid, ...status.workers.map((w) => w.pid)])];
        samples.push({
          mode,
          workers,
          rps: result.rps,
          p99: result.p99,
          pss: sum(pids.map((p) => pssMb(p) ?? Number.NaN)),
          rss: sum(pids.map((p) => rssMb(p) ?? Number.NaN)),
          processes: pids.length,
        });
      } finally {
        await server.stop();
      }
      await sleep(200);
    }
  }
  return samples;
}

interface NetnsRun {
  migrate: string;
  report: LoadReport | undefined;
  reloads: number;
  failedReloads: number;
  warned: boolean;
}

/** Thread mode, 2 workers, `reloads` SIGHUPs under the mixed load, all inside a fresh namespace. */
async function netnsReloads(
  ctx: Ctx,
  migrate: string,
  reloads: number,
  commands: string[],
): Promise<NetnsRun> {
  const ns = createNetns('pounce-b', { 'net.ipv4.tcp_migrate_req': migrate });
  atExit(ns.remove);
  const url = 'http://127.0.0.1:18080';
  const run: NetnsRun = { migrate, report: undefined, reloads, failedReloads: 0, warned: false };
  // Reloads are SIGHUPs; a private control socket keeps this server apart from any other.
  const dir = mkdtempSync(path.join(tmpdir(), 'pounce-bench-'));
  atExit(() => rmSync(dir, { recursive: true, force: true }));
  const args = pounceArgs(
    { workers: 2, flags: ['--worker-mode', 'thread'] },
    18080,
    path.join(dir, 'control.sock'),
  );
  const server = spawnProc(ns.exec[0]!, [...ns.exec.slice(1), NODE, ...args]);
  const loadArgs = [...ns.exec.slice(1), NODE, '--conditions=pounce-source', 'bench/load-child.ts', url];
  let load: ReturnType<typeof spawnProc> | undefined;
  try {
    await server.waitForEvent('listening', { timeoutMs: 60_000 });
    commands.push(
      `ip netns add $NS; ip -n $NS link set lo up; ip netns exec $NS sysctl -w net.ipv4.tcp_migrate_req=${migrate}`,
      `ip netns exec $NS ${showCommand(NODE, args).replace(/--control-socket \S+/, '--control-socket $SOCK')}`,
      `ip netns exec $NS ${showCommand(NODE, loadArgs.slice(4))}  # mixed load; SIGTERM ends it and prints the report`,
    );
    run.warned = server.logs.some((l) => l.event === 'threadModeMigrateReq');
    load = spawnProc(ns.exec[0]!, loadArgs);
    await sleep(ctx.quick ? 300 : 1000);
    for (let i = 1; i <= reloads; i++) {
      const from = server.logs.length;
      server.signal('SIGHUP');
      const done = await server.waitForEvent(['reloadComplete', 'reloadFailed'], { from, timeoutMs: 60_000 });
      if (done.event !== 'reloadComplete') run.failedReloads++;
      await sleep(150);
    }
    await sleep(ctx.quick ? 300 : 1000);
    load.signal('SIGTERM');
    await load.exited;
    const line = load.stdout().trim().split('\n').pop() ?? '';
    run.report = JSON.parse(line) as LoadReport;
  } finally {
    await load?.stop(1000);
    await server.stop();
    ns.remove();
  }
  return run;
}

export async function workerModesScenario(ctx: Ctx): Promise<Section> {
  const commands: string[] = [];
  const samples = await throughputAndMemory(ctx, commands);

  const reloads = ctx.quick ? 1 : 8;
  const underLoad = [];
  for (const mode of MODES) {
    ctx.log(`  ${mode} mode, 2 workers: ${reloads} reloads under load`);
    underLoad.push({ mode, run: await pounceUnderLoad(ctx, reloads, { flags: flagsOf(mode) }) });
  }
  commands.push(...underLoad.flatMap((u) => u.run.commands));

  const skip = netnsUnavailable();
  const nsReloads = ctx.quick ? 1 : 12;
  const nsRuns: NetnsRun[] = [];
  if (!skip) {
    for (const migrate of ['0', '1']) {
      ctx.log(
        `  thread mode in a network namespace, tcp_migrate_req=${migrate}: ${nsReloads} reloads under load`,
      );
      nsRuns.push(await netnsReloads(ctx, migrate, nsReloads, commands));
    }
  }

  const row = (mode: Mode, workers: number) => samples.find((s) => s.mode === mode && s.workers === workers);
  const counts = [...new Set(samples.map((s) => s.workers))];
  const perf = counts.flatMap((workers) =>
    MODES.map((mode) => {
      const s = row(mode, workers);
      const p = row('process', workers);
      return [
        String(workers),
        mode,
        fmt(s?.rps),
        s && p ? `${fmt(s.rps / p.rps, 2)}×` : 'n/a',
        ms(s?.p99, 2),
        mb(s?.pss),
        mb(s?.rss),
        String(s?.processes ?? 'n/a'),
      ];
    }),
  );
  const reloadRows = underLoad.map(({ mode, run }) => [
    mode,
    String(run.reloads.length),
    ms(median(run.cutover)),
    ms(median(run.complete)),
    ms(run.steady.p99, 1),
    ms(run.after.p99, 1),
    ms(run.after.worstP99, 1),
    `${run.report.failed} of ${fmt(run.report.total)}`,
    String(run.failedReloads),
  ]);
  const kinds = (r: LoadReport | undefined) =>
    r
      ? Object.entries(r.failures)
          .map(([k, n]) => `${k} ${n}`)
          .join(', ') || '—'
      : 'n/a';
  const nsRows = nsRuns.map((r) => [
    r.migrate,
    String(r.reloads),
    fmt(r.report?.total),
    String(r.report?.failed ?? 'n/a'),
    kinds(r.report),
    String(r.failedReloads),
    r.warned ? 'yes' : 'no',
  ]);
  const body = [
    `Throughput: ${ctx.tool.name}, ${CONNECTIONS} kept-alive connections, GET / of the hello app, ` +
      `${ctx.quick ? '1' : '1 s warm-up then 3'} s per run, process and thread mode interleaved per worker count. ` +
      'Memory right after each run: PSS (proportional set size, from /proc/PID/smaps_rollup: shared pages ' +
      'split between the processes that share them) and RSS, each summed over every process of the server ' +
      '(supervisor + worker processes; supervisor + one worker-host process in thread mode). PSS is the fair ' +
      'total; RSS counts pages shared between processes (Node’s code) once per process.',
    table(['workers', 'mode', 'req/s', 'vs process', 'p99', 'PSS total', 'RSS total', 'processes'], perf),
    `Reloads under the mixed load of scenario 2 (kept-alive and fresh GETs, POSTs, 700 ms requests), 2 workers, ` +
      `${reloads} SIGHUPs each, on this machine's network settings (net.ipv4.tcp_migrate_req = ` +
      `${hostMigrateReq()}). p99 of the fast requests: steady state, and in the second after each SIGHUP.`,
    table(
      [
        'mode',
        'reloads',
        'SIGHUP → serving',
        'SIGHUP → complete',
        'p99 steady',
        'p99 in the second after',
        'worst reload p99',
        'failed requests',
        'failed reloads',
      ],
      reloadRows,
    ),
    skip
      ? `The network-namespace runs (tcp_migrate_req 0 and 1) were skipped: ${skip}.`
      : [
          `Thread mode, 2 workers, ${nsReloads} reloads under the same mixed load, pounce and the load both inside a ` +
            'network namespace the bench creates (and deletes), with the sysctl set there:',
          table(
            [
              'tcp_migrate_req',
              'reloads',
              'requests',
              'failed',
              'by kind',
              'failed reloads',
              'warning logged',
            ],
            nsRows,
          ),
        ].join('\n\n'),
    code(commands),
  ].join('\n\n');
  return { title: '8. Thread mode vs process mode', body, targets: [] };
}
