// The supervisor around several workers: shutdown drains them all in parallel, a signal to the
// whole process group (Ctrl-C, systemd's KillMode=control-group) behaves like one to the
// supervisor, and the control commands and pid file work.

import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { keepAliveAgent, request } from './helpers/http.ts';
import { appPath, control, runPounce, serverStatus, startServer } from './helpers/pounce.ts';

const APP = appPath('node-listener.ts');

describe('supervised shutdown', () => {
  test('SIGTERM drains every worker in parallel; in-flight requests complete; exit 0', async (t) => {
    const server = await startServer(t, APP, ['--workers', '2']);
    const inFlight = Array.from({ length: 6 }, () => request(`${server.url}/slow?ms=1200`));
    await server.waitForCount('appRequest', 6);
    server.signal('SIGTERM');
    for (const res of await Promise.all(inFlight)) {
      assert.equal(res.status, 200);
      assert.equal(res.body, 'slow done 1200\n');
    }
    assert.equal((await server.exited).code, 0);
    const messages = server.logs.map((l) => l.msg);
    assert.ok(messages.includes('Received SIGTERM — initiating shutdown'));
    assert.ok(messages.includes('Shutting down 2 worker(s)...'));
    assert.ok(messages.includes('Worker 0 stopped') && messages.includes('Worker 1 stopped'));
    assert.equal(messages.at(-1), 'All workers stopped');
  });

  test('Ctrl-C (SIGINT to the whole process group) is one graceful shutdown', async (t) => {
    const server = await startServer(t, APP, ['--workers', '2']);
    const slow = request(`${server.url}/slow?ms=1000`);
    await server.waitForEvent('appRequest');
    process.kill(-server.pid, 'SIGINT');
    const res = await slow;
    assert.equal(res.status, 200);
    assert.equal((await server.exited).code, 0);
    assert.ok(!server.logs.some((l) => l.event === 'workerCrashed'));
    assert.ok(
      !server.logs.some((l) => l.event === 'workerReplacing'),
      'no worker is replaced on the way out',
    );
    assert.equal(server.logs.filter((l) => l.event === 'allStopped').length, 1);
  });

  test('a stuck request is cut at shutdownTimeout, logged, and the exit status is still 0', async (t) => {
    const server = await startServer(t, APP, ['--workers', '2', '--shutdown-timeout', '1']);
    const stuck = request(`${server.url}/slow?ms=60000`).catch((err: Error) => err.message);
    await server.waitForEvent('appRequest');
    server.signal('SIGTERM');
    assert.match(String(await stuck), /socket hang up|ECONNRESET/);
    assert.equal((await server.exited).code, 0);
    assert.match(
      String(server.logs.find((l) => l.event === 'workerForce')?.msg),
      /^Worker \d did not stop within shutdownTimeout \(1s\) — force terminating 1 connection\(s\)$/,
    );
  });
});

