// Server scripts: modules that start their own server (`app.listen(3000)`) instead of exporting an
// app, served unchanged. Real frameworks, real processes, real signals: each script is served on
// pounce's port whatever it asked for, survives reloads under load without a failed request, and
// finishes a slow request on SIGTERM.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { runLoad, summarize } from '../bench/load-generator.ts';
import { makeCert } from './helpers/certs.ts';
import { h2Request } from './helpers/http.ts';
import { control, FIXTURES, ROOT, runPounce, startServer } from './helpers/pounce.ts';

const SCRIPTS = path.join(FIXTURES, 'scripts');
const RELOADS = 8;

const script = (name: string) => path.join(SCRIPTS, name);

/** GET on a new connection; `ca` trusts an HTTPS script's self-signed certificate. */
function get(url: string, ca?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const client = url.startsWith('https:') ? https : http;
    client
      .get(url, { ca, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

/** The script to serve, the environment it needs, and the CA its HTTPS server's certificate needs. */
interface Served {
  file: string;
  env?: Record<string, string>;
  ca?: string;
}

/**
 * Builds a framework app in test/fixtures once (cached; .ci/run builds them before the tests) and
 * returns the server script its production build writes.
 */
function buildFramework(name: 'next' | 'sveltekit' | 'astro', entry: string): () => Served {
  return () => {
    execFileSync('bash', [path.join(ROOT, 'scripts/build-framework-fixture.sh'), name], {
      stdio: 'ignore',
      timeout: 600_000,
    });
    return { file: path.join(FIXTURES, entry) };
  };
}

/** A script serving TLS with a self-signed certificate made by openssl for this test. */
function tlsScript(name: string): Served {
  const { cert, key } = makeCert('script');
  return {
    file: script(name),
    env: { SCRIPT_TLS_CERT: cert, SCRIPT_TLS_KEY: key },
    ca: readFileSync(cert, 'utf8'),
  };
}

describe('server scripts are served unchanged, with zero dropped requests', () => {
  // [name, script, what / answers, what the script asked for]. The bare script asks for PORT, which
  // pounce set to its own port: 0 here (startServer's --port 0), a free port the cluster picks;
  // Next.js reads PORT too (0 means its default, 3000) and HOSTNAME (unset: 0.0.0.0); SvelteKit's
  // adapter-node reads HOST and PORT, both set by pounce.
  const plain = (name: string) => (): Served => ({ file: script(name) });
  const cases: [string, () => Served, string | RegExp, string][] = [
    ['bare http.createServer().listen(process.env.PORT)', plain('bare-http.mjs'), 'bare v0', 'port 0'],
    ['Express 5 app.listen(3000)', plain('express.mjs'), 'express v0', 'port 3000'],
    ['Koa 3 app.listen(3000)', plain('koa.mjs'), 'koa v0', 'port 3000'],
    ['Fastify 5 await app.listen({ port: 3000 })', plain('fastify.mjs'), 'fastify v0', 'localhost:3000'],
    ['NestJS (platform-express) await app.listen(3000)', plain('nest.mjs'), 'nest v0', 'port 3000'],
    [
      'HTTPS https.createServer({ cert, key }).listen(8443)',
      () => tlsScript('https-script.mjs'),
      'https v0',
      'port 8443',
    ],
    [
      "Next.js 16 output: 'standalone' server.js",
      buildFramework('next', 'next-app/.next/standalone/server.js'),
      /hello next/,
      '0.0.0.0:3000',
    ],
    [
      'SvelteKit 3 adapter-node build/index.js',
      buildFramework('sveltekit', 'sveltekit-app/build/index.js'),
      /hello sveltekit/,
      '127.0.0.1:0',
    ],
    [
      'Astro 7 @astrojs/node standalone dist/server/entry.mjs',
      buildFramework('astro', 'astro-app/dist/server/entry.mjs'),
      /hello astro/,
      '127.0.0.1:0',
    ],
  ];
  for (const [name, prepare, greeting, asked] of cases) {
    test(`${name}: pounce's port, ${RELOADS} reloads under load, SIGTERM finishes a slow request`, async (t) => {
      const { file, env, ca } = prepare();
      const versionFile = path.join(mkdtempSync(path.join(tmpdir(), 'pounce-script-')), 'version');
      writeFileSync(versionFile, 'v0');
      const server = await startServer(t, file, ['--workers', '2', '--log-level', 'info'], {
        env: { SCRIPT_VERSION_FILE: versionFile, ...env },
      });
      const listening = await server.waitForEvent('scriptListening');
      assert.equal(listening.asked, asked);
      assert.equal(listening.url, server.url);
      const root = await get(server.url, ca);
      assert.equal(root.status, 200);
      assert.match(root.body, typeof greeting === 'string' ? new RegExp(`^${greeting}$`) : greeting);

      const load = runLoad({
        url: server.url,
        durationMs: 120_000,
        keepAlive: 2,
        fresh: 1,
        post: 1,
        slow: 1,
        slowMs: 700,
        requestTimeoutMs: 10_000,
        ca,
      });
      try {
        for (let i = 1; i <= RELOADS; i++) {
          writeFileSync(versionFile, `v${i}`);
          const reload = await control(t, server, 'reload');
          assert.equal(reload.code, 0, `reload ${i}: ${reload.stderr}`);
        }
      } finally {
        load.stop();
      }
      const report = await load.done;
      t.diagnostic(`${path.basename(file)}: ${summarize(report)}`);
      assert.equal(report.failed, 0, `${summarize(report)}\n${JSON.stringify(report.samples, null, 1)}`);
      for (const kind of ['keepAlive', 'fresh', 'post', 'slow'] as const)
        assert.ok(report.byLoop[kind] > 0, kind);
      assert.equal((await get(`${server.url}/version`, ca)).body, `v${RELOADS}`);
      // Said once per generation (by the supervisor), not by each of its workers.
      await server.waitForCount('scriptListening', RELOADS + 1);
      const generations = server.logs.filter((l) => l.event === 'scriptListening').map((l) => l.generation);
      assert.deepEqual(
        generations,
        Array.from({ length: RELOADS + 1 }, (_, i) => i),
      );

      const slow = get(`${server.url}/slow?ms=1500`, ca);
      await server.waitForEvent('appRequest');
      server.signal('SIGTERM');
      assert.deepEqual(await slow, { status: 200, body: 'slow 1500' });
      assert.equal((await server.exited).code, 0);
      if (file.endsWith('nest.mjs')) {
        // enableShutdownHooks(): Nest's handler ran after the drain, for every worker that left.
        const shutdowns = server.logs.filter((l) => l.event === 'nestShutdown');
        assert.ok(shutdowns.length >= 2 * (RELOADS + 1), `${shutdowns.length} Nest shutdowns`);
        assert.ok(shutdowns.every((l) => l.signal === 'SIGTERM'));
      }
    });
  }
});

describe('an HTTP/2 server script (http2.createSecureServer)', () => {
  test('reload: its session gets GOAWAY, the open stream finishes on the old worker, a new session reaches the new one; SIGTERM finishes an open stream', async (t) => {
    const { file, env, ca } = tlsScript('h2-script.mjs');
    const server = await startServer(t, file, ['--log-level', 'info'], { env });
    assert.equal((await server.waitForEvent('scriptListening')).asked, 'port 8443');
    const connect = () => {
      const session = http2.connect(server.url, { ca });
      session.on('error', () => {});
      t.after(() => session.destroy());
      return session;
    };
    const session = connect();
    const oldPid = (await h2Request(session, '/pid')).body;
    const goaway = new Promise<number>((resolve) => session.once('goaway', (code) => resolve(code)));
    const slow = h2Request(session, '/slow?ms=1500');
    await server.waitForEvent('appRequest');
    assert.equal((await control(t, server, 'reload')).code, 0);
    assert.equal(await goaway, http2.constants.NGHTTP2_NO_ERROR);
    assert.deepEqual(await slow, { status: 200, body: 'slow 1500' });
    const next = connect();
    assert.notEqual((await h2Request(next, '/pid')).body, oldPid, 'a new session reaches the new generation');
    // HTTP/1.1 through ALPN on the same port.
    assert.equal((await get(server.url, ca)).body, 'h2 v0');

    const closing = new Promise<void>((resolve) => next.once('goaway', () => resolve()));
    const last = h2Request(next, '/slow?ms=1200');
    await server.waitForCount('appRequest', 2);
    server.signal('SIGTERM');
    await closing;
    assert.deepEqual(await last, { status: 200, body: 'slow 1200' });
    assert.equal((await server.exited).code, 0);
  });
});

describe("a server script's own signal handlers and exit", () => {
  test('SIGTERM handler that closes the server and exits: the 2 s request in flight gets its 200, then the handler runs', async (t) => {
    const server = await startServer(t, script('own-sigterm.mjs'));
    const slow = get(`${server.url}/?ms=2000`);
    await server.waitForEvent('appRequest');
    server.signal('SIGTERM');
    assert.deepEqual(await slow, { status: 200, body: 'done 2000' });
    await server.waitForEvent('scriptHandlerRan');
    // Its process.exit(0) came from a shutdown hook: held until pounce's own exit, and said so.
    await server.waitForEvent('scriptExitHeld');
    assert.equal((await server.exited).code, 0);
    const order = server.logs.map((l) => l.event);
    assert.ok(order.indexOf('scriptHandlerRan') > order.indexOf('workerDraining'), order.join(' '));
  });
});

describe('pounce serves a server script like an exported app', () => {
  test('health endpoint and requestTimeout are in front of the script', async (t) => {
    const server = await startServer(t, script('bare-http.mjs'), [
      '--health-check-path',
      '/healthz',
      '--request-timeout',
      '1',
    ]);
    const health = await get(`${server.url}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(JSON.parse(health.body), { status: 'ok' });
    assert.equal((await get(`${server.url}/slow?ms=3000`)).status, 503);
    assert.equal((await get(server.url)).body, 'bare v0');
  });

  test('a CommonJS script that exports nothing and listens after its own async setup', async (t) => {
    const server = await startServer(t, script('late-listen.cjs'));
    assert.equal((await get(server.url)).body, 'late cjs\n');
  });

  test('auto: an exported app wins over the server the module started; --interface script serves the server', async (t) => {
    const auto = await startServer(t, script('exports-and-listens.mjs'));
    await auto.waitForEvent('scriptExportWins');
    assert.equal((await get(auto.url)).body, 'export\n');
    const forced = await startServer(t, script('exports-and-listens.mjs'), ['--interface', 'script']);
    assert.equal((await get(forced.url)).body, 'script\n');
  });
});

describe('server script errors: code, message, exit status 1', () => {
  const cases: [string, string, string[], string, RegExp][] = [
    [
      'a second listener',
      'second-listener.mjs',
      [],
      'POUNCE_ERR_SCRIPT_EXTRA_LISTENER',
      /second listener \(an http\.Server on 127\.0\.0\.1:0\).*scriptExtraListeners/,
    ],
    [
      'a server that is not HTTP',
      'net-server.mjs',
      [],
      'POUNCE_ERR_SCRIPT_NOT_HTTP',
      /first listen\(\) \(on port 3000\) is on a net\.Server \(raw TCP\), not an HTTP server/,
    ],
    [
      'a script that never listens',
      'never-listens.mjs',
      ['--startup-timeout', '1'],
      'POUNCE_ERR_SCRIPT_NO_LISTEN',
      /did not call listen\(\) within startupTimeout \(1s\)/,
    ],
  ];
  for (const [name, file, flags, code, message] of cases) {
    test(`${name}: ${code}`, async (t) => {
      const result = await runPounce(t, ['serve', script(file), '--port', '0', ...flags]);
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, new RegExp(`^pounce: error ${code}: `));
      assert.match(result.stderr, message);
    });
  }

  test('scriptExtraListeners=ignore: the second listener binds nothing and hears why', async (t) => {
    const server = await startServer(t, script('second-listener.mjs'), [
      '--script-extra-listeners',
      'ignore',
    ]);
    const refused = await server.waitForEvent('adminError');
    assert.equal(refused.code, 'EPOUNCEIGNORED');
    assert.equal((await get(server.url)).body, 'app');
  });

  test('scriptExtraListeners=passthrough: the second listener binds where it asked', async (t) => {
    const server = await startServer(t, script('second-listener.mjs'), [
      '--script-extra-listeners',
      'passthrough',
    ]);
    const admin = await server.waitForEvent('adminListening');
    assert.equal((await get(`http://127.0.0.1:${admin.port}/`)).body, 'admin');
    assert.equal((await get(server.url)).body, 'app');
  });
});

describe('pounce check on a server script', () => {
  test('says it is a server script and what it asks for, without listening; a script that never listens fails as serve would', async (t) => {
    // The port the script asks for is taken: a check that really listened would fail on it.
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(3000, '127.0.0.1', resolve));
    t.after(() => taken.close());
    const ok = await runPounce(t, ['check', script('express.mjs')]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(
      ok.stdout,
      /^OK: .*express\.mjs is a server script \(it listens on port 3000; pounce serves it on its own listener\); configuration valid/,
    );

    const never = await runPounce(t, ['check', script('never-listens.mjs'), '--startup-timeout', '1']);
    assert.equal(never.code, 1);
    assert.match(
      never.stderr,
      /POUNCE_ERR_SCRIPT_NO_LISTEN: Server script .*never-listens\.mjs did not call listen\(\) within startupTimeout \(1s\)/,
    );
  });
});
