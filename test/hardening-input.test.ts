// Bad input gets a clear answer: each case below once produced a misleading message (a negative
// number taken for a flag, a limit not stated, an invisible byte-order mark, getaddrinfo ENOTFOUND
// followed by "the worker keeps serving", EACCES for a missing directory, bind EINVAL for a closed
// fd, a control socket silently not created) or none at all. Each asserts the exact message and the
// exit status, on the real CLI.

import assert from 'node:assert/strict';
import { type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, type TestContext, test } from 'node:test';
import { loadConfig } from '../src/config/load.ts';
import { olderNode } from './helpers/older-node.ts';
import { appPath, buildPackageInto, ROOT, runPounce, scratchDir, spawnPounce } from './helpers/pounce.ts';

const APP = appPath('esm.mjs');

/** Runs pounce and asserts its exit status and its whole stderr. */
async function expectError(
  t: TestContext,
  args: string[],
  code: number,
  stderr: string | RegExp,
  options: Parameters<typeof runPounce>[2] = {},
): Promise<string> {
  const result = await runPounce(t, args, options);
  if (typeof stderr === 'string') assert.equal(result.stderr, `${stderr}\n`);
  else assert.match(result.stderr, stderr);
  assert.equal(result.code, code, result.stderr);
  return result.stdout;
}

describe('numbers on the command line', () => {
  test('--port -1 and --workers -2 are answered by the option rule, not taken for flags', async (t) => {
    await expectError(
      t,
      ['serve', APP, '--port', '-1'],
      2,
      'pounce: error POUNCE_ERR_CONFIG: Invalid port from --port: "-1" — must be an integer from 0 to 65535',
    );
    for (const flag of ['--workers', '-w']) {
      await expectError(
        t,
        ['serve', APP, flag, '-2'],
        2,
        'pounce: error POUNCE_ERR_CONFIG: Invalid workers from --workers: "-2" — must be an integer from 1 to 1024',
      );
    }
  });

  test('--shutdown-timeout 1e9 and Infinity are refused with the real limit', async (t) => {
    for (const value of ['1e9', 'Infinity']) {
      await expectError(
        t,
        ['check', APP, '--shutdown-timeout', value],
        2,
        `pounce: error POUNCE_ERR_CONFIG: Invalid shutdownTimeout from --shutdown-timeout: "${value}" — must be a number of seconds greater than 0 and at most 2147483 (about 24.8 days, the longest timer Node has)`,
      );
    }
    // The limit itself and an exponent below it are fine.
    const { config } = await loadConfig({
      cwd: ROOT,
      env: {},
      configFile: false,
      flags: { shutdownTimeout: '2147483', reloadTimeout: '1e3' },
    });
    assert.equal(config.shutdownTimeout, 2147483);
    assert.equal(config.reloadTimeout, 1000);
  });
});

describe('config files', () => {
  test('a JSON config file with a UTF-8 byte-order mark is read', async (t) => {
    const dir = scratchDir(t, 'pounce-bom-');
    writeFileSync(
      path.join(dir, 'pounce.config.json'),
      '\uFEFF{ "port": 7123, "logLevel": "warn", "shutdownDelay": 5, "healthCheckPath": "/health" }\n',
    );
    const result = await runPounce(t, ['check', APP], { cwd: dir });
    assert.equal(result.stderr, '');
    assert.equal(
      result.stdout,
      `OK: ${APP} is a node listener; configuration valid (${path.join(dir, 'pounce.config.json')})\n`,
    );
    assert.equal(result.code, 0);
  });

  test('a config file may export a function (documented): it is called and its result used', async (t) => {
    const dir = scratchDir(t, 'pounce-fn-config-');
    writeFileSync(
      path.join(dir, 'pounce.config.mjs'),
      'export default async () => ({ port: 7345, healthCheckPath: "/h" + (1 + 1) });\n',
    );
    const { config } = await loadConfig({ cwd: dir, env: {} });
    assert.equal(config.port, 7345);
    assert.equal(config.healthCheckPath, '/h2');
    assert.match(
      readFileSync(path.join(ROOT, 'README.md'), 'utf8'),
      /or a function \(sync or async\) returning/,
    );
    writeFileSync(
      path.join(dir, 'pounce.config.mjs'),
      'export default () => { throw new Error("no vault"); };\n',
    );
    await expectError(
      t,
      ['check', APP],
      2,
      'pounce: error POUNCE_ERR_CONFIG: Invalid config file pounce.config.mjs: its exported function threw (no vault)',
      { cwd: dir },
    );
  });

  test('reloadDirs and reloadInclude without reload are refused', async (t) => {
    await expectError(
      t,
      ['check', APP, '--reload-dirs', 'src'],
      2,
      'pounce: error POUNCE_ERR_CONFIG: Invalid reloadDirs: it is set without reload — it only says what to watch with --reload; add --reload (reload: true) or remove reloadDirs',
    );
    await expectError(
      t,
      ['check', APP],
      2,
      'pounce: error POUNCE_ERR_CONFIG: Invalid reloadInclude: it is set without reload — it only says what to watch with --reload; add --reload (reload: true) or remove reloadInclude',
      { env: { POUNCE_RELOAD_INCLUDE: '.html' } },
    );
  });
});

