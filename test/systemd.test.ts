// systemd integration: the notification messages (sd_notify) pounce sends, checked against a real
// AF_UNIX datagram socket that this test opens (test/fixtures/ops/notify-receiver.py, which reads
// the sender's pid from SCM_CREDENTIALS as systemd does), and the unit files of docs/systemd.md run
// the way systemd runs them: ExecStart with NOTIFY_SOCKET, a reload by ExecReload or by SIGHUP
// (Type=notify-reload), a stop by SIGTERM to every process of the unit.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { request } from './helpers/http.ts';
import { notifySocket } from './helpers/notify-socket.ts';
import { FIXTURES, POUNCE_COMMAND, type PounceProcess, ROOT, spawnPounce } from './helpers/pounce.ts';
import { appSource } from './helpers/reloadable-app.ts';

type TestContext = Parameters<typeof spawnPounce>[0];

const LAUNCHER = path.join(FIXTURES, 'ops/socket-launcher.py');
const DOC = readFileSync(path.join(ROOT, 'docs/systemd.md'), 'utf8');
const POUNCE_BIN = '/srv/myapp/node_modules/.bin/pounce';

const APP = (version: string) => appSource(version);

/** An app that also reports what of systemd's environment it can see, on /env. */
function envApp(version: string): string {
  return appSource(version).replace(
    "if (url.pathname === '/version')",
    "if (url.pathname === '/env') return res.end(JSON.stringify({ notify: process.env.NOTIFY_SOCKET ?? null, listen: process.env.LISTEN_FDS ?? null, watchdog: process.env.WATCHDOG_USEC ?? null }));\n  if (url.pathname === '/version')",
  );
}

