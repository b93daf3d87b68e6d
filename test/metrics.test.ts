// Observability (issue 12): the supervisor's Prometheus endpoint (`metrics`) counts every request
// the server ever served — through reloads, recycles, crashes and scaling, never going down — and
// reports reloads, drains and worker exits; the listener's own errors; the access log.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import { finished } from 'node:stream/promises';
import { describe, test } from 'node:test';
import { freePort } from '../bench/lib/http.ts';
import type { LiveStatus } from '../src/metrics/status-figures.ts';
import { makeCert } from './helpers/certs.ts';
import { request } from './helpers/http.ts';
import {
  appPath,
  control,
  hasExited,
  type PounceProcess,
  runPounce,
  serverStatus,
  startServer,
  waitFor,
} from './helpers/pounce.ts';
import { ReloadableApp } from './helpers/reloadable-app.ts';

type TestContext = Parameters<typeof control>[0];

/** Prometheus text → sample lines, `name{labels}` → value. */
function parse(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

/** Sum of the samples whose name is `name` and whose labels include every `labels` pair. */
function sum(samples: Map<string, number>, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const [key, value] of samples) {
    const brace = key.indexOf('{');
    if ((brace === -1 ? key : key.slice(0, brace)) !== name) continue;
    if (Object.entries(labels).every(([k, v]) => key.includes(`${k}="${v}"`))) total += value;
  }
  return total;
}

async function scrape(url: string): Promise<Map<string, number>> {
  const res = await request(url);
  assert.equal(res.status, 200, res.body);
  assert.match(String(res.headers['content-type']), /^text\/plain/);
  return parse(res.body);
}

/** The metrics URL the server logged. */
async function metricsUrl(server: PounceProcess): Promise<string> {
  return String((await server.waitForEvent('metricsListening')).url);
}

const REQUESTS = 'http_server_request_duration_seconds_count';

function httpsGet(url: string, ca: string): Promise<{ status: number }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode! }));
      })
      .on('error', reject);
  });
}

async function readyWorkers(t: TestContext, server: { control: string }, n: number) {
  let pids: number[] = [];
  await waitFor(`${n} ready workers`, async () => {
    const s = await serverStatus(t, server);
    pids = s.workers.map((w) => w.pid);
    return s.state === 'serving' && s.workers.length === n && s.workers.every((w) => w.state === 'ready');
  });
  return pids;
}

/** The metrics table of README.md: each documented name with its type and label names. */
function documentedMetrics(): { name: string; type: string; labels: string[] }[] {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const table = readme.slice(readme.indexOf('| metric | type | labels | what |'));
  const rows = table.slice(0, table.indexOf('\n\n')).split('\n').slice(2);
  return rows.flatMap((row) => {
    const [names, type, labels] = row
      .split('|')
      .slice(1, -1)
      .map((cell) => cell.trim());
    const ticked = (cell = '') =>
      [...cell.replace(/\([^)]*\)/g, '').matchAll(/`([a-z_]+)`/g)].map((m) => m[1]!);
    return ticked(names).map((name) => ({ name, type: type!, labels: ticked(labels) }));
  });
}

