// The programmatic API: serve() wraps the drain engine around a handler in the caller's process.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PounceError, serve } from '../src/index.ts';
import { request } from './helpers/http.ts';
import { FIXTURES, spawnPounce } from './helpers/pounce.ts';

describe('serve() — programmatic API', () => {
  test('serves, and drains an in-flight request on SIGTERM before the process exits 0', async (t) => {
    const proc = spawnPounce(t, [], { script: `${FIXTURES}/api-server.ts` });
    const ready = await proc.waitForEvent('apiReady');
    const url = String(ready.url);
    assert.equal((await request(`${url}/health`)).status, 200);
    const inFlight = request(`${url}/?ms=1000`);
    await proc.waitForEvent('appRequest');
    proc.signal('SIGTERM');
    const res = await inFlight;
    assert.equal(res.status, 200);
    assert.equal(res.body, 'api 1000\n');
    assert.equal(res.headers.connection, 'close');
    assert.equal((await proc.exited).code, 0);
    assert.ok(proc.logs.some((l) => l.event === 'userShutdownHook'));
  });

  test('shutdown() without signals; a bad option throws POUNCE_ERR_CONFIG', async () => {
    await assert.rejects(
      serve(() => new Response('x'), { port: -1, signals: false }),
      (err: unknown) => {
        assert.ok(err instanceof PounceError);
        assert.equal(err.code, 'POUNCE_ERR_CONFIG');
        assert.match(err.message, /Invalid port from options: a number \(-1\)/);
        return true;
      },
    );
    const server = await serve((request: Request) => new Response(`fetch ${new URL(request.url).pathname}`), {
      port: 0,
      signals: false,
      logLevel: 'silent',
    });
    const res = await request(`${server.url}/x`);
    assert.equal(res.body, 'fetch /x');
    const result = await server.shutdown();
    assert.equal(result.forced, 0);
    await assert.rejects(request(`${server.url}/x`), /ECONNREFUSED/);
  });
});
