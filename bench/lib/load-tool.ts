// The throughput load tool: wrk when it is on PATH (Debian/Ubuntu: `apt-get install -y wrk`),
// otherwise autocannon, installed on demand into bench/.scratch (never a dependency of pounce).
// When neither is available and installing is not allowed (quick mode in `npm test`, which must
// not need the network), the bench's own load generator stands in, and the report says so.

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { runLoad } from '../load-generator.ts';
import { BENCH, NODE, run, showCommand } from './procs.ts';
import { percentile } from './stats.ts';

export const SCRATCH = path.join(BENCH, '.scratch');
const AUTOCANNON = path.join(SCRATCH, 'node_modules/autocannon/autocannon.js');

export interface ToolResult {
  rps: number;
  p50: number;
  p99: number;
  /** Connection errors and timeouts. */
  errors: number;
  non2xx: number;
  command: string;
}

export interface LoadTool {
  name: string;
  version: string;
  /** Sends `connections` kept-alive connections of GET `url` for `seconds`. */
  measure(url: string, seconds: number, connections: number): Promise<ToolResult>;
}

async function which(cmd: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const file = path.join(dir, cmd);
    if (dir && existsSync(file)) return file;
  }
  return undefined;
}

/** A wrk duration such as "1.23ms", "850.00us", "1.02s" in ms. */
function wrkMs(text: string): number {
  const match = /^([\d.]+)(us|ms|s|m)$/.exec(text.trim());
  if (!match) return Number.NaN;
  const value = Number(match[1]);
  return { us: value / 1000, ms: value, s: value * 1000, m: value * 60_000 }[
    match[2] as 'us' | 'ms' | 's' | 'm'
  ];
}

export function parseWrk(output: string): Omit<ToolResult, 'command'> {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1] ?? Number.NaN);
  const p50 = wrkMs(/^\s+50%\s+(\S+)/m.exec(output)?.[1] ?? '');
  const p99 = wrkMs(/^\s+99%\s+(\S+)/m.exec(output)?.[1] ?? '');
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const errors = socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0;
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(output)?.[1] ?? 0);
  return { rps, p50, p99, errors, non2xx };
}

function wrkTool(bin: string, version: string): LoadTool {
  return {
    name: 'wrk',
    version,
    async measure(url, seconds, connections) {
      const args = ['-t2', `-c${connections}`, `-d${seconds}s`, '--latency', url];
      const result = await run(bin, args, { timeoutMs: (seconds + 30) * 1000 });
      if (result.code !== 0) throw new Error(`wrk failed (${result.code}): ${result.stderr}`);
      return { ...parseWrk(result.stdout), command: showCommand('wrk', args) };
    },
  };
}

function autocannonTool(version: string): LoadTool {
  return {
    name: 'autocannon',
    version,
    async measure(url, seconds, connections) {
      const args = [AUTOCANNON, '-c', String(connections), '-d', String(seconds), '-j', url];
      const result = await run(NODE, args, { timeoutMs: (seconds + 30) * 1000 });
      if (result.code !== 0) throw new Error(`autocannon failed (${result.code}): ${result.stderr}`);
      const json = JSON.parse(result.stdout) as {
        requests: { average: number };
        latency: { p50: number; p99: number };
        errors: number;
        timeouts: number;
        non2xx: number;
      };
      return {
        rps: json.requests.average,
        p50: json.latency.p50,
        p99: json.latency.p99,
        errors: json.errors + json.timeouts,
        non2xx: json.non2xx,
        command: showCommand(NODE, args).replace(
          /^node bench\/.scratch\/node_modules\/autocannon\/autocannon.js/,
          'autocannon',
        ),
      };
    },
  };
}

const builtinTool: LoadTool = {
  name: 'built-in',
  version: 'bench/load-generator.ts (keep-alive loops in the bench process)',
  async measure(url, seconds, connections) {
    const load = runLoad({
      url,
      durationMs: seconds * 1000,
      keepAlive: connections,
      requestTimeoutMs: 10_000,
    });
    const report = await load.done;
    const ok = report.latencies;
    return {
      rps: report.total / (report.durationMs / 1000),
      p50: percentile(ok, 50),
      p99: percentile(ok, 99),
      errors:
        report.failed -
        Object.entries(report.failures).reduce(
          (n, [k, v]) => n + (k.startsWith('status-') ? (v ?? 0) : 0),
          0,
        ),
      non2xx: Object.entries(report.failures).reduce(
        (n, [k, v]) => n + (k.startsWith('status-') ? (v ?? 0) : 0),
        0,
      ),
      command: `runLoad({ url: '${url}', durationMs: ${seconds * 1000}, keepAlive: ${connections} })`,
    };
  },
};

/** wrk if on PATH, else autocannon (installed if `install`), else the built-in generator. */
export async function pickLoadTool(install: boolean, log: (line: string) => void): Promise<LoadTool> {
  const wrk = await which('wrk');
  if (wrk) {
    const version = await run(wrk, ['-v'], { timeoutMs: 10_000 });
    const text = `${version.stdout}${version.stderr}`;
    return wrkTool(wrk, /wrk \S+/.exec(text)?.[0] ?? 'wrk');
  }
  if (!existsSync(AUTOCANNON) && install) {
    log('wrk is not on PATH (apt-get install -y wrk); installing autocannon into bench/.scratch...');
    const npm = await run('npm', ['install', 'autocannon', '--prefix', SCRATCH, '--no-audit', '--no-fund'], {
      timeoutMs: 180_000,
    });
    if (npm.code !== 0) throw new Error(`npm install autocannon failed: ${npm.stderr}`);
  }
  if (existsSync(AUTOCANNON)) {
    const pkg = JSON.parse(readFileSync(path.join(SCRATCH, 'node_modules/autocannon/package.json'), 'utf8'));
    return autocannonTool(`autocannon ${(pkg as { version: string }).version}`);
  }
  return builtinTool;
}