describe('sd_notify messages', () => {
  for (const transport of ['ffi', 'helper'] as const) {
    test(`start, reload, failed reload, scale and shutdown send the exact sequence (${transport})`, async (t) => {
      const notify = await notifySocket(t);
      const dir = mkdtempSync(path.join(tmpdir(), 'pounce-sd-'));
      const app = path.join(dir, 'app.mjs');
      writeFileSync(app, envApp('v1'));
      const control = path.join(dir, 'control.sock');
      const server = spawnPounce(
        t,
        ['serve', app, '--port', '0', '--workers', '2', '--control-socket', control, '--log-level', 'debug'],
        {
          env: { NOTIFY_SOCKET: notify.socket, POUNCE_INTERNAL_NOTIFY_TRANSPORT: transport },
        },
      );
      const url = String((await server.waitForEvent('listening')).url);
      await notify.waitFor('READY=1', (m) => m.length === 2);
      // The app does not see systemd's variables.
      assert.deepEqual(JSON.parse((await request(`${url}/env`)).body), {
        notify: null,
        listen: null,
        watchdog: null,
      });

      writeFileSync(app, envApp('v2'));
      const reload = await runCommand(t, [...POUNCE_COMMAND, 'reload', '--control-socket', control], dir);
      assert.equal(reload.code, 0);
      await notify.waitFor('the reload', (m) => m.length === 4);

      writeFileSync(app, `${envApp('v3')}\nexport const broken = (;\n`);
      const failed = await runCommand(t, [...POUNCE_COMMAND, 'reload', '--control-socket', control], dir);
      assert.equal(failed.code, 1);
      await notify.waitFor('the failed reload', (m) => m.length === 6);

      writeFileSync(app, envApp('v4'));
      const scale = await runCommand(t, [...POUNCE_COMMAND, 'scale', '3', '--control-socket', control], dir);
      assert.equal(scale.code, 0);
      await notify.waitFor('the scale', (m) => m.length === 7);

      server.signal('SIGTERM');
      assert.equal((await server.exited).code, 0);
      await notify.waitFor('STOPPING=1', (m) => m.length === 8);
      const messages = notify.messages();
      assert.deepEqual(messages.slice(0, 5), [
        'STATUS=starting 2 workers\nEXTEND_TIMEOUT_USEC=N',
        'READY=1\nSTATUS=serving 2 workers, generation 0',
        'RELOADING=1\nMONOTONIC_USEC=N\nSTATUS=reloading: starting generation 1\nEXTEND_TIMEOUT_USEC=N',
        'READY=1\nSTATUS=serving 2 workers, generation 1',
        'RELOADING=1\nMONOTONIC_USEC=N\nSTATUS=reloading: starting generation 2\nEXTEND_TIMEOUT_USEC=N',
      ]);
      assert.match(
        messages[5]!,
        /^READY=1\nSTATUS=serving 2 workers, generation 1; reload failed: App module .*app\.mjs threw while being imported: SyntaxError: .*$/,
      );
      assert.deepEqual(messages.slice(6), [
        'STATUS=serving 3 workers, generation 1',
        'STOPPING=1\nSTATUS=stopping: draining 3 workers\nEXTEND_TIMEOUT_USEC=N',
      ]);
      // Every message comes from the supervisor's pid: what NotifyAccess=main accepts.
      assert.deepEqual(new Set(notify.received.map((n) => n.pid)), new Set([server.pid]));
      // The shutdown's EXTEND_TIMEOUT_USEC is pounce's own bound: shutdownTimeout 10 + hooks 5 + slack 4.
      assert.match(notify.received.at(-1)!.message, /EXTEND_TIMEOUT_USEC=19000000$/);
      assert.equal(server.logs.find((l) => l.event === 'notifyTransport')?.transport, transport);
    });
  }

  test('Type=notify-reload: SIGHUP → RELOADING=1 with a MONOTONIC_USEC after the signal → READY=1', async (t) => {
    const notify = await notifySocket(t);
    const dir = mkdtempSync(path.join(tmpdir(), 'pounce-sd-'));
    writeFileSync(path.join(dir, 'app.mjs'), APP('v1'));
    const server = spawnPounce(t, ['serve', path.join(dir, 'app.mjs'), '--port', '0'], {
      env: { NOTIFY_SOCKET: notify.socket },
      cwd: dir,
    });
    await notify.waitFor('READY=1', (m) => m.length === 2);
    const sentAt = process.hrtime.bigint() / 1000n;
    server.signal('SIGHUP');
    await notify.waitFor('the reload', (m) => m.length === 4);
    const reloading = notify.received.find((n) => n.message.startsWith('RELOADING=1'))!;
    const monotonic = BigInt(/MONOTONIC_USEC=(\d+)/.exec(reloading.message)![1]!);
    assert.ok(
      monotonic >= sentAt,
      'MONOTONIC_USEC is not older than the SIGHUP (systemd ignores it otherwise)',
    );
    assert.ok(monotonic <= BigInt(reloading.monotonicUsec), 'and not later than its arrival: same clock');
    assert.equal(notify.messages()[3], 'READY=1\nSTATUS=serving 1 worker, generation 1');
  });

  test('watchdog: WATCHDOG=1 every WATCHDOG_USEC/2, only for the pid WATCHDOG_PID names', async (t) => {
    const notify = await notifySocket(t);
    const dir = mkdtempSync(path.join(tmpdir(), 'pounce-sd-'));
    writeFileSync(path.join(dir, 'app.mjs'), APP('v1'));
    const server = spawnPounce(t, ['serve', path.join(dir, 'app.mjs'), '--port', '0'], {
      env: { NOTIFY_SOCKET: notify.socket, WATCHDOG_USEC: '400000' },
      cwd: dir,
    });
    await server.waitForEvent('listening');
    const start = notify.received.filter((n) => n.message === 'WATCHDOG=1').length;
    await new Promise((r) => setTimeout(r, 1100));
    const pings = notify.received.filter((n) => n.message === 'WATCHDOG=1');
    assert.ok(pings.length - start >= 3, `at least 3 pings in 1.1 s at 200 ms, got ${pings.length - start}`);
    assert.ok(pings.every((n) => n.pid === server.pid));

    const other = await notifySocket(t);
    const elsewhere = spawnPounce(t, ['serve', path.join(dir, 'app.mjs'), '--port', '0'], {
      env: { NOTIFY_SOCKET: other.socket, WATCHDOG_USEC: '200000', WATCHDOG_PID: '1' },
      cwd: dir,
    });
    await elsewhere.waitForEvent('listening');
    await new Promise((r) => setTimeout(r, 600));
    assert.ok(!other.received.some((n) => n.message === 'WATCHDOG=1'), 'WATCHDOG_PID names another process');
  });

  test('no way to send: a warning, and the server serves anyway', async (t) => {
    const notify = await notifySocket(t);
    const dir = mkdtempSync(path.join(tmpdir(), 'pounce-sd-'));
    writeFileSync(path.join(dir, 'app.mjs'), APP('v1'));
    const server = spawnPounce(t, ['serve', path.join(dir, 'app.mjs'), '--port', '0'], {
      command: [process.execPath, '--no-experimental-ffi', ...POUNCE_COMMAND.slice(1)],
      env: { NOTIFY_SOCKET: notify.socket, POUNCE_INTERNAL_NOTIFY_TRANSPORT: 'ffi' },
      cwd: dir,
    });
    const url = String((await server.waitForEvent('listening')).url);
    assert.match(
      String(server.logs.find((l) => l.event === 'notifyUnavailable')?.msg),
      /^NOTIFY_SOCKET is set but pounce cannot send systemd notifications \(node:ffi: not available in this Node\)/,
    );
    assert.equal((await request(`${url}/version`)).body, 'v1');
    assert.equal(notify.received.length, 0);
  });
});

