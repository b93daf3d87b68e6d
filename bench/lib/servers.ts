// The contenders, each started on its own free port and stopped (with its whole process group)
// when done: pounce (the real CLI), raw node:http cluster, a single raw node:http process, PM2.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, waitForOk } from './http.ts';
import type { Pm2 } from './pm2.ts';
import {
  APPS,
  atExit,
  CLI,
  childPids,
  type LogLine,
  NODE,
  type Proc,
  run,
  showCommand,
  spawnProc,
} from './procs.ts';

export const HELLO_APP = path.join(APPS, 'hello.ts');
/** The same listener in a script that starts its own server: what pounce serves as a server script. */
export const HELLO_SCRIPT = path.join(APPS, 'raw-single.ts');
export const HOOK_APP = path.join(APPS, 'startup-hook.ts');

export interface Server {
  name: string;
  url: string;
  port: number;
  command: string;
  /** undefined for PM2 (its daemon is not our child). */
  proc: Proc | undefined;
  /** The supervising process (pounce supervisor, cluster primary, PM2 daemon) and the workers. */
  pids(): Promise<{ primary: number | undefined; workers: number[] }>;
  /** SIGTERM, then SIGKILL of the group after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export interface PounceOptions {
  workers: number;
  app?: string;
  flags?: string[];
  logLevel?: string;
  port?: number;
  /** Do not wait for `listening` (cold start measures that itself). */
  noWait?: boolean;
  env?: Record<string, string>;
}

export interface PounceServer extends Server {
  proc: Proc;
  control: string;
  status(): Promise<PounceStatus>;
}

export interface PounceStatus {
  pid: number;
  state: string;
  generation: number;
  workers: { id: number; pid: number; generation: number; state: string }[];
}

export function pounceArgs(options: PounceOptions, port: number, control: string): string[] {
  return [
    '--conditions=pounce-source',
    CLI,
    'serve',
    options.app ?? HELLO_APP,
    '--workers',
    String(options.workers),
    '--port',
    String(port),
    '--control-socket',
    control,
    '--log-format',
    'json',
    '--log-level',
    options.logLevel ?? 'info',
    ...(options.flags ?? []),
  ];
}

export async function startPounce(options: PounceOptions): Promise<PounceServer> {
  const port = options.port ?? (await freePort());
  const controlDir = mkdtempSync(path.join(tmpdir(), 'pounce-bench-'));
  const control = path.join(controlDir, 'control.sock');
  const removeDir = () => rmSync(controlDir, { recursive: true, force: true });
  atExit(removeDir);
  const args = pounceArgs(options, port, control);
  const proc = spawnProc(NODE, args, { env: options.env });
  const url = `http://127.0.0.1:${port}`;
  const status = async (): Promise<PounceStatus> => {
    const result = await run(
      NODE,
      ['--conditions=pounce-source', CLI, 'status', '--json', '--control-socket', control],
      {
        timeoutMs: 20_000,
      },
    );
    if (result.code !== 0) throw new Error(`pounce status failed (${result.code}): ${result.stderr}`);
    return JSON.parse(result.stdout) as PounceStatus;
  };
  const server: PounceServer = {
    name: `pounce (${options.workers} worker${options.workers > 1 ? 's' : ''})`,
    url,
    port,
    control,
    command: showCommand(NODE, args, options.env)
      .replace(/--control-socket \S+/, '--control-socket $SOCK')
      .replace(/--port \d+/, '--port $PORT'),
    proc,
    status,
    async pids() {
      const s = await status();
      return { primary: s.pid, workers: s.workers.map((w) => w.pid) };
    },
    stop: async (graceMs) => {
      await proc.stop(graceMs);
      removeDir();
    },
  };
  if (!options.noWait) {
    try {
      await proc.waitForEvent('listening', { timeoutMs: 60_000 });
    } catch (err) {
      await proc.stop(1000);
      throw err;
    }
  }
  return server;
}

export async function startRaw(
  name: string,
  script: string,
  env: Record<string, string>,
  options: { noWait?: boolean; nodeArgs?: string[] },
): Promise<Server> {
  const port = await freePort();
  const fullEnv = { ...env, PORT: String(port) };
  const argv = [...(options.nodeArgs ?? []), script];
  const proc = spawnProc(NODE, argv, { env: fullEnv });
  const url = `http://127.0.0.1:${port}`;
  const server: Server = {
    name,
    url,
    port,
    command: showCommand(NODE, argv, { ...env, PORT: '$PORT' }).replace("'$PORT'", '$PORT'),
    proc,
    async pids() {
      return { primary: proc.pid, workers: childPids(proc.pid) };
    },
    stop: (graceMs) => proc.stop(graceMs),
  };
  if (!options.noWait) {
    try {
      await waitForOk(url, { timeoutMs: 30_000, gone: () => !proc.alive });
    } catch (err) {
      await proc.stop(1000);
      throw err;
    }
  }
  return server;
}

export function startRawCluster(workers: number, options: { noWait?: boolean } = {}): Promise<Server> {
  return startRaw(
    `raw node:http cluster (${workers} workers)`,
    path.join(APPS, 'raw-cluster.ts'),
    { WORKERS: String(workers) },
    options,
  );
}

export function startRawSingle(options: { noWait?: boolean } = {}): Promise<Server> {
  return startRaw('single raw node:http process', HELLO_SCRIPT, {}, options);
}

export async function startPm2Cluster(pm2: Pm2, instances: number): Promise<Server> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const started = await pm2.start(port, instances);
  await waitForOk(url, { timeoutMs: 30_000 });
  return {
    name: `PM2 cluster (${instances} instances)`,
    url,
    port,
    command: started.command,
    proc: undefined,
    async pids() {
      const p = await pm2.pids();
      return { primary: p.daemon, workers: p.instances };
    },
    stop: () => pm2.remove(),
  };
}

/** spawn → ready of each worker whose debug lines are in `logs` from index `from`, in ms. */
export function workerBoots(logs: LogLine[], from: number): number[] {
  const spawned = new Map<unknown, number>();
  const result: number[] = [];
  for (const line of logs.slice(from)) {
    if (line.event === 'workerSpawned') spawned.set(line.worker, line.at);
    if (line.event === 'workerReady' && spawned.has(line.worker))
      result.push(line.at - spawned.get(line.worker)!);
  }
  return result;
}
