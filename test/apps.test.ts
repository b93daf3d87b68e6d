// Loading apps: every accepted shape serves a request through the real CLI, and every way an app
// can be wrong has its own error code and exit status 1.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { request } from './helpers/http.ts';
import { appPath, runPounce, startServer } from './helpers/pounce.ts';

describe('accepted app shapes serve a request', () => {
  const cases: [string, string, string, string[]?][] = [
    ['a TypeScript node listener', 'node-listener.ts', 'ts app\n'],
    ['an ESM app', 'esm.mjs', 'esm app\n'],
    ['a CJS app (module.exports = fn)', 'cjs.cjs', 'cjs app\n'],
    ['a CJS app exporting `app`', 'cjs-named.cjs', 'cjs named app\n'],
    ['a fetch handler', 'fetch.ts', 'fetch app /hello\n'],
    ['an object with fetch (Hono shape)', 'fetch-object.mjs', 'object with fetch /hello\n'],
    ['a named export picked with :name', 'named-export.mjs:api', 'named export api\n'],
    // Frameworks' apps exported as they are.
    ['an Express app', 'express-app.mjs', 'express app /hello\n'],
    ['a Koa app (app.callback())', 'koa-app.mjs', 'koa app /hello\n'],
    ['a Fastify instance (ready(), then routing)', 'fastify-app.mjs', 'fastify app /hello\n'],
    ['a Hono app (an object with fetch)', 'hono-app.mjs', 'hono app /hello\n'],
  ];
  for (const [name, file, expected] of cases) {
    test(name, async (t) => {
      const server = await startServer(t, appPath(file));
      const res = await request(`${server.url}/hello`);
      assert.equal(res.status, 200);
      assert.equal(res.body, expected);
    });
  }

  test('a factory runs once per worker and its handler serves', async (t) => {
    const server = await startServer(t, appPath('factory.ts'));
    const a = await request(`${server.url}/`);
    const b = await request(`${server.url}/`);
    assert.equal(a.status, 200);
    assert.match(a.body, /^factory app \d+\n$/);
    assert.equal(a.body, b.body);
  });

  test('an error thrown by the app is a 500, and the server keeps serving', async (t) => {
    const server = await startServer(t, appPath('node-listener.ts'));
    const res = await request(`${server.url}/throw`);
    assert.equal(res.status, 500);
    const again = await request(`${server.url}/`);
    assert.equal(again.status, 200);
    const logged = await server.waitForEvent('requestError');
    assert.match(String(logged.msg), /boom from app/);
  });

  test('malformed HTTP gets a 400 and the server keeps serving', async (t) => {
    const server = await startServer(t, appPath('esm.mjs'));
    const net = await import('node:net');
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(server.port, '127.0.0.1', () => socket.write('GARBAGE / NOT-HTTP\r\n\r\n'));
      let data = '';
      socket.setEncoding('utf8').on('data', (c: string) => {
        data += c;
      });
      socket.on('close', () => resolve(data));
      socket.on('error', reject);
    });
    assert.match(reply, /^HTTP\/1\.1 400/);
    assert.equal((await request(`${server.url}/`)).status, 200);
  });
});

describe('a bad app gets its own error code and exit status 1', () => {
  const cases: [string, string, string, RegExp][] = [
    ['a module that does not exist', 'does-not-exist.ts', 'POUNCE_ERR_APP_NOT_FOUND', /not found/],
    [
      'a module that throws while importing',
      'throws-on-import.mjs',
      'POUNCE_ERR_APP_IMPORT',
      /database URL missing/,
    ],
    ['a module with a syntax error', 'broken-syntax.mjs', 'POUNCE_ERR_APP_IMPORT', /SyntaxError/],
    [
      'an export that is missing',
      'named-export.mjs:nope',
      'POUNCE_ERR_APP_EXPORT_MISSING',
      /exports: api, other/,
    ],
    [
      'no default and no `app` export',
      'no-default.mjs',
      'POUNCE_ERR_APP_EXPORT_MISSING',
      /neither a default export nor an export named "app" \(exports: handlerz, something\)/,
    ],
    [
      'a value of the wrong shape',
      'not-an-app.mjs',
      'POUNCE_ERR_APP_SHAPE',
      /is a number \(42\), not an app/,
    ],
    ['a factory that throws', 'factory-throws.mjs', 'POUNCE_ERR_APP_FACTORY', /cannot connect to redis/],
    [
      'a Fastify instance whose plugin throws',
      'fastify-plugin-throws.mjs',
      'POUNCE_ERR_APP_READY',
      /is a Fastify instance and its ready\(\) failed: Error: the database is not there/,
    ],
  ];
  for (const [name, app, code, message] of cases) {
    test(`${name}: ${code}`, async (t) => {
      for (const command of ['check', 'serve']) {
        const result = await runPounce(t, [command, appPath(app), '--port', '0']);
        assert.equal(result.code, 1, `${command}: ${result.stderr}`);
        assert.match(result.stderr, new RegExp(`^pounce: error ${code}: `), command);
        assert.match(result.stderr, message, command);
        assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
      }
    });
  }

  test('a startup hook that rejects: POUNCE_ERR_STARTUP_HOOK', async (t) => {
    const result = await runPounce(t, ['serve', appPath('startup-rejects.mjs'), '--port', '0']);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /^pounce: error POUNCE_ERR_STARTUP_HOOK: .*Startup hook failed: Error: migrations failed/,
    );
  });

  test('a startup that outlasts startupTimeout: POUNCE_ERR_STARTUP_TIMEOUT', async (t) => {
    const result = await runPounce(
      t,
      ['serve', appPath('node-listener.ts'), '--port', '0', '--startup-timeout', '0.5'],
      { env: { NODE_OPTIONS: `--import=${appPath('slow-start-preload.mjs')}` } },
    );
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      /POUNCE_ERR_STARTUP_TIMEOUT: .*(did not finish|did not become ready) within startupTimeout \(0\.5s\)/,
    );
  });

  test('a port already in use: POUNCE_ERR_LISTEN', async (t) => {
    const first = await startServer(t, appPath('esm.mjs'));
    const result = await runPounce(t, ['serve', appPath('esm.mjs'), '--port', String(first.port)]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /POUNCE_ERR_LISTEN: .*Cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/);
  });

  test('pounce check on a good app says what it found', async (t) => {
    const result = await runPounce(t, ['check', appPath('fetch.ts')]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^OK: .*fetch\.ts is a fetch handler; configuration valid/);
  });
});