describe('metrics', () => {
  test('every metric README.md documents is exposed, with its type and its labels', async (t) => {
    const app = new ReloadableApp('v1');
    const server = await startServer(t, app.file, ['--workers', '1', '--metrics', '127.0.0.1:0']);
    const url = await metricsUrl(server);
    assert.equal((await request(`${server.url}/version`)).status, 200);
    // A method outside the standard ones is counted as _OTHER.
    assert.equal((await request(`${server.url}/version`, { method: 'PROPFIND' })).status, 200);
    // A reload: its duration, a drain, a worker exit (reason reload).
    app.write('v2');
    assert.equal((await control(t, server, 'reload')).code, 0);
    await waitFor('the old worker to exit', () => server.logs.some((l) => l.event === 'workerStopped'));
    const res = await request(url);
    const text = res.body;
    const samples = parse(text);
    const documented = documentedMetrics();
    assert.ok(documented.length >= 19, `read ${documented.length} metrics from README.md`);
    for (const { name, type, labels } of documented) {
      assert.match(text, new RegExp(`^# TYPE ${name} ${type}$`, 'm'), name);
      const keys = [...samples.keys()].filter(
        (k) => k === name || k.startsWith(`${name}{`) || k.startsWith(`${name}_`),
      );
      assert.ok(keys.length > 0, `${name} has samples`);
      for (const label of labels)
        assert.ok(
          keys.some((k) => k.includes(`${label}="`)),
          `${name} has label ${label}`,
        );
    }
    assert.ok(sum(samples, REQUESTS, { http_request_method: '_OTHER' }) >= 1, 'PROPFIND counted as _OTHER');
    assert.ok(sum(samples, 'pounce_worker_exits_total', { reason: 'reload' }) >= 1);
  });

  test('the request count is exact and never decreases through reload, recycle, SIGKILL and scaling', async (t) => {
    const app = new ReloadableApp('v1');
    const MAX = 15;
    const server = await startServer(t, app.file, [
      '--workers',
      '2',
      '--scheduling',
      'round-robin',
      '--max-requests',
      String(MAX),
      '--metrics',
      '127.0.0.1:0',
    ]);
    const url = await metricsUrl(server);
    let sent = 0;
    const send = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const res = await request(`${server.url}/version`);
        assert.equal(res.status, 200);
        sent++;
      }
    };
    // Scrapes all along, in the background: the count may lag what was sent (a scrape taken while
    // a request is in flight), but it never goes down.
    let last = 0;
    let scrapes = 0;
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const count = sum(await scrape(url), REQUESTS);
        assert.ok(count >= last, `the request count went down from ${last} to ${count}`);
        last = count;
        scrapes++;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const exact = async (what: string) => {
      const count = sum(await scrape(url), REQUESTS);
      assert.equal(count, sent, `after ${what}: scraped ${count}, sent ${sent}`);
      assert.ok(count >= last);
      last = count;
    };

    const N = 20;
    await send(N);
    await exact('the first N');
    assert.equal((await control(t, server, 'reload')).code, 0);
    await readyWorkers(t, server, 2);
    await exact('the reload');
    await send(N);
    await exact('N more');
    // maxRequests: requests until a worker asks to be replaced, then wait for the handoff to end.
    const count = (event: string) => server.logs.filter((l) => l.event === event).length;
    const stoppedBefore = count('workerStopped');
    while (count('workerReplacing') === 0) await send(1);
    await waitFor('the recycled worker to stop', () => count('workerStopped') > stoppedBefore);
    await readyWorkers(t, server, 2);
    await exact('a recycle');
    // SIGKILL: the supervisor keeps what the killed worker reported last (the scrape just above
    // asked it for fresh figures, and it has served nothing since).
    const [victim] = await readyWorkers(t, server, 2);
    process.kill(victim!, 'SIGKILL');
    await server.waitForEvent('workerCrashed');
    await waitFor('the replacement', async () => !(await readyWorkers(t, server, 2)).includes(victim!));
    await exact('a SIGKILL');
    assert.equal((await control(t, server, 'scale', ['3'])).code, 0);
    await send(N);
    await exact('scaling to 3');
    assert.equal((await control(t, server, 'scale', ['2'])).code, 0);
    await waitFor(
      'the surplus worker to exit',
      async () => (await serverStatus(t, server)).workers.length === 2,
    );
    await exact('scaling back to 2');
    await send(N);
    await exact('N more after scaling');
    watching = false;
    await watcher;
    t.diagnostic(`${sent} requests, ${scrapes} background scrapes`);
    assert.ok(scrapes > 5);

    // The last requests may have taken both workers past maxRequests: wait for those recycles to
    // end, so that the per-worker figures below are those of the 2 serving workers.
    await readyWorkers(t, server, 2);
    const m = await scrape(url);
    assert.equal(sum(m, REQUESTS, { http_request_method: 'GET', http_response_status_code: '200' }), sent);
    assert.equal(sum(m, 'pounce_reloads_total', { result: 'success' }), 1);
    assert.equal(sum(m, 'pounce_worker_exits_total', { reason: 'reload' }), 2);
    assert.ok(sum(m, 'pounce_worker_exits_total', { reason: 'recycle' }) >= 1);
    assert.equal(sum(m, 'pounce_worker_exits_total', { reason: 'crash' }), 1);
    assert.equal(sum(m, 'pounce_worker_exits_total', { reason: 'scale' }), 1);
    assert.equal(sum(m, 'pounce_generation'), 1);
    assert.equal(sum(m, 'pounce_workers', { state: 'ready', generation: '1' }), 2);
    assert.equal(sum(m, 'pounce_up'), 1);
    assert.equal(sum(m, 'http_server_active_requests'), 0);
    assert.ok(sum(m, 'pounce_worker_resident_memory_bytes') > 10_000_000);
    assert.equal([...m.keys()].filter((k) => k.startsWith('pounce_worker_heap_used_bytes{')).length, 2);

    // pounce status --json carries the figures pounce top shows.
    // (The one-second window exists from each worker's first second on.)
    let status: LiveStatus | undefined;
    await waitFor('the one-second window', async () => {
      status = (await serverStatus(t, server)) as LiveStatus;
      return status.workers.every((w) => w.metrics?.window);
    });
    assert.ok(status);
    assert.equal(status.lastReload?.ok, true);
    assert.equal(status.lastReload?.generation, 1);
    assert.equal(status.figures.inFlight, 0);
    assert.equal(typeof status.figures.requestsPerSecond, 'number');
    assert.ok(status.figures.rssBytes > 10_000_000);
    for (const w of status.workers) assert.ok(w.metrics && w.metrics.rssBytes > 0);
  });

  test('pounce upgrade: the counters carry over to the new supervisor, exact and never going down', async (t) => {
    const app = new ReloadableApp('v1');
    const server = await startServer(t, app.file, ['--workers', '2', '--metrics', '127.0.0.1:0']);
    const url = await metricsUrl(server);
    // A scraper as Prometheus is one: a kept-alive connection, one scrape after the other. A
    // connection the server closed as the next scrape went out is retried (as Prometheus does at
    // its next interval); any other failure fails the test.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    t.after(() => agent.destroy());
    const count = async () => {
      for (;;) {
        try {
          const res = await request(url, { agent });
          assert.equal(res.status, 200, res.body);
          return sum(parse(res.body), REQUESTS);
        } catch (err) {
          if (!/ECONNRESET|socket hang up/.test((err as Error).message)) throw err;
        }
      }
    };
    let started = 0;
    let sent = 0;
    const send = async (n: number) => {
      for (let i = 0; i < n; i++) {
        started++;
        assert.equal((await request(`${server.url}/version`)).status, 200);
        sent++;
      }
    };
    let last = 0;
    const seen = async () => {
      const c = await count();
      assert.ok(c >= last, `the request count went down from ${last} to ${c}`);
      assert.ok(c <= started, `scraped ${c}, sent only ${started}`);
      last = c;
      return c;
    };
    // Two loops all along: scrapes, and requests through both upgrades (the old supervisor's workers
    // serve until they drain). A loop's failure stops it and is the one the test reports.
    let running = true;
    let failure: unknown;
    const loop = (body: () => Promise<unknown>) =>
      (async () => {
        try {
          while (running && failure === undefined) await body();
        } catch (err) {
          failure ??= err;
        }
      })();
    let scrapes = 0;
    const watcher = loop(async () => {
      await seen();
      scrapes++;
      await new Promise((r) => setTimeout(r, 10));
    });
    let loading = true;
    const load = loop(async () => {
      if (loading) await send(1);
      else await new Promise((r) => setTimeout(r, 10));
    });
    const exact = async (what: string) => {
      await waitFor(`${what}: the count to reach what was sent`, async () => (await seen()) === sent);
    };
    const upgradeOnce = async () => {
      const before = await serverStatus(t, server);
      const result = await control(t, server, 'upgrade');
      assert.equal(result.code, 0, result.stderr);
      const pids = [before.pid, ...before.workers.map((w) => w.pid)];
      await waitFor(
        'the old supervisor and its workers to exit',
        () => failure !== undefined || pids.every(hasExited),
        60_000,
      );
    };

    try {
      await send(20);
      assert.equal((await control(t, server, 'reload')).code, 0);
      await upgradeOnce();
      await upgradeOnce();
      loading = false;
      await exact('two upgrades');
      await send(20);
      await exact('20 more');
    } catch (err) {
      failure ??= err;
    } finally {
      running = false;
      await Promise.all([load, watcher]);
    }
    if (failure !== undefined) throw failure;
    t.diagnostic(`${sent} requests, ${scrapes} scrapes`);
    const m = await scrape(url);
    assert.equal(sum(m, REQUESTS), sent);
    // The lifecycle counters carry over too: the reload, and the exits of both old supervisors' workers.
    assert.equal(sum(m, 'pounce_reloads_total', { result: 'success' }), 1);
    assert.equal(sum(m, 'pounce_reload_duration_seconds_count', { result: 'success' }), 1);
    assert.ok(sum(m, 'pounce_worker_exits_total') >= 6, 'the reload’s 2 exits and both hand-overs’ 2 each');
    assert.equal((await serverStatus(t, server)).upgrades, 2);
  });

  test('reload counters and durations after a successful and a failed reload; forced closes at the deadline', async (t) => {
    const app = new ReloadableApp('v1');
    const server = await startServer(t, app.file, ['--metrics', '127.0.0.1:0', '--reload-timeout', '1']);
    const url = await metricsUrl(server);
    let m = await scrape(url);
    assert.equal(sum(m, 'pounce_reloads_total', { result: 'success' }), 0);
    assert.equal(sum(m, 'pounce_reloads_total', { result: 'failure' }), 0);
    assert.equal(sum(m, 'pounce_drain_forced_connections_total'), 0);

    // A request that outlives reloadTimeout (1 s): the old worker's drain cuts it at the deadline.
    const slow = request(`${server.url}/slow?ms=5000`).catch((err: Error) => err);
    await server.waitForEvent('appRequest');
    app.write('v2');
    assert.equal((await control(t, server, 'reload')).code, 0);
    // The scrape answers while the old generation drains.
    m = await scrape(url);
    assert.equal(sum(m, 'pounce_state', { state: 'reloading' }), 1);
    await server.waitForEvent('reloadComplete');
    assert.ok((await slow) instanceof Error, 'the slow request was cut');
    app.write('v3', 'throws-on-import');
    assert.notEqual((await control(t, server, 'reload')).code, 0);

    m = await scrape(url);
    assert.equal(sum(m, 'pounce_reloads_total', { result: 'success' }), 1);
    assert.equal(sum(m, 'pounce_reloads_total', { result: 'failure' }), 1);
    assert.equal(sum(m, 'pounce_reload_duration_seconds_count', { result: 'success' }), 1);
    assert.equal(sum(m, 'pounce_reload_duration_seconds_count', { result: 'failure' }), 1);
    assert.ok(sum(m, 'pounce_reload_duration_seconds_sum', { result: 'success' }) > 0);
    assert.equal(sum(m, 'pounce_drain_forced_connections_total'), 1);
    assert.equal(sum(m, 'pounce_drain_duration_seconds_count'), 1);
    // The drain lasted until its deadline.
    assert.ok(sum(m, 'pounce_drain_duration_seconds_sum') >= 1);
    assert.equal(sum(m, 'pounce_drain_duration_seconds_bucket', { le: '0.5' }), 0);
    assert.equal(sum(m, 'pounce_generation'), 1);
    // The one served request of the test: the slow one (cut, still counted).
    assert.equal(sum(m, REQUESTS), 1);
  });

  test('the endpoint answers during the shutdown drain', async (t) => {
    const app = new ReloadableApp('v1');
    const server = await startServer(t, app.file, ['--metrics', '127.0.0.1:0']);
    const url = await metricsUrl(server);
    const slow = request(`${server.url}/slow?ms=1500`);
    await server.waitForEvent('appRequest');
    server.signal('SIGTERM');
    await server.waitForEvent('shuttingDown');
    const m = await scrape(url);
    assert.equal(sum(m, 'pounce_state', { state: 'stopping' }), 1);
    assert.equal(sum(m, 'pounce_up'), 0);
    assert.equal(sum(m, 'http_server_active_requests'), 1);
    assert.equal((await slow).status, 200);
    assert.equal((await server.exited).code, 0);
  });

  test('only GET /metrics; other paths are 404', async (t) => {
    const app = new ReloadableApp('v1');
    const server = await startServer(t, app.file, ['--metrics', '127.0.0.1:0']);
    const url = await metricsUrl(server);
    assert.equal((await request(url.replace('/metrics', '/'))).status, 404);
    assert.equal((await request(url, { method: 'POST' })).status, 404);
  });

  test('a bad metrics address is a configuration error naming the option (exit 2)', async (t) => {
    const app = new ReloadableApp('v1');
    for (const bad of ['9464', 'localhost', '127.0.0.1:99999', '999.1.1.1:9464', ':9464']) {
      const result = await runPounce(t, ['serve', app.file, '--port', '0', '--metrics', bad]);
      assert.equal(result.code, 2, `${bad}: ${result.stderr}`);
      assert.match(result.stderr, /POUNCE_ERR_CONFIG: Invalid metrics/);
    }
  });

  test('a metrics port in use is a clear error, before any worker starts', async (t) => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    t.after(() => blocker.close());
    const port = (blocker.address() as net.AddressInfo).port;
    const app = new ReloadableApp('v1');
    const result = await runPounce(t, ['serve', app.file, '--port', '0', '--metrics', `127.0.0.1:${port}`]);
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      new RegExp(
        `POUNCE_ERR_LISTEN: Cannot listen for metrics on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE.*in use`,
      ),
    );
    assert.doesNotMatch(result.stdout, /workerSpawned/);
  });
  test('a second server on the same metrics address is refused', async (t) => {
    const app = new ReloadableApp('v1');
    const first = await startServer(t, app.file, ['--metrics', '127.0.0.1:0']);
    const address = new URL(await metricsUrl(first)).host;
    const second = await runPounce(t, ['serve', app.file, '--port', '0', '--metrics', address]);
    assert.equal(second.code, 1, second.stderr);
    assert.match(second.stderr, /POUNCE_ERR_LISTEN: Cannot listen for metrics on .*EADDRINUSE/);
    assert.equal((await request(await metricsUrl(first))).status, 200);
  });
});

