// Regenerates the configuration reference in README.md from the option table, between the
// <!-- config:start --> and <!-- config:end --> markers. `npm run docs`; a test fails when the
// README is out of date.

import { readFileSync, writeFileSync } from 'node:fs';
import { envName, kebab, optionNames, optionSpec } from '../src/config/options.ts';

export function configTable(): string {
  const rows = [
    '| option | flag | env | default | rule | what it does |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const name of optionNames) {
    const spec = optionSpec(name);
    const flag = spec.flag === 'boolean' ? `--[no-]${kebab(name)}` : `--${kebab(name)}`;
    const env = [envName(name), ...((spec as { env?: readonly string[] }).env ?? [])]
      .map((e) => `\`${e}\``)
      .join(', ');
    const def =
      spec.default === undefined
        ? 'unset'
        : Array.isArray(spec.default)
          ? spec.default.length
            ? spec.default.join(',')
            : 'none'
          : `\`${String(spec.default)}\``;
    rows.push(
      `| \`${name}\` | \`${flag}\` | ${env} | ${def} | ${spec.rule} | ${spec.doc.replaceAll('|', '\\|')} |`,
    );
  }
  return rows.join('\n');
}

export const README = new URL('../README.md', import.meta.url);

export function renderReadme(text: string): string {
  const start = '<!-- config:start -->';
  const end = '<!-- config:end -->';
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  if (a < 0 || b < a) throw new Error('README.md lacks the config markers');
  return `${text.slice(0, a + start.length)}\n${configTable()}\n${text.slice(b)}`;
}

if (import.meta.main) {
  writeFileSync(README, renderReadme(readFileSync(README, 'utf8')));
}
