// Another local user must not be able to run code as pounce's user or answer in its name. As root,
// each test creates an unprivileged user (removed afterwards, also on failure) who gets there
// first: pre-creates the directories pounce uses, plants a compile cache, or puts a fake control
// server where `pounce reload` looks. pounce must refuse, with a clear error, and never believe
// the fake. The tests use a scratch "temp dir" (TMPDIR) that is sticky and world-writable like
// /tmp, so the shared /tmp and other tests are not touched.

import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  chmodSync,
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, type TestContext, test } from 'node:test';
import { defaults } from '../src/config/options.ts';
import { controlSocketLocation } from '../src/control/protocol.ts';
import { appPath, killGroup, ROOT, runPounce, scratchDir, startServer } from './helpers/pounce.ts';

const APP = appPath('esm.mjs');
const UID = process.getuid?.() ?? -1;

const canSwitchUser =
  UID === 0 &&
  ['useradd', 'userdel', 'setpriv'].every(
    (tool) => existsSync(`/usr/sbin/${tool}`) || existsSync(`/usr/bin/${tool}`),
  );
const SKIP = canSwitchUser ? false : 'needs root with useradd and setpriv, to create another user';

/** The other user: created before the tests, removed after them (also when one failed). */
const other = { name: '', uid: -1, gid: -1 };
const otherGroups = new Set<number>();

function createOtherUser(): void {
  other.name = `pounce-t${process.pid}`.slice(0, 30);
  execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', other.name]);
  other.uid = Number(execFileSync('id', ['-u', other.name], { encoding: 'utf8' }).trim());
  other.gid = Number(execFileSync('id', ['-g', other.name], { encoding: 'utf8' }).trim());
}

function removeOtherUser(): void {
  for (const pgid of otherGroups) killGroup(pgid, 'SIGKILL');
  if (other.name) execFileSync('userdel', ['--force', other.name], { stdio: 'ignore' });
}

// What the other user runs: make a directory chain (each level mode 0777, owned by them), or
// serve a fake pounce control socket that claims every command succeeded.
const ATTACKER_SCRIPT = `
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
const [command, target] = process.argv.slice(2);
function mkdirs(dir) {
  if (fs.existsSync(dir)) return;
  mkdirs(path.dirname(dir));
  fs.mkdirSync(dir);
  fs.chmodSync(dir, 0o777);
}
if (command === 'mkdir') mkdirs(target);
if (command === 'symlink') fs.symlinkSync(process.argv[4], target);
if (command === 'fifo') execFileSync('mkfifo', ['-m', '0666', target]);
if (command === 'fake-control') {
  mkdirs(path.dirname(target));
  const answers = {
    reload: { ok: true, command: 'reload', generation: 42, pid: 4242 },
    stop: { ok: true, command: 'stop', pid: 4242 },
  };
  net.createServer((c) => {
    c.on('error', () => {});
    c.once('data', (d) => c.end(JSON.stringify(answers[JSON.parse(d).command] ?? { ok: false, error: 'no' }) + '\\n'));
  }).listen(target, () => {
    fs.chmodSync(target, 0o777);
    process.stdout.write('ready\\n');
  });
}
`;

/** A scratch temp dir like /tmp (root-owned, sticky, world-writable) with the attacker's script in it. */
function stickyBase(t: TestContext): string {
  const base = scratchDir(t, 'pounce-sec-');
  chmodSync(base, 0o1777);
  writeFileSync(path.join(base, 'attacker.mjs'), ATTACKER_SCRIPT, { mode: 0o644 });
  return base;
}

