// Scenario 3: how long a reload takes, from SIGHUP to "reloadComplete", next to the time one worker
// takes to boot (spawn → ready, from the supervisor's debug log) — for hello world and for an app
// whose startup hook takes 1 s, on an idle server.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Ctx, code, type Section, table } from '../lib/context.ts';
import { atExit, sleep } from '../lib/procs.ts';
import { HELLO_APP, HOOK_APP, startPounce, workerBoots } from '../lib/servers.ts';
import { median, ms, slowest } from '../lib/stats.ts';
import { WORKERS } from './throughput.ts';

export interface ReloadDurations {
  app: string;
  reloads: number;
  /** SIGHUP → new generation serving ("drainingOld"). */
  cutover: number[];
  /** SIGHUP → "reloadComplete" (old generation drained and exited). */
  complete: number[];
  /** Per reload, the slowest new worker's spawn → ready. */
  newBoot: number[];
  failed: number;
}

async function reloadRun(
  ctx: Ctx,
  app: string,
  reloads: number,
  env?: Record<string, string>,
): Promise<{ durations: ReloadDurations; command: string }> {
  const server = await startPounce({ workers: WORKERS, app, logLevel: 'debug', env });
  const durations: ReloadDurations = { app, reloads, cutover: [], complete: [], newBoot: [], failed: 0 };
  try {
    const { proc } = server;
    for (let i = 1; i <= reloads; i++) {
      const from = proc.logs.length;
      const sent = proc.signal('SIGHUP');
      const done = await proc.waitForEvent(['reloadComplete', 'reloadFailed'], { from, timeoutMs: 60_000 });
      const cut = proc.logs.find((l, index) => index >= from && l.event === 'drainingOld');
      if (done.event !== 'reloadComplete') durations.failed++;
      durations.cutover.push((cut?.at ?? Number.NaN) - sent);
      durations.complete.push(done.at - sent);
      durations.newBoot.push(slowest(workerBoots(proc.logs, from)));
      if (i % 10 === 0) ctx.log(`    ${i}/${reloads} idle reloads`);
      await sleep(50);
    }
  } finally {
    await server.stop();
  }
  return { durations, command: server.command };
}

/** Boot of a single worker: `pounce serve --workers 1`, spawn → ready from the debug log. */
async function singleBoot(
  app: string,
  env?: Record<string, string>,
): Promise<{ boot: number; listening: number; command: string }> {
  const server = await startPounce({ workers: 1, app, logLevel: 'debug', env });
  try {
    const listening = await server.proc.waitForEvent('listening');
    return {
      boot: workerBoots(server.proc.logs, 0)[0] ?? Number.NaN,
      listening: listening.at - server.proc.startedAt,
      command: server.command,
    };
  } finally {
    await server.stop();
  }
}

export interface DurationResult {
  section: Section;
  commands: string[];
}

