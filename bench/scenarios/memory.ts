// Scenario 5: memory. RSS (VmRSS from /proc/PID/status) of the supervising process and of each
// worker: idle (pounce from source and as installed, raw cluster), right after each throughput run of
// scenario 1 (next to raw cluster and PM2), and after 1 reload next to after 100 (sampled during
// scenario 2's reloads under load). pounce's pids come from `pounce status --json`; the others'
// from /proc.

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { type Ctx, code, type Section, table } from '../lib/context.ts';
import { waitForOk } from '../lib/http.ts';
import { binFlags, INSTALLED, installPounce, startPounceInstalled } from '../lib/installed.ts';
import { APPS, NODE, rssMb, run, sleep } from '../lib/procs.ts';
import { type Server, startPounce, startRaw, startRawCluster } from '../lib/servers.ts';
import { fmt, mb, median } from '../lib/stats.ts';
import { AFTER_RELOAD_MS, type RssSnapshot } from './reload-under-load.ts';
import type { MemorySample } from './throughput.ts';

/** The target for the supervisor's RSS, idle, as the published CLI runs it (installed, through its bin). */
const MAX_SUPERVISOR_MB = 50;

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
/**
 * The least a supervising process can be: an ES module that only forks `WORKERS` cluster workers
 * (which load node:http themselves), at the depth of pounce's bin in the installed package, started
 * as the bin starts `serve` (node with its flags; the workers without). Node's own path handling
 * while it loads the entry point is enough to get V8's optimizing compilers going — ~2.5 MB of their
 * code pages more than for a script in /tmp — unless they are off from the command line.
 */
const CLUSTER_FLOOR = path.join(INSTALLED, 'dist/cli/cluster-floor.js');
const CLUSTER_FLOOR_SOURCE = `import cluster from 'node:cluster';
if (cluster.isPrimary) {
  cluster.setupPrimary({ execArgv: [] });
  for (let i = 0; i < Number(process.env.WORKERS); i++) cluster.fork();
  process.on('SIGTERM', () => process.exit(0));
} else {
  const http = await import('node:http');
  http.createServer((req, res) => res.end('Hello, world!\\n')).listen(Number(process.env.PORT), '127.0.0.1');
}
`;

function startClusterFloor(workers: number): Promise<Server> {
  writeFileSync(CLUSTER_FLOOR, CLUSTER_FLOOR_SOURCE);
  return startRaw(
    'minimal cluster primary',
    CLUSTER_FLOOR,
    { WORKERS: String(workers) },
    { nodeArgs: binFlags() },
  );
}

export interface Baseline {
  /** `node -e` */
  bare: number;
  /** An empty .ts file: Node plus its type stripper. */
  typescript: number;
  /** `node -e` importing pino and pino-pretty, as pounce's logger does. */
  pino: number;
}

async function rssOf(args: string[]): Promise<number> {
  const result = await run(NODE, args, { timeoutMs: 20_000 });
  return Number.parseFloat(result.stdout);
}

const PRINT_RSS = 'process.stdout.write(String(process.memoryUsage().rss / 2 ** 20))';

/** What a Node process costs before pounce's own code: medians of `runs`. */
export async function baseline(runs: number): Promise<Baseline> {
  const bare: number[] = [];
  const typescript: number[] = [];
  const pino: number[] = [];
  for (let i = 0; i < runs; i++) {
    bare.push(await rssOf(['-e', PRINT_RSS]));
    typescript.push(await rssOf([path.join(APPS, 'rss-probe.ts')]));
    pino.push(
      await rssOf([
        '--input-type=module',
        '-e',
        `await import('pino'); await import('pino-pretty'); ${PRINT_RSS}`,
      ]),
    );
  }
  return { bare: median(bare), typescript: median(typescript), pino: median(pino) };
}

export interface IdleSample {
  name: string;
  primary: number | undefined;
  workers: number[];
  command: string;
}

