// A Node older than pounce's `engines` on this machine, for the tests of what pounce says on one
// (the system Node of many distributions is older than the Node pounce pins for its own tests).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './pounce.ts';

/** A Node older than package.json's engines on this machine, if any (the system Node, often). */
export function olderNode(): { bin: string; version: string } | undefined {
  const needed = /^>=(\d+)\.(\d+)\.(\d+)$/.exec(
    JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).engines.node,
  );
  assert.ok(needed, 'engines.node is a >=X.Y.Z range');
  const want = needed.slice(1).map(Number);
  const found = spawnSync('sh', ['-c', 'which -a node nodejs; ls /usr/bin/node /usr/local/bin/node'], {
    encoding: 'utf8',
  }).stdout;
  for (const bin of new Set(found.split('\n').filter(Boolean))) {
    const run = spawnSync(bin, ['-p', 'process.versions.node'], { encoding: 'utf8' });
    const version = run.stdout?.trim();
    if (run.status !== 0 || !version) continue;
    const have = version.split('.').map(Number);
    const older = have[0]! - want[0]! || have[1]! - want[1]! || have[2]! - want[2]!;
    if (older < 0) return { bin, version };
  }
  return undefined;
}
