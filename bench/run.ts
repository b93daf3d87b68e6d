// The benchmark suite: `npm run bench` (full, under ~10 minutes on 2 cores) or
// `npm run bench -- --quick` (seconds; what test/bench.test.ts runs so the bench cannot rot).
//
//   node --conditions=pounce-source bench/run.ts [--quick] [--out DIR]
//
// Writes DIR/REPORT.md and DIR/reload-latency.svg (DIR: bench/ for a full run, bench/.scratch/quick
// for a quick one, so a quick run never overwrites the committed report). Every process the bench
// starts is killed with its process group when it ends, also on failure, Ctrl-C or the watchdog.

import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Ctx, Section, Target } from './lib/context.ts';
import { table } from './lib/context.ts';
import { pickLoadTool, SCRATCH } from './lib/load-tool.ts';
import { installPm2, type Pm2, pm2Installed, startPm2 } from './lib/pm2.ts';
import { BENCH, killAll, ROOT } from './lib/procs.ts';
import { fmt } from './lib/stats.ts';
import { latencyChart } from './lib/svg.ts';
import { coldStartScenario } from './scenarios/cold-start.ts';
import { type Baseline, baseline, type IdleSample, idleMemory, memorySection } from './scenarios/memory.ts';
import { reloadDurationScenario } from './scenarios/reload-duration.ts';
import {
  pm2UnderLoad,
  pounceUnderLoad,
  type ReloadRun,
  reloadSection,
} from './scenarios/reload-under-load.ts';
import { shutdownScenario } from './scenarios/shutdown.ts';

import { throughputScenario, WORKERS } from './scenarios/throughput.ts';
import { workerModesScenario } from './scenarios/worker-modes.ts';

/** PM2 reloads take seconds each (instance by instance, kill_timeout): fewer of them fit the budget. */
const PM2_RELOADS = 6;

interface Args {
  quick: boolean;
  out: string;
  /** Run PM2 in quick mode too (a full run always does). */
  pm2: boolean;
  /** Scenario numbers to run (all when undefined); for working on one of them. */
  only: Set<number> | undefined;
}

const USAGE =
  'usage: node --conditions=pounce-source bench/run.ts [--quick] [--out DIR] [--pm2] [--only 1,2,...]\n';

function parseArgs(argv: string[]): Args {
  let quick = false;
  let pm2 = false;
  let only: Set<number> | undefined;
  let out: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--quick') quick = true;
    else if (arg === '--out') out = argv[++i];
    else if (arg.startsWith('--out=')) out = arg.slice('--out='.length);
    else if (arg === '--pm2') pm2 = true;
    else if (arg === '--only') only = new Set((argv[++i] ?? '').split(',').map(Number));
    else if (arg === '--help' || arg === '-h') {
      process.stdout.write(USAGE);
      process.exit(0);
    } else {
      process.stderr.write(`bench: unknown argument ${arg}\n${USAGE}`);
      process.exit(2);
    }
  }
  if (out === '') {
    process.stderr.write('bench: --out needs a directory\n');
    process.exit(2);
  }
  if (only && [...only].some((n) => !(n >= 1 && n <= 8))) {
    process.stderr.write(`bench: --only takes scenario numbers 1 to 8\n${USAGE}`);
    process.exit(2);
  }
  return { quick, pm2, only, out: path.resolve(out ?? (quick ? path.join(SCRATCH, 'quick') : BENCH)) };
}

function gitDescribe(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: ROOT,
      encoding: 'utf8',
    }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], {
      cwd: ROOT,
      encoding: 'utf8',
    }).trim();
    return dirty ? `${head} with uncommitted changes in src/` : head;
  } catch {
    return 'unknown';
  }
}

function distro(): string {
  try {
    return /^PRETTY_NAME="?([^"\n]*)/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? os.type();
  } catch {
    return os.type();
  }
}

const loadavg = () =>
  os
    .loadavg()
    .map((n) => n.toFixed(2))
    .join(' ');