/** Runs the attacker script as the other user; resolves when it is done (mkdir) or ready (fake-control). */
async function asOther(t: TestContext, base: string, args: string[]): Promise<void> {
  const child: ChildProcess = spawn(
    'setpriv',
    [
      `--reuid=${other.uid}`,
      `--regid=${other.gid}`,
      '--clear-groups',
      process.execPath,
      path.join(base, 'attacker.mjs'),
      ...args,
    ],
    { detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  otherGroups.add(child.pid!);
  t.after(() => killGroup(child.pid!, 'SIGKILL'));
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (c: string) => {
    err += c;
  });
  if (args[0] === 'fake-control') {
    child.stdout!.setEncoding('utf8');
    const [line] = (await Promise.race([once(child.stdout!, 'data'), once(child, 'exit')])) as [unknown];
    assert.equal(line, 'ready\n', `the fake control server did not start: ${err}`);
  } else {
    const [code] = await once(child, 'exit');
    assert.equal(code, 0, err);
  }
}

/** The default control socket path pounce derives for `cwd` and the default address, with TMPDIR=base. */
function defaultControlPath(base: string, cwd: string): string {
  const saved = { TMPDIR: process.env.TMPDIR, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR };
  process.env.TMPDIR = base;
  delete process.env.XDG_RUNTIME_DIR;
  try {
    return controlSocketLocation(defaults(), cwd).path;
  } finally {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}

function envFor(base: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    TMPDIR: base,
    XDG_RUNTIME_DIR: '',
    XDG_CACHE_HOME: path.join(base, 'root-cache-not-made'),
    ...extra,
  };
}

describe('control socket: another user cannot answer for pounce', { skip: SKIP }, () => {
  before(createOtherUser);
  after(removeOtherUser);

  test('serve refuses a control socket directory another user created first (exit 2)', async (t) => {
    const base = stickyBase(t);
    const socketPath = defaultControlPath(base, ROOT);
    await asOther(t, base, ['fake-control', socketPath]);
    const result = await runPounce(t, ['serve', APP, '--port', '0'], {
      env: envFor(base),
      defaultControlSocket: true,
      timeoutMs: 15_000,
    });
    assert.equal(
      result.stderr,
      `pounce: error POUNCE_ERR_UNSAFE_PATH: The control socket directory ${path.dirname(socketPath)} is not safe to use: it is owned by uid ${other.uid}, not by uid ${UID} (this user) — another user could put their own socket there and answer pounce reload/stop/status; remove it, or choose a private place with --control-socket\n`,
    );
    assert.equal(result.code, 2);
  });

  test('pounce reload and stop do not believe a fake server in a directory another user made', async (t) => {
    const base = stickyBase(t);
    const socketPath = defaultControlPath(base, ROOT);
    await asOther(t, base, ['fake-control', socketPath]);
    for (const command of ['reload', 'stop']) {
      const result = await runPounce(t, [command], { env: envFor(base) });
      assert.equal(result.stdout, '', `pounce ${command} believed the fake: ${result.stdout}`);
      assert.equal(
        result.stderr,
        `pounce ${command}: error POUNCE_ERR_UNSAFE_PATH: The control socket directory ${path.dirname(socketPath)} is not safe to use: it is owned by uid ${other.uid}, not by uid ${UID} (this user) — another user could put their own socket there and answer pounce reload/stop/status; remove it, or choose a private place with --control-socket\n`,
      );
      assert.equal(result.code, 1);
    }
  });

  test('an explicit --control-socket in a shared directory: another user’s socket is refused by client and server', async (t) => {
    const base = stickyBase(t);
    const socketPath = path.join(base, 'app.sock');
    await asOther(t, base, ['fake-control', socketPath]);
    const client = await runPounce(t, ['reload', '--control-socket', socketPath], { env: envFor(base) });
    assert.equal(client.stdout, '');
    assert.equal(
      client.stderr,
      `pounce reload: error POUNCE_ERR_UNSAFE_PATH: The control socket ${socketPath} is not safe to use: it belongs to uid ${other.uid}, not to uid ${UID} (this user) or root — it is not your pounce server; refusing to talk to it\n`,
    );
    assert.equal(client.code, 1);
    const server = await runPounce(t, ['serve', APP, '--port', '0', '--control-socket', socketPath], {
      env: envFor(base),
      timeoutMs: 15_000,
    });
    assert.equal(
      server.stderr,
      `pounce: error POUNCE_ERR_UNSAFE_PATH: The control socket ${socketPath} is not safe to use: it is a socket of uid ${other.uid}, not of uid ${UID} (this user) — another user may be waiting for pounce reload/stop/status there; remove it, or choose another --control-socket\n`,
    );
    assert.equal(server.code, 2);
  });
});

describe('pid file: another user cannot redirect or block it', { skip: SKIP }, () => {
  before(createOtherUser);
  after(removeOtherUser);

  /** A file of this user (root) that a planted name points at: it must stay as it is. */
  function precious(t: TestContext): string {
    const dir = scratchDir(t, 'pounce-precious-');
    const file = path.join(dir, 'precious');
    writeFileSync(file, 'keep me\n', { mode: 0o644 });
    return file;
  }
  async function serveWithPidFile(t: TestContext, base: string, pidFile: string) {
    return runPounce(t, ['serve', APP, '--port', '0', '--pid-file', pidFile], {
      env: envFor(base),
      timeoutMs: 15_000,
    });
  }

  test('a symbolic link planted at the pid file name: refused (exit 2), its target untouched', async (t) => {
    const base = stickyBase(t);
    const target = precious(t);
    const pidFile = path.join(base, 'pounce.pid');
    await asOther(t, base, ['symlink', pidFile, target]);
    const result = await serveWithPidFile(t, base, pidFile);
    assert.equal(
      result.stderr,
      `pounce: error POUNCE_ERR_CONFIG: Invalid pidFile ${JSON.stringify(pidFile)}: cannot write it (it is a symbolic link)\n`,
    );
    assert.equal(result.code, 2);
    assert.equal(readFileSync(target, 'utf8'), 'keep me\n');
  });

  test('a FIFO planted at the pid file name: refused at once (exit 2), not a start that hangs', async (t) => {
    const base = stickyBase(t);
    const pidFile = path.join(base, 'pounce.pid');
    await asOther(t, base, ['fifo', pidFile]);
    const result = await serveWithPidFile(t, base, pidFile);
    assert.equal(
      result.stderr,
      `pounce: error POUNCE_ERR_CONFIG: Invalid pidFile ${JSON.stringify(pidFile)}: cannot write it (it is not a regular file)\n`,
    );
    assert.equal(result.code, 2);
  });

  test('a hard link to a file of this user at the pid file name: refused (exit 2), the file untouched', async (t) => {
    const base = stickyBase(t);
    const target = precious(t);
    const pidFile = path.join(base, 'pounce.pid');
    // fs.protected_hardlinks stops another user from linking a file they cannot write; a link made
    // earlier (or on a system without that protection) is what is left: made here as root.
    linkSync(target, pidFile);
    const result = await serveWithPidFile(t, base, pidFile);
    assert.equal(
      result.stderr,
      `pounce: error POUNCE_ERR_CONFIG: Invalid pidFile ${JSON.stringify(pidFile)}: cannot write it (it has 2 hard links: another name points at the same file)\n`,
    );
    assert.equal(result.code, 2);
    assert.equal(readFileSync(target, 'utf8'), 'keep me\n');
  });
});

describe('compile cache: another user cannot plant code', { skip: SKIP }, () => {
  before(createOtherUser);
  after(removeOtherUser);

  test('the shared temp dir cache (node-compile-cache) is never used, even when another user made it', async (t) => {
    const base = stickyBase(t);
    const planted = path.join(base, 'node-compile-cache');
    await asOther(t, base, ['mkdir', planted]);
    const cache = path.join(base, 'root-cache');
    mkdirSync(cache, { mode: 0o700 });
    const server = await startServer(t, APP, [], { env: envFor(base, { XDG_CACHE_HOME: cache }) });
    server.signal('SIGTERM');
    assert.equal((await server.exited).code, 0);
    assert.deepEqual(
      readdirSync(planted),
      [],
      'pounce wrote its compile cache into the other user’s directory',
    );
    const own = path.join(cache, 'pounce', 'compile-cache');
    assert.equal(statSync(own).mode & 0o777, 0o700);
    assert.ok(readdirSync(own).length > 0, 'the private cache was used');
    assert.equal(server.logs.filter((l) => l.event === 'compileCacheDisabled').length, 0);
  });

  test('a cache directory another user created first is refused with one warning; the server serves', async (t) => {
    const base = stickyBase(t);
    const cacheHome = path.join(base, 'cache');
    const planted = path.join(cacheHome, 'pounce', 'compile-cache');
    await asOther(t, base, ['mkdir', planted]);
    const cwd = scratchDir(t, 'pounce-sec-cwd-'); // no node_modules: no second choice
    const server = await startServer(t, APP, [], { cwd, env: envFor(base, { XDG_CACHE_HOME: cacheHome }) });
    const warnings = server.logs.filter((l) => l.event === 'compileCacheDisabled');
    assert.equal(warnings.length, 1);
    assert.equal(
      warnings[0]!.msg,
      `Compile cache off (workers boot slower): The compile cache directory ${planted} is not safe to use: it is owned by uid ${other.uid}, not by uid ${UID} (this user) — another user could plant compiled code there that pounce would run`,
    );
    assert.equal((await fetch(server.url)).status, 200);
    server.signal('SIGTERM');
    assert.equal((await server.exited).code, 0);
    assert.deepEqual(readdirSync(planted), []);
    assert.deepEqual(readdirSync(path.join(base)).includes('node-compile-cache'), false);
  });

  test('a NODE_COMPILE_CACHE that another user controls is refused (exit 2)', async (t) => {
    const base = stickyBase(t);
    const planted = path.join(base, 'shared-cache');
    await asOther(t, base, ['mkdir', planted]);
    const result = await runPounce(t, ['serve', APP, '--port', '0'], {
      env: envFor(base, { NODE_COMPILE_CACHE: planted }),
      timeoutMs: 15_000,
    });
    assert.equal(
      result.stderr,
      `pounce: error POUNCE_ERR_UNSAFE_PATH: NODE_COMPILE_CACHE ${planted} is not safe to use: it is owned by uid ${other.uid}, not by uid ${UID} (this user) — another user could plant compiled code there that pounce would run; unset NODE_COMPILE_CACHE or point it at a directory only this user can write\n`,
    );
    assert.equal(result.code, 2);
  });
});

describe('compile cache: unusable, not dangerous', () => {
  test('a NODE_COMPILE_CACHE that cannot be used is dropped with one warning; the server serves', async (t) => {
    const dir = scratchDir(t, 'pounce-sec-');
    const file = path.join(dir, 'a-file');
    writeFileSync(file, '');
    const server = await startServer(t, APP, [], { env: { NODE_COMPILE_CACHE: path.join(file, 'cache') } });
    const warnings = server.logs.filter((l) => l.event === 'compileCacheDisabled');
    assert.equal(warnings.length, 1);
    assert.match(
      warnings[0]!.msg,
      /^Compile cache off \(workers boot slower\): NODE_COMPILE_CACHE .*\/a-file\/cache cannot be used \(ENOTDIR: /,
    );
    assert.equal((await fetch(server.url)).status, 200);
  });
});

describe('control socket: squatted paths and the server pid', () => {
  test('a regular file at the control socket path is an error, and is left alone', async (t) => {
    const dir = scratchDir(t, 'pounce-sec-');
    const squat = path.join(dir, 'control.sock');
    writeFileSync(squat, 'not a socket\n');
    const result = await runPounce(t, ['serve', APP, '--port', '0', '--control-socket', squat], {
      timeoutMs: 15_000,
    });
    assert.equal(
      result.stderr,
      `pounce: error POUNCE_ERR_CONFIG: Invalid control socket ${squat}: the path is already taken by a regular file, not a pounce control socket — pounce does not remove it; remove it or choose another --control-socket\n`,
    );
    assert.equal(result.code, 2);
    assert.ok(statSync(squat).isFile(), 'the file is still there');
  });

  test('the client checks the answering server’s pid against the pid file', async (t) => {
    const dir = scratchDir(t, 'pounce-sec-');
    // A real server with a pid file: reload and status agree with it.
    const pidFile = path.join(dir, 'pounce.pid');
    const server = await startServer(t, APP, ['--pid-file', pidFile]);
    const ok = await runPounce(t, ['reload', '--control-socket', server.control, '--pid-file', pidFile]);
    assert.equal(ok.stderr, '');
    assert.match(ok.stdout, /^Reload complete: generation 1 is serving\n$/);
    // Another server of ours (a stand-in) at the socket the pid file's server does not own.
    const impostor = path.join(dir, 'other.sock');
    const fake = net.createServer((c) => {
      c.on('error', () => {});
      c.once('data', () =>
        c.end(`${JSON.stringify({ ok: true, command: 'reload', generation: 42, pid: 4242 })}\n`),
      );
    });
    await new Promise<void>((resolve) => fake.listen(impostor, resolve));
    t.after(() => fake.close());
    const mismatch = await runPounce(t, ['reload', '--control-socket', impostor, '--pid-file', pidFile]);
    assert.equal(mismatch.stdout, '');
    assert.equal(
      mismatch.stderr,
      `pounce reload: error POUNCE_ERR_UNSAFE_PATH: the server at ${impostor} is pid 4242, but the pid file ${pidFile} names pid ${server.pid} — they are not the same server; not trusting its answer\n`,
    );
    assert.equal(mismatch.code, 1);
  });
});
