// `--reload` (docs/development.md, whose commands and config this test runs): a change to a source
// file reloads through the generational path, a broken file leaves the previous code serving,
// ignored directories and other extensions do nothing, and a burst of saves is one reload.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { request } from './helpers/http.ts';
import { ROOT, runPounce, spawnPounce, waitFor } from './helpers/pounce.ts';
import { appSource } from './helpers/reloadable-app.ts';

const DOC = readFileSync(path.join(ROOT, 'docs/development.md'), 'utf8');

/** The fenced code blocks of the doc with this info string ('' for plain output blocks). */
function blocks(lang: string): string[] {
  const found: string[] = [];
  let current: { lang: string; lines: string[] } | undefined;
  for (const line of DOC.split('\n')) {
    if (!line.startsWith('```')) current?.lines.push(line);
    else if (current) {
      if (current.lang === lang) found.push(current.lines.join('\n'));
      current = undefined;
    } else current = { lang: line.slice(3).trim(), lines: [] };
  }
  return found;
}

/** A fresh project: app.ts answering its version, `pounce` resolvable (for pounce.config.ts). */
function project(version = 'v1'): { dir: string; write: (version: string, broken?: boolean) => void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'pounce-dev-'));
  mkdirSync(path.join(dir, 'node_modules'));
  symlinkSync(ROOT, path.join(dir, 'node_modules', 'pounce'));
  const write = (v: string, broken = false) =>
    writeFileSync(path.join(dir, 'app.ts'), appSource(v, broken ? 'syntax-error' : 'ok'));
  write(version);
  return { dir, write };
}

/** Runs a `npx pounce …` line of the doc in `dir` (on a free port, with its own control socket). */
async function runDocCommand(t: Parameters<typeof spawnPounce>[0], line: string, dir: string) {
  const words = line.trim().split(/\s+/);
  assert.deepEqual(words.slice(0, 2), ['npx', 'pounce'], line);
  const control = path.join(mkdtempSync(path.join(tmpdir(), 'pounce-ctl-')), 'control.sock');
  const server = spawnPounce(t, [...words.slice(2), '--port', '0', '--control-socket', control], {
    cwd: dir,
  });
  const url = String((await server.waitForEvent('listening')).url);
  await server.waitForEvent('watching');
  return Object.assign(server, { url });
}

const count = (server: { logs: { event?: string }[] }, event: string) =>
  server.logs.filter((l) => l.event === event).length;

describe('--reload', () => {
  const [serveLine, configServeLine] = blocks('sh');

  test('a saved change is served after the reload; a syntax error keeps the previous code serving', async (t) => {
    const app = project('v1');
    const server = await runDocCommand(t, serveLine!, app.dir);
    assert.equal((await request(`${server.url}/version`)).body, 'v1');
    assert.equal(
      server.logs.find((l) => l.event === 'watching')?.msg,
      `Watching ${app.dir} for changes to .ts .mts .cts .js .mjs .cjs .json files`,
    );

    app.write('v2');
    await server.waitForEvent('reloadComplete');
    assert.equal((await request(`${server.url}/version`)).body, 'v2');
    // The log shown in the doc, line by line.
    const shown = blocks('')[0]!.trim().split('\n');
    const messages = server.logs.map((l) => l.msg);
    for (const line of shown) {
      assert.ok(messages.includes(line.replace('/home/me/myapp', app.dir)), `logged: ${line}`);
    }

    app.write('v3', true);
    await waitFor('the failed reload', () => count(server, 'reloadFailed') === 1);
    assert.match(
      String(server.logs.find((l) => l.event === 'reloadFailed')?.msg),
      /^Reload failed — continuing with previous version: App module .*app\.ts threw while being imported: SyntaxError/,
    );
    for (let i = 0; i < 5; i++) assert.equal((await request(`${server.url}/version`)).body, 'v2');

    app.write('v4');
    await waitFor('the next reload', () => count(server, 'reloadComplete') === 2);
    assert.equal((await request(`${server.url}/version`)).body, 'v4');
  });

  test('node_modules, .git, dist, build and other extensions are ignored; a burst of saves is one reload', async (t) => {
    const app = project('v1');
    for (const dir of ['node_modules/lib', '.git', 'dist', 'build', 'coverage', 'src']) {
      mkdirSync(path.join(app.dir, dir), { recursive: true });
    }
    const server = await runDocCommand(t, serveLine!, app.dir);
    for (const file of [
      'node_modules/lib/index.js',
      '.git/x.json',
      'dist/app.js',
      'build/app.js',
      'coverage/c.json',
      'notes.md',
      'style.css',
    ]) {
      writeFileSync(path.join(app.dir, file), 'x');
    }
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(count(server, 'filesChanged'), 0, 'nothing ignored triggered a reload');

    // Five saves at once, as format-on-save or a branch switch would do.
    for (let i = 0; i < 5; i++) {
      writeFileSync(path.join(app.dir, 'src', `module${i}.ts`), `export const n = ${i};\n`);
    }
    await server.waitForEvent('reloadComplete');
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(count(server, 'filesChanged'), 1);
    assert.match(
      String(server.logs.find((l) => l.event === 'filesChanged')?.msg),
      /\(5 files\) — reloading$/,
    );
    assert.equal(count(server, 'spawning'), 1);
  });

  test('the config of the doc: reloadDirs and reloadInclude are watched too', async (t) => {
    const app = project('v1');
    const shared = path.join(path.dirname(app.dir), `${path.basename(app.dir)}-shared`);
    mkdirSync(shared);
    const config = blocks('ts')[0]!.replace("'../common'", JSON.stringify(`../${path.basename(shared)}`));
    writeFileSync(path.join(app.dir, 'pounce.config.ts'), config);
    const server = await runDocCommand(t, configServeLine!, app.dir);
    assert.match(String(server.logs.find((l) => l.event === 'watching')?.msg), /\.html \.css files$/);

    writeFileSync(path.join(app.dir, 'page.html'), '<p>hi</p>');
    await waitFor('a reload for page.html', () => count(server, 'reloadComplete') === 1);
    writeFileSync(path.join(shared, 'util.ts'), 'export const x = 1;\n');
    await waitFor('a reload for ../common/util.ts', () => count(server, 'reloadComplete') === 2);
    assert.match(
      String(server.logs.filter((l) => l.event === 'filesChanged')[1]?.msg),
      /util\.ts — reloading$/,
    );
  });

  test('a reloadDirs entry that is not a directory is a configuration error', async (t) => {
    const app = project('v1');
    const result = await runPounce(
      t,
      ['serve', './app.ts', '--reload', '--reload-dirs', 'missing', '--port', '0'],
      {
        cwd: app.dir,
      },
    );
    assert.equal(result.code, 2);
    assert.match(result.stderr, /POUNCE_ERR_CONFIG: Invalid reloadDirs: "missing" is not a directory/);
  });
});
