// Runs the real `pounce` CLI in a child process for tests. Each child leads its own process group
// (detached), so the test can kill it and every worker it started with one kill(-pgid), and does,
// at the end of the test — also when the test failed.

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, constants, cpSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { killGroup, scrubbedEnv, trackGroup } from '../../bench/lib/harness.ts';
import type { ServerStatus } from '../../src/control/protocol.ts';

export { hasExited, isAlive, killGroup } from '../../bench/lib/harness.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = path.join(ROOT, 'src/cli/main.ts');
export const FIXTURES = path.join(ROOT, 'test/fixtures');
export const APPS = path.join(FIXTURES, 'apps');

export interface LogLine {
  event?: string;
  msg: string;
  level: number;
  [key: string]: unknown;
}

export interface PounceProcess {
  readonly child: ChildProcess;
  /** What pounce prints on stdout, as a stream (pause() it to stop reading). */
  readonly output: Readable;
  readonly pid: number;
  /** Every JSON log line printed so far, parsed. */
  readonly logs: LogLine[];
  readonly stderr: () => string;
  readonly stdout: () => string;
  /** Resolves with the first log line (already printed or still to come) with this event name. */
  waitForEvent(event: string, timeoutMs?: number): Promise<LogLine>;
  /** Resolves once `count` log lines with this event name have been printed. */
  waitForCount(event: string, count: number, timeoutMs?: number): Promise<void>;
  /** Resolves with the exit status (or the signal name) once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
  signal(signal: NodeJS.Signals): number;
}

export interface SpawnOptions {
  cwd?: string;
  /** Run this script instead of the pounce CLI (for the programmatic API). */
  script?: string;
  /** Run this program instead of node (e.g. a launcher that starts pounce itself): [file, ...args]. */
  command?: string[];
  /** startServer: leave the control socket at its default place instead of a private one. */
  defaultControlSocket?: boolean;
  env?: Record<string, string | undefined>;
  /**
   * Give pounce a pipe as stdout, as a container runtime, a process manager or a shell does —
   * not the socket pair Node's child_process makes for 'pipe'.
   */
  stdoutPipe?: boolean;
}

/**
 * A pipe (a FIFO in a temporary directory) for one child's stdout: the write end to give the child,
 * the read end non-blocking (opening a FIFO blocks until the other end is open, so it is opened
 * first). The test closes its copy of the write end once the child has it.
 */
