// Finds the app module a `PATH[:EXPORT]` argument names. Kept apart from loading: the supervisor
// checks the file exists (a fast, clear error) without loading any of the app-loading code.

import { pounceError } from '../errors.ts';

const { existsSync, statSync } = process.getBuiltinModule('node:fs');
const path = process.getBuiltinModule('node:path');

export interface AppSpec {
  /** Absolute path of the module file. */
  file: string;
  /** The export asked for with `:name`, or undefined for default-else-`app`. */
  exportName: string | undefined;
  /** The spec as the user wrote it, for messages. */
  text: string;
}

const EXTENSIONS = ['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs'];

/** Parses `./app.ts:name` and finds the file (trying the usual extensions and index files). */
export function resolveAppSpec(text: string, cwd: string): AppSpec {
  let modulePath = text;
  let exportName: string | undefined;
  const colon = text.lastIndexOf(':');
  if (colon > 0 && /^[A-Za-z_$][\w$]*$/.test(text.slice(colon + 1))) {
    modulePath = text.slice(0, colon);
    exportName = text.slice(colon + 1);
  }
  const base = path.resolve(cwd, modulePath);
  const candidates = [
    base,
    ...EXTENSIONS.map((ext) => base + ext),
    ...EXTENSIONS.map((ext) => path.join(base, `index${ext}`)),
  ];
  const file = candidates.find((f) => existsSync(f) && statSync(f).isFile());
  if (!file) {
    throw pounceError('APP_NOT_FOUND', { module: modulePath, base, extensions: EXTENSIONS });
  }
  return { file, exportName, text };
}
