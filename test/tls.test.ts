// TLS and HTTP/2 under reload and shutdown: certificates rotate with a reload, a bad certificate
// fails clearly (at start) or aborts the reload (keeping the old one), HTTP/2 sessions get GOAWAY
// and their open streams finish; caFile completes the chain the server sends, and is checked.

import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import path from 'node:path';
import { describe, test } from 'node:test';
import tls from 'node:tls';
import { type Cert, makeCert, makeSignedCert } from './helpers/certs.ts';
import { connect, h2Request } from './helpers/http.ts';
import { appPath, control, runPounce, startServer } from './helpers/pounce.ts';

const APP = appPath('versioned.mjs');

function peerFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.end();
    });
    socket.on('error', reject);
  });
}

/** GET `url` trusting `ca`; with `client`, presenting that certificate (mutual TLS). */
function httpsGet(
  url: string,
  ca: string,
  client?: Cert,
): Promise<{ status: number; body: string; alpn: string | false | null }> {
  const identity = client ? { cert: readFileSync(client.cert), key: readFileSync(client.key) } : {};
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca, agent: false, ...identity }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => {
        body += c;
      });
      res.on('end', () =>
        resolve({ status: res.statusCode!, body, alpn: (res.socket as tls.TLSSocket).alpnProtocol }),
      );
    });
    req.on('error', reject);
  });
}

/** A cert/key pair at fixed paths, so a test can rotate the files in place. */
function installedCert(initial: Cert): { cert: string; key: string; install(c: Cert): void } {
  const dir = path.dirname(initial.cert);
  const live = { cert: path.join(dir, 'live.crt'), key: path.join(dir, 'live.key') };
  const install = (c: Cert) => {
    copyFileSync(c.cert, live.cert);
    copyFileSync(c.key, live.key);
  };
  install(initial);
  return { ...live, install };
}

describe('TLS', () => {
  test('serves HTTPS; a reload picks up a rotated certificate; a bad one aborts the reload and keeps the old', async (t) => {
    const a = makeCert('cert-a');
    const b = makeCert('cert-b', path.dirname(a.cert));
    const files = installedCert(a);
    const server = await startServer(t, APP, ['--cert-file', files.cert, '--key-file', files.key]);
    assert.match(server.url, /^https:\/\//);
    assert.equal(await peerFingerprint(server.port), a.fingerprint);
    const res = await httpsGet(`${server.url}/`, readFileSync(a.cert, 'utf8'));
    assert.equal(res.status, 200);

    files.install(b);
    assert.equal((await control(t, server, 'reload')).code, 0);
    assert.equal(
      await peerFingerprint(server.port),
      b.fingerprint,
      'new connections get the rotated certificate',
    );

    writeFileSync(files.cert, 'not a certificate\n');
    const failed = await control(t, server, 'reload');
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /POUNCE_ERR_TLS|cannot be used/);
    assert.equal(await peerFingerprint(server.port), b.fingerprint, 'the old certificate is kept');
  });

  test('a missing or invalid certificate at start is a clear error', async (t) => {
    const a = makeCert('cert-a');
    const missing = await runPounce(t, [
      'serve',
      APP,
      '--port',
      '0',
      '--cert-file',
      '/nonexistent.crt',
      '--key-file',
      a.key,
    ]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /POUNCE_ERR_TLS: .*certFile \/nonexistent\.crt does not exist/);
    const garbage = path.join(path.dirname(a.cert), 'garbage.pem');
    writeFileSync(garbage, 'hello\n');
    const invalid = await runPounce(t, [
      'serve',
      APP,
      '--port',
      '0',
      '--cert-file',
      garbage,
      '--key-file',
      a.key,
    ]);
    assert.equal(invalid.code, 1);
    assert.match(invalid.stderr, /POUNCE_ERR_TLS: .*cannot be used: /);
    const half = await runPounce(t, ['check', APP, '--cert-file', a.cert]);
    assert.equal(half.code, 2);
    assert.match(half.stderr, /certFile and keyFile must be set together/);
    const h2c = await runPounce(t, ['check', APP, '--http2']);
    assert.equal(h2c.code, 2);
    assert.match(h2c.stderr, /HTTP\/2 needs TLS/);
  });
});

