// Health for fleets: `pounce health` (the container health check), readiness apart from liveness,
// the app's readiness check with its timeout and cache, the Kubernetes default shutdownDelay, and
// `pounce check`'s warnings for a configuration that is unsafe behind a load balancer.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KUBERNETES_SHUTDOWN_DELAY_SECONDS } from '../src/deploy/timings.ts';
import { request } from './helpers/http.ts';
import { appPath, runPounce, startServer, waitFor } from './helpers/pounce.ts';

const APP = appPath('node-listener.ts');

describe('pounce health', () => {
  test('exit 0 while serving, 1 while draining, 1 when nothing listens', async (t) => {
    const server = await startServer(t, APP, ['--health-check-path', '/health', '--shutdown-delay', '30']);
    const serving = await runPounce(t, [
      'health',
      '--control-socket',
      server.control,
      '--health-check-path',
      '/health',
    ]);
    assert.equal(serving.code, 0, serving.stderr);
    assert.equal(serving.stdout, `healthy: 200 {"status":"ok"} from ${server.url}/health\n`);

    server.signal('SIGTERM');
    await server.waitForEvent('shutdownDelay');
    const draining = await runPounce(t, [
      'health',
      '--control-socket',
      server.control,
      '--health-check-path',
      '/health',
    ]);
    assert.equal(draining.code, 1);
    assert.equal(
      draining.stderr,
      `pounce health: unhealthy: 503 {"status":"draining"} from ${server.url}/health\n`,
    );
    const byUrl = await runPounce(t, ['health', '--url', `${server.url}/health`]);
    assert.equal(byUrl.code, 1);
    assert.match(byUrl.stderr, /^pounce health: unhealthy: 503 \{"status":"draining"\}/);

    server.signal('SIGKILL');
    await server.exited;
    const gone = await runPounce(t, ['health', '--url', `${server.url}/health`]);
    assert.equal(gone.code, 1);
    assert.match(
      gone.stderr,
      /^pounce health: unhealthy: nothing listens there \(connection refused\) \(http:.*\/health\)\n$/,
    );
    const noServer = await runPounce(t, [
      'health',
      '--control-socket',
      server.control,
      '--health-check-path',
      '/health',
    ]);
    assert.equal(noServer.code, 1);
    assert.match(noServer.stderr, /^pounce health: unhealthy: no running pounce server found/);
    assert.equal(noServer.stderr.split('\n').length, 2, 'one line');
  });

  test('without a health path and --url, exit 2 naming healthCheckPath', async (t) => {
    const result = await runPounce(t, ['health', '--control-socket', '/nonexistent/control.sock']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /POUNCE_ERR_CONFIG: Invalid healthCheckPath: it is not set/);
  });
});

