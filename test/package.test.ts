// The package as users get it: built (tsc, as `npm run build` does), packed by `npm pack`, installed
// into a fresh app with `npm install <tarball>`, and run through the `pounce` bin that npm links in
// node_modules/.bin — not through src/. Catches what the source-run tests cannot: a file missing
// from package.json "files", a bin that is not executable, an import of a devDependency, an export
// map that points at nothing.

import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, type TestContext, test } from 'node:test';
import { promisify } from 'node:util';
import { request } from './helpers/http.ts';
import { buildPackageInto, ROOT, scratchDir, spawnPounce } from './helpers/pounce.ts';

const run = promisify(execFile);

/** PATH with this Node first: the bin's `#!/usr/bin/env node` must find a Node pounce supports. */
const PATH = `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`;

/** Builds and packs pounce in a scratch copy (the checkout's dist/ is left alone); returns the tarball. */
function pack(t: TestContext): string {
  const pkg = scratchDir(t, 'pounce-pack-');
  buildPackageInto(pkg, ['package.json', 'README.md', 'LICENSE']);
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
      ['LICENSE', 'README.md', 'dist', 'package.json'],
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
    const server = spawnPounce(
      t,
      ['serve', 'app.mjs', '--port', '0', '--workers', '2', '--control-socket', control],
      { command: [bin], cwd: dir, env: { PATH } },
    );
    const url = String((await server.waitForEvent('listening')).url);
    assert.equal((await request(url)).body, 'v1');

    writeFileSync(path.join(dir, 'app.mjs'), app('v2'));
    const reload = await pounce(['reload', '--control-socket', control]);
    assert.match(reload.stdout, /generation 1/);
    assert.equal((await request(url)).body, 'v2');

    const status = JSON.parse((await pounce(['status', '--json', '--control-socket', control])).stdout) as {
      state: string;
      generation: number;
    };
    assert.equal(status.generation, 1);
    assert.ok(['serving', 'reloading'].includes(status.state), status.state);

    server.signal('SIGTERM');
    assert.equal((await server.exited).code, 0, server.stderr());

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
