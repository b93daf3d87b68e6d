// docs/deploy/ tells the truth: each page shows exactly what `pounce generate` prints for the
// command on the page (run `npm run docs` after changing a generator).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { PAGES, pageUrl, renderPage } from '../scripts/deploy-docs.ts';
import type { TargetName } from '../src/deploy/generate.ts';

for (const target of Object.keys(PAGES) as TargetName[]) {
  test(`docs/deploy/${target}.md shows what pounce generate ${target} prints (run \`npm run docs\`)`, async () => {
    const text = readFileSync(pageUrl(target), 'utf8');
    assert.equal(text, await renderPage(target, text));
  });
}