describe('readiness and liveness', () => {
  test('a draining instance fails readiness and stays live', async (t) => {
    const server = await startServer(t, APP, [
      '--health-check-path',
      '/health',
      '--liveness-path',
      '/livez',
      '--shutdown-delay',
      '30',
    ]);
    assert.deepEqual(
      [(await request(`${server.url}/health`)).status, (await request(`${server.url}/livez`)).body],
      [200, '{"status":"alive"}'],
    );
    server.signal('SIGTERM');
    await server.waitForEvent('shutdownDelay');
    const health = await request(`${server.url}/health`);
    assert.deepEqual([health.status, health.body], [503, '{"status":"draining"}']);
    const live = await request(`${server.url}/livez`);
    assert.deepEqual([live.status, live.body], [200, '{"status":"alive"}']);
    assert.equal((await request(`${server.url}/`)).status, 200, 'the app is still served during the delay');
  });

  test('after the delay, while connections drain: new requests 503, readiness 503, liveness still 200', async (t) => {
    const server = await startServer(t, APP, ['--health-check-path', '/health', '--liveness-path', '/livez']);
    // A slow request in flight keeps the drain open.
    const slow = request(`${server.url}/slow?ms=3000`);
    await server.waitForEvent('appRequest');
    server.signal('SIGTERM');
    await server.waitForEvent('workerDraining');
    assert.equal((await request(`${server.url}/`)).status, 503, 'a new connection during the drain');
    assert.equal((await request(`${server.url}/health`)).status, 503);
    const live = await request(`${server.url}/livez`);
    assert.deepEqual([live.status, live.body], [200, '{"status":"alive"}']);
    assert.equal((await slow).status, 200);
    assert.equal((await server.exited).code, 0);
  });

  test("the app's readiness check: failing, false or slow is 503 not-ready within readinessTimeout; liveness unaffected; cached", async (t) => {
    const server = await startServer(t, appPath('readiness.ts'), [
      '--health-check-path',
      '/health',
      '--liveness-path',
      '/livez',
      '--readiness-timeout',
      '0.3',
    ]);
    const health = async () => {
      const r = await request(`${server.url}/health`);
      return `${r.status} ${r.body}`;
    };
    // Each mode change waits out the 1 s cache by polling, not by sleeping a fixed time.
    const expectHealth = async (want: string) => {
      const until = Date.now() + 5000;
      let got = await health();
      while (got !== want && Date.now() < until) got = await health();
      assert.equal(got, want);
    };
    await expectHealth('200 {"status":"ok"}');
    // A burst of probes runs the check once.
    const before = Number((await request(`${server.url}/calls`)).body);
    await Promise.all(Array.from({ length: 20 }, () => health()));
    assert.ok(Number((await request(`${server.url}/calls`)).body) - before <= 1, 'cached for the burst');

    await request(`${server.url}/mode?to=fail`);
    await expectHealth('503 {"status":"not-ready"}');
    assert.match(String((await server.waitForEvent('readinessFailed')).msg), /database unreachable/);
    assert.equal((await request(`${server.url}/livez`)).status, 200);

    await request(`${server.url}/mode?to=ok`);
    await expectHealth('200 {"status":"ok"}');
    await request(`${server.url}/mode?to=false`);
    await expectHealth('503 {"status":"not-ready"}');

    await request(`${server.url}/mode?to=ok`);
    await expectHealth('200 {"status":"ok"}');
    await request(`${server.url}/mode?to=hang`);
    await expectHealth('503 {"status":"not-ready"}');
    await waitFor('the log line of the timed-out check', () =>
      server.logs.some(
        (l) =>
          l.event === 'readinessFailed' && /did not answer within readinessTimeout \(0\.3s\)/.test(l.msg),
      ),
    );
    // A hanging check: each probe answers within readinessTimeout (0.3 s), and it is not run again.
    const started = Date.now();
    const calls = Number((await request(`${server.url}/calls`)).body);
    for (let i = 0; i < 3; i++) assert.equal(await health(), '503 {"status":"not-ready"}');
    assert.ok(Date.now() - started < 3000, 'probes do not stall');
    assert.equal(
      Number((await request(`${server.url}/calls`)).body),
      calls,
      'a hung check is not started twice',
    );
    assert.equal((await request(`${server.url}/livez`)).status, 200);
  });
});

describe('Kubernetes', () => {
  test(`KUBERNETES_SERVICE_HOST set and no shutdownDelay: ${KUBERNETES_SHUTDOWN_DELAY_SECONDS}s, applied and logged`, async (t) => {
    const server = await startServer(t, APP, ['--health-check-path', '/health'], {
      env: { KUBERNETES_SERVICE_HOST: '10.0.0.1' },
    });
    const line = await server.waitForEvent('platformDefault');
    assert.equal(line.option, 'shutdownDelay');
    assert.equal(line.value, KUBERNETES_SHUTDOWN_DELAY_SECONDS);
    assert.match(line.msg, /^Using shutdownDelay 5 \(not set; KUBERNETES_SERVICE_HOST is set/);
    server.signal('SIGTERM');
    const delay = await server.waitForEvent('shutdownDelay');
    assert.equal(delay.seconds, KUBERNETES_SHUTDOWN_DELAY_SECONDS, 'the workers wait that delay');
    assert.equal((await request(`${server.url}/health`)).status, 503);
  });

  test('an explicit shutdownDelay, 0 included, wins; outside Kubernetes nothing changes', async (t) => {
    const explicit = await startServer(t, APP, ['--shutdown-delay', '0'], {
      env: { KUBERNETES_SERVICE_HOST: '10.0.0.1' },
    });
    const outside = await startServer(t, APP);
    for (const server of [explicit, outside]) {
      server.signal('SIGTERM');
      assert.equal((await server.exited).code, 0);
      assert.equal(
        server.logs.filter((l) => l.event === 'platformDefault' || l.event === 'shutdownDelay').length,
        0,
      );
    }
  });
});

test('pounce check warns when the configuration is unsafe behind a load balancer', async (t) => {
  const unsafe = await runPounce(t, ['check', APP]);
  assert.equal(unsafe.code, 0, 'a warning, not an error');
  assert.match(unsafe.stderr, /warning \(if this runs behind a load balancer\): healthCheckPath is not set/);
  assert.match(unsafe.stderr, /warning \(if this runs behind a load balancer\): shutdownDelay is 0s/);
  const safe = await runPounce(t, ['check', APP, '--health-check-path', '/health', '--shutdown-delay', '1']);
  assert.equal(safe.code, 0);
  assert.equal(safe.stderr, '');
});
