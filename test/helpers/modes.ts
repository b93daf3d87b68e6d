// The two worker modes, for tests that run the same cases in process and thread mode.
//
// Thread mode needs a fixed port (every thread binds it with SO_REUSEPORT; port 0 is refused). A
// test that puts load through a listener's retirement (reload, recycle, scale down) runs in thread
// mode inside a network namespace of its own with net.ipv4.tcp_migrate_req=1: with the sysctl at 0
// the kernel resets the connections queued on a closing listener (what the thread-mode zero-drop
// test reports), and the machine's own value is not ours to change. Inside the namespace, the load
// and every request of the test run there too (`ip netns exec`), since the test process is outside.

import { execFile, spawn } from 'node:child_process';
import net from 'node:net';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';
import type { LoadOptions, LoadReport } from '../../bench/load-generator.ts';
import { runLoad } from '../../bench/load-generator.ts';
import { request } from './http.ts';
import { netns, netnsUnavailable } from './netns.ts';
import { CLI, killGroup, ROOT, startServer } from './pounce.ts';

export type WorkerMode = 'process' | 'thread';
export const WORKER_MODES: readonly WorkerMode[] = ['process', 'thread'];

/** A port free right now (thread mode needs a fixed port: every thread binds it). */
export async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

/** The flags that start a server in `mode` (after startServer's own --port 0, so they win). */
export async function modeFlags(mode: WorkerMode): Promise<string[]> {
  return mode === 'thread' ? ['--worker-mode', 'thread', '--port', String(await freePort())] : [];
}

/** Why a test with load across listener retirements cannot run in `mode` here (thread: no netns). */
export function loadSkip(mode: WorkerMode): string | undefined {
  return mode === 'thread' ? netnsUnavailable() : undefined;
}

export interface RunningLoad {
  stop(): void;
  /** The report (from a load child: without per-request results and latencies). */
  readonly done: Promise<LoadReport>;
}

/** A load of bench/load-generator.ts run by bench/load-child.ts, in `exec`'s namespace. */
export function loadChild(
  t: TestContext,
  exec: string[],
  url: string,
  options?: Partial<LoadOptions>,
): RunningLoad {
  const args = [...exec, process.execPath, '--conditions=pounce-source', 'bench/load-child.ts', url];
  if (options) args.push(JSON.stringify(options));
  const child = spawn(args[0]!, args.slice(1), {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => killGroup(child.pid!, 'SIGKILL'));
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => {
    out += c;
  });
  const done = new Promise<void>((r) => child.once('exit', () => r())).then(
    (): LoadReport => ({
      ...(JSON.parse(out) as Omit<LoadReport, 'results' | 'latencies'>),
      results: [],
      latencies: [],
    }),
  );
  // `ip netns exec` execs the program: the child's pid is the load's own.
  return { stop: () => child.kill('SIGTERM'), done };
}

/**
 * Starts `app` in `mode` for a test that loads it across reloads, recycles or scaling: in process
 * mode as usual; in thread mode inside a fresh network namespace with tcp_migrate_req=1 (check
 * loadSkip first). `load` and `get` reach the server from where it runs.
 */
export async function startForLoad(t: TestContext, mode: WorkerMode, app: string, flags: string[] = []) {
  if (mode === 'process') {
    const server = await startServer(t, app, flags);
    return {
      server,
      load: (options: Omit<LoadOptions, 'url'>): RunningLoad => runLoad({ url: server.url, ...options }),
      get: async (pathname: string) => (await request(`${server.url}${pathname}`)).body,
    };
  }
  const ns = netns(t, { 'net.ipv4.tcp_migrate_req': '1' });
  const server = await startServer(t, app, ['--worker-mode', 'thread', '--port', '18080', ...flags], {
    command: [...ns.exec, process.execPath, '--conditions=pounce-source', CLI],
  });
  return {
    server,
    load: (options: Omit<LoadOptions, 'url'>): RunningLoad => loadChild(t, ns.exec, server.url, options),
    get: async (pathname: string) =>
      (
        await promisify(execFile)(ns.exec[0]!, [
          ...ns.exec.slice(1),
          'curl',
          '-sS',
          `${server.url}${pathname}`,
        ])
      ).stdout,
  };
}