describe('access log', () => {
  test('one line per request: method, path, status, bytes, duration, worker, generation, request id', async (t) => {
    const app = new ReloadableApp('v1');
    const server = await startServer(t, app.file, ['--access-log']);
    await request(`${server.url}/version?token=secret`, { headers: { 'x-request-id': 'req-42' } });
    await request(`${server.url}/echo`, { method: 'POST', body: 'hello' });
    await waitFor('two access lines', () => server.logs.filter((l) => l.event === 'access').length === 2);
    const [first, second] = server.logs.filter((l) => l.event === 'access');
    assert.equal(first!.method, 'GET');
    assert.equal(first!.path, '/version');
    assert.equal(first!.status, 200);
    assert.equal(first!.requestId, 'req-42');
    assert.equal(first!.worker, 0);
    assert.equal(first!.generation, 0);
    assert.equal(typeof first!.durationMs, 'number');
    assert.ok(Number(first!.bytes) > 'v1'.length, `bytes ${first!.bytes}`);
    assert.equal(first!.msg, 'GET /version 200');
    assert.ok(!JSON.stringify(first).includes('secret'), 'no query string');
    assert.equal(second!.method, 'POST');
    assert.match(String(second!.requestId), /^[0-9a-f-]{36}$/);
  });

  for (const mode of ['process', 'thread'] as const) {
    test(`no line is lost: N requests, then SIGTERM → exactly N lines (${mode} workers)`, async (t) => {
      const flags = ['--access-log', '--workers', '2'];
      // Thread mode needs a fixed port: every thread binds it.
      if (mode === 'thread') flags.push('--worker-mode', 'thread', '--port', String(await freePort()));
      const app = new ReloadableApp('v1');
      const server = await startServer(t, app.file, flags);
      const N = 40;
      const sent: string[] = [];
      for (let i = 0; i < N; i++) {
        const id = `req-${i}`;
        const res = await request(`${server.url}/version`, { headers: { 'x-request-id': id } });
        assert.equal(res.status, 200);
        sent.push(id);
      }
      // At once: the last lines are still in the workers' buffers (written at least once a second).
      server.signal('SIGTERM');
      assert.equal((await server.exited).code, 0);
      await finished(server.child.stdout!);
      const logged = server.logs.filter((l) => l.event === 'access').map((l) => String(l.requestId));
      assert.equal(logged.length, N, `${logged.length} access lines for ${N} requests`);
      assert.deepEqual(logged.toSorted(), sent.toSorted());
    });
  }

  test('stdout stops reading: the worker keeps serving, lines beyond its buffer are dropped and counted, none lost silently', async (t) => {
    const app = new ReloadableApp('v1');
    const server = await startServer(t, app.file, ['--access-log', '--workers', '1']);
    // Nobody reads the server's stdout now: the pipe fills, and the worker's access lines pile up.
    server.child.stdout!.pause();
    // Lines of ~8 KB (the path is logged): 3000 of them are ~24 MB, more than the 16 MB buffer.
    const path = `/${'p'.repeat(8000)}`;
    const N = 3000;
    let answered = 0;
    const client = async () => {
      while (answered < N) {
        answered++;
        assert.equal((await request(`${server.url}${path}`)).status, 200);
      }
    };
    await Promise.all(Array.from({ length: 8 }, client));
    server.child.stdout!.resume();
    const warning = await server.waitForEvent('accessLogDropped');
    assert.match(String(warning.msg), /access log line\(s\) dropped: stdout did not keep up/);
    server.signal('SIGTERM');
    assert.equal((await server.exited).code, 0);
    await finished(server.child.stdout!);
    const logged = server.logs.filter((l) => l.event === 'access').length;
    const dropped = server.logs
      .filter((l) => l.event === 'accessLogDropped')
      .reduce((n, l) => n + Number(l.lines), 0);
    assert.ok(dropped > 0 && logged > 0, `${logged} logged, ${dropped} dropped`);
    assert.equal(logged + dropped, N, `${logged} logged + ${dropped} dropped, for ${N} requests`);
  });

  test('off by default: no access line', async (t) => {
    const app = new ReloadableApp('v1');
    const server = await startServer(t, app.file);
    await request(`${server.url}/version`);
    await control(t, server, 'status');
    assert.ok(!server.logs.some((l) => l.event === 'access'));
  });
});

