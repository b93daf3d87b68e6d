// Writes an app module into a temporary directory, so a test can change the code on disk and
// reload: the version it answers on /version, or a broken variant.

import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export type Variant = 'ok' | 'syntax-error' | 'throws-on-import' | 'startup-rejects' | 'never-ready';

const ROUTES = (version: string) => `
export default function app(req, res) {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/version') return res.end(${JSON.stringify(version)});
  if (url.pathname === '/slow') {
    const ms = Number(url.searchParams.get('ms') ?? 500);
    if (ms >= 1000) process.stdout.write(JSON.stringify({ level: 30, event: 'appRequest', url: req.url, msg: 'app got a request' }) + '\\n');
    return setTimeout(() => res.end(${JSON.stringify(version)} + ' slow ' + ms), ms);
  }
  if (url.pathname === '/echo') {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => { body += c; });
    req.on('end', () => res.end(body));
    return;
  }
  res.end('hello ' + ${JSON.stringify(version)});
}
`;

export function appSource(version: string, variant: Variant = 'ok'): string {
  switch (variant) {
    case 'ok':
      return ROUTES(version);
    case 'syntax-error':
      return `${ROUTES(version)}\nexport const broken = (;\n`;
    case 'throws-on-import':
      return `${ROUTES(version)}\nthrow new Error('config for ${version} is missing');\n`;
    case 'startup-rejects':
      return `${ROUTES(version)}\nexport async function onStartup() { throw new Error('migration ${version} failed'); }\n`;
    case 'never-ready':
      return `${ROUTES(version)}\nexport function onStartup() { return new Promise(() => {}); }\n`;
  }
}

export class ReloadableApp {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'pounce-app-'));
  readonly file = path.join(this.dir, 'app.mjs');

  constructor(version = 'v1') {
    this.write(version);
  }

  write(version: string, variant: Variant = 'ok'): void {
    writeFileSync(this.file, appSource(version, variant));
  }
}

/** Writes versions v1…v`count` and reloads after each, asserting that every reload succeeds. */
export async function reloadEachVersion(
  app: ReloadableApp,
  count: number,
  reload: () => Promise<{ code: number | null; stderr: string }>,
): Promise<void> {
  for (let i = 1; i <= count; i++) {
    app.write(`v${i}`);
    const result = await reload();
    assert.equal(result.code, 0, `reload ${i}: ${result.stderr}`);
  }
}
