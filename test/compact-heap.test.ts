// The supervisor's one memory-reducing collection after startup (src/supervisor/compact-heap.ts)
// borrows --expose-gc for a moment: it must leave the flags as they were.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { runInNewContext } from 'node:vm';
import { compactHeap } from '../src/supervisor/compact-heap.ts';
import { ROOT } from './helpers/pounce.ts';

test('compactHeap leaves no gc() behind: not in this context, not in a new one', () => {
  compactHeap();
  assert.equal((globalThis as { gc?: unknown }).gc, undefined);
  assert.equal(runInNewContext('typeof gc'), 'undefined');
});

test('compactHeap in a process started with --expose-gc uses its gc() and leaves the flag set', () => {
  const script = `
    import { runInNewContext } from 'node:vm';
    import { compactHeap } from ${JSON.stringify(path.join(ROOT, 'src/supervisor/compact-heap.ts'))};
    let calls = 0;
    const real = globalThis.gc;
    globalThis.gc = (options) => { calls++; return real(options); };
    compactHeap();
    process.stdout.write(JSON.stringify({ calls, inNewContext: runInNewContext('typeof gc') }));
  `;
  const result = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], {
    encoding: 'utf8',
  });
  assert.equal(result.status, 0, result.stderr);
  assert.deepEqual(JSON.parse(result.stdout), { calls: 1, inNewContext: 'function' });
});