describe('HTTP/2', () => {
  async function h2Server(t: Parameters<typeof startServer>[0], extra: string[] = []) {
    const cert = makeCert('h2');
    const server = await startServer(t, APP, [
      '--cert-file',
      cert.cert,
      '--key-file',
      cert.key,
      '--http2',
      ...extra,
    ]);
    const ca = readFileSync(cert.cert, 'utf8');
    const connect = () => {
      const session = http2.connect(server.url, { ca });
      session.on('error', () => {});
      return session;
    };
    return { server, ca, connect };
  }

  test('h2 through ALPN, and HTTP/1.1 still served on the same port', async (t) => {
    const { server, ca, connect } = await h2Server(t);
    const session = connect();
    const res = await h2Request(session, '/');
    assert.equal(res.status, 200);
    assert.match(res.body, /^v1 2\.0 /);
    session.close();
    const h1 = await httpsGet(`${server.url}/`, ca);
    assert.equal(h1.status, 200);
    assert.match(h1.body, /^v1 1\.1 /);
  });

  test('reload: the session gets GOAWAY, its open stream finishes, new streams go to the new generation', async (t) => {
    const { server, connect } = await h2Server(t);
    const session = connect();
    const first = await h2Request(session, '/');
    const oldPid = first.body.split(' ')[2];
    const goaway = new Promise<number>((resolve) => session.once('goaway', (code) => resolve(code)));
    const slow = h2Request(session, '/?ms=1500');
    await server.waitForEvent('appRequest');
    assert.equal((await control(t, server, 'reload')).code, 0);
    assert.equal(await goaway, http2.constants.NGHTTP2_NO_ERROR);
    const finished = await slow;
    assert.equal(finished.status, 200);
    assert.equal(finished.body.split(' ')[2], oldPid, 'the open stream finished on the old worker');
    const next = connect();
    const fresh = await h2Request(next, '/');
    assert.notEqual(fresh.body.split(' ')[2], oldPid, 'a new connection reaches the new generation');
    next.close();
  });

  test('shutdown: GOAWAY, the open stream finishes, exit 0; a stuck stream is cut at the deadline', async (t) => {
    const { server, connect } = await h2Server(t, ['--shutdown-timeout', '2']);
    const session = connect();
    await h2Request(session, '/');
    const goaway = new Promise<void>((resolve) => session.once('goaway', () => resolve()));
    const slow = h2Request(session, '/?ms=1000');
    const stuck = h2Request(session, '/?ms=60000').then(
      (r) => (r.status === 200 ? 'completed' : 'cut'),
      () => 'cut',
    );
    await server.waitForCount('appRequest', 2);
    server.signal('SIGTERM');
    await goaway;
    assert.equal((await slow).status, 200);
    assert.equal(await stuck, 'cut');
    assert.equal((await server.exited).code, 0);
  });
});

