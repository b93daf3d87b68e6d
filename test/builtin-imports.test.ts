// pounce takes Node's built-in modules with process.getBuiltinModule('node:…'), never with an ES
// `import` (type-only imports are erased and fine). An ES import of a built-in builds its ES-module
// facade, which reads every export once — and some exports are lazy getters that load more: the
// facade of node:fs loads fs.promises (→ readline, the REPL history), its streams and watchers; that
// of node:util loads util.diff, parseArgs and more. The supervisor is long-lived: whatever it loads
// stays in its memory (about 1 MB for these, measured on the compiled supervisor), and the workers
// pay the same. test/supervisor-footprint.test.ts checks the supervisor's module list; this keeps the
// style in all of src/, so that code moving between supervisor and worker needs no second look.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ROOT } from './helpers/pounce.ts';

/** An ES import (or re-export) of a node: built-in that is not type-only. */
const VALUE_IMPORT = /^(?:import|export)(?!\s+type\s)[^;]*?\sfrom\s+'node:[^']+'/gm;
/** A dynamic import of a built-in (`typeof import('node:…')` in a type is erased). */
const DYNAMIC_IMPORT = /(?<!typeof\s)\bimport\(\s*'node:[^']+'\s*\)/g;

/**
 * The one allowed: the bin's entry on a Node without process.getBuiltinModule (< 20.16), which
 * only prints that this Node is too old.
 */
const ALLOWED = new Set(["src/cli/main.ts: import('node:fs')"]);

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** The value imports of built-ins in `text`, as "file: statement". */
function builtinImports(file: string, text: string): string[] {
  return [...text.matchAll(VALUE_IMPORT), ...text.matchAll(DYNAMIC_IMPORT)].map(
    (m) => `${file}: ${m[0].replace(/\s+/g, ' ')}`,
  );
}

test('src/ takes Node built-ins with process.getBuiltinModule, not with ES imports', () => {
  const found = sources(path.join(ROOT, 'src')).flatMap((file) =>
    builtinImports(path.relative(ROOT, file), readFileSync(file, 'utf8')),
  );
  assert.deepEqual(
    found.filter((f) => !ALLOWED.has(f)),
    [],
    "use `const { x } = process.getBuiltinModule('node:…')` (types: `import type`)",
  );
});

test('the check sees static, multi-line, default, namespace, re-exported and dynamic imports, not type-only ones', () => {
  const text = [
    "import { readFileSync } from 'node:fs';",
    "import {\n  closeSync,\n  openSync,\n} from 'node:fs';",
    "import path from 'node:path';",
    "import * as os from 'node:os';",
    "import net, { type AddressInfo } from 'node:net';",
    "export { setTimeout } from 'node:timers';",
    "const dns = await import('node:dns/promises');",
    "import type { Stats } from 'node:fs';",
    "export type { Server } from 'node:http';",
    "type Fs = typeof import('node:fs');",
    "import { x } from './node:fs.ts';",
  ].join('\n');
  assert.deepEqual(builtinImports('f.ts', text), [
    "f.ts: import { readFileSync } from 'node:fs'",
    "f.ts: import { closeSync, openSync, } from 'node:fs'",
    "f.ts: import path from 'node:path'",
    "f.ts: import * as os from 'node:os'",
    "f.ts: import net, { type AddressInfo } from 'node:net'",
    "f.ts: export { setTimeout } from 'node:timers'",
    "f.ts: import('node:dns/promises')",
  ]);
});
