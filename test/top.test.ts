// `pounce top` in a real terminal: tmux runs it in a detached session, capture-pane reads the screen.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { request } from './helpers/http.ts';
import { CLI, runPounce, serverStatus, startServer, waitFor } from './helpers/pounce.ts';
import { ReloadableApp } from './helpers/reloadable-app.ts';

test('pounce top shows both workers, the figures and the last reload, refreshed each second; q quits', async (t) => {
  const app = new ReloadableApp('v1');
  const server = await startServer(t, app.file, ['--workers', '2', '--metrics', '127.0.0.1:0']);
  const pids = (await serverStatus(t, server)).workers.map((w) => w.pid);
  // A tmux server of its own (-L), killed at the end even when the test failed.
  const tmuxSocket = `pounce-top-${process.pid}`;
  const tmux = (...args: string[]) =>
    execFileSync('tmux', ['-L', tmuxSocket, ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  t.after(() => {
    try {
      tmux('kill-server');
    } catch {
      // already gone
    }
  });
  const command = [
    process.execPath,
    '--conditions=pounce-source',
    CLI,
    'top',
    '--control-socket',
    server.control,
  ]
    .map((a) => `'${a}'`)
    .join(' ');
  tmux('new-session', '-d', '-s', 'top', '-x', '140', '-y', '24', command);
  const screen = () => tmux('capture-pane', '-p', '-t', 'top');

  await waitFor('both workers on the screen', () => pids.every((pid) => screen().includes(String(pid))));
  let text = screen();
  assert.match(text, /^pounce serving — generation 0/m);
  assert.match(text, /^last reload: none$/m);
  for (const pid of pids) assert.match(text, new RegExp(`^\\d+\\s+${pid}\\s+0\\s+ready\\s`, 'm'));

  // The screen follows the server: a reload shows up with the new generation's workers.
  assert.equal((await request(`${server.url}/version`)).status, 200);
  const reloaded = execFileSync(
    process.execPath,
    ['--conditions=pounce-source', CLI, 'reload', '--control-socket', server.control],
    {
      encoding: 'utf8',
    },
  );
  assert.match(reloaded, /generation 1/);
  await waitFor('the reload on the screen', () => /^last reload: generation 1 ok in /m.test(screen()));
  // Serving again once the old generation has drained (until then: reloading).
  await waitFor('serving generation 1', () => /^pounce serving — generation 1/m.test(screen()));
  text = screen();
  assert.match(text, /^WORKER\s+PID\s+GEN\s+STATE\s+REQ\/S\s+P99\s+INFL\s+CONNS\s+RSS\s+ELU\s+UP$/m);
  await waitFor(
    'two generation-1 workers',
    () => (screen().match(/^\d+\s+\d+\s+1\s+ready\s/gm) ?? []).length === 2,
  );

  tmux('send-keys', '-t', 'top', 'q');
  await waitFor('top to quit', () => {
    try {
      tmux('has-session', '-t', 'top');
      return false;
    } catch {
      return true;
    }
  });
});

test('pounce top --once prints one frame without a terminal; without --once it needs one', async (t) => {
  const app = new ReloadableApp('v1');
  const server = await startServer(t, app.file, ['--workers', '2', '--metrics', '127.0.0.1:0']);
  const pids = (await serverStatus(t, server)).workers.map((w) => w.pid);
  const once = await runPounce(t, ['top', '--once', '--control-socket', server.control]);
  assert.equal(once.code, 0, once.stderr);
  assert.match(once.stdout, /^pounce serving — generation 0/);
  for (const pid of pids) assert.match(once.stdout, new RegExp(`^\\d+\\s+${pid}\\s+0\\s+ready\\s`, 'm'));
  // A frame for a file or a pipe: no escape sequences, no key help.
  assert.ok(!once.stdout.includes('\u001b'), 'no escape sequence');
  assert.doesNotMatch(once.stdout, /q to quit/);

  const piped = await runPounce(t, ['top', '--control-socket', server.control]);
  assert.equal(piped.code, 2);
  assert.match(piped.stderr, /POUNCE_ERR_USAGE: pounce top needs a terminal .*--once/);
  assert.equal(piped.stdout, '');

  server.signal('SIGTERM');
  await server.exited;
  const gone = await runPounce(t, ['top', '--once', '--control-socket', server.control]);
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /^pounce top: no running pounce server found/);
});