describe('control commands and pid file', () => {
  test('status (text and --json), stop, and the pid file', async (t) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'pounce-pid-'));
    const pidFile = path.join(dir, 'pounce.pid');
    const server = await startServer(t, APP, ['--workers', '2', '--pid-file', pidFile]);
    assert.equal(readFileSync(pidFile, 'utf8'), `${server.pid}\n`);
    assert.equal(
      statSync(server.control).mode & 0o777,
      0o600,
      'the control socket is readable by its owner only',
    );
    assert.equal(statSync(path.dirname(server.control)).mode & 0o077, 0, 'and lives in a private directory');

    const text = await control(t, server, 'status');
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`^pounce serving, generation 0, pid ${server.pid}, up \\d+s\\n`));
    assert.match(text.stdout, /WORKER {2}PID {6}GEN {3}STATE {9}CONNS {2}UPTIME/);
    assert.equal(text.stdout.match(/ready/g)?.length, 2);

    const json = JSON.parse((await control(t, server, 'status', ['--json'])).stdout);
    assert.equal(json.state, 'serving');
    assert.equal(json.url, server.url);
    assert.deepEqual(
      json.workers.map((w: { id: number; connections: number }) => [w.id, w.connections]),
      [
        [0, 0],
        [1, 0],
      ],
    );

    const stop = await control(t, server, 'stop');
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(stop.stdout, 'Stopping...\nStopped\n');
    assert.equal((await server.exited).code, 0);
    assert.ok(!existsSync(pidFile), 'the pid file is removed on exit');
    assert.ok(!existsSync(server.control), 'the control socket is removed on exit');
    const gone = await control(t, server, 'status');
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /no running pounce server found/);
  });

  test('pounce reload finds the server from the same configuration, without --control-socket', async (t) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'pounce-cwd-'));
    const server = await startServer(t, APP, ['--port', '0'], { cwd: dir, defaultControlSocket: true });
    // Same cwd and the same listen flags (`--port 0`) give the same default control socket.
    const status = await runPounce(t, ['status', '--port', '0', '--json'], { cwd: dir });
    assert.equal(status.code, 0, status.stderr);
    assert.equal(JSON.parse(status.stdout).pid, server.pid);
  });
});

describe('signals and commands that arrive twice or to the whole group', () => {
  test('a second pounce stop waits for the running shutdown instead of killing everything', async (t) => {
    const server = await startServer(t, APP, ['--workers', '2']);
    // The shutdown lasts as long as this request: long enough for a second CLI process to start
    // and connect even on a loaded machine (with 1.5 s, a slow start sometimes found the server
    // already gone, and no control socket).
    const slow = request(`${server.url}/slow?ms=5000`);
    await server.waitForEvent('appRequest');
    const first = control(t, server, 'stop');
    await server.waitForEvent('shuttingDown');
    const second = await control(t, server, 'stop');
    assert.equal((await slow).status, 200, 'the in-flight request completed');
    assert.equal((await first).code, 0);
    assert.equal(second.code, 0, second.stderr);
    assert.equal((await server.exited).code, 0);
    assert.ok(!server.logs.some((l) => l.event === 'signalForce'));
  });

  test('SIGHUP to the whole process group reloads; no worker dies with a request in flight', async (t) => {
    const server = await startServer(t, APP, ['--workers', '2']);
    const slow = request(`${server.url}/slow?ms=1500`);
    await server.waitForEvent('appRequest');
    process.kill(-server.pid, 'SIGHUP');
    const res = await slow;
    assert.equal(res.status, 200);
    assert.equal(res.body, 'slow done 1500\n');
    await server.waitForEvent('reloadComplete');
    assert.ok(!server.logs.some((l) => l.event === 'workerCrashed'));
  });

  test('during a reload the old workers still answer health 200 on their open connections', async (t) => {
    const server = await startServer(t, APP, ['--health-check-path', '/health']);
    const agent = keepAliveAgent();
    const slow = request(`${server.url}/slow?ms=1500`); // keeps the old worker draining
    await server.waitForEvent('appRequest');
    assert.equal((await request(`${server.url}/health`, { agent })).status, 200);
    assert.equal((await control(t, server, 'reload')).code, 0);
    const probe = await request(`${server.url}/health`, { agent });
    assert.ok(probe.reusedSocket, 'the probe went to the old worker over its open connection');
    assert.equal(probe.status, 200, 'a reload takes nothing out of service');
    assert.equal((await slow).status, 200);
    agent.destroy();
  });
});

test('the control socket answers JSON that is not a request with an error and keeps serving', async (t) => {
  const server = await startServer(t, APP);
  for (const line of ['null', '5', '{}', '{"command":5}', '"reload"', 'not json']) {
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(server.control);
      let data = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        data += chunk;
      });
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
      socket.write(`${line}\n`);
    });
    assert.match(answer, /"ok":false/, `${line} → ${answer}`);
  }
  assert.equal((await request(`${server.url}/`)).status, 200);
  assert.equal((await serverStatus(t, server)).state, 'serving');
});
