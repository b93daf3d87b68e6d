// The benchmark suite must keep running: `bench/run.ts --quick` (every scenario, one short round)
// writes a report with every section and the chart. Speed is not asserted here (bench/REPORT.md is
// where numbers live). The bench kills the servers it started (each in a process group of its own)
// when it ends, also on SIGTERM; should it hang, it gets SIGTERM, then its own group gets SIGKILL.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { killGroup, trackGroup } from '../bench/lib/harness.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TIMEOUT_MS = 110_000;

test('bench/run.ts --quick writes a report with every scenario and the chart', {
  timeout: TIMEOUT_MS + 15_000,
}, async (t) => {
  const out = mkdtempSync(path.join(tmpdir(), 'pounce-bench-test-'));
  const child = spawn(
    process.execPath,
    ['--conditions=pounce-source', path.join(ROOT, 'bench/run.ts'), '--quick', '--out', out],
    { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const pgid = child.pid!;
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  let running = true;
  void exited.then(() => {
    running = false;
  });
  const release = trackGroup(pgid);
  const signalGroup = (signal: NodeJS.Signals) => killGroup(pgid, signal);
  // SIGTERM lets the bench kill its servers' process groups; SIGKILL is the backstop.
  const stop = async () => {
    if (running) {
      signalGroup('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
    }
    signalGroup('SIGKILL');
    release();
  };
  t.after(async () => {
    await stop();
    rmSync(out, { recursive: true, force: true });
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  const timer = setTimeout(() => void stop(), TIMEOUT_MS);
  const [code, signal] = await exited;
  clearTimeout(timer);
  assert.equal(code, 0, `bench exited with ${code ?? signal}:\n${output.slice(-4000)}`);

  const report = readFileSync(path.join(out, 'REPORT.md'), 'utf8');
  for (const heading of [
    '## Machine',
    '## Targets',
    '## 1. Throughput and latency',
    '## 2. Reload under load',
    '## 3. Reload duration',
    '## 4. Shutdown',
    '## 5. Memory',
    '## 6. Cold start',
    '## 7. Chart',
    '## 8. Thread mode vs process mode',
  ]) {
    assert.ok(report.includes(`\n${heading}\n`), `the report has "${heading}"`);
  }
  assert.doesNotMatch(report, /Not run/, 'quick mode runs every scenario');
  for (const target of [
    'Throughput',
    'Zero failures',
    'Latency after a reload',
    'Reload duration',
    'Idle shutdown',
    'Supervisor RSS',
    'RSS after reloads',
    'Cold start',
  ]) {
    assert.match(
      report,
      new RegExp(`^\\| ${target} \\|.*\\*\\*(pass|MISS)\\*\\* \\|$`, 'm'),
      `target "${target}" is decided`,
    );
  }
  const svg = readFileSync(path.join(out, 'reload-latency.svg'), 'utf8');
  assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.match(svg, /<\/svg>\n$/);
});
