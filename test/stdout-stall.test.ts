// A stdout that stops reading (a stalled log shipper, a journal that throttles, `docker logs`
// backpressure) must cost log lines at worst, never the server: the supervisor keeps handling
// signals and its control socket, reloads, and stops; the workers keep serving and exit when told.

import assert from 'node:assert/strict';
import { finished } from 'node:stream/promises';
import { test } from 'node:test';
import { request } from './helpers/http.ts';
import { modeFlags, WORKER_MODES } from './helpers/modes.ts';
import { appPath, type PounceProcess, runPounce, startServer } from './helpers/pounce.ts';
import { ReloadableApp } from './helpers/reloadable-app.ts';

/**
 * Access lines of ~3 KB each (the path is logged): `count` of them fill any pipe many times over.
 * Under 4 KiB, so each is written to the pipe in one piece and never mixes with another line.
 */
async function fillStdout(server: { url: string }, count: number): Promise<void> {
  const path = `/${'p'.repeat(3000)}`;
  for (let i = 0; i < count; i++) assert.equal((await request(`${server.url}${path}`)).status, 200);
}

function stalled(server: PounceProcess): void {
  server.output.pause();
}

for (const mode of WORKER_MODES)
  test(`stdout stops reading (${mode} mode): the supervisor still reloads and stops; the lines it held arrive once stdout reads again`, async (t) => {
    const app = new ReloadableApp('v1');
    // A pipe, as containers and process managers give (a socket, such as Node's child_process
    // 'pipe' or systemd's journal, has no non-blocking second open: see src/log/stdout-lines.ts).
    const server = await startServer(
      t,
      app.file,
      ['--access-log', '--workers', '1', ...(await modeFlags(mode))],
      {
        stdoutPipe: true,
      },
    );
    stalled(server);
    // 800 lines of 3 KB: the pipe (64 KB) is full long before the end, and the worker holds the rest.
    await fillStdout(server, 800);

    // A reload logs lifecycle lines in the supervisor and in both generations' workers; with every
    // one of those writes blocked on the full pipe, the reload never got past its first line.
    app.write('v2');
    const reload = await runPounce(t, ['reload', '--control-socket', server.control], { timeoutMs: 20_000 });
    assert.equal(reload.code, 0, `pounce reload: ${reload.stderr}`);
    assert.equal((await request(`${server.url}/version`)).body, 'v2');

    // The supervisor's lines were held, not lost: they come once stdout is read again.
    server.output.resume();
    await server.waitForEvent('reloadComplete', 20_000);
    // It had nothing to warn about: the pipe was reopened non-blocking.
    assert.ok(!server.logs.some((l) => l.event === 'stdoutMayBlock'));

    // Stalled again, then SIGTERM: the server exits (what it still holds is lost; an exit must not
    // wait forever for a reader that never comes back).
    stalled(server);
    await fillStdout(server, 800);
    server.signal('SIGTERM');
    const exit = await Promise.race([
      server.exited,
      new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 20_000).unref()),
    ]);
    assert.notEqual(exit, 'hung', 'pounce did not exit on SIGTERM while stdout was not read');
    assert.equal((exit as { code: number | null }).code, 0);
    server.output.resume();
    await finished(server.output);
  });

test('a socket as stdout, which cannot be reopened non-blocking: the supervisor says at start that a stalled reader would stop it', async (t) => {
  // Node's child_process 'pipe' is a socket pair (so is systemd's journal stream).
  const server = await startServer(t, appPath('versioned.mjs'));
  const line = await server.waitForEvent('stdoutMayBlock');
  assert.equal(line.level, 30);
  assert.match(String(line.why), /stdout is a socket/);
  assert.match(String(line.msg), /a reader that stops reading stops this server at its next line/);
});
