// Child processes of the bench. Every child leads its own process group (detached), is remembered
// until it exits, and is killed with its whole group when the bench ends — normally, on an error,
// on Ctrl-C or at the watchdog's deadline — so no server, worker or load tool outlives the bench.

import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { killGroup, killTrackedGroups, scrubbedEnv, trackGroup } from './harness.ts';

export { isAlive, killGroup } from './harness.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BENCH = path.join(ROOT, 'bench');
export const APPS = path.join(BENCH, 'apps');
export const CLI = path.join(ROOT, 'src/cli/main.ts');
/** The Node the project pins (the bench itself runs on it). */
export const NODE = process.execPath;

const cleanups: (() => void)[] = [];

/** Kills every process group still alive (synchronous: also usable from an 'exit' handler). */
export function killAll(): void {
  for (const fn of cleanups.splice(0)) {
    try {
      fn();
    } catch {
      // best effort
    }
  }
  killTrackedGroups();
}

/** Runs `fn` (synchronously) when the bench ends, whatever the reason. */
export function atExit(fn: () => void): void {
  cleanups.push(fn);
}

process.on('exit', killAll);

export interface LogLine {
  event?: string;
  msg?: string;
  /** performance.now() in the bench process when the line arrived. */
  at: number;
  [key: string]: unknown;
}

export interface Proc {
  readonly child: ChildProcess;
  readonly pid: number;
  /** The command line, for the report. */
  readonly command: string;
  /** performance.now() right before the process was spawned. */
  readonly startedAt: number;
  /** JSON lines printed on stdout so far (other lines are kept in stdout() only). */
  readonly logs: LogLine[];
  stdout(): string;
  stderr(): string;
  /** The first log line with one of these events at index ≥ `from` in `logs` (printed or to come). */
  waitForEvent(event: string | string[], options?: { from?: number; timeoutMs?: number }): Promise<LogLine>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  readonly alive: boolean;
  /** Signals the leader only (performance.now() of the send is returned). */
  signal(signal: NodeJS.Signals): number;
  /** SIGTERM, then SIGKILL of the whole group after `graceMs`; resolves once the leader exited. */
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
}

export function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`;
}

/** A command line as the report shows it: paths relative to the repository. */
export function showCommand(
  cmd: string,
  args: string[],
  env: Record<string, string | undefined> = {},
): string {
  const rel = (s: string) =>
    s === NODE ? 'node' : s.startsWith(`${ROOT}/`) ? path.relative(ROOT, s) : s.replace(ROOT, '.');
  const vars = Object.entries(env)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${quote(rel(String(v)))}`);
  return [...vars, rel(cmd), ...args.map((a) => quote(rel(a)))].join(' ');
}

export function spawnProc(cmd: string, args: string[], options: SpawnOptions = {}): Proc {
  const startedAt = performance.now();
  const child = spawn(cmd, args, {
    cwd: options.cwd ?? ROOT,
    env: scrubbedEnv(options.env),
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`could not start ${cmd}`);
  const pid = child.pid;
  const release = trackGroup(pid);
  child.on('error', () => {});

  const logs: LogLine[] = [];
  const waiters = new Set<{ events: string[]; from: number; resolve: (l: LogLine) => void }>();
  let out = '';
  let err = '';
  let partial = '';
  let alive = true;
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const at = performance.now();
    if (out.length < 4_000_000) out += chunk;
    partial += chunk;
    const lines = partial.split('\n');
    partial = lines.pop()!;
    for (const text of lines) {
      // Access lines (`--access-log`, one per request) are read and dropped unparsed: the bench
      // waits on lifecycle events only, and parsing 100k lines a second would eat the cores it measures.
      if (!text.startsWith('{') || text.includes('"event":"access"')) continue;
      let line: LogLine;
      try {
        line = { ...(JSON.parse(text) as Record<string, unknown>), at };
      } catch {
        continue;
      }
      logs.push(line);
      for (const w of waiters) {
        if (line.event !== undefined && w.events.includes(line.event) && logs.length - 1 >= w.from) {
          waiters.delete(w);
          w.resolve(line);
        }
      }
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    if (err.length < 1_000_000) err += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>(
    (resolve) => {
      child.once('exit', (code, signal) => {
        const at = performance.now();
        alive = false;
        // The leader is gone; its group may still hold workers (they exit on their own when the IPC
        // channel closes, but never leave that to chance).
        killGroup(pid, 'SIGKILL');
        release();
        resolve({ code, signal, at });
      });
    },
  );

  const proc: Proc = {
    child,
    pid,
    command: showCommand(cmd, args, options.env),
    startedAt,
    logs,
    stdout: () => out,
    stderr: () => err,
    exited,
    get alive() {
      return alive;
    },
    signal(signal) {
      const at = performance.now();
      try {
        process.kill(pid, signal);
      } catch {
        // gone
      }
      return at;
    },
    async stop(graceMs = 5_000) {
      if (!alive) return;
      proc.signal('SIGTERM');
      const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
    waitForEvent(event, { from = 0, timeoutMs = 30_000 } = {}) {
      const events = typeof event === 'string' ? [event] : event;
      const seen = logs.find((l, i) => i >= from && l.event !== undefined && events.includes(l.event));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const waiter = {
          events,
          from,
          resolve: (l: LogLine) => {
            clearTimeout(timer);
            resolve(l);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`no "${event}" from ${proc.command} within ${timeoutMs} ms\n${tail(out, err)}`));
        }, timeoutMs);
        waiters.add(waiter);
        void exited.then(({ code, signal }) => {
          if (!waiters.delete(waiter)) return;
          clearTimeout(timer);
          reject(
            new Error(`${proc.command} exited (${code ?? signal}) before "${event}"\n${tail(out, err)}`),
          );
        });
      });
    },
  };
  return proc;
}

function tail(out: string, err: string): string {
  return `stdout: ${out.slice(-2000)}\nstderr: ${err.slice(-2000)}`;
}

/** Runs a command to completion, bounded by `timeoutMs` (then its group is killed). */
export async function run(
  cmd: string,
  args: string[],
  options: SpawnOptions & { timeoutMs?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const proc = spawnProc(cmd, args, options);
  const timer = setTimeout(() => killGroup(proc.pid, 'SIGKILL'), options.timeoutMs ?? 60_000);
  const { code, at } = await proc.exited;
  clearTimeout(timer);
  return { code, stdout: proc.stdout(), stderr: proc.stderr(), ms: at - proc.startedAt };
}

/** Resident set size of a process in MB (VmRSS from /proc), or undefined if it is gone. */
export function rssMb(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Proportional set size of a process in MB (Pss from /proc/PID/smaps_rollup: each page shared with
 * other processes counted in proportion), or undefined if it is gone. Summed over several
 * processes it does not count their shared pages twice, as RSS does.
 */
export function pssMb(pid: number): number | undefined {
  try {
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const match = /^Pss:\s+(\d+)\s+kB/m.exec(rollup);
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Clock ticks per second of /proc's CPU times (USER_HZ: 100 on Linux, whatever the kernel's HZ). */
const USER_HZ = 100;

/**
 * CPU time a process has used so far (user + system, from /proc/PID/stat), in seconds, or undefined
 * if it is gone. Its resolution is 10 ms: measure over seconds.
 */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "(comm)": state is [0], utime [11], stime [12] (fields 14 and 15 of proc(5)).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
  } catch {
    return undefined;
  }
}

/** Direct children of a process, from /proc/PID/stat. */
export function childPids(parent: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid ... — comm may contain spaces and parentheses: split after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parent) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
