// What the supervisor loads in a default configuration. It is a long-lived process that forwards
// signals and watches workers: every Node module it loads stays in its memory (code pages of the
// node binary, bytecode, heap) for its whole life, so a feature's modules are loaded only when the
// configuration uses that feature. This asserts behaviour (which modules), not a size.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { type Config, defaults } from '../src/config/options.ts';
import { controlSocketLocation } from '../src/control/protocol.ts';
import { request } from './helpers/http.ts';
import { appPath, CLI, FIXTURES, startServer } from './helpers/pounce.ts';

const PROBE = path.join(FIXTURES, 'ops/module-list-probe.mjs');

/** Built-ins a default `pounce serve` supervisor must not load, and what would load them. */
const NOT_LOADED: Record<string, string> = {
  crypto: 'the control socket name is a pure-JS SHA-256 (control/protocol.ts)',
  'dns/promises': 'only thread mode resolves a host name in the supervisor',
  perf_hooks: 'the global `performance` (use process.uptime() in the supervisor)',
  http: 'the server stack belongs to the workers',
  https: 'the server stack belongs to the workers',
  http2: 'the server stack belongs to the workers',
  tls: 'the server stack belongs to the workers',
  inspector: 'nothing in the supervisor needs it',
  tty: 'only `logFormat: auto` asks whether stdout is a terminal (log/logger.ts)',
  // What the ES-module facades of node:fs and node:util load, reading every export (fs.promises,
  // the watchers; util's diff): pounce takes built-ins with process.getBuiltinModule
  // (test/builtin-imports.test.ts).
  'internal/fs/promises': 'an ES import of node:fs (its facade reads fs.promises)',
  'internal/repl/history': 'an ES import of node:fs (fs.promises loads readline and the REPL history)',
  'internal/readline/interface': 'an ES import of node:fs (fs.promises loads readline)',
  'internal/fs/watchers': 'an ES import of node:fs (its facade reads fs.watch)',
  'internal/util/diff': 'an ES import of node:util (its facade reads util.diff)',
};

test('a default supervisor loads no crypto, dns, perf_hooks, http, tls or tty, nor what ES imports of node:fs and node:util load, from start to stop', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'pounce-footprint-'));
  const out = path.join(dir, 'modules.json');
  // A format given: whether stdout is a terminal is never asked (node:tty).
  const server = await startServer(
    t,
    appPath('node-listener.ts'),
    ['--workers', '1', '--log-format', 'json'],
    {
      cwd: dir,
      // The derived control socket name is the code path that used node:crypto.
      defaultControlSocket: true,
      command: [process.execPath, '--import', PROBE, '--conditions=pounce-source', CLI],
      env: { MODULE_LIST_OUT: out },
    },
  );
  assert.equal((await request(`${server.url}/`)).status, 200);
  server.signal('SIGTERM');
  assert.equal((await server.exited).code, 0);
  const loaded = new Set(
    (JSON.parse(readFileSync(out, 'utf8')) as string[])
      .filter((m) => m.startsWith('NativeModule '))
      .map((m) => m.slice('NativeModule '.length)),
  );
  // The list is the supervisor's: it ran the cluster primary.
  assert.ok(loaded.has('cluster'), 'the probe did not record the supervisor');
  const unexpected = Object.keys(NOT_LOADED).filter((name) => loaded.has(name));
  assert.deepEqual(
    unexpected.map((name) => `${name}: ${NOT_LOADED[name]}`),
    [],
    'the supervisor loaded modules its configuration does not need',
  );
});

test('the derived control socket name is the one every pounce version derives (SHA-256 of cwd and address)', () => {
  // A newer `pounce status` must find a server an older pounce started, and an upgrade keeps the name.
  const cases: [string, Partial<Config>, string][] = [
    ['/srv/app', {}, '127.0.0.1:8000'],
    ['/home/zoë/プロジェクト', { host: '::1', port: 8443 }, '::1:8443'],
    ['/srv/app', { uds: 'run/app.sock' }, 'unix:/srv/app/run/app.sock'],
    ['/srv/app', { fd: 3 }, 'fd:3'],
  ];
  for (const [cwd, overrides, address] of cases) {
    const key = createHash('sha256').update(`${cwd}\0${address}`).digest('hex').slice(0, 16);
    assert.equal(
      path.basename(controlSocketLocation({ ...defaults(), ...overrides }, cwd).path),
      `${key}.sock`,
    );
  }
});
