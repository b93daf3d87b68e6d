// The supervisor runs without V8's compilers (src/supervisor/jit-tiers.ts). Seen through V8's own
// traces (--trace-opt for Maglev and TurboFan, --trace-baseline-batch-compilation for Sparkplug): a
// hot function is not compiled once they are off, is again once they are restored, and a user's own
// compiler flag means pounce changes nothing.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { ROOT } from './helpers/pounce.ts';

const JIT_TIERS = path.join(ROOT, 'src/supervisor/jit-tiers.ts');

/** Runs a hot function after `steps` in a child node with V8's traces: how often each tier compiled it. */
function compiles(
  steps: ('off' | 'restore')[],
  nodeFlags: string[] = [],
): { optimized: number; baseline: number } {
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
    ['--trace-opt', '--trace-baseline-batch-compilation', ...nodeFlags, '--input-type=module', '-e', script],
    { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } },
  );
  assert.equal(result.status, 0, result.stderr);
  const lines = result.stdout.split('\n');
  return {
    optimized: lines.filter((l) => /completed (compiling|optimizing).*JSFunction hotLoop /.test(l)).length,
    baseline: lines.filter((l) => /Baseline batch compilation\] Enqueued SFI hotLoop /.test(l)).length,
  };
}

test('with the compilers off a hot function stays interpreted; restored, it is compiled', () => {
  const byDefault = compiles([]);
  assert.ok(byDefault.optimized > 0, 'V8 optimizes the hot function by default');
  assert.ok(byDefault.baseline > 0, 'Sparkplug compiles the hot function by default');
  assert.deepEqual(compiles(['off']), { optimized: 0, baseline: 0 });
  const restored = compiles(['off', 'restore']);
  assert.ok(restored.optimized > 0 && restored.baseline > 0, JSON.stringify(restored));
});

test("a user's own compiler flag is left alone", () => {
  const chosen = compiles(['off'], ['--max-opt=4']);
  assert.ok(chosen.optimized > 0 && chosen.baseline > 0, JSON.stringify(chosen));
});
