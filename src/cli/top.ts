// `pounce top`: a live view of the running server, redrawn each second from its status over the
// control socket (the same figures as `pounce status --json`). q or Ctrl-C quits. `--once` prints
// one frame and exits (for scripts, logs, a terminal-less shell); without it stdout must be a
// terminal. Requests per
// second, p99 and requests in flight need the `metrics` option (without it requests are not
// measured); memory, event-loop utilisation and connections are always there.

import { controlSocketLocation } from '../control/protocol.ts';
import { ExitCode, PounceError, pounceError } from '../errors.ts';
import { quantile } from '../metrics/snapshot.ts';
import type { LiveStatus } from '../metrics/status-figures.ts';
import { loadCommandConfig, type ParsedArgs } from './args.ts';
import { askServer } from './control.ts';

const REFRESH_MS = 1_000;

export async function topCommand(args: ParsedArgs): Promise<number> {
  const cwd = process.cwd();
  const out = process.stdout;
  // Redrawing in place needs a terminal; piped or redirected, one frame is what makes sense.
  if (!args.once && !out.isTTY) throw pounceError('TOP_NEEDS_TERMINAL', {});
  const { config } = await loadCommandConfig(args, cwd);
  const location = controlSocketLocation(config, cwd);
  const frame = async (): Promise<string> => {
    const { response } = await askServer(location, { command: 'status' }, config.pidFile, cwd);
    return response.ok && response.command === 'status'
      ? formatTop(response.status, args.once)
      : 'unexpected answer\n';
  };
  if (args.once) {
    try {
      out.write(await frame());
      return ExitCode.OK;
    } catch (err) {
      const coded = err instanceof PounceError ? `error ${err.code}: ` : '';
      process.stderr.write(`pounce top: ${coded}${(err as Error).message}\n`);
      return ExitCode.FAILURE;
    }
  }
  let stop: () => void = () => {};
  const stopped = new Promise<void>((resolve) => {
    stop = resolve;
  });
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const stdin = process.stdin;
  if (stdin.isTTY) {
    stdin.setRawMode(true);
    stdin.on('data', (key: Buffer) => {
      // q, Q, Ctrl-C (raw mode turns it into a byte instead of SIGINT)
      if (key[0] === 0x71 || key[0] === 0x51 || key[0] === 0x03) stop();
    });
  }
  // The alternate screen, cursor hidden: the terminal is left as it was on exit.
  out.write('\x1b[?1049h\x1b[?25l');
  let code = 0;
  try {
    for (;;) {
      let screen: string;
      try {
        screen = await frame();
      } catch (err) {
        const coded = err instanceof PounceError ? `error ${err.code}: ` : '';
        screen = `pounce top: ${coded}${(err as Error).message}\n`;
      }
      out.write(`\x1b[H\x1b[2J${screen}`);
      const next = new Promise<'tick'>((r) => setTimeout(() => r('tick'), REFRESH_MS).unref());
      if ((await Promise.race([next, stopped.then(() => 'stop' as const)])) === 'stop') break;
    }
  } catch (err) {
    process.stderr.write(`pounce top: ${(err as Error).message}\n`);
    code = 1;
  } finally {
    out.write('\x1b[?25h\x1b[?1049l');
    if (stdin.isTTY) {
      stdin.setRawMode(false);
      stdin.pause();
    }
  }
  return code;
}

const mb = (bytes: number) => `${Math.round(bytes / 1_048_576)} MB`;
const ms = (seconds: number | null) => (seconds === null ? '-' : `${(seconds * 1000).toFixed(1)} ms`);
const num = (n: number | null) => (n === null ? '-' : String(n));

function uptime(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return h ? `${h}h${m}m` : m ? `${m}m${seconds % 60}s` : `${seconds}s`;
}

/** One screen of `pounce top` (`once`: a frame printed on its own, without the key help). */
export function formatTop(s: LiveStatus, once = false): string {
  const f = s.figures;
  const reload = s.lastReload
    ? s.lastReload.ok
      ? `generation ${s.lastReload.generation} ok in ${s.lastReload.seconds}s at ${s.lastReload.at}`
      : `FAILED in ${s.lastReload.seconds}s at ${s.lastReload.at}: ${s.lastReload.reason}`
    : 'none';
  const lines = [
    `pounce ${s.state} — generation ${s.generation}, pid ${s.pid}, up ${uptime(s.uptimeSeconds)}, ${s.url ?? ''}`,
    `workers ${s.workers.length} (${s.workersWanted} wanted)   req/s ${num(f.requestsPerSecond)}   p99 ${ms(f.p99Seconds)}   in flight ${num(f.inFlight)}   conns ${f.connections}   rss ${mb(f.rssBytes)}`,
    `last reload: ${reload}`,
    ...(s.crashLoop ? [`CRASH LOOP: ${s.crashesLastMinute} crashes in the last 60s`] : []),
    ...(f.requestsPerSecond === null ? ['(req/s, p99 and in flight need the metrics option)'] : []),
    '',
    `${'WORKER'.padEnd(8)}${'PID'.padEnd(9)}${'GEN'.padEnd(5)}${'STATE'.padEnd(14)}${'REQ/S'.padStart(7)}${'P99'.padStart(11)}${'INFL'.padStart(6)}${'CONNS'.padStart(7)}${'RSS'.padStart(9)}${'ELU'.padStart(6)}  UP`,
  ];
  for (const w of s.workers) {
    const m = w.metrics;
    const win = m?.window;
    lines.push(
      `${String(w.id).padEnd(8)}${String(w.pid).padEnd(9)}${String(w.generation).padEnd(5)}${w.state.padEnd(14)}` +
        `${(win ? String(win.requests) : '-').padStart(7)}` +
        `${(win ? ms(workerP99(win.counts)) : '-').padStart(11)}` +
        `${num(m?.inFlight ?? null).padStart(6)}` +
        `${String(w.connections ?? '?').padStart(7)}` +
        `${(m ? mb(m.rssBytes) : '-').padStart(9)}` +
        `${(m ? `${Math.round(m.elu * 100)}%` : '-').padStart(6)}  ${uptime(w.uptimeSeconds)}`,
    );
  }
  if (!once) lines.push('', 'q to quit');
  return `${lines.join('\n')}\n`;
}

function workerP99(counts: number[]): number | null {
  return quantile(counts, 0.99) ?? null;
}
