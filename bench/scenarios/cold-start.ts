// Scenario 6: cold start, from launching the command to the first 200 response (GET / polled every
// 5 ms), pounce (as installed, and from source) next to raw cluster and a single raw process;
// interleaved rounds, medians. The target is judged on pounce as users run it: installed, through
// its bin (from source if it could not be built).

import { type Ctx, code, type Section, table } from '../lib/context.ts';
import { waitForOk } from '../lib/http.ts';
import { installPounce, startPounceInstalled } from '../lib/installed.ts';
import { sleep } from '../lib/procs.ts';
import { type Server, startPounce, startRawCluster, startRawSingle } from '../lib/servers.ts';
import { median, ms, ratio } from '../lib/stats.ts';
import { WORKERS } from './throughput.ts';

/** The target: pounce serves its first request at most this much later than raw cluster. */
const MAX_OVER_RAW_MS = 50;

export async function coldStartScenario(ctx: Ctx): Promise<Section> {
  const rounds = ctx.quick ? 1 : 5;
  let installed = true;
  try {
    await installPounce();
  } catch (err) {
    installed = false;
    ctx.log(`  could not build and install pounce: ${(err as Error).message.split('\n')[0]}`);
  }
  const contenders: { key: string; start: () => Promise<Server> }[] = [
    ...(installed
      ? [
          {
            key: 'pounce, installed',
            start: () => startPounceInstalled(WORKERS, { noWait: true }),
          },
        ]
      : []),
    { key: 'pounce', start: () => startPounce({ workers: WORKERS, noWait: true }) },
    { key: 'raw cluster', start: () => startRawCluster(WORKERS, { noWait: true }) },
    { key: 'single process', start: () => startRawSingle({ noWait: true }) },
  ];
  const times = new Map<string, number[]>();
  const names = new Map<string, string>();
  const commands: string[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const contender of contenders) {
      const server = await contender.start();
      try {
        const proc = server.proc!;
        const ok = await waitForOk(`${server.url}/`, {
          everyMs: 5,
          timeoutMs: 60_000,
          gone: () => !proc.alive,
        });
        times.set(contender.key, [...(times.get(contender.key) ?? []), ok - proc.startedAt]);
        names.set(contender.key, server.name);
        commands.push(server.command);
      } finally {
        await server.stop();
      }
      await sleep(100);
    }
  }
  const raw = median(times.get('raw cluster') ?? []);
  const rows = contenders.map(({ key }) => {
    const list = times.get(key) ?? [];
    return [
      names.get(key) ?? key,
      ms(median(list)),
      list.map((t) => ms(t)).join(', '),
      ratio(median(list), raw),
    ];
  });
  const judged = installed ? 'pounce, installed' : 'pounce';
  const pounce = median(times.get(judged) ?? []);
  return {
    title: '6. Cold start',
    body: [
      `From spawning the command to the first 200 on GET / (polled every 5 ms on a fresh connection), ${rounds} ` +
        `interleaved round${rounds > 1 ? 's' : ''}. pounce starts a supervisor, then its workers, each of ` +
        'which imports pounce, pino and the app: installed (`npm pack` → `npm install`, through ' +
        'node_modules/.bin/pounce), as users run it, and from source (TypeScript stripped at load), as ' +
        'the rest of this report runs it.',
      table(['server', 'launch → first 200 (median)', 'runs', 'vs raw cluster'], rows),
      `${judged} takes ${ms(Math.abs(pounce - raw))} ${pounce >= raw ? 'more' : 'less'} than raw cluster to serve its first request.`,
      code(commands),
    ].join('\n\n'),
    targets: [
      {
        name: 'Cold start',
        goal: `launch → first 200 within ${MAX_OVER_RAW_MS} ms of raw cluster (${WORKERS} workers, medians; ${judged})`,
        measured: `${ms(pounce)} vs ${ms(raw)} (${pounce >= raw ? '+' : '−'}${ms(Math.abs(pounce - raw))})`,
        pass: Number.isFinite(pounce - raw) ? pounce - raw <= MAX_OVER_RAW_MS : undefined,
      },
    ],
  };
}