// --- the unit files of docs/systemd.md, run as systemd would ----------------------------------

interface Unit {
  file: string;
  sections: Record<string, Record<string, string[]>>;
}

function units(): Unit[] {
  const found: Unit[] = [];
  for (const match of DOC.matchAll(/```ini\n([\s\S]*?)```/g)) {
    const lines = match[1]!.split('\n');
    const file = /^# (\/etc\/systemd\/system\/\S+)$/.exec(lines[0]!)?.[1];
    assert.ok(file, `every unit in docs/systemd.md starts with its path: ${lines[0]}`);
    const sections: Unit['sections'] = {};
    let section = '';
    for (const line of lines.slice(1)) {
      if (!line.trim() || line.startsWith('#')) continue;
      const header = /^\[(\w+)\]$/.exec(line);
      if (header) section = header[1]!;
      else {
        const eq = line.indexOf('=');
        sections[section] ??= {};
        const entries = sections[section]!;
        const key = line.slice(0, eq);
        entries[key] = [...(entries[key] ?? []), line.slice(eq + 1)];
      }
    }
    found.push({ file, sections });
  }
  return found;
}

function runCommand(t: TestContext, argv: string[], cwd: string, env: Record<string, string> = {}) {
  const proc = spawnPounce(t, argv.slice(1), { command: [argv[0]!], cwd, env });
  return proc.exited;
}

/** ExecStart=/ExecReload= of the doc, with the pounce binary of this checkout. */
function command(line: string): string[] {
  const [bin, ...args] = line.trim().split(/\s+/);
  assert.equal(bin, POUNCE_BIN);
  return [...POUNCE_COMMAND, ...args];
}

/** Environment= lines; the port is replaced by a free one (0). */
function environment(service: Record<string, string[]>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of service.Environment ?? []) {
    for (const pair of line.split(/\s+/)) {
      const [key, value] = pair.split('=') as [string, string];
      env[key] = key === 'PORT' ? '0' : value;
    }
  }
  return env;
}

