// Socket activation (LISTEN_FDS): a launcher opens the listening sockets and keeps them, as
// systemd's .socket unit does, and starts pounce with them at fd 3…. pounce serves on them across
// workers and reloads, and a restart of pounce itself loses no connection: what arrives while no
// pounce runs waits in the kernel's accept queue for the next one.

import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { runLoad, summarize } from '../bench/load-generator.ts';
import type { StatusReport } from '../src/supervisor/supervisor.ts';
import { request } from './helpers/http.ts';
import {
  FIXTURES,
  loadProgressed,
  POUNCE_COMMAND,
  runPounce,
  spawnPounce,
  waitFor,
} from './helpers/pounce.ts';
import { ReloadableApp } from './helpers/reloadable-app.ts';

const LAUNCHER = path.join(FIXTURES, 'ops/socket-launcher.py');

type TestContext = Parameters<typeof spawnPounce>[0];

/** Starts `launcher [options] -- pounce serve APP flags` and waits for pounce to listen. */
async function launch(
  t: TestContext,
  app: string,
  flags: string[],
  launcherOptions = ['--tcp', '127.0.0.1:0'],
) {
  const control = path.join(mkdtempSync(path.join(tmpdir(), 'pounce-ctl-')), 'control.sock');
  const proc = spawnPounce(
    t,
    ['--', ...POUNCE_COMMAND, 'serve', app, '--control-socket', control, ...flags],
    {
      command: ['python3', LAUNCHER, ...launcherOptions],
    },
  );
  const port = Number((await proc.waitForEvent('launcher-listening')).port);
  await proc.waitForEvent('listening');
  return Object.assign(proc, { port, url: `http://127.0.0.1:${port}`, control });
}

async function status(t: TestContext, control: string): Promise<StatusReport> {
  const result = await runPounce(t, ['status', '--json', '--control-socket', control]);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as StatusReport;
}

describe('socket activation', () => {
  test('serves on the inherited socket with every worker, and across a reload', async (t) => {
    const app = new ReloadableApp('v1');
    const server = await launch(t, app.file, ['--workers', '2']);
    const activation = server.logs.find((l) => l.event === 'socketActivation');
    assert.equal(
      activation?.msg,
      'Serving on socket(s) inherited from the service manager: fd 3 (http) (host, port and uds are not used)',
    );
    assert.equal((await request(`${server.url}/version`)).body, 'v1');
    // Both workers accept from the one inherited socket.
    const { workers } = await status(t, server.control);
    assert.equal(workers.length, 2);
    app.write('v2');
    const reload = await runPounce(t, ['reload', '--control-socket', server.control]);
    assert.equal(reload.code, 0, reload.stderr);
    for (let i = 0; i < 5; i++) assert.equal((await request(`${server.url}/version`)).body, 'v2');
    // Nothing was bound on the default port: the socket came from the launcher.
    assert.ok(!server.logs.some((l) => String(l.url ?? '').includes(':8000')));
  });

  test('restarting pounce itself on the inherited socket loses no request under load', async (t) => {
    const app = new ReloadableApp('v1');
    const server = await launch(t, app.file, ['--workers', '2']);
    const load = runLoad({ url: server.url, durationMs: 30_000, keepAlive: 2, fresh: 2, post: 1, slow: 1 });
    await loadProgressed(load, 100);
    const before = load.completed;
    app.write('v2');
    server.signal('SIGUSR1'); // the launcher: SIGTERM pounce, wait for its exit, start a new one
    await waitFor(
      'the second pounce to listen',
      () => server.logs.filter((l) => l.event === 'listening').length === 2,
    );
    await waitFor(
      'requests to reach the new pounce',
      async () => (await request(`${server.url}/version`)).body === 'v2',
    );
    await loadProgressed(load, 100, load.completed);
    load.stop();
    const report = await load.done;
    t.diagnostic(summarize(report));
    const exits = server.logs.filter((l) => l.event === 'launcher-exited');
    assert.deepEqual(
      exits.map((l) => l.status),
      [0],
      'the first pounce shut down cleanly',
    );
    assert.equal(report.failed, 0, summarize(report));
    assert.ok(report.total > before + 20, 'requests kept completing across the restart');
    // The first pounce stopped accepting at once: it answered no new connection with 503.
    assert.ok(!report.failures['status-503']);
  });

  test('several inherited sockets (TCP and unix) are all served, with their names', async (t) => {
    const sock = path.join(mkdtempSync(path.join(tmpdir(), 'pounce-sa-')), 'app.sock');
    const app = new ReloadableApp('v1');
    const server = await launch(t, app.file, [], ['--tcp', '127.0.0.1:0', '--unix', sock]);
    assert.match(
      String(server.logs.find((l) => l.event === 'socketActivation')?.msg),
      /fd 3 \(http\), fd 4 \(local\)/,
    );
    assert.equal((await request(`${server.url}/version`)).body, 'v1');
    const overUnix = await new Promise<string>((resolve, reject) => {
      http
        .get({ socketPath: sock, path: '/version' }, (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (c: string) => {
            body += c;
          });
          res.on('end', () => resolve(body));
        })
        .on('error', reject);
    });
    assert.equal(overUnix, 'v1');
  });

  test('LISTEN_FDS meant for another process is ignored, with a warning', async (t) => {
    const app = new ReloadableApp('v1');
    const control = path.join(mkdtempSync(path.join(tmpdir(), 'pounce-ctl-')), 'control.sock');
    const proc = spawnPounce(
      t,
      ['--', ...POUNCE_COMMAND, 'serve', app.file, '--port', '0', '--control-socket', control],
      { command: ['python3', LAUNCHER, '--tcp', '127.0.0.1:0', '--wrong-pid'] },
    );
    const inherited = Number((await proc.waitForEvent('launcher-listening')).port);
    const listening = await proc.waitForEvent('listening');
    assert.match(
      String(proc.logs.find((l) => l.event === 'listenFdsIgnored')?.msg),
      /^LISTEN_FDS is meant for pid \d+, not this process \(\d+\) — ignoring it$/,
    );
    assert.notEqual(new URL(String(listening.url)).port, String(inherited));
    assert.equal((await request(`${String(listening.url)}/version`)).body, 'v1');
  });

  test('the only worker killed with SIGKILL: its replacement serves on the same inherited socket', async (t) => {
    const app = new ReloadableApp('v1');
    const server = await launch(t, app.file, []);
    const [worker] = (await status(t, server.control)).workers;
    process.kill(worker!.pid, 'SIGKILL');
    await server.waitForEvent('workerCrashed');
    await waitFor('the replacement', async () => {
      const s = await status(t, server.control);
      return s.workers.length === 1 && s.workers[0]!.state === 'ready' && s.workers[0]!.pid !== worker!.pid;
    });
    for (let i = 0; i < 5; i++) assert.equal((await request(`${server.url}/version`)).body, 'v1');
    assert.ok(!server.logs.some((l) => l.event === 'workerFailed'), 'the replacement could listen');
  });
});