describe('listen address', () => {
  test('--host 999.1.1.1 is a config error; a name that does not resolve is a listen error', async (t) => {
    await expectError(
      t,
      ['serve', APP, '--host', '999.1.1.1'],
      2,
      'pounce: error POUNCE_ERR_CONFIG: Invalid host from --host: "999.1.1.1" — must be an IP address (IPv4 such as 0.0.0.0, IPv6 such as ::1) or a host name',
    );
    const stdout = await expectError(
      t,
      ['serve', APP, '--host', 'no-such-host.invalid', '--port', '0'],
      1,
      /^pounce: error POUNCE_ERR_LISTEN: Cannot listen on no-such-host\.invalid:0: the host name "no-such-host\.invalid" does not resolve \((ENOTFOUND|EAI_AGAIN)\)\n$/,
    );
    assert.doesNotMatch(stdout, /Server error|worker keeps serving/);
  });

  test('--uds in a missing directory, or on a regular file, says what is wrong', async (t) => {
    const dir = scratchDir(t, 'pounce-uds-');
    await expectError(
      t,
      ['serve', APP, '--uds', path.join(dir, 'missing', 'app.sock')],
      2,
      `pounce: error POUNCE_ERR_CONFIG: Invalid uds ${JSON.stringify(path.join(dir, 'missing', 'app.sock'))}: its directory ${path.join(dir, 'missing')} does not exist`,
    );
    const file = path.join(dir, 'notes.txt');
    writeFileSync(file, 'keep me\n');
    await expectError(
      t,
      ['serve', APP, '--uds', file],
      2,
      `pounce: error POUNCE_ERR_CONFIG: Invalid uds ${JSON.stringify(file)}: ${file} already exists and is a regular file, not a socket — pounce does not remove it; remove it or choose another path`,
    );
    assert.equal(readFileSync(file, 'utf8'), 'keep me\n');
  });

  test('--uds on a live socket is refused and left alone, even with its queue full; a stale one is replaced', async (t) => {
    const dir = scratchDir(t, 'pounce-uds-');
    const socketPath = path.join(dir, 'app.sock');
    // Another server on the path, in a process of its own (it must not accept while it is stopped).
    const other = spawn(
      process.execPath,
      [
        '-e',
        `require('node:net').createServer().listen({ path: ${JSON.stringify(socketPath)}, backlog: 1 }, () => process.stdout.write('ready'))`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const clients: net.Socket[] = [];
    t.after(() => {
      for (const client of clients) client.destroy();
      other.kill('SIGCONT');
      other.kill('SIGKILL');
    });
    await new Promise((resolve) => other.stdout.once('data', resolve));
    const busy = `pounce: error POUNCE_ERR_LISTEN: Cannot listen on unix:${socketPath}: another server is listening on it`;
    await expectError(t, ['serve', APP, '--uds', socketPath], 1, busy);
    assert.ok(lstatSync(socketPath).isSocket(), 'the other server’s socket is still there');

    // Stopped, it accepts nothing: its queue fills, and a connect then fails with EAGAIN (Linux),
    // not ECONNREFUSED — the socket is in use, not stale.
    other.kill('SIGSTOP');
    let full = false;
    for (let i = 0; i < 16 && !full; i++) {
      const client = net.connect(socketPath);
      clients.push(client);
      full = await new Promise<boolean>((resolve) => {
        client.once('connect', () => resolve(false));
        client.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'EAGAIN'));
      });
    }
    assert.ok(full, 'the stopped server’s queue filled up');
    await expectError(t, ['serve', APP, '--uds', socketPath], 1, busy);
    assert.ok(lstatSync(socketPath).isSocket(), 'a full queue is not a stale socket');

    // Killed, it leaves its socket file behind: nobody answers, it is this user's, pounce replaces it.
    other.kill('SIGKILL');
    await new Promise((resolve) => other.once('exit', resolve));
    assert.ok(existsSync(socketPath));
    const server = spawnPounce(t, ['serve', APP, '--uds', socketPath, '--workers', '1']);
    await server.waitForEvent('listening');
    const answer = await new Promise<string>((resolve, reject) => {
      const client = net.connect(socketPath, () =>
        client.end('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
      );
      let data = '';
      client.on('data', (chunk) => {
        data += chunk;
      });
      client.on('end', () => resolve(data));
      client.on('error', reject);
    });
    assert.match(answer, /^HTTP\/1\.1 200 /);
    server.signal('SIGTERM');
    assert.equal((await server.exited).code, 0);
  });

  test('--fd that is not open, or not a socket, is checked before any worker binds it', async (t) => {
    await expectError(
      t,
      ['serve', APP, '--fd', '99'],
      2,
      'pounce: error POUNCE_ERR_CONFIG: Invalid fd 99: file descriptor 99 is not open in this process — it must be a listening socket this process inherited',
    );
    // The test helper gives the child /dev/null as stdin.
    await expectError(
      t,
      ['serve', APP, '--fd', '0'],
      2,
      'pounce: error POUNCE_ERR_CONFIG: Invalid fd 0: file descriptor 0 is a character device, not a socket',
    );
  });
});

describe('control socket path length', () => {
  test('a --control-socket longer than the unix limit is exit 2, before anything starts', async (t) => {
    const long = path.join(tmpdir(), `${'c'.repeat(120)}.sock`);
    await expectError(
      t,
      ['serve', APP, '--port', '0', '--control-socket', long],
      2,
      `pounce: error POUNCE_ERR_CONFIG: Invalid controlSocket ${JSON.stringify(long)}: path too long: ${Buffer.byteLength(long)} bytes, limit 107 (the kernel's limit for unix socket paths) — choose a shorter path`,
    );
  });

  test('a default control socket path made too long by TMPDIR says which directory and what to do', async (t) => {
    const base = path.join(tmpdir(), 'd'.repeat(100));
    const expected = new RegExp(
      `^pounce: error POUNCE_ERR_CONFIG: Invalid control socket: the default path ${base}/pounce-\\d+/[0-9a-f]{16}\\.sock is too long \\(path too long: \\d+ bytes, limit 107\\) because its directory ${base}/pounce-\\d+ \\(from \\$XDG_RUNTIME_DIR or the temp dir\\) is — set --control-socket to a shorter path\\n$`,
    );
    const env = { TMPDIR: base, XDG_RUNTIME_DIR: '' };
    await expectError(t, ['serve', APP, '--port', '0'], 2, expected, { env });
    await expectError(t, ['reload'], 2, expected, { env });
  });
});

describe('Node version', () => {
  test('the built bin on a Node older than engines prints one line and exits 2', async (t) => {
    const old = olderNode();
    if (!old) {
      t.skip(
        'no Node older than package.json engines on this machine (looked for node, nodejs, /usr/bin/node)',
      );
      return;
    }
    // Build into a scratch copy of the package: dist/cli/main.js next to package.json, as published.
    const pkg = mkdtempSync(path.join(ROOT, '.build-test-'));
    t.after(() => rmSync(pkg, { recursive: true, force: true }));
    buildPackageInto(pkg);
    const bin = path.join(pkg, 'dist/cli/main.js');
    for (const args of [['--help'], ['serve', APP]]) {
      const out: SpawnSyncReturns<string> = spawnSync(old.bin, [bin, ...args], { encoding: 'utf8' });
      assert.equal(
        out.stderr,
        `pounce: error POUNCE_ERR_NODE_VERSION: this is Node ${old.version}; pounce needs Node >=22.18.0\n`,
      );
      assert.equal(out.stdout, '');
      assert.equal(out.status, 2);
    }
    // The same bin on this Node runs the CLI.
    const current = spawnSync(process.execPath, [bin, '--version'], { encoding: 'utf8' });
    assert.equal(current.stderr, '');
    assert.equal(
      current.stdout,
      `${JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version}\n`,
    );
    assert.equal(current.status, 0);
  });
});
