// The versions a running pounce reports (`pounce --version`, `pounce status`, `pounce upgrade`).

const { readFileSync } = process.getBuiltinModule('node:fs');
/** This build's version, from its own package.json (read once: an upgrade replaces the file on disk). */
export const POUNCE_VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export const NODE_VERSION: string = process.versions.node;