describe('HTTP/2', () => {
  test('HTTP/2 requests are counted and logged', async (t) => {
    const cert = makeCert('h2-metrics');
    const server = await startServer(t, appPath('versioned.mjs'), [
      '--cert-file',
      cert.cert,
      '--key-file',
      cert.key,
      '--http2',
      '--metrics',
      '127.0.0.1:0',
      '--access-log',
    ]);
    const url = await metricsUrl(server);
    const session = http2.connect(server.url, { ca: readFileSync(cert.cert, 'utf8') });
    t.after(() => session.destroy());
    const N = 5;
    for (let i = 0; i < N; i++) {
      const stream = session.request({ ':path': `/h2?i=${i}`, 'x-request-id': `h2-${i}` });
      const [headers] = (await once(stream, 'response')) as [http2.IncomingHttpHeaders];
      assert.equal(headers[':status'], 200);
      stream.resume();
      await once(stream, 'end');
    }
    // One more over HTTP/1.1 on the same port (ALPN): both protocols land in the same series.
    assert.equal((await httpsGet(`${server.url}/h1`, readFileSync(cert.cert, 'utf8'))).status, 200);
    await waitFor('the access lines', () => server.logs.filter((l) => l.event === 'access').length === N + 1);
    const m = await scrape(url);
    assert.equal(sum(m, REQUESTS, { http_request_method: 'GET', http_response_status_code: '200' }), N + 1);
    const lines = server.logs.filter((l) => l.event === 'access');
    const h2 = lines.filter((l) => l.path === '/h2');
    assert.deepEqual(
      h2.map((l) => l.requestId),
      Array.from({ length: N }, (_, i) => `h2-${i}`),
    );
    for (const l of h2) {
      assert.equal(l.method, 'GET');
      assert.equal(l.status, 200);
      assert.equal(l.completed, true);
    }
    assert.equal(lines.filter((l) => l.path === '/h1').length, 1);
  });
});

