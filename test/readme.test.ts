// The README tells the truth: its configuration table is the option table, and the commands it
// shows exist.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { README, renderReadme } from '../scripts/readme-config.ts';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  scripts: Record<string, string>;
};

test('the README configuration table matches src/config/options.ts (run `npm run docs`)', () => {
  const text = readFileSync(README, 'utf8');
  assert.equal(text, renderReadme(text));
});

test('the README quick start commands exist', () => {
  const text = readFileSync(README, 'utf8');
  assert.match(text, /npm install && npm start/);
  assert.match(text, /npm test/);
  assert.match(pkg.scripts.start!, /serve examples\/hello\/app\.ts/);
  assert.ok(pkg.scripts.test);
});
