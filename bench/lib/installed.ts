// pounce as users get it: the current src/ compiled as `npm run build` does, packed by `npm pack`
// and installed into a scratch app by `npm install`, run through the bin npm links. Scenario 5
// judges the supervisor's memory on it, scenario 6 the cold start; it is built once per bench run.

import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort } from './http.ts';
import { SCRATCH } from './load-tool.ts';
import { childPids, NODE, ROOT, run, showCommand, spawnProc } from './procs.ts';
import { HELLO_APP, type Server } from './servers.ts';

/**
 * A build of the current src/ (dist/ itself may be stale: it is built on `npm install`), laid out as
 * the package is (dist/ and bin/ next to package.json).
 */
const PACKAGE = path.join(SCRATCH, 'pounce-package');
const BUILD = path.join(PACKAGE, 'dist');
const APP_DIR = path.join(SCRATCH, 'pounce-install');
export const INSTALLED = path.join(APP_DIR, 'node_modules/pounce');
/** The bin as npm links it, and what runs it: `node` from PATH, this Node. */
const BIN = path.join(APP_DIR, 'node_modules/.bin/pounce');
export const BIN_PATH = `${path.dirname(NODE)}${path.delimiter}${process.env.PATH ?? ''}`;
/** The flags bin/pounce.js gives node for `serve` (its shell line names them). */
export function binFlags(): string[] {
  const named = /POUNCE_INTERNAL_BIN_FLAGS='([^']+)'/.exec(
    readFileSync(path.join(ROOT, 'bin/pounce.js'), 'utf8'),
  );
  return named ? named[1]!.split(' ') : [];
}

let installing: Promise<string[]> | undefined;

/**
 * Compiles src/ as `npm run build` does, packs it and installs it into bench/.scratch/pounce-install,
 * once per bench run. Resolves to the commands it ran (for the report); rejects if one failed.
 */
export function installPounce(): Promise<string[]> {
  installing ??= build();
  return installing;
}

async function build(): Promise<string[]> {
  rmSync(PACKAGE, { recursive: true, force: true });
  rmSync(APP_DIR, { recursive: true, force: true });
  mkdirSync(path.join(PACKAGE, 'bin'), { recursive: true });
  mkdirSync(APP_DIR, { recursive: true });
  copyFileSync(path.join(ROOT, 'package.json'), path.join(PACKAGE, 'package.json'));
  copyFileSync(path.join(ROOT, 'bin/pounce.js'), path.join(PACKAGE, 'bin/pounce.js'));
  // `npm run build`'s first pass (the JavaScript); the declarations change nothing that runs.
  const tscArgs = ['-p', 'tsconfig.build.json', '--outDir', BUILD, '--sourceMap', 'false'];
  const built = await run(path.join(ROOT, 'node_modules/.bin/tsc'), tscArgs, { timeoutMs: 120_000 });
  if (built.code !== 0) throw new Error(`tsc failed: ${built.stdout}${built.stderr}`);
  const env = { PATH: BIN_PATH };
  // --ignore-scripts: `prepare` would build again, into the copy that has no sources.
  const packArgs = ['pack', '--ignore-scripts', '--silent'];
  const packed = await run('npm', packArgs, { cwd: PACKAGE, env, timeoutMs: 120_000 });
  if (packed.code !== 0) throw new Error(`npm pack failed: ${packed.stderr}`);
  const tarball = path.join(PACKAGE, packed.stdout.trim());
  writeFileSync(
    path.join(APP_DIR, 'package.json'),
    '{ "name": "bench-app", "private": true, "type": "module" }\n',
  );
  const installArgs = ['install', '--prefer-offline', '--no-audit', '--no-fund', '--silent', tarball];
  const installed = await run('npm', installArgs, { cwd: APP_DIR, env, timeoutMs: 240_000 });
  if (installed.code !== 0 || !existsSync(BIN)) throw new Error(`npm install failed: ${installed.stderr}`);
  return [
    showCommand('tsc', tscArgs),
    `(cd ${path.relative(ROOT, PACKAGE)} && npm ${packArgs.join(' ')})`,
    `(cd ${path.relative(ROOT, APP_DIR)} && npm install --prefer-offline --no-audit --no-fund ../pounce-package/pounce-*.tgz)`,
  ];
}

/**
 * pounce as published and installed: the bin npm links (node_modules/.bin/pounce, a shell line that
 * execs node with `serve`'s flags) — or, `direct`, `node node_modules/pounce/dist/cli/main.js`.
 * Resolves once it logged `listening` (`noWait`: at once, for a cold start measured from launch).
 */
export async function startPounceInstalled(
  workers: number,
  options: { direct?: boolean; noWait?: boolean } = {},
): Promise<Server> {
  const port = await freePort();
  const args = [
    'serve',
    HELLO_APP,
    '--workers',
    String(workers),
    '--port',
    String(port),
    '--log-format',
    'json',
  ];
  const [cmd, argv] = options.direct
    ? [NODE, [path.join(INSTALLED, 'dist/cli/main.js'), ...args]]
    : [BIN, args];
  const proc = spawnProc(cmd, argv, { env: { PATH: BIN_PATH } });
  const url = `http://127.0.0.1:${port}`;
  if (!options.noWait) {
    try {
      await proc.waitForEvent('listening', { timeoutMs: 30_000 });
    } catch (err) {
      await proc.stop(1000);
      throw err;
    }
  }
  return {
    name: options.direct ? 'pounce, installed, run as node dist/cli/main.js' : 'pounce, installed',
    url,
    port,
    command: showCommand(cmd, argv).replace(/--port \d+/, '--port $PORT'),
    proc,
    pids: async () => ({ primary: proc.pid, workers: childPids(proc.pid) }),
    stop: (graceMs) => proc.stop(graceMs),
  };
}