describe('lifecycle events for the app (onServerEvent)', () => {
  test('reload started and finished, drain started, worker recycled reach the app in its workers', async (t) => {
    const server = await startServer(t, appPath('server-events.ts'), [
      '--workers',
      '2',
      '--max-requests',
      '3',
    ]);
    const seen = (type: string) =>
      server.logs
        .filter((l) => l.event === 'appServerEvent')
        .map((l) => l.serverEvent as { type: string } & Record<string, unknown>)
        .filter((e) => e.type === type);
    assert.equal((await control(t, server, 'reload')).code, 0);
    await server.waitForEvent('reloadComplete');
    // Both generation-0 workers were live when the reload started; all four when it finished.
    await waitFor('reloadStarted in both old workers', () => seen('reloadStarted').length === 2);
    assert.deepEqual(seen('reloadStarted')[0], { type: 'reloadStarted', generation: 1 });
    await waitFor('reloadFinished in four workers', () => seen('reloadFinished').length === 4);
    const finished = seen('reloadFinished')[0]!;
    assert.equal(finished.ok, true);
    assert.equal(finished.generation, 1);
    assert.equal(typeof finished.seconds, 'number');
    await waitFor('drainStarted in both old workers', () => seen('drainStarted').length === 2);
    assert.deepEqual(
      seen('drainStarted').map((e) => [e.reason, e.generation]),
      [
        ['reload', 0],
        ['reload', 0],
      ],
    );
    // maxRequests 3: a few requests recycle a worker; the others hear of it once it has exited.
    while (!server.logs.some((l) => l.event === 'workerReplacing')) await request(server.url);
    await waitFor('workerRecycled', () => seen('workerRecycled').length >= 1);
    assert.equal(seen('workerRecycled')[0]!.generation, 1);
  });
});
