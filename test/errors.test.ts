// The error table: each entry reports its own code, carries the cause it was given, and exits with
// the status its code calls for. The sentences themselves are asserted where pounce reports them
// (apps, config, scripts, security, tls... tests), end to end.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ERRORS, ErrorCode, ExitCode, PounceError, pounceError } from '../src/errors.ts';

test('every template reports a code of ErrorCode', () => {
  const codes = new Set<string>(Object.values(ErrorCode));
  for (const [id, { code }] of Object.entries(ERRORS)) assert.ok(codes.has(code), `${id}: ${code}`);
});

test('pounceError builds the message from the facts, with the code, the cause and the exit status', () => {
  const cause = new Error('boom');
  const err = pounceError('STARTUP_HOOK', { error: 'boom' }, { cause });
  assert.ok(err instanceof PounceError);
  assert.equal(err.code, ErrorCode.STARTUP_HOOK);
  assert.equal(err.message, 'Startup hook failed: boom');
  assert.equal(err.cause, cause);
  assert.equal(err.exitCode, ExitCode.FAILURE);

  const flag = pounceError('FLAG_IS_SWITCH', { flag: '--watch' });
  assert.equal(flag.code, ErrorCode.CONFIG);
  assert.equal(flag.message, 'Flag --watch does not take a value — it is a switch (--watch or --no-watch)');
  assert.equal(flag.exitCode, ExitCode.USAGE);
});