describe('TLS connections during a drain', () => {
  test('a connection accepted before a reload but still shaking hands is served, not reset', async (t) => {
    const cert = makeCert('handshake');
    const server = await startServer(t, APP, ['--cert-file', cert.cert, '--key-file', cert.key]);
    const raw = await connect(server.port);
    assert.equal((await control(t, server, 'reload')).code, 0);
    // Only now does the client start its TLS handshake, on the connection the old worker accepted.
    const ca = readFileSync(cert.cert, 'utf8');
    const secure = tls.connect({ socket: raw, ca, servername: 'localhost' });
    const res = await new Promise<string>((resolve, reject) => {
      secure.once('secureConnect', () => secure.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
      let data = '';
      secure.setEncoding('utf8').on('data', (c: string) => {
        data += c;
      });
      secure.on('end', () => resolve(data));
      secure.on('error', reject);
    });
    assert.match(res, /^HTTP\/1\.1 200 /);
    assert.match(res, /connection: close/i);
  });

  test('caFile completes the chain the server sends; a file that is not PEM certificates is a clear error', async (t) => {
    const root = makeCert('root');
    const leaf = makeSignedCert('leaf', root);
    /** The common names of the chain the server sent (leaf first), as a client without its CA sees it. */
    const sentChain = (port: number) =>
      new Promise<string[]>((resolve, reject) => {
        const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
          const names: string[] = [];
          let cert = socket.getPeerCertificate(true);
          const seen = new Set<string>();
          while (cert?.fingerprint256 && !seen.has(cert.fingerprint256)) {
            seen.add(cert.fingerprint256);
            names.push(cert.subject.CN as string);
            cert = cert.issuerCertificate;
          }
          socket.end();
          resolve(names);
        });
        socket.on('error', reject);
      });
    for (const [flags, chain] of [
      [[], ['leaf']],
      [
        ['--ca-file', root.cert],
        ['leaf', 'root'],
      ],
    ] as const) {
      const server = await startServer(t, APP, [
        '--workers',
        '1',
        '--cert-file',
        leaf.cert,
        '--key-file',
        leaf.key,
        ...flags,
      ]);
      assert.deepEqual(await sentChain(server.port), chain);
      assert.equal(
        (await httpsGet(`https://127.0.0.1:${server.port}/`, readFileSync(root.cert, 'utf8'))).status,
        200,
      );
      server.signal('SIGTERM');
      assert.equal((await server.exited).code, 0);
    }

    const dir = path.dirname(root.cert);
    const serve = (caFile: string) =>
      runPounce(t, [
        'serve',
        APP,
        '--port',
        '0',
        '--cert-file',
        leaf.cert,
        '--key-file',
        leaf.key,
        '--ca-file',
        caFile,
      ]);
    // A key where the CA should be: OpenSSL would skip it without a word.
    const notCerts = await serve(root.key);
    assert.equal(notCerts.code, 1);
    assert.match(
      notCerts.stderr,
      new RegExp(`POUNCE_ERR_TLS: .*caFile ${root.key} holds no PEM certificate`),
    );
    const broken = path.join(dir, 'broken-ca.pem');
    writeFileSync(
      broken,
      `${readFileSync(root.cert, 'utf8')}-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n`,
    );
    const unreadable = await serve(broken);
    assert.equal(unreadable.code, 1);
    assert.match(
      unreadable.stderr,
      new RegExp(
        `POUNCE_ERR_TLS: .*caFile ${broken} has a certificate that cannot be read \\(certificate 2 of 2: `,
      ),
    );
  });

  test('clientCertificates (mutual TLS): require refuses a client without a certificate caFile trusts; request serves it and tells the app', async (t) => {
    const root = makeCert('root');
    const server = makeSignedCert('server', root);
    const client = makeSignedCert('client', root);
    const stranger = makeCert('stranger');
    const PEER = appPath('tls-peer.mjs');
    /** GET / with `cert` (or none) as the client's certificate: status and body, or the error's code. */
    const get = (port: number, cert?: Cert) =>
      httpsGet(`https://127.0.0.1:${port}/`, readFileSync(root.cert, 'utf8'), cert).then(
        (res) => `${res.status} ${res.body.trim()}`,
        (err: NodeJS.ErrnoException) => `error ${err.code ?? err.message}`,
      );
    const tlsFlags = [
      '--workers',
      '1',
      '--cert-file',
      server.cert,
      '--key-file',
      server.key,
      '--ca-file',
      root.cert,
    ];

    const required = await startServer(t, PEER, [...tlsFlags, '--client-certificates', 'require']);
    assert.equal(await get(required.port, client), '200 authorized=true cn=client');
    assert.match(await get(required.port), /^error /, 'no certificate: no connection');
    assert.match(
      await get(required.port, stranger),
      /^error /,
      'a certificate caFile does not trust: no connection',
    );
    required.signal('SIGTERM');
    assert.equal((await required.exited).code, 0);

    const requested = await startServer(t, PEER, [...tlsFlags, '--client-certificates', 'request']);
    assert.equal(await get(requested.port, client), '200 authorized=true cn=client');
    assert.equal(await get(requested.port), '200 authorized=false cn=');
    assert.equal(await get(requested.port, stranger), '200 authorized=false cn=stranger');
    requested.signal('SIGTERM');
    assert.equal((await requested.exited).code, 0);

    // pounce check reminds that the load balancer needs a client certificate too.
    const checked = await runPounce(t, ['check', PEER, ...tlsFlags, '--client-certificates', 'require']);
    assert.equal(checked.code, 0, checked.stderr);
    assert.match(
      checked.stderr,
      /warning \(if this runs behind a load balancer\): clientCertificates is require: the load balancer's connections and health checks must present a client certificate/,
    );

    // Without caFile there is nothing to check client certificates against.
    const bad = await runPounce(t, [
      'check',
      PEER,
      '--cert-file',
      server.cert,
      '--key-file',
      server.key,
      '--client-certificates',
      'require',
    ]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /POUNCE_ERR_CONFIG: Invalid clientCertificates: require needs caFile/);
  });
});