/** RSS of idle servers, 1 s (quick: 0.3 s) after their first 200: pounce from source and as installed, raw cluster. */
export async function idleMemory(ctx: Ctx, workers: number): Promise<IdleSample[]> {
  const rounds = ctx.quick ? 1 : 2;
  const samples: IdleSample[] = [];
  let built = false;
  // The supervisor's RSS target is judged on the published CLI: built, packed, installed, through its bin.
  try {
    for (const command of await installPounce())
      samples.push({ name: 'build', primary: undefined, workers: [], command });
    built = true;
  } catch (err) {
    ctx.log(`  could not build and install pounce: ${(err as Error).message.split('\n')[0]}`);
  }
  const contenders: { name: string; start: () => Promise<Server> }[] = [
    {
      name: 'pounce, from source (as everywhere else in this report)',
      start: () => startPounce({ workers }),
    },
    ...(built
      ? [
          {
            name: 'pounce, installed (`npm pack` → `npm install`), through node_modules/.bin/pounce',
            start: () => startPounceInstalled(workers),
          },
          {
            name: 'pounce, installed, run as `node node_modules/pounce/dist/cli/main.js` (without the bin’s flags)',
            start: () => startPounceInstalled(workers, { direct: true }),
          },
          {
            name: 'minimal ESM cluster primary, no pounce (the floor), at the bin’s path depth, with its flags',
            start: () => startClusterFloor(workers),
          },
        ]
      : []),
    { name: 'raw node:http cluster', start: () => startRawCluster(workers) },
  ];
  for (let round = 0; round < rounds; round++) {
    for (const contender of contenders) {
      let server: Server;
      try {
        server = await contender.start();
      } catch (err) {
        ctx.log(`  ${contender.name} did not start: ${(err as Error).message.split('\n')[0]}`);
        continue;
      }
      try {
        await waitForOk(`${server.url}/`);
        await sleep(ctx.quick ? 300 : 1000);
        const pids = await server.pids();
        samples.push({
          name: contender.name,
          primary: pids.primary === undefined ? undefined : rssMb(pids.primary),
          workers: pids.workers.map(rssMb).filter((v): v is number => v !== undefined),
          command: server.command,
        });
      } finally {
        await server.stop();
      }
    }
  }
  return samples;
}

