// A fleet behind a real HAProxy (2.6, installed by .ci/run): three pounce instances on loopback
// behind the backend that `pounce generate haproxy` prints, under the mixed load of
// bench/load-generator.ts sent through HAProxy (no client retries). Every instance is replaced in
// turn the way an orchestrator does it: start the new one, wait until HAProxy reports it UP on its
// admin socket, SIGTERM the old one. With the generated settings no request fails; with
// shutdownDelay 0 some do — which is what the delay is for. A second scenario replaces the
// workers of each instance in turn with `pounce reload`: nothing fails either.
//
// HAProxy gets six server slots: three instances and three idle slots (in maintenance) that a
// replacement takes over through the admin socket (`set server … addr`, `state ready`), as a
// service-discovery integration would.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { type LoadReport, runLoad, summarize } from '../bench/load-generator.ts';
import { request } from './helpers/http.ts';
import {
  appPath,
  control,
  killGroup,
  type PounceProcess,
  runPounce,
  startServer,
  waitFor,
} from './helpers/pounce.ts';

type TestContext = Parameters<typeof startServer>[0];
type Instance = PounceProcess & { url: string; port: number; control: string };

const APP = appPath('node-listener.ts');
const BACKEND = 'myapp';
const SLOTS = 6;
const HAVE_HAPROXY = spawnSync('haproxy', ['-v']).status === 0;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** One command on HAProxy's admin socket; resolves with its whole answer. */
function admin(socket: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const connection = net.connect(socket, () => connection.end(`${command}\n`));
    let answer = '';
    connection.setEncoding('utf8');
    connection.on('data', (chunk: string) => {
      answer += chunk;
    });
    connection.once('close', () => resolve(answer));
    connection.once('error', reject);
  });
}

