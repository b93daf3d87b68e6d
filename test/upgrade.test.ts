// `pounce upgrade` (and SIGUSR2): a new supervisor from the pounce and Node on disk takes the
// listening sockets over, and the old one drains and exits — on real processes, under load.
//
// Every supervisor of a test is in the process group of the first one (the new supervisor is its
// child, not detached), so the helper's kill(-pgid) at the end of each test reaches all of them,
// whichever is alive by then.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, type TestContext, test } from 'node:test';
import { mixedLoad, summarize } from '../bench/load-generator.ts';
import type { ServerStatus } from '../src/control/protocol.ts';
import { UPGRADE_FAULT_ENV } from '../src/upgrade/protocol.ts';
import { request } from './helpers/http.ts';
import { freePort } from './helpers/modes.ts';
import { notifySocket } from './helpers/notify-socket.ts';
import {
  control,
  FIXTURES,
  hasExited,
  POUNCE_COMMAND,
  type PounceProcess,
  scratchDir,
  serverStatus,
  spawnPounce,
  startServer,
  waitFor,
} from './helpers/pounce.ts';
import { appSource, ReloadableApp } from './helpers/reloadable-app.ts';

// A second Node major, from its own npm prefix (test/fixtures/node24/package.json explains why).
const NODE_24_DIR = path.join(FIXTURES, 'node24');
const NODE_24 = path.join(NODE_24_DIR, 'node_modules/node/bin/node');
const LAUNCHER = path.join(FIXTURES, 'ops/socket-launcher.py');

/** Installs Node 24 from the prefix's lockfile if a fresh clone does not have it yet (.ci/run does). */
function ensureNode24(): void {
  if (existsSync(NODE_24)) return;
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], {
    cwd: NODE_24_DIR,
    stdio: 'ignore',
    timeout: 600_000,
  });
}

/** An app in a scratch directory whose next version's workers take `ms` to start. */
function slowToStartNext(t: TestContext, ms: number) {
  const file = path.join(scratchDir(t, 'pounce-upgrade-'), 'app.mjs');
  writeFileSync(file, appSource('v1'));
  return {
    file,
    writeSlowVersion: () =>
      writeFileSync(
        file,
        `${appSource('v2')}\nexport function onStartup() { return new Promise((r) => setTimeout(r, ${ms})); }\n`,
      ),
  };
}

/**
 * Sends `pounce status`'s request over the control socket back to back (a new connection each
 * time) until stopped, and records every one that got no answer.
 */
function askContinuously(socketPath: string) {
  let stopped = false;
  const failures: string[] = [];
  let answered = 0;
  const askOnce = () =>
    new Promise<void>((resolve) => {
      const socket = net.connect(socketPath);
      let buffer = '';
      socket.setEncoding('utf8');
      socket.once('connect', () => socket.write('{"command":"status"}\n'));
      socket.on('data', (chunk: string) => {
        buffer += chunk;
      });
      socket.once('error', (err) => {
        failures.push(err.message);
        resolve();
      });
      socket.once('close', () => {
        if (buffer.includes('"ok":true')) answered++;
        else failures.push(buffer || 'closed without an answer');
        resolve();
      });
    });
  const done = (async () => {
    while (!stopped) await askOnce();
    return { answered, failures };
  })();
  return {
    done,
    stop: () => {
      stopped = true;
    },
  };
}

/** `pounce upgrade` that must succeed; returns the status before and after. */
async function upgrade(
  t: TestContext,
  server: { control: string },
  extra: string[] = [],
): Promise<{ before: ServerStatus; after: ServerStatus }> {
  const before = await serverStatus(t, server);
  const result = await control(t, server, 'upgrade', extra);
  assert.equal(result.code, 0, `pounce upgrade: ${result.stderr}`);
  const after = await serverStatus(t, server);
  assert.notEqual(after.pid, before.pid, 'a new supervisor serves');
  assert.match(result.stdout, new RegExp(`^Upgrade complete: pid ${after.pid} \\(pounce `));
  return { before, after };
}

/** The old supervisor and every worker it had have exited. */
async function oldOneGone(status: ServerStatus): Promise<void> {
  const pids = [status.pid, ...status.workers.map((w) => w.pid)];
  await waitFor(`supervisor ${status.pid} and its workers to exit`, () => pids.every(hasExited), 60_000);
}