async function runUnit(t: TestContext, service: Record<string, string[]>, socketUnit: Unit | undefined) {
  const notify = await notifySocket(t);
  const dir = mkdtempSync(path.join(tmpdir(), 'pounce-unit-'));
  writeFileSync(path.join(dir, 'app.ts'), appSource('v1'));
  const env: Record<string, string> = { ...environment(service), NOTIFY_SOCKET: notify.socket };
  const start = command(service.ExecStart![0]!);
  let server: PounceProcess;
  let mainPid: number;
  let url: string;
  if (socketUnit) {
    const listen = socketUnit.sections.Socket!.ListenStream!.map((addr) => [
      '--tcp',
      addr.replace(/:\d+$/, ':0'),
    ]);
    server = spawnPounce(t, ['--', ...start], {
      command: ['python3', LAUNCHER, ...listen.flat()],
      cwd: dir,
      env,
    });
    url = `http://127.0.0.1:${(await server.waitForEvent('launcher-listening')).port}`;
    mainPid = Number((await server.waitForEvent('launcher-started')).pid);
    await server.waitForEvent('listening');
  } else {
    server = spawnPounce(t, start.slice(1), { command: [start[0]!], cwd: dir, env });
    mainPid = server.pid;
    url = String((await server.waitForEvent('listening')).url);
  }
  return { notify, dir, env, server, mainPid, url };
}

describe('docs/systemd.md units', () => {
  const all = units();
  const services = all.filter((u) => u.file.endsWith('.service'));
  assert.equal(services.length, 3);

  for (const [index, unit] of services.entries()) {
    const service = unit.sections.Service!;
    const type = service.Type![0]!;
    const socketUnit = unit.sections.Unit?.Requires?.[0]
      ? all.find((u) => u.file.endsWith(`/${unit.sections.Unit!.Requires![0]}`))
      : undefined;
    test(`unit ${index + 1} (Type=${type}${socketUnit ? ', socket-activated' : ''}): start, reload, failed reload, stop`, async (t) => {
      const { notify, dir, env, server, mainPid, url } = await runUnit(t, service, socketUnit);
      const workers = env.WEB_CONCURRENCY ?? '1';
      await notify.waitFor('READY=1', (m) =>
        m.includes(`READY=1\nSTATUS=serving ${workers} workers, generation 0`),
      );
      assert.equal((await request(`${url}/version`)).body, 'v1');

      const reload = async (expectOk: boolean) => {
        if (type === 'notify') {
          const result = await runCommand(t, command(service.ExecReload![0]!), dir, env);
          assert.equal(result.code, expectOk ? 0 : 1);
        } else {
          assert.equal(type, 'notify-reload');
          process.kill(mainPid, 'SIGHUP'); // ReloadSignal=SIGHUP, the default
        }
      };
      writeFileSync(path.join(dir, 'app.ts'), appSource('v2'));
      await reload(true);
      await notify.waitFor('the reload', (m) =>
        m.includes(`READY=1\nSTATUS=serving ${workers} workers, generation 1`),
      );
      assert.equal((await request(`${url}/version`)).body, 'v2');

      writeFileSync(path.join(dir, 'app.ts'), appSource('v3', 'syntax-error'));
      await reload(false);
      await notify.waitFor('the failed reload', (m) => m.some((x) => x.includes('reload failed')));
      assert.equal((await request(`${url}/version`)).body, 'v2');

      // systemctl stop: KillMode=control-group sends SIGTERM to every process of the unit.
      process.kill(socketUnit ? mainPid : -server.pid, 'SIGTERM');
      await notify.waitFor('STOPPING=1', (m) => m.some((x) => x.startsWith('STOPPING=1')));
      const context = () =>
        `notifications: ${JSON.stringify(notify.received)}\nlog:\n${server.stdout()}\n${server.stderr()}`;
      if (socketUnit) {
        const exited = await server.waitForEvent('launcher-exited');
        assert.equal(exited.status, 0, context());
      } else {
        assert.equal((await server.exited).code, 0, context());
      }
      assert.deepEqual(
        notify.messages().map((m) => m.split('\n')[0]),
        [
          'STATUS=starting 4 workers',
          'READY=1',
          'RELOADING=1',
          'READY=1',
          'RELOADING=1',
          'READY=1',
          'STOPPING=1',
        ],
        context(),
      );
      // NotifyAccess=main would accept every message: they come from the main pid.
      assert.deepEqual(new Set(notify.received.map((n) => n.pid)), new Set([mainPid]), context());
    });
  }
});