/** The `status` column of `show stat` for each server of the backend (UP, DOWN, MAINT…). */
async function serverStates(socket: string): Promise<Record<string, string>> {
  const [header, ...rows] = (await admin(socket, 'show stat')).trim().split('\n');
  const columns = header!.replace(/^# /, '').split(',');
  const [px, sv, status] = ['pxname', 'svname', 'status'].map((c) => columns.indexOf(c));
  const states: Record<string, string> = {};
  for (const row of rows) {
    const cells = row.split(',');
    if (cells[px!] === BACKEND && /^s\d+$/.test(cells[sv!]!)) states[cells[sv!]!] = cells[status!]!;
  }
  return states;
}

interface Fleet {
  url: string;
  adminSocket: string;
  /** Slot name (s1…) → the instance in it. */
  slots: Map<string, Instance>;
}

/** `pounce generate haproxy` for these flags, with its one `server` line turned into SLOTS slots. */
async function generatedBackend(t: TestContext, flags: string[], ports: number[]): Promise<string> {
  const generated = await runPounce(t, ['generate', 'haproxy', '--name', BACKEND, ...flags]);
  assert.equal(generated.code, 0, generated.stderr);
  const lines = generated.stdout.split('\n');
  const server = lines.findIndex((l) => /^\s+server /.test(l));
  assert.ok(server > 0, `a server line in:\n${generated.stdout}`);
  const slots = Array.from({ length: SLOTS }, (_, i) =>
    i < ports.length
      ? `    server s${i + 1} 127.0.0.1:${ports[i]} check`
      : `    server s${i + 1} 127.0.0.1:1 check disabled`,
  );
  lines.splice(server, 1, ...slots);
  return lines.join('\n');
}

/** Three instances started with `instanceFlags` behind the backend generated for `flags`. */
async function startFleet(t: TestContext, flags: string[], instanceFlags = flags): Promise<Fleet> {
  const instances = await Promise.all([1, 2, 3].map(() => startInstance(t, instanceFlags)));
  const dir = mkdtempSync(path.join(tmpdir(), 'pounce-fleet-'));
  const adminSocket = path.join(dir, 'admin.sock');
  const port = await freePort();
  const backend = await generatedBackend(
    t,
    flags,
    instances.map((i) => i.port),
  );
  const config = `global
    stats socket ${adminSocket} mode 600 level admin
    maxconn 4000

defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s

frontend fleet
    bind 127.0.0.1:${port}
    default_backend ${BACKEND}

${backend}
`;
  const file = path.join(dir, 'haproxy.cfg');
  writeFileSync(file, config);
  const check = spawnSync('haproxy', ['-c', '-f', file], { encoding: 'utf8' });
  assert.equal(check.status, 0, `haproxy -c: ${check.stderr}${check.stdout}\n${config}`);
  const haproxy = spawn('haproxy', ['-db', '-f', file], {
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  haproxy.stderr!.setEncoding('utf8').on('data', (c: string) => {
    stderr += c;
  });
  t.after(() => killGroup(haproxy.pid!, 'SIGKILL'));
  await waitFor(
    `HAProxy to report s1-s3 UP (${stderr})`,
    async () => {
      try {
        const states = await serverStates(adminSocket);
        return ['s1', 's2', 's3'].every((s) => states[s] === 'UP');
      } catch {
        return false;
      }
    },
    20_000,
  );
  const slots = new Map(instances.map((instance, i) => [`s${i + 1}`, instance]));
  return { url: `http://127.0.0.1:${port}`, adminSocket, slots };
}

function startInstance(t: TestContext, flags: string[]): Promise<Instance> {
  return startServer(t, APP, ['--workers', '1', ...flags]);
}

/**
 * Replaces every instance once, in turn: a new instance in a free slot, UP in HAProxy, then
 * SIGTERM to the old one, which must exit 0; its slot goes back to maintenance.
 */
async function rollingReplacement(t: TestContext, fleet: Fleet, flags: string[]): Promise<void> {
  for (const [oldSlot, old] of [...fleet.slots]) {
    const fresh = await startInstance(t, flags);
    const states = await serverStates(fleet.adminSocket);
    const slot = Object.keys(states).find((s) => !fleet.slots.has(s) && states[s] === 'MAINT');
    assert.ok(slot, `a free slot in ${JSON.stringify(states)}`);
    await admin(fleet.adminSocket, `set server ${BACKEND}/${slot} addr 127.0.0.1 port ${fresh.port}`);
    await admin(fleet.adminSocket, `set server ${BACKEND}/${slot} state ready`);
    await waitFor(
      `HAProxy to report ${slot} UP`,
      async () => (await serverStates(fleet.adminSocket))[slot] === 'UP',
    );
    fleet.slots.set(slot, fresh);

    old.signal('SIGTERM');
    assert.equal((await old.exited).code, 0, old.stderr());
    fleet.slots.delete(oldSlot);
    await admin(fleet.adminSocket, `set server ${BACKEND}/${oldSlot} state maint`);
  }
}

function startLoad(url: string) {
  return runLoad({
    url,
    durationMs: 100_000,
    maxRequests: 400_000,
    keepAlive: 3,
    fresh: 2,
    post: 2,
    slow: 1,
    slowMs: 300,
    requestTimeoutMs: 10_000,
  });
}

function describeRun(report: LoadReport): string {
  return `${summarize(report)}\n${JSON.stringify(report.samples.slice(0, 5), null, 1)}`;
}

describe('a fleet behind HAProxy', { skip: HAVE_HAPROXY ? false : 'haproxy is not installed' }, () => {
  const GENERATED = ['--health-check-path', '/health', '--shutdown-delay', '1'];

  test('rolling replacement ×3 with the generated settings: 0 failed requests', async (t) => {
    const fleet = await startFleet(t, GENERATED);
    assert.equal((await request(`${fleet.url}/`)).status, 200);
    const load = startLoad(fleet.url);
    try {
      for (let round = 1; round <= 3; round++) await rollingReplacement(t, fleet, GENERATED);
    } finally {
      load.stop();
    }
    const report = await load.done;
    t.diagnostic(`shutdownDelay 1, 9 replacements: ${summarize(report)}`);
    assert.equal(report.failed, 0, describeRun(report));
    assert.ok(report.total > 1000, `enough load to mean something: ${report.total}`);
    for (const kind of ['keepAlive', 'fresh', 'post', 'slow'] as const)
      assert.ok(report.byLoop[kind] > 0, kind);
  });

  test('the same ×3 with shutdownDelay 0: requests fail (what the delay is for)', async (t) => {
    // The balancer's settings stay the generated ones; only the instances lose their delay.
    const instanceFlags = ['--health-check-path', '/health', '--shutdown-delay', '0'];
    const fleet = await startFleet(t, GENERATED, instanceFlags);
    const load = startLoad(fleet.url);
    try {
      for (let round = 1; round <= 3; round++) await rollingReplacement(t, fleet, instanceFlags);
    } finally {
      load.stop();
    }
    const report = await load.done;
    t.diagnostic(`shutdownDelay 0, 9 replacements: ${summarize(report)}`);
    assert.ok(report.failed > 0, `without the delay some requests fail: ${summarize(report)}`);
  });

  test('pounce reload on each instance in turn (×2): 0 failed requests', async (t) => {
    const fleet = await startFleet(t, GENERATED);
    const load = startLoad(fleet.url);
    try {
      for (let round = 1; round <= 2; round++) {
        for (const instance of fleet.slots.values()) {
          const reload = await control(t, instance, 'reload');
          assert.equal(reload.code, 0, reload.stderr);
        }
      }
    } finally {
      load.stop();
    }
    const report = await load.done;
    t.diagnostic(`pounce reload, 6 reloads: ${summarize(report)}`);
    assert.equal(report.failed, 0, describeRun(report));
    const states = await serverStates(fleet.adminSocket);
    assert.deepEqual(
      [states.s1, states.s2, states.s3],
      ['UP', 'UP', 'UP'],
      'a reload never takes an instance out',
    );
  });
});
