// The environment an upgrade's new supervisor gets (supervisorEnv, src/cli/compile-cache.ts): the
// NODE_COMPILE_CACHE pounce set for its workers is left out (Node reads it at start: a compiled
// supervisor would hold the cache's entries for its life), one the user set is passed on — unless
// it names pounce's own directory, which is what an older pounce hands its new supervisor.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ROOT } from './helpers/pounce.ts';

const MODULE = path.join(ROOT, 'src/cli/compile-cache.ts');

/** supervisorEnv's NODE_COMPILE_CACHE in a process started with `started` (undefined: unset). */
function passedOn(cwd: string, started: string | undefined, set: string | undefined): string | null {
  const script = `
    const { supervisorEnv } = await import(${JSON.stringify(MODULE)});
    const env = { ...process.env };
    ${set === undefined ? '' : `env.NODE_COMPILE_CACHE = ${JSON.stringify(set)};`}
    process.stdout.write(JSON.stringify(supervisorEnv(env, process.cwd()).NODE_COMPILE_CACHE ?? null));`;
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, XDG_CACHE_HOME: path.join(cwd, 'xdg') };
  if (started !== undefined) env.NODE_COMPILE_CACHE = started;
  return JSON.parse(
    execFileSync(process.execPath, ['--conditions=pounce-source', '--input-type=module', '-e', script], {
      cwd,
      env,
      encoding: 'utf8',
    }),
  );
}

test('supervisorEnv: pounce’s own NODE_COMPILE_CACHE is left out, the user’s is passed on', (t) => {
  const cwd = mkdtempSync(path.join(tmpdir(), 'pounce-cc-env-'));
  t.after(() => rmSync(cwd, { recursive: true, force: true }));
  const own = path.join(cwd, 'xdg', 'pounce', 'compile-cache');
  const users = path.join(cwd, 'my-cache');
  // Set by this supervisor for its workers.
  assert.equal(passedOn(cwd, undefined, own), null);
  // The user's: passed on as they wrote it (relative to the app directory, as the new one resolves it).
  assert.equal(passedOn(cwd, users, users), users);
  assert.equal(passedOn(cwd, 'my-cache', 'my-cache'), 'my-cache');
  // pounce's own directory, handed over by an older pounce that read its modules from the cache.
  assert.equal(passedOn(cwd, own, own), null);
});
