// Scenario 4: SIGTERM → exit of the whole server (supervisor and workers) — idle, with idle
// kept-alive clients, with a 2 s request in flight, and with a stuck request (the shutdownTimeout
// path). A fresh server for every run.

import http from 'node:http';
import { type Ctx, code, type Section, table } from '../lib/context.ts';
import { get } from '../lib/http.ts';
import { sleep } from '../lib/procs.ts';
import { startPounce } from '../lib/servers.ts';
import { median, ms } from '../lib/stats.ts';
import { WORKERS } from './throughput.ts';

/** The target for an idle server: SIGTERM → exit of the supervisor (its workers exit first). */
const MAX_IDLE_SHUTDOWN_MS = 100;

interface Case {
  name: string;
  expect: string;
  flags?: string[];
  rounds: number;
  /** Sets up the clients; returns what to check after the exit. */
  before: (url: string) => Promise<() => Promise<string>>;
}

export async function shutdownScenario(ctx: Ctx): Promise<Section> {
  const stuckTimeout = ctx.quick ? 0.5 : 2;
  const cases: Case[] = [
    {
      name: 'idle',
      expect: 'at once',
      rounds: ctx.quick ? 1 : 4,
      before: async () => async () => '—',
    },
    {
      name: 'idle kept-alive clients (8 connections)',
      expect: 'idle connections closed after the ~1 s idle grace',
      rounds: ctx.quick ? 1 : 2,
      before: async (url) => {
        const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
        const answers = await Promise.all(Array.from({ length: 8 }, () => get(`${url}/`, { agent })));
        await sleep(100);
        return async () => {
          agent.destroy();
          return `${answers.filter((a) => a.status === 200).length}/8 answered 200 before the signal`;
        };
      },
    },
    {
      name: '2 s request in flight',
      expect: 'the request finishes, then exit',
      rounds: ctx.quick ? 1 : 2,
      before: async (url) => {
        const request = get(`${url}/slow?ms=2000`, { timeoutMs: 30_000 }).then(
          (r) => `answered ${r.status}, Connection: ${r.headers.connection}`,
          (e: Error) => `failed: ${e.message}`,
        );
        await sleep(200);
        return () => request;
      },
    },
    {
      name: `stuck request (--shutdown-timeout ${stuckTimeout})`,
      expect: `cut at shutdownTimeout (${stuckTimeout} s)`,
      flags: ['--shutdown-timeout', String(stuckTimeout)],
      rounds: 1,
      before: async (url) => {
        const request = get(`${url}/slow?ms=600000`, { timeoutMs: 30_000 }).then(
          (r) => `answered ${r.status}`,
          (e: Error & { code?: string }) => `cut by the server (${e.code ?? e.message})`,
        );
        await sleep(200);
        return () => request;
      },
    },
  ];

  const rows: string[][] = [];
  const commands: string[] = [];
  let idle = Number.NaN;
  for (const c of cases) {
    const times: number[] = [];
    const outcomes = new Set<string>();
    const codes = new Set<string>();
    for (let round = 0; round < c.rounds; round++) {
      const server = await startPounce({ workers: WORKERS, flags: c.flags });
      try {
        commands.push(server.command);
        await sleep(200);
        const after = await c.before(server.url);
        const sent = server.proc.signal('SIGTERM');
        const exit = await Promise.race([
          server.proc.exited,
          sleep(30_000).then(() => ({ at: Number.NaN, code: null, signal: null })),
        ]);
        times.push(exit.at - sent);
        codes.add(String(exit.code ?? exit.signal ?? 'still running after 30 s'));
        outcomes.add(await after());
      } finally {
        await server.stop(1000);
      }
    }
    if (c.name === 'idle') idle = median(times);
    rows.push([
      c.name,
      ms(median(times)),
      times.map((t) => ms(t)).join(', '),
      [...codes].join(', '),
      c.expect,
      [...outcomes].join('; '),
    ]);
  }
  const body = [
    `\`pounce serve\` with ${WORKERS} workers; SIGTERM to the supervisor, time until the supervisor process exited ` +
      '(its workers exit before it). A fresh server per run.',
    table(
      ['situation', 'SIGTERM → exit (median)', 'runs', 'exit status', 'expected', 'client outcome'],
      rows,
    ),
    code(commands),
  ].join('\n\n');
  return {
    title: '4. Shutdown',
    body,
    targets: [
      {
        name: 'Idle shutdown',
        goal: `SIGTERM → exit ≤ ${MAX_IDLE_SHUTDOWN_MS} ms (idle server)`,
        measured: ms(idle),
        pass: idle <= MAX_IDLE_SHUTDOWN_MS,
      },
    ],
  };
}