export function makePipe(t: TestContext): { readFd: number; writeFd: number } {
  const dir = mkdtempSync(path.join(tmpdir(), 'pounce-stdout-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const fifo = path.join(dir, 'stdout');
  execFileSync('mkfifo', [fifo]);
  const readFd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  return { readFd, writeFd: openSync(fifo, constants.O_WRONLY) };
}

function stdoutPipe(t: TestContext): { writeFd: number; output: Readable } {
  const { readFd, writeFd } = makePipe(t);
  return { writeFd, output: new net.Socket({ fd: readFd, readable: true, writable: false }) };
}

/** Starts `pounce ARGS...` with JSON logs; the test context kills its process group at the end. */
export function spawnPounce(t: TestContext, args: string[], options: SpawnOptions = {}): PounceProcess {
  const started = Date.now();
  const [file, ...prefix] = options.command ?? [
    process.execPath,
    '--conditions=pounce-source',
    options.script ?? CLI,
  ];
  const pipe = options.stdoutPipe ? stdoutPipe(t) : undefined;
  const child = spawn(file!, [...prefix, ...args], {
    cwd: options.cwd ?? ROOT,
    env: scrubbedEnv({ POUNCE_LOG_FORMAT: 'json', ...options.env }),
    detached: true,
    stdio: ['ignore', pipe?.writeFd ?? 'pipe', 'pipe'],
  });
  if (pipe) closeSync(pipe.writeFd);
  const output = pipe?.output ?? child.stdout!;
  t.after(() => output.destroy());
  const pid = child.pid!;
  const release = trackGroup(pid);
  t.after(() => {
    killGroup(pid, 'SIGKILL');
    release();
  });

  const logs: LogLine[] = [];
  const waiters: { event: string; resolve: (l: LogLine) => void }[] = [];
  let out = '';
  let err = '';
  let partial = '';
  output.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    partial += chunk;
    const lines = partial.split('\n');
    partial = lines.pop()!;
    for (const text of lines) {
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        continue;
      }
      logs.push(line);
      for (const w of waiters.filter((w) => w.event === line.event)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  const exited = once(child, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
    ms: Date.now() - started,
  }));
  // Unlike the bench, the group is not killed when the leader exits: a test may check that workers
  // exit with their supervisor, or that an upgraded supervisor outlives the old one. t.after kills it.
  exited.then(release);

  return {
    child,
    output,
    pid,
    logs,
    stderr: () => err,
    stdout: () => out,
    exited,
    signal: (sig) => {
      child.kill(sig);
      return Date.now();
    },
    async waitForCount(event, count, timeoutMs = 20_000) {
      const until = Date.now() + timeoutMs;
      while (logs.filter((l) => l.event === event).length < count) {
        if (Date.now() > until)
          throw new Error(`fewer than ${count} "${event}" log lines within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    waitForEvent(event, timeoutMs = 20_000) {
      const seen = logs.find((l) => l.event === event);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(`no "${event}" log line within ${timeoutMs} ms; stdout:\n${out}\nstderr:\n${err}`),
            ),
          timeoutMs,
        );
        const waiter = {
          event,
          resolve: (l: LogLine) => {
            clearTimeout(timer);
            resolve(l);
          },
        };
        waiters.push(waiter);
        exited.then(({ code, signal }) => {
          if (!waiters.includes(waiter)) return;
          clearTimeout(timer);
          reject(
            new Error(
              `pounce exited (${code ?? signal}) before "${event}"; stdout:\n${out}\nstderr:\n${err}`,
            ),
          );
        });
      });
    },
  };
}

/** Starts `pounce serve APP` on a free port, with its own control socket, and waits until it listens. */
export async function startServer(
  t: TestContext,
  app: string,
  flags: string[] = [],
  options: SpawnOptions = {},
): Promise<PounceProcess & { url: string; port: number; control: string }> {
  const own = flags.includes('--control-socket') || options.defaultControlSocket;
  const control = flags.includes('--control-socket')
    ? flags[flags.indexOf('--control-socket') + 1]!
    : path.join(mkdtempSync(path.join(tmpdir(), 'pounce-ctl-')), 'control.sock');
  const extra = own ? [] : ['--control-socket', control];
  const proc = spawnPounce(t, ['serve', app, '--port', '0', ...extra, ...flags], options);
  const listening = await proc.waitForEvent('listening');
  const url = String(listening.url);
  return Object.assign(proc, { url, port: Number(new URL(url).port), control });
}

/** Runs `pounce reload|stop|status|scale|upgrade` against a server started by startServer. */
export function control(
  t: TestContext,
  server: { control: string },
  command: 'reload' | 'stop' | 'status' | 'scale' | 'upgrade',
  extra: string[] = [],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runPounce(t, [command, '--control-socket', server.control, ...extra], { timeoutMs: 60_000 });
}

/** Runs `pounce ARGS...` to completion (bounded by `timeoutMs`). */
export async function runPounce(
  t: TestContext,
  args: string[],
  options: SpawnOptions & { timeoutMs?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = spawnPounce(t, args, options);
  const timer = setTimeout(() => killGroup(proc.pid, 'SIGKILL'), options.timeoutMs ?? 20_000);
  const { code } = await proc.exited;
  clearTimeout(timer);
  return { code, stdout: proc.stdout(), stderr: proc.stderr() };
}

/** The pounce CLI as a command line (for a launcher that runs it). */
export const POUNCE_COMMAND = [process.execPath, '--conditions=pounce-source', CLI] as const;

/**
 * Lays out pounce in `dir` as the package is published: `files` copied from the checkout (package.json
 * at least) and dist/ compiled by tsc as `npm run build` does: the JavaScript (tsconfig.build.json)
 * and, with `declarations`, the .d.ts (tsconfig.types.json). The checkout's own dist/ is left alone.
 */
export function buildPackageInto(
  dir: string,
  files: string[] = ['package.json'],
  options: { declarations?: boolean } = {},
): void {
  for (const file of files) cpSync(path.join(ROOT, file), path.join(dir, file));
  const projects = ['tsconfig.build.json', ...(options.declarations ? ['tsconfig.types.json'] : [])];
  for (const project of projects)
    execFileSync(
      process.execPath,
      [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', project, '--outDir', path.join(dir, 'dist')],
      { cwd: ROOT, stdio: 'pipe' },
    );
}

/** A fresh directory under the temp dir, removed at the end of the test (also when it failed). */
export function scratchDir(t: TestContext, prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function appPath(name: string): string {
  return path.join(APPS, name);
}

/** `pounce status --json` of a server started by startServer (or any server with a control socket path). */
export async function serverStatus(t: TestContext, server: { control: string }): Promise<ServerStatus> {
  const result = await control(t, server, 'status', ['--json']);
  if (result.code !== 0) throw new Error(`pounce status failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as ServerStatus;
}

/**
 * Resolves once a load run (bench/load-generator.ts) has completed `requests` more requests than
 * `since`: "the load is under way" or "requests kept flowing", without guessing a duration.
 */
export function loadProgressed(
  load: { readonly completed: number },
  requests: number,
  since = 0,
): Promise<void> {
  return waitFor(`${requests} more requests of the load`, () => load.completed >= since + requests);
}

/** Polls `predicate` until it holds; throws (naming `what`) after `timeoutMs`. */
export async function waitFor(
  what: string,
  predicate: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