export function memorySection(
  quick: boolean,
  samples: MemorySample[],
  afterFirst: RssSnapshot | undefined,
  afterLast: RssSnapshot | undefined,
  reloads: number,
  idle: IdleSample[],
  base: Baseline | undefined,
): Section {
  const keys = [...new Set(samples.map((s) => s.contender))];
  const supervising: Record<string, string> = {
    pounce: 'supervisor',
    'pounce script': 'supervisor',
    'pounce + metrics': 'supervisor (prom-client loaded)',
    'raw cluster': 'cluster primary',
    'PM2 cluster': 'PM2 daemon (God)',
    'single process': '—',
  };
  const rows = keys.map((key) => {
    const list = samples.filter((s) => s.contender === key);
    const primary = median(list.map((s) => s.primary).filter((v): v is number => v !== undefined));
    const workers = list.flatMap((s) => s.workers);
    const totals = list.map((s) => (key === 'single process' ? 0 : (s.primary ?? 0)) + sum(s.workers));
    return [
      key,
      key === 'single process' ? '—' : `${supervising[key] ?? 'primary'}: ${mb(primary)}`,
      key === 'single process' ? mb(primary) : mb(median(workers)),
      key === 'single process' ? '1' : String(median(list.map((s) => s.workers.length))),
      mb(median(key === 'single process' ? list.map((s) => s.primary ?? 0) : totals)),
    ];
  });
  const supervisor = Math.max(
    ...samples.filter((s) => s.contender === 'pounce').map((s) => s.primary ?? 0),
    afterFirst?.supervisor ?? 0,
    afterLast?.supervisor ?? 0,
  );
  const total = (s: RssSnapshot | undefined) =>
    s?.supervisor === undefined ? Number.NaN : s.supervisor + sum(s.workers);
  const growth = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined ? Number.NaN : (b - a) / a;
  const supGrowth = growth(afterFirst?.supervisor, afterLast?.supervisor);
  const totalGrowth = growth(total(afterFirst), total(afterLast));
  const pct = (v: number) => `${v >= 0 ? '+' : ''}${fmt(v * 100, 1)} %`;
  const reloadRows = [
    ['supervisor', mb(afterFirst?.supervisor), mb(afterLast?.supervisor), pct(supGrowth)],
    [
      'workers (each)',
      afterFirst?.workers.map(mb).join(', ') ?? 'n/a',
      afterLast?.workers.map(mb).join(', ') ?? 'n/a',
      '',
    ],
    ['total', mb(total(afterFirst)), mb(total(afterLast)), pct(totalGrowth)],
  ];
  const idleNames = [...new Set(idle.filter((s) => s.name !== 'build').map((s) => s.name))];
  const distSupervisor = median(
    idle.filter((s) => s.name.includes('through node_modules/.bin')).map((s) => s.primary ?? Number.NaN),
  );
  const directSupervisor = median(
    idle.filter((s) => s.name.includes('dist/cli/main.js')).map((s) => s.primary ?? Number.NaN),
  );
  const floor = median(idle.filter((s) => s.name.includes('the floor')).map((s) => s.primary ?? Number.NaN));
  const stripper = (base?.typescript ?? Number.NaN) - (base?.bare ?? Number.NaN);
  const pino = (base?.pino ?? Number.NaN) - (base?.bare ?? Number.NaN);
  const idleRows = idleNames.map((name) => {
    const list = idle.filter((s) => s.name === name);
    return [
      name,
      mb(median(list.map((s) => s.primary ?? Number.NaN))),
      mb(median(list.flatMap((s) => s.workers))),
      mb(median(list.map((s) => (s.primary ?? 0) + sum(s.workers)))),
    ];
  });
  return {
    title: '5. Memory',
    body: [
      `Idle servers, ${quick ? '0.3' : '1'} s after their first 200. For scale: a bare \`node -e\` is ${mb(base?.bare)} here, an empty ` +
        `.ts file ${mb(base?.typescript)} (the type stripper), \`node -e\` importing pino and pino-pretty ` +
        `${mb(base?.pino)}.`,
      table(['server', 'supervising process', 'each worker', 'total'], idleRows),
      'RSS right after each throughput run of scenario 1 (so after load; medians over the rounds). ' +
        '"total" is the supervising process plus its workers.',
      table(['server', 'supervising process', 'each worker (median)', 'workers', 'total'], rows),
      `RSS of the pounce server of scenario 2 (under load), ${AFTER_RELOAD_MS} ms after reload 1 and after reload ` +
        `${reloads} completed:`,
      table(['process', 'after 1 reload', `after ${reloads} reloads`, 'change'], reloadRows),
      code(idle.map((s) => s.command)),
    ].join('\n\n'),
    targets: [
      {
        name: 'Supervisor RSS',
        goal: `≤ ${MAX_SUPERVISOR_MB} MB idle, as installed`,
        // Judged on the published CLI as users run it: npm-installed, through the bin npm links; the
        // from-source number (tests, npm start) carries Node's TypeScript type stripper on top.
        measured: Number.isFinite(distSupervisor)
          ? `${mb(distSupervisor)} idle, installed (node_modules/.bin/pounce); ${mb(directSupervisor)} as \`node …/dist/cli/main.js\`; ${mb(supervisor)} largest sample from source`
          : `not measured (no installed build); ${mb(supervisor)} largest sample from source`,
        pass: Number.isFinite(distSupervisor) ? distSupervisor <= MAX_SUPERVISOR_MB : undefined,
        why:
          `the supervisor is a whole Node process: bare Node ${process.version} is ${mb(base?.bare)} RSS here, and a ` +
          `minimal ES-module cluster primary forking the same workers from the bin's path depth, with the bin's ` +
          `node flags, ${mb(floor)} (the floor: pounce's own share is the difference). Of that share, most is ` +
          `code pages of the node binary that loading and running pounce's modules touch (Node's module loader, ` +
          `the internal modules behind node:util, node:net and the control socket) and pino (measured ~0.7 MB); ` +
          `the supervisor already loads no node:crypto, dns, perf_hooks or http, nor what ES imports of ` +
          `built-ins would (test/supervisor-footprint.test.ts), creates no Date (ICU), runs without V8's ` +
          `compilers (Sparkplug, Maglev, TurboFan: their code pages; off from node's command line through the ` +
          `bin, which spares the compiles of loading the entry point too — without the bin, only from ` +
          `pounce's first line on) and compacts its heap once it serves and after each reload (through the ` +
          `bin with --expose-gc: no node:v8, ~0.8 MB). Running from ` +
          `source adds the TypeScript type stripper (+${mb(stripper)}); \`node -e\` importing pino and ` +
          `pino-pretty (pino-pretty only for a terminal) is +${mb(pino)} over bare Node`,
      },
      {
        name: 'RSS after reloads',
        goal: `after ${reloads} reloads within 5 % of after 1 (supervisor and total)`,
        measured: `supervisor ${pct(supGrowth)}, total ${pct(totalGrowth)}`,
        pass: Number.isFinite(supGrowth)
          ? Math.abs(supGrowth) <= 0.05 && Math.abs(totalGrowth) <= 0.05
          : undefined,
      },
    ],
  };
}
