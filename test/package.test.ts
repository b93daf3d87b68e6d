// The package as users get it: built (tsc, as `npm run build` does), packed by `npm pack`, installed
// into a fresh app with `npm install <tarball>`, and run through the `pounce` bin that npm links in
// node_modules/.bin — not through src/. Catches what the source-run tests cannot: a file missing
// from package.json "files", a bin that is not executable, an import of a devDependency, an export
// map that points at nothing — and what bin/pounce.js (a shell line, then JavaScript) does: `serve`
// through it runs node with V8's compilers off from the first line (same pid: the shell execs),
// while its workers, and other commands, run node plainly.

import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { request } from './helpers/http.ts';
import { olderNode } from './helpers/older-node.ts';
import { buildPackageInto, FIXTURES, ROOT, scratchDir, spawnPounce } from './helpers/pounce.ts';

const run = promisify(execFile);

/** PATH with this Node first: the bin's `#!/usr/bin/env node` must find a Node pounce supports. */
const PATH = `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`;

/** Builds and packs pounce in a scratch copy (the checkout's dist/ is left alone); returns the tarball. */
function pack(t: TestContext): string {
  const pkg = scratchDir(t, 'pounce-pack-');
  buildPackageInto(pkg, ['package.json', 'README.md', 'LICENSE', 'bin/pounce.js'], { declarations: true });
  // --ignore-scripts: `prepare` would build again, into the scratch copy that has no sources.
  const name = execFileSync('npm', ['pack', '--ignore-scripts', '--silent'], {
    cwd: pkg,
    encoding: 'utf8',
    env: { ...process.env, PATH },
  }).trim();
  return path.join(pkg, name);
}

/** A fresh app directory with the packed pounce installed from the tarball (dependencies from npm's cache). */
function installInto(t: TestContext, tarball: string): string {
  const app = scratchDir(t, 'pounce-app-');
  writeFileSync(
    path.join(app, 'package.json'),
    `${JSON.stringify({ name: 'fresh-app', private: true, type: 'module' }, null, 2)}\n`,
  );
  execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--silent', tarball], {
    cwd: app,
    stdio: 'pipe',
    env: { ...process.env, PATH },
    timeout: 240_000,
  });
  return app;
}

const PROBE = path.join(FIXTURES, 'ops/module-list-probe.mjs');

/** A process's command line, as /proc shows it. */
const cmdline = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
const environ = (pid: number) => readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
/** The flags the bin gives `serve` (its shell line names them in POUNCE_INTERNAL_BIN_FLAGS). */
function binFlags(installed: string): string[] {
  const bin = readFileSync(path.join(installed, 'bin/pounce.js'), 'utf8');
  const named = /POUNCE_INTERNAL_BIN_FLAGS='([^']+)'/.exec(bin);
  assert.ok(named, 'the bin names its flags');
  return named[1]!.split(' ');
}

/** The supervisor `pid` runs node with the bin's flags first; its workers without them. */
function assertFlagsOnlyInSupervisor(pid: number, workers: number[], installed: string): void {
  const flags = binFlags(installed);
  for (const flag of ['--no-sparkplug', '--no-maglev', '--no-turbofan', '--expose-gc', '--v8-pool-size=1'])
    assert.ok(flags.includes(flag), `${flag} in ${flags.join(' ')}`);
  const supervisor = cmdline(pid);
  assert.deepEqual(supervisor.slice(1, 1 + flags.length), flags, supervisor.join(' '));
  // The bin as npm linked it (node_modules/.bin/pounce), or as an upgrade found it.
  assert.equal(realpathSync(supervisor[1 + flags.length]!), path.join(installed, 'bin/pounce.js'));
  assert.ok(workers.length > 0);
  for (const worker of workers) {
    const args = cmdline(worker);
    assert.ok(!args.some((a) => flags.includes(a)), `worker ${worker}: ${args.join(' ')}`);
    assert.ok(!environ(worker).some((v) => v.startsWith('POUNCE_INTERNAL_BIN_FLAGS=')), `worker ${worker}`);
  }
}

