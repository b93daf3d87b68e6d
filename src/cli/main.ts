#!/usr/bin/env node
// The `pounce` command's entry point. Its one job is to say clearly when this Node is too old for
// pounce, which a newer-syntax module or a missing `node:module` export would otherwise report as
// a raw SyntaxError stack. So this file, once its types are stripped (dist/cli/main.js), is plain
// JavaScript with no syntax newer than ES2019 and no static import at all, and it loads the CLI
// (run.ts) only after the check. (From source, a Node too old to strip types cannot read any .ts
// file at all; the published bin is the JavaScript build.)
//
// node:fs comes from process.getBuiltinModule, as everywhere in pounce (test/builtin-imports.test.ts
// says why); a Node older than 20.16 has none and imports it — that Node only gets the error line.

type Fs = typeof import('node:fs');

/** The `engines.node` range of pounce's package.json, e.g. ">=22.18.0". */
function neededRange(fs: Fs): string | undefined {
  try {
    const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    return pkg.engines && typeof pkg.engines.node === 'string' ? pkg.engines.node : undefined;
  } catch {
    return undefined;
  }
}

/** True if `version` ("20.20.2") is at least the ">=X.Y.Z" minimum of `range`; other ranges pass. */
function satisfiesMinimum(version: string, range: string): boolean {
  const minimum = /^>=\s*(\d+)\.(\d+)\.(\d+)$/.exec(range.trim());
  if (!minimum) return true;
  const have = version.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const want = Number(minimum[i + 1]);
    if ((have[i] || 0) !== want) return (have[i] || 0) > want;
  }
  return true;
}

/** Checks this Node's version, then runs the CLI. */
function start(fs: Fs): void {
  const needed = neededRange(fs);
  if (needed !== undefined && !satisfiesMinimum(process.versions.node, needed)) {
    process.stderr.write(
      `pounce: error POUNCE_ERR_NODE_VERSION: this is Node ${process.versions.node}; pounce needs Node ${needed}\n`,
    );
    process.exitCode = 2;
  } else {
    // `serve` (the supervisor) leaves out V8's optimizing compilers (see supervisor/jit-tiers.ts) and
    // turns the compile cache on (see compile-cache.ts: for its workers, and from source for its own
    // modules too), in that order — V8's flags are part of the cache's version — before it loads the
    // rest of pounce.
    const serving = process.argv.slice(2).indexOf('serve') !== -1;
    (serving
      ? import('../supervisor/jit-tiers.ts')
          .then(
            (jit) => jit.withoutOptimizingCompilers(),
            () => {}, // with them pounce only uses more memory
          )
          .then(() => import('./compile-cache.ts'))
          .then(
            (cache) => cache.enableCompileCacheEarly(process.cwd()),
            () => {}, // without the early cache pounce only starts slower
          )
      : Promise.resolve()
    )
      .then(() => import('./run.ts'))
      .catch((err: unknown) => {
        process.stderr.write(
          `pounce: unexpected error: ${err instanceof Error && err.stack ? err.stack : String(err)}\n`,
        );
        process.exitCode = 1;
      });
  }
}

if (typeof process.getBuiltinModule === 'function') start(process.getBuiltinModule('node:fs'));
else import('node:fs').then(start);