export async function reloadDurationScenario(ctx: Ctx): Promise<DurationResult> {
  const rounds = ctx.quick ? 1 : 3;
  const reloads = ctx.quick ? 2 : 30;
  const hookReloads = ctx.quick ? 1 : 5;
  const commands: string[] = [];
  // Node's on-disk compile cache (V8 code cache, and the stripped TypeScript) in a directory the
  // user chose (NODE_COMPILE_CACHE) instead of pounce's own private one. One boot first fills it.
  const cacheDir = mkdtempSync(path.join(tmpdir(), 'pounce-bench-cache-'));
  atExit(() => rmSync(cacheDir, { recursive: true, force: true }));
  const cacheEnv = { NODE_COMPILE_CACHE: cacheDir };
  await singleBoot(HELLO_APP, cacheEnv);
  const boot = { hello: [] as number[], hook: [] as number[], cached: [] as number[] };
  const launch = { hello: [] as number[], hook: [] as number[], cached: [] as number[] };
  for (let round = 1; round <= rounds; round++) {
    for (const [key, app, env] of [
      ['hello', HELLO_APP, undefined],
      ['hook', HOOK_APP, undefined],
      ['cached', HELLO_APP, cacheEnv],
    ] as const) {
      const result = await singleBoot(app, env);
      boot[key].push(result.boot);
      launch[key].push(result.listening);
      commands.push(result.command.replace(cacheDir, '$CACHE_DIR'));
    }
  }

  ctx.log(`  ${reloads} reloads of an idle server (hello world)`);
  const hello = await reloadRun(ctx, HELLO_APP, reloads);
  commands.push(
    hello.command,
    `kill -HUP $SUPERVISOR_PID  # ${reloads}×, each after the previous "reloadComplete"`,
  );
  ctx.log(`  ${hookReloads} reloads of the app with a 1 s startup hook`);
  const hook = await reloadRun(ctx, HOOK_APP, hookReloads);
  commands.push(hook.command, `kill -HUP $SUPERVISOR_PID  # ${hookReloads}×`);
  const cachedReloads = ctx.quick ? 1 : 10;
  ctx.log(`  ${cachedReloads} reloads with NODE_COMPILE_CACHE set`);
  const cached = await reloadRun(ctx, HELLO_APP, cachedReloads, cacheEnv);
  commands.push(
    cached.command.replace(cacheDir, '$CACHE_DIR'),
    `kill -HUP $SUPERVISOR_PID  # ${cachedReloads}×`,
  );

  const rows = [
    ['hello world', boot.hello, hello.durations],
    ['startup hook of 1 s', boot.hook, hook.durations],
    [
      "hello world, with `NODE_COMPILE_CACHE` set (the user's cache directory)",
      boot.cached,
      cached.durations,
    ],
  ] as const;
  const helloBoot = median(boot.hello);
  const helloReload = median(hello.durations.complete);
  const hookBoot = median(boot.hook);
  const hookReload = median(hook.durations.complete);
  const pass = helloReload <= helloBoot + 250 && hookReload <= hookBoot + 250;
  const body = [
    `Worker boot: \`pounce serve --workers 1\`, from the supervisor's "workerSpawned" to "workerReady" log ` +
      `lines (the worker process starts, imports pounce and the app, runs the startup hooks, listens), ` +
      `median of ${rounds}. Reload: SIGHUP to the supervisor of an idle ${WORKERS}-worker server, until ` +
      '"drainingOld" (the new generation serves) and until "reloadComplete" (the old generation drained and ' +
      'exited); "new workers\' boot" is the slowest new worker\'s spawn → ready inside that reload (' +
      `${WORKERS} workers booting at once on ${WORKERS} cores). Both run from source (\`--conditions=pounce-source\`, ` +
      'TypeScript stripped at load), as the tests do.',
    table(
      [
        'app',
        'one worker boot (median)',
        'reloads',
        'SIGHUP → serving (median)',
        'SIGHUP → reloadComplete (median / max)',
        "new workers' boot in the reload (median)",
        'reload − one worker boot',
        'failed reloads',
      ],
      rows.map(([name, b, d]) => [
        name,
        ms(median(b)),
        String(d.reloads),
        ms(median(d.cutover)),
        `${ms(median(d.complete))} / ${ms(slowest(d.complete))}`,
        ms(median(d.newBoot)),
        ms(median(d.complete) - median(b)),
        String(d.failed),
      ]),
    ),
    `Launch → "listening" of \`pounce serve --workers 1\` (supervisor + one worker): ${ms(median(launch.hello))} ` +
      `(hello world), ${ms(median(launch.hook))} (1 s startup hook), ${ms(median(launch.cached))} (hello world ` +
      "with `NODE_COMPILE_CACHE` set before the launch). pounce enables Node's compile cache itself, in a " +
      'private directory, before it loads its own modules (supervisor and workers, from source as here; ' +
      "the installed bin's supervisor leaves its own modules out); the last row uses a " +
      'directory the user chose instead. From source, a boot without the cache is mostly compiling and ' +
      "type-stripping pounce's modules. A reload's new workers (started while others serve) also warm up " +
      "Node's HTTP code before listening, and boot at a low CPU priority where pounce may restore it.",
    code(commands),
  ].join('\n\n');
  return {
    section: {
      title: '3. Reload duration',
      body,
      targets: [
        {
          name: 'Reload duration',
          goal: 'SIGHUP → reload complete ≤ one worker boot + 250 ms',
          measured: `hello ${ms(helloReload)} vs ${ms(helloBoot)} + 250; 1 s hook ${ms(hookReload)} vs ${ms(hookBoot)} + 250`,
          pass,
          why:
            `a reload boots ${WORKERS} workers at once, and on ${WORKERS} cores (shared with the supervisor and the ` +
            `old generation) that is slower than one worker alone: the slowest new worker took ` +
            `${ms(median(hello.durations.newBoot))} (hello) and ${ms(median(hook.durations.newBoot))} (1 s hook) ` +
            `vs ${ms(helloBoot)} and ${ms(hookBoot)} for one worker alone. pounce's own part — from the last new ` +
            `worker ready to "reloadComplete" — is ${ms(median(hello.durations.complete) - median(hello.durations.newBoot))} ` +
            `and ${ms(median(hook.durations.complete) - median(hook.durations.newBoot))}. With Node's compile ` +
            `cache (NODE_COMPILE_CACHE) a worker boots in ${ms(median(boot.cached))} and a reload takes ` +
            `${ms(median(cached.durations.complete))}`,
        },
      ],
    },
    commands,
  };
}