const app = (version: string) => `export default (req, res) => res.end('${version}');\n`;

describe('the packed package, installed into a fresh app', () => {
  test('npm pack → npm install → node_modules/.bin/pounce serves, reloads, reports status and stops; the API imports', async (t) => {
    const dir = installInto(t, pack(t));
    const installed = path.join(dir, 'node_modules/pounce');
    // Only what "files" names is shipped (npm adds package.json and LICENSE): no sources, tests or bench.
    assert.deepEqual(
      readdirSync(installed)
        .filter((entry) => entry !== 'node_modules')
        .sort(),
      ['LICENSE', 'README.md', 'bin', 'dist', 'package.json'],
    );
    const bin = path.join(dir, 'node_modules/.bin/pounce');
    const env = { ...process.env, PATH };
    const pounce = (args: string[]) => run(bin, args, { cwd: dir, env });

    const version = await pounce(['--version']);
    assert.equal(
      version.stdout,
      `${JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version}\n`,
    );

    writeFileSync(path.join(dir, 'app.mjs'), app('v1'));
    const control = path.join(dir, 'pounce.sock');
    const modules = path.join(dir, 'modules.json');
    const supervisorCache = path.join(dir, 'supervisor-compile-cache.json');
    const cacheHome = path.join(dir, 'xdg-cache');
    const server = spawnPounce(
      t,
      ['serve', 'app.mjs', '--port', '0', '--workers', '2', '--control-socket', control],
      {
        command: [bin],
        cwd: dir,
        // The supervisor's module list and compile cache directory, written when it exits
        // (test/fixtures/ops/module-list-probe.mjs).
        env: {
          PATH,
          NODE_OPTIONS: `--import ${PROBE}`,
          MODULE_LIST_OUT: modules,
          COMPILE_CACHE_OUT: supervisorCache,
          XDG_CACHE_HOME: cacheHome,
        },
      },
    );
    const url = String((await server.waitForEvent('listening')).url);
    assert.equal((await request(url)).body, 'v1');

    writeFileSync(path.join(dir, 'app.mjs'), app('v2'));
    const reload = await pounce(['reload', '--control-socket', control]);
    assert.match(reload.stdout, /generation 1/);
    assert.equal((await request(url)).body, 'v2');

    type Status = { pid: number; state: string; generation: number; workers: { pid: number }[] };
    const status = async () =>
      JSON.parse((await pounce(['status', '--json', '--control-socket', control])).stdout) as Status;
    const first = await status();
    assert.equal(first.generation, 1);
    assert.ok(['serving', 'reloading'].includes(first.state), first.state);
    // The bin's shell exec'd node: the process npm's bin started is the supervisor (systemd's MainPID).
    assert.equal(first.pid, server.pid);
    assertFlagsOnlyInSupervisor(
      first.pid,
      first.workers.map((w) => w.pid),
      installed,
    );
    // The workers boot from pounce's private compile cache (src/cli/compile-cache.ts).
    const cacheDir = path.join(cacheHome, 'pounce', 'compile-cache');
    const assertWorkersUseCache = (workers: { pid: number }[]) => {
      for (const worker of workers)
        assert.ok(environ(worker.pid).includes(`NODE_COMPILE_CACHE=${cacheDir}`), `worker ${worker.pid}`);
    };
    assertWorkersUseCache(first.workers);

    // A Node that refuses one of the bin's flags (as an older Node refuses a newer V8 flag) is found
    // out by the upgrade's check, which runs it with those flags, before any socket is handed over.
    const picky = path.join(dir, 'picky-node.sh');
    writeFileSync(
      picky,
      `#!/bin/sh\nfor a in "$@"; do [ "$a" = --no-sparkplug ] && { echo "node: bad option: $a" >&2; exit 9; }; done\nexec ${JSON.stringify(process.execPath)} "$@"\n`,
      { mode: 0o755 },
    );
    await assert.rejects(
      pounce(['upgrade', '--node', picky, '--control-socket', control]),
      (error: Error) => {
        assert.match((error as Error & { stderr: string }).stderr, /bad option: --no-sparkplug/);
        return true;
      },
    );
    assert.equal((await status()).pid, first.pid, 'the old supervisor still serves');
    // A Node older than engines: the preflight gets pounce's one line from it (docs/upgrade.md).
    const old = olderNode();
    if (old) {
      await assert.rejects(
        pounce(['upgrade', '--node', old.bin, '--control-socket', control]),
        (error: Error) => {
          assert.match(
            (error as Error & { stderr: string }).stderr,
            new RegExp(
              `cannot run pounce .*POUNCE_ERR_NODE_VERSION: this is Node ${old.version.replaceAll('.', '\\.')}; pounce needs Node`,
            ),
          );
          return true;
        },
      );
      assert.equal((await status()).pid, first.pid, 'the old supervisor still serves');
    } else t.diagnostic('no Node older than engines on this machine: that upgrade refusal is not checked');

    // `pounce upgrade` starts the new supervisor with node directly: with the bin's flags too.
    const upgraded = await pounce(['upgrade', '--control-socket', control]);
    assert.match(upgraded.stdout, /^Upgrade complete/);
    const second = await status();
    assert.notEqual(second.pid, first.pid);
    assertFlagsOnlyInSupervisor(
      second.pid,
      second.workers.map((w) => w.pid),
      installed,
    );
    assertWorkersUseCache(second.workers);
    assert.equal((await request(url)).body, 'v2');

    // The old supervisor exits once it has handed over; the new one stops on request.
    assert.equal((await server.exited).code, 0, server.stderr());
    // With the bin's --expose-gc the supervisor never needs node:v8 or node:vm (supervisor/compact-heap.ts).
    const loaded = JSON.parse(readFileSync(modules, 'utf8')) as string[];
    assert.ok(loaded.includes('NativeModule cluster'), 'the list is the supervisor’s');
    assert.deepEqual(
      loaded.filter((m) => m === 'NativeModule v8' || m === 'NativeModule vm'),
      [],
    );
    await pounce(['stop', '--control-socket', control]);
    // Neither compiled supervisor (the first; the upgrade's, started with the first one's
    // environment) read its own modules from the cache: Node would hold the entries in memory for
    // the supervisor's whole life. The workers' entries are there (written as they exit).
    // (`pounce stop` returns when the control connection closes: the exit handler may come after.)
    const written = Date.now() + 5000;
    while (!existsSync(`${supervisorCache}.${second.pid}`) && Date.now() < written) await sleep(20);
    for (const pid of [first.pid, second.pid])
      assert.equal(JSON.parse(readFileSync(`${supervisorCache}.${pid}`, 'utf8')), null, `supervisor ${pid}`);
    assert.ok(readdirSync(cacheDir, { recursive: true }).length > 0, 'the workers filled the cache');
    // `node dist/cli/main.js` runs the same CLI, without the bin's shell.
    const direct = await run(process.execPath, [path.join(installed, 'dist/cli/main.js'), '--version'], {
      cwd: dir,
    });
    assert.equal(direct.stdout, version.stdout);

    // The library entry (exports "." → dist/index.js) and its types, as an app imports them.
    const pkg = JSON.parse(readFileSync(path.join(installed, 'package.json'), 'utf8'));
    assert.ok(readFileSync(path.join(installed, pkg.exports['.'].types), 'utf8').includes('serve'));
    const imported = await run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "const m = await import('pounce'); console.log(typeof m.serve, typeof m.defineConfig);",
      ],
      { cwd: dir },
    );
    assert.equal(imported.stdout, 'function function\n');
  });
});