function targetRows(targets: Target[]): string[][] {
  return targets.map((t) => [
    t.name,
    t.goal,
    t.measured,
    t.pass === undefined ? 'not measured' : t.pass ? '**pass**' : '**MISS**',
  ]);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const began = performance.now();
  const startedAt = new Date();
  const log = (line: string) =>
    process.stdout.write(`[bench ${fmt((performance.now() - began) / 1000, 1)}s] ${line}\n`);
  // The bench stops by itself, whatever happens.
  const limitMs = args.quick ? 150_000 : 15 * 60_000;
  const watchdog = setTimeout(() => {
    process.stderr.write(`bench: still running after ${limitMs / 1000} s — stopping everything\n`);
    killAll();
    process.exit(1);
  }, limitMs);
  watchdog.unref();

  log(
    `${args.quick ? 'quick' : 'full'} run; report goes to ${path.relative(process.cwd(), args.out) || '.'}`,
  );
  const loadBefore = loadavg();
  // Other work on the machine skews every number; say so in the report.
  const busy = os.loadavg()[0]! > 1.5;
  const tool = await pickLoadTool(!args.quick, log);
  log(`load tool: ${tool.name} (${tool.version})`);

  let pm2: Pm2 | undefined;
  let pm2Note = '';
  const wanted = (n: number) => args.only === undefined || args.only.has(n);
  if (args.quick && !args.pm2) {
    pm2Note = 'skipped in quick mode (`--pm2` includes it; a full run installs it into bench/.scratch).';
  } else if (args.quick && !pm2Installed()) {
    pm2Note = 'skipped: quick mode does not install PM2 (a full run installs it into bench/.scratch).';
  } else if (![1, 2, 5, 7].some(wanted)) {
    pm2Note = 'not needed by the scenarios run.';
  } else {
    try {
      await installPm2(log);
      pm2 = await startPm2();
    } catch (err) {
      pm2Note = `skipped: ${(err as Error).message.split('\n')[0]}`;
      log(`PM2 ${pm2Note}`);
    }
  }

  const ctx: Ctx = { quick: args.quick, tool, pm2, pm2Note, log };
  const reloads = args.quick ? 3 : 100;
  const pm2Reloads = args.quick ? 1 : PM2_RELOADS;
  const notRun = (title: string): Section => ({ title, body: 'Not run (`--only`).', targets: [] });
  let runs: ReloadRun[] = [];
  let throughput: Awaited<ReturnType<typeof throughputScenario>> | undefined;
  let duration: Awaited<ReturnType<typeof reloadDurationScenario>> | undefined;
  let cold: Section | undefined;
  let shutdown: Section | undefined;
  let idle: IdleSample[] = [];
  let base: Baseline | undefined;
  let modes: Section | undefined;
  try {
    if (wanted(1) || wanted(5)) {
      log('1. throughput and latency');
      throughput = await throughputScenario(ctx);
    }
    if (wanted(6)) {
      log('6. cold start');
      cold = await coldStartScenario(ctx);
    }
    if (wanted(4)) {
      log('4. shutdown');
      shutdown = await shutdownScenario(ctx);
    }
    if (wanted(3)) {
      log('3. reload duration');
      duration = await reloadDurationScenario(ctx);
    }
    if (wanted(5)) {
      log('5. memory of idle servers');
      idle = await idleMemory(ctx, WORKERS);
      base = await baseline(args.quick ? 1 : 3);
    }
    if (wanted(2) || wanted(5) || wanted(7)) {
      log(`2. ${reloads} reloads under load: pounce`);
      runs = [await pounceUnderLoad(ctx, reloads)];
      if (pm2) {
        log(`2. ${pm2Reloads} reloads under load: PM2`);
        const pm2Run = await pm2UnderLoad(ctx, pm2Reloads);
        if (pm2Run) runs.push(pm2Run);
      }
    }
    if (wanted(8)) {
      log('8. thread mode vs process mode');
      modes = await workerModesScenario(ctx);
    }
  } finally {
    if (pm2) await pm2.kill();
    killAll();
  }
  const sections: Section[] = [
    throughput?.section ?? notRun('1. Throughput and latency'),
    runs.length ? reloadSection(ctx, runs, reloads) : notRun('2. Reload under load'),
    duration?.section ?? notRun('3. Reload duration'),
    shutdown ?? notRun('4. Shutdown'),
    throughput && runs[0]
      ? memorySection(
          args.quick,
          throughput.memory,
          runs[0].rssAfterFirst,
          runs[0].rssAfterLast,
          reloads,
          idle,
          base,
        )
      : notRun('5. Memory'),
    cold ?? notRun('6. Cold start'),
  ];

  mkdirSync(args.out, { recursive: true });
  const svg = latencyChart(
    runs.map((r) => ({
      title: r.name,
      results: r.report.results,
      reloads: r.reloads,
      durationMs: r.report.durationMs,
    })),
  );
  writeFileSync(path.join(args.out, 'reload-latency.svg'), svg);
  const chart: Section =
    runs.length === 0
      ? notRun('7. Chart')
      : {
          title: '7. Chart',
          body: [
            `Latency of every request during the reload runs of scenario 2 (log scale; each orange line is a reload; ` +
              'a red × would be a failed request):',
            '![latency of every request during the reload runs](reload-latency.svg)',
          ].join('\n\n'),
          targets: [],
        };
  sections.push(chart, modes ?? notRun('8. Thread mode vs process mode'));

  const targets = sections.flatMap((s) => s.targets);
  const missed = targets.filter((t) => t.pass === false);
  const minutes = (performance.now() - began) / 60_000;
  const cpus = os.cpus();
  const report = [
    '# pounce benchmark report',
    '',
    `Generated by \`npm run bench${args.quick ? ' -- --quick' : ''}\` (bench/run.ts) on ${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC, ` +
      `in ${fmt(minutes, 1)} min.${args.quick ? ' **Quick mode: one short round of everything — the numbers only show that the bench runs.**' : ''}`,
    '',
    '## Machine',
    '',
    table(
      ['', ''],
      [
        ['CPU', `${cpus[0]?.model ?? 'unknown'}, ${os.availableParallelism()} cores`],
        ['memory', `${fmt(os.totalmem() / 2 ** 30, 1)} GiB`],
        ['OS', `${distro()}, Linux ${os.release()}`],
        ['Node', `${process.version} (the version pinned in package.json, for pounce and every contender)`],
        ['pounce', `commit ${gitDescribe()}, run from source (\`--conditions=pounce-source\`)`],
        [
          'load tool',
          `${tool.name} (${tool.version})${tool.name === 'wrk' ? '' : '; wrk (apt-get install -y wrk) is preferred'}`,
        ],
        ['PM2', pm2 ? pm2.version : pm2Note],
        [
          'load average',
          `${loadBefore} before, ${loadavg()} after (1, 5, 15 min)` +
            (busy ? ' — **the machine was busy when the bench started: expect noisier numbers**' : ''),
        ],
      ],
    ),
    '',
    '## Targets',
    '',
    table(['target', 'goal', 'measured', 'result'], targetRows(targets)),
    '',
    missed.length === 0
      ? 'Every target is met.'
      : [
          'Why the missed targets are missed:',
          '',
          ...missed.map((t) => `- **${t.name}**: ${t.why ?? 'see its section.'}`),
        ].join('\n'),
    '',
    ...sections.flatMap((s) => [`## ${s.title}`, '', s.body, '']),
  ].join('\n');
  writeFileSync(path.join(args.out, 'REPORT.md'), report);
  log(`wrote ${path.join(args.out, 'REPORT.md')} and reload-latency.svg (${fmt(svg.length / 1024)} KiB)`);
  for (const t of targets)
    log(`  ${t.pass === undefined ? '—' : t.pass ? 'pass' : 'MISS'}  ${t.name}: ${t.measured}`);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    process.stderr.write(`bench: ${signal} — stopping everything\n`);
    killAll();
    process.exit(130);
  });
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(
      `bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    killAll();
    process.exit(1);
  },
);
