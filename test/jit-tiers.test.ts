// The supervisor runs without V8's optimizing compilers (src/supervisor/jit-tiers.ts). Seen through
// V8's own --trace-opt: a hot function is not optimized once they are off, is again once they are
// restored, and a user's own compiler flag means pounce changes nothing.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { ROOT } from './helpers/pounce.ts';

const JIT_TIERS = path.join(ROOT, 'src/supervisor/jit-tiers.ts');

/** Runs a hot function after `steps` in a child node with --trace-opt: how often V8 optimized it. */
function optimizations(steps: ('off' | 'restore')[], nodeFlags: string[] = []): number {
  const script = `
    import { restoreOptimizingCompilers, withoutOptimizingCompilers } from ${JSON.stringify(JIT_TIERS)};
    function hotLoop(n) { let s = 0; for (let i = 0; i < n; i++) s += i % 7; return s; }
    for (const step of ${JSON.stringify(steps)}) {
      if (step === 'off') withoutOptimizingCompilers();
      else restoreOptimizingCompilers();
    }
    let total = 0;
    for (let i = 0; i < 20000; i++) total += hotLoop(200);
    await new Promise((resolve) => setTimeout(resolve, 200)); // concurrent compiles finish
    process.stdout.write(String(total > 0));
  `;
  const result = spawnSync(
    process.execPath,
    ['--trace-opt', ...nodeFlags, '--input-type=module', '-e', script],
    { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } },
  );
  assert.equal(result.status, 0, result.stderr);
  return result.stdout
    .split('\n')
    .filter((l) => /completed (compiling|optimizing).*JSFunction hotLoop /.test(l)).length;
}

test('with the optimizing compilers off a hot function stays unoptimized; restored, it is optimized', () => {
  assert.ok(optimizations([]) > 0, 'V8 optimizes the hot function by default');
  assert.equal(optimizations(['off']), 0);
  assert.ok(optimizations(['off', 'restore']) > 0);
});

test("a user's own compiler flag is left alone", () => {
  assert.ok(optimizations(['off'], ['--max-opt=4']) > 0);
});