/** The pid of the new supervisor the old one started (from its log line). */
async function successorPid(server: PounceProcess, nth: number): Promise<number> {
  await server.waitForCount('upgradeStarting', nth);
  return Number(server.logs.filter((l) => l.event === 'upgradeStarting')[nth - 1]!.pid);
}

describe('pounce upgrade', () => {
  test('10 upgrades in a row under mixed load: 0 failed requests, a new supervisor each time, none of the old ones left', async (t) => {
    const app = new ReloadableApp('v0');
    const server = await startServer(t, app.file, ['--workers', '2']);
    const load = mixedLoad(server.url);
    const pids = new Set([server.pid]);
    try {
      for (let i = 1; i <= 10; i++) {
        const { before, after } = await upgrade(t, server);
        assert.equal(after.upgrades, i);
        assert.equal(after.state, 'serving');
        assert.equal(after.workers.filter((w) => w.state === 'ready').length, 2);
        assert.ok(!pids.has(after.pid), `pid ${after.pid} is new`);
        pids.add(after.pid);
        await oldOneGone(before);
      }
    } finally {
      load.stop();
    }
    const report = await load.done;
    t.diagnostic(`10 upgrades: ${summarize(report)}`);
    assert.equal(report.failed, 0, `${summarize(report)}\n${JSON.stringify(report.samples, null, 1)}`);
    assert.ok(report.total > 500, `enough load to mean something: ${report.total}`);
    for (const kind of ['keepAlive', 'fresh', 'post', 'slow'] as const)
      assert.ok(report.byLoop[kind] > 0, kind);
  });

  test('thread mode: 5 upgrades under mixed load hand the one listening socket on: 0 failed requests, whatever tcp_migrate_req says', async (t) => {
    const app = new ReloadableApp('v0');
    // Thread mode binds a fixed port (every thread listens on it).
    const port = await freePort();
    const server = await startServer(t, app.file, [
      '--workers',
      '2',
      '--worker-mode',
      'thread',
      '--port',
      String(port),
    ]);
    const load = mixedLoad(server.url);
    try {
      for (let i = 1; i <= 5; i++) {
        const { before, after } = await upgrade(t, server);
        assert.equal(after.upgrades, i);
        assert.equal(after.workers.filter((w) => w.state === 'ready').length, 2);
        assert.equal(after.url, before.url, 'served on the same address');
        await oldOneGone(before);
      }
    } finally {
      load.stop();
    }
    const report = await load.done;
    t.diagnostic(`thread mode, 5 upgrades: ${summarize(report)}`);
    assert.equal(report.failed, 0, `${summarize(report)}\n${JSON.stringify(report.samples, null, 1)}`);
    assert.ok(report.total > 200, `enough load to mean something: ${report.total}`);
  });

  test('to another Node major and back (--node), under load: status reports each version, 0 failed requests', async (t) => {
    ensureNode24();
    const app = new ReloadableApp('v0');
    const server = await startServer(t, app.file, ['--workers', '2']);
    const load = mixedLoad(server.url);
    try {
      const first = await serverStatus(t, server);
      assert.equal(first.nodeVersion, process.versions.node);
      const down = await upgrade(t, server, ['--node', NODE_24]);
      assert.match(down.after.nodeVersion, /^24\./);
      assert.notEqual(down.after.nodeVersion.split('.')[0], process.versions.node.split('.')[0]);
      await oldOneGone(down.before);
      const up = await upgrade(t, server, ['--node', process.execPath]);
      assert.equal(up.after.nodeVersion, process.versions.node);
      assert.equal(up.after.upgrades, 2);
      await oldOneGone(up.before);
    } finally {
      load.stop();
    }
    const report = await load.done;
    t.diagnostic(`Node 26 → 24 → 26: ${summarize(report)}`);
    assert.equal(report.failed, 0, `${summarize(report)}\n${JSON.stringify(report.samples, null, 1)}`);
  });

  test('a new supervisor that cannot start changes nothing: the old one keeps serving, pounce upgrade exits 1 with the reason', async (t) => {
    const app = new ReloadableApp('v1');
    const server = await startServer(t, app.file, ['--startup-timeout', '2']);
    const before = await serverStatus(t, server);

    const missing = await control(t, server, 'upgrade', ['--node', '/nonexistent/bin/node']);
    assert.equal(missing.code, 1);
    assert.match(
      missing.stderr,
      /^pounce upgrade: failed — the Node executable \/nonexistent\/bin\/node does not exist/,
    );

    app.write('v2', 'throws-on-import');
    const broken = await control(t, server, 'upgrade');
    assert.equal(broken.code, 1);
    assert.match(broken.stderr, /^pounce upgrade: failed — .*config for v2 is missing/);
    // The new supervisor that failed was stopped.
    await waitFor('the failed new supervisor to exit', async () => hasExited(await successorPid(server, 1)));

    app.write('v2', 'never-ready');
    const hung = await control(t, server, 'upgrade');
    assert.equal(hung.code, 1);
    assert.match(hung.stderr, /^pounce upgrade: failed — .*startupTimeout \(2s\)/);
    await waitFor('the hung new supervisor to exit', async () => hasExited(await successorPid(server, 2)));

    const after = await serverStatus(t, server);
    assert.equal(after.pid, before.pid);
    assert.equal(after.upgrades, 0);
    assert.deepEqual(
      after.workers.map((w) => w.pid),
      before.workers.map((w) => w.pid),
    );
    assert.equal((await request(`${server.url}/version`)).body, 'v1');

    // Fixed on disk, the next upgrade goes through.
    app.write('v3');
    const { after: upgraded } = await upgrade(t, server);
    assert.equal(upgraded.upgrades, 1);
    assert.equal((await request(`${server.url}/version`)).body, 'v3');
  });

  test('a new supervisor that dies after moving its control socket and writing its pid: the old one takes both back and keeps serving', async (t) => {
    const pidFile = path.join(scratchDir(t, 'pounce-upgrade-'), 'pounce.pid');
    const app = new ReloadableApp('v1');
    const server = await startServer(t, app.file, ['--pid-file', pidFile, '--workers', '2'], {
      env: { [UPGRADE_FAULT_ENV]: 'die-after-move' },
    });
    const before = await serverStatus(t, server);
    const failed = await control(t, server, 'upgrade');
    assert.equal(failed.code, 1, failed.stdout);
    assert.match(failed.stderr, /did not take over the control socket and pid file/);
    // pounce upgrade answers once the old supervisor has taken both back: they name it again, and
    // the CLI finds it, by the socket and by the pid file.
    assert.equal(readFileSync(pidFile, 'utf8'), `${before.pid}\n`);
    const after = await serverStatus(t, server);
    assert.equal(after.pid, before.pid);
    assert.equal(after.state, 'serving');
    const checked = await control(t, server, 'status', ['--pid-file', pidFile]);
    assert.equal(checked.code, 0, checked.stderr);
    assert.equal((await request(`${server.url}/version`)).body, 'v1');
    assert.deepEqual(
      readdirSync(path.dirname(server.control)).filter((f) => f.startsWith('.')),
      [],
      'no staging socket left behind',
    );
    assert.ok(server.logs.some((l) => l.event === 'controlReclaimed'));
    const stopped = await control(t, server, 'stop');
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.equal((await server.exited).code, 0);
    assert.ok(!existsSync(pidFile) && !existsSync(server.control), 'both removed at the end');
  });

  test('a second upgrade during one is refused; SIGUSR2 upgrades too', async (t) => {
    const app = slowToStartNext(t, 1500);
    const server = await startServer(t, app.file);
    // The next supervisor's workers take a while to start.
    app.writeSlowVersion();
    const first = control(t, server, 'upgrade');
    await server.waitForEvent('upgradeStarting');
    const second = await control(t, server, 'upgrade');
    assert.equal(second.code, 1);
    assert.match(
      second.stderr,
      /^pounce upgrade: failed — an upgrade is already in progress \(new supervisor pid \d+\)/,
    );
    assert.equal((await first).code, 0, 'the first upgrade goes on');
    assert.equal((await request(`${server.url}/version`)).body, 'v2');

    // The number of workers as scaled at runtime is handed on.
    assert.equal((await control(t, server, 'scale', ['2'])).code, 0);
    const now = await serverStatus(t, server);
    process.kill(now.pid, 'SIGUSR2');
    await waitFor('the SIGUSR2 upgrade', async () => (await serverStatus(t, server)).upgrades === 2);
    await oldOneGone(now);
    const after = await serverStatus(t, server);
    assert.equal(after.workersWanted, 2);
    assert.equal(after.workers.filter((w) => w.state === 'ready').length, 2);
  });

  test('SIGTERM during an upgrade shuts both supervisors down gracefully', async (t) => {
    const app = slowToStartNext(t, 3000);
    const server = await startServer(t, app.file);
    app.writeSlowVersion();
    const upgrading = control(t, server, 'upgrade');
    const next = await successorPid(server, 1);
    server.signal('SIGTERM');
    const exit = await server.exited;
    assert.equal(exit.code, 0, server.stderr());
    assert.ok(hasExited(next), 'the new supervisor has stopped before the old one exited');
    const outcome = await upgrading;
    assert.equal(outcome.code, 1);
    assert.match(outcome.stderr, /aborted: the server is shutting down/);
  });

  test('SIGTERM to the whole process group during an upgrade (systemd KillMode=control-group): a request in flight gets its 200, both supervisors exit, no worker is killed', async (t) => {
    const app = slowToStartNext(t, 3000);
    const server = await startServer(t, app.file, ['--workers', '2']);
    app.writeSlowVersion();
    const upgrading = control(t, server, 'upgrade');
    const next = await successorPid(server, 1);
    const slow = request(`${server.url}/slow?ms=1500`);
    await waitFor('the slow request to reach the app', async () => {
      const s = await serverStatus(t, server);
      return s.workers.some((w) => (w.connections ?? 0) > 0);
    });
    // Every process of the group: both supervisors and every worker, old and new.
    process.kill(-server.pid, 'SIGTERM');
    const res = await slow;
    assert.equal(res.status, 200);
    assert.equal(res.body, 'v1 slow 1500');
    assert.equal((await server.exited).code, 0, server.stderr());
    await waitFor('the new supervisor to exit', () => hasExited(next), 20_000);
    assert.ok(!server.logs.some((l) => l.event === 'workerKilled'), 'no worker needed killing');
    assert.equal((await upgrading).code, 1);
  });

  test('with scheduling round-robin, pounce upgrade is refused with the reason and the server keeps serving; one worker is warned about', async (t) => {
    const app = new ReloadableApp('v1');
    const server = await startServer(t, app.file, ['--workers', '1', '--scheduling', 'round-robin']);
    assert.ok(server.logs.some((l) => l.event === 'roundRobinSingleWorker'));
    const refused = await control(t, server, 'upgrade');
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /with scheduling round-robin the listening socket lives inside Node’s cluster module, where pounce cannot hand it over — use scheduling shared/,
    );
    assert.equal((await request(`${server.url}/version`)).body, 'v1');
    assert.equal((await serverStatus(t, server)).upgrades, 0);
  });

  test('control socket and pid file move without a gap; a unix socket listener stays where it is', async (t) => {
    const dir = scratchDir(t, 'pounce-upgrade-');
    const uds = path.join(dir, 'app.sock');
    const pidFile = path.join(dir, 'pounce.pid');
    const app = new ReloadableApp('v1');
    const server = await startServer(t, app.file, ['--uds', uds, '--pid-file', pidFile, '--workers', '2']);
    // `pounce status`'s own request, asked back to back for the whole test: every one is answered.
    const asking = askContinuously(server.control);
    // And `pounce status --pid-file` itself, whose check of the answering pid against the pid file
    // must hold while both move.
    let cliStopped = false;
    const cliFailures: string[] = [];
    let cliRuns = 0;
    const cli = (async () => {
      while (!cliStopped) {
        const result = await control(t, server, 'status', ['--pid-file', pidFile]);
        cliRuns++;
        if (result.code !== 0) cliFailures.push(result.stderr);
      }
    })();
    try {
      for (let i = 1; i <= 3; i++) {
        const { before, after } = await upgrade(t, server, ['--pid-file', pidFile]);
        assert.equal(readFileSync(pidFile, 'utf8'), `${after.pid}\n`);
        await oldOneGone(before);
        // The old supervisor exited without unlinking the socket path the new one serves on.
        assert.ok(lstatSync(uds).isSocket());
        assert.equal((await request('http://x/version', { socket: net.connect(uds) })).body, 'v1');
      }
    } finally {
      asking.stop();
      cliStopped = true;
    }
    await cli;
    assert.deepEqual(cliFailures, [], `${cliRuns} pounce status runs`);
    const asked = await asking.done;
    assert.deepEqual(asked.failures, [], `${asked.answered} answered`);
    assert.ok(asked.answered > 10, `${asked.answered} status requests answered`);
    const stopped = await control(t, server, 'stop');
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.ok(!existsSync(pidFile), 'the last supervisor removes the pid file');
    assert.ok(!existsSync(server.control), 'and its control socket');
  });

  test('socket activation: the inherited sockets are handed on, the launcher keeps its own', async (t) => {
    const dir = scratchDir(t, 'pounce-upgrade-');
    const unix = path.join(dir, 'activated.sock');
    const control = path.join(dir, 'control.sock');
    const app = new ReloadableApp('v1');
    const launcher = spawnPounce(
      t,
      ['--', ...POUNCE_COMMAND, 'serve', app.file, '--control-socket', control, '--workers', '2'],
      { command: ['python3', LAUNCHER, '--tcp', '127.0.0.1:0', '--unix', unix] },
    );
    const port = Number((await launcher.waitForEvent('launcher-listening')).port);
    await launcher.waitForEvent('listening');
    const server = { control };
    const load = mixedLoad(`http://127.0.0.1:${port}`);
    try {
      for (let i = 1; i <= 2; i++) {
        const { before } = await upgrade(t, server);
        await oldOneGone(before);
        assert.equal((await request('http://x/version', { socket: net.connect(unix) })).body, 'v1');
      }
    } finally {
      load.stop();
    }
    const report = await load.done;
    assert.equal(report.failed, 0, `${summarize(report)}\n${JSON.stringify(report.samples, null, 1)}`);
    const handedOn = launcher.logs.filter((l) => l.event === 'upgradeSuccessor');
    assert.equal(handedOn.length, 2);
  });

  test('systemd: MAINPID= names the new supervisor, which then says READY=1; the old one says nothing more', async (t) => {
    const notify = await notifySocket(t);
    const app = new ReloadableApp('v1');
    const server = await startServer(t, app.file, [], {
      env: { NOTIFY_SOCKET: notify.socket, POUNCE_INTERNAL_NOTIFY_TRANSPORT: 'ffi' },
    });
    await notify.waitFor('READY=1', (m) => m.some((x) => x.startsWith('READY=1')));
    const { before, after } = await upgrade(t, server);
    await notify.waitFor('READY=1 from the new supervisor', () =>
      notify.received.some((n) => n.pid === after.pid && n.message.startsWith('READY=1')),
    );
    await oldOneGone(before);
    const mainPid = notify.received.findIndex(
      (n) => n.pid === before.pid && n.message.split('\n').includes(`MAINPID=${after.pid}`),
    );
    const ready = notify.received.findIndex((n) => n.pid === after.pid && n.message.startsWith('READY=1'));
    assert.ok(
      mainPid >= 0,
      `MAINPID=${after.pid} from pid ${before.pid}: ${JSON.stringify(notify.received)}`,
    );
    assert.ok(mainPid < ready, 'MAINPID= before the new READY=1');
    // Nothing from the new one before the hand-over, nothing from the old one after it (no STOPPING=1).
    assert.ok(notify.received.slice(0, mainPid).every((n) => n.pid === before.pid));
    assert.ok(notify.received.slice(mainPid + 1).every((n) => n.pid === after.pid));
    // And the new one reports its own shutdown.
    await control(t, server, 'stop');
    await notify.waitFor('STOPPING=1', (m) => m.some((x) => x.startsWith('STOPPING=1')));
    assert.equal(notify.received.find((n) => n.message.startsWith('STOPPING=1'))?.pid, after.pid);
  });
});
