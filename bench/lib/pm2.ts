// PM2, for comparison only: installed on demand into bench/.scratch (npm install pm2 --prefix
// bench/.scratch; never a dependency of pounce), run on the pinned Node with PM2_HOME in a temporary
// directory of its own, so it never touches a PM2 the machine may already run. `pm2 kill` at the
// end stops the daemon this PM2_HOME started; should the bench die first, the daemon and its
// instances are killed by pid.

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SCRATCH } from './load-tool.ts';
import { APPS, atExit, childPids, isAlive, NODE, run, showCommand } from './procs.ts';

const PM2_BIN = path.join(SCRATCH, 'node_modules/pm2/bin/pm2');
const APP_NAME = 'pounce-bench';

export interface Pm2 {
  version: string;
  home: string;
  /** Starts APP_NAME with `instances` cluster instances on `port`; resolves once all are online. */
  start(port: number, instances: number): Promise<{ command: string; ms: number }>;
  reload(): Promise<{ code: number | null; ms: number; stderr: string }>;
  reloadCommand: string;
  /** Pids of the daemon and of the instances. */
  pids(): Promise<{ daemon: number | undefined; instances: number[] }>;
  remove(): Promise<void>;
  kill(): Promise<void>;
}

export function pm2Installed(): boolean {
  return existsSync(PM2_BIN);
}

export async function installPm2(log: (line: string) => void): Promise<void> {
  if (pm2Installed()) return;
  log('installing pm2 into bench/.scratch (npm install pm2 --prefix bench/.scratch)...');
  const npm = await run('npm', ['install', 'pm2', '--prefix', SCRATCH, '--no-audit', '--no-fund'], {
    timeoutMs: 300_000,
  });
  if (npm.code !== 0 || !pm2Installed())
    throw new Error(`npm install pm2 failed: ${npm.stderr.slice(-2000)}`);
}

export async function startPm2(): Promise<Pm2> {
  const home = mkdtempSync(path.join(tmpdir(), 'pounce-bench-pm2-'));
  // PM2 checks the `node` on PATH before running a .ts app: make that the pinned one.
  const env = {
    PM2_HOME: home,
    PM2_DISABLE_VERSION_CHECK: 'true',
    PATH: `${path.dirname(NODE)}:${process.env.PATH ?? ''}`,
  };
  const pm2 = (args: string[], timeoutMs = 60_000) => run(NODE, [PM2_BIN, ...args], { env, timeoutMs });
  const version = JSON.parse(readFileSync(path.join(SCRATCH, 'node_modules/pm2/package.json'), 'utf8')) as {
    version: string;
  };
  const daemonPid = () => {
    try {
      return Number(readFileSync(path.join(home, 'pm2.pid'), 'utf8').trim()) || undefined;
    } catch {
      return undefined;
    }
  };
  let killed = false;
  // Backstop for a bench that dies before kill(): the daemon and its instances, by pid.
  atExit(() => {
    if (killed) return;
    const daemon = daemonPid();
    for (const pid of daemon === undefined ? [] : [...childPids(daemon), daemon]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    rmSync(home, { recursive: true, force: true });
  });
  const show = (args: string[]) => `PM2_HOME=$(mktemp -d) ${showCommand('pm2', args)}`;

  return {
    version: `pm2 ${version.version}`,
    home,
    reloadCommand: show(['reload', APP_NAME]),
    async start(port, instances) {
      const ecosystem = path.join(home, 'ecosystem.json');
      writeFileSync(
        ecosystem,
        JSON.stringify(
          {
            apps: [
              {
                name: APP_NAME,
                script: path.join(APPS, 'pm2-app.ts'),
                exec_mode: 'cluster',
                instances,
                // PM2's documented graceful reload: wait for process.send('ready') before the old
                // instance gets SIGINT; kill_timeout stays PM2's default (1600 ms).
                wait_ready: true,
                listen_timeout: 10_000,
                env: { PORT: String(port) },
              },
            ],
          },
          null,
          2,
        ),
      );
      const result = await pm2(['start', ecosystem]);
      if (result.code !== 0) throw new Error(`pm2 start failed: ${result.stderr}${result.stdout}`);
      return {
        command: `${show(['start', 'ecosystem.json'])}  # ${instances} instances, exec_mode cluster, wait_ready, apps/pm2-app.ts`,
        ms: result.ms,
      };
    },
    async reload() {
      const result = await pm2(['reload', APP_NAME], 120_000);
      return { code: result.code, ms: result.ms, stderr: result.stderr };
    },
    async pids() {
      const result = await pm2(['jlist']);
      let instances: number[] = [];
      try {
        const list = JSON.parse(result.stdout.slice(result.stdout.indexOf('['))) as { pid: number }[];
        instances = list.map((p) => p.pid).filter((pid) => pid > 0);
      } catch {
        // no list
      }
      return { daemon: daemonPid(), instances };
    },
    async remove() {
      await pm2(['delete', APP_NAME]);
    },
    async kill() {
      if (killed) return;
      const daemon = daemonPid();
      await pm2(['kill'], 30_000);
      if (daemon !== undefined && isAlive(daemon)) {
        for (const pid of [...childPids(daemon), daemon]) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // gone
          }
        }
      }
      killed = true;
      rmSync(home, { recursive: true, force: true });
    },
  };
}
