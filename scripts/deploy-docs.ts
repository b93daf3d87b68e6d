// Regenerates the files shown in docs/deploy/*.md from `pounce generate`, between the
// <!-- generated:FILE:start --> and <!-- generated:FILE:end --> markers of each page. `npm run docs`;
// a test fails when a page is out of date. Each page shows what the command on the page prints.

import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { loadConfig } from '../src/config/load.ts';
import { kebab } from '../src/config/options.ts';
import { generate, type TargetName } from '../src/deploy/generate.ts';
import { applyPlatformDefaults } from '../src/deploy/platform.ts';

/** The example every page uses: the command line shown on the page, as flags. */
export const PAGES: Record<TargetName, { flags: Record<string, string>; app?: string }> = {
  kubernetes: { flags: { healthCheckPath: '/health', livenessPath: '/livez', workers: '2' } },
  docker: { flags: { healthCheckPath: '/health', shutdownDelay: '1' }, app: './app.ts' },
  ecs: { flags: { healthCheckPath: '/health', shutdownDelay: '1' } },
  systemd: { flags: { healthCheckPath: '/health', shutdownDelay: '1', workers: '4' }, app: './app.ts' },
  haproxy: { flags: { healthCheckPath: '/health', shutdownDelay: '1' } },
};

export const NAME = 'myapp';

export function pageUrl(target: TargetName): URL {
  return new URL(`../docs/deploy/${target}.md`, import.meta.url);
}

const LANG: Record<string, string> = { yaml: 'yaml', json: 'json', service: 'ini', cfg: 'haproxy' };

function fence(path: string, content: string, given?: string): string {
  const ext = path.split('.').pop() ?? '';
  const lang = given ?? (path === 'Dockerfile' ? 'dockerfile' : (LANG[ext] ?? ''));
  return `\`\`\`${lang}\n${content.endsWith('\n') ? content : `${content}\n`}\`\`\``;
}

export async function renderPage(target: TargetName, text: string): Promise<string> {
  const page = PAGES[target];
  const loaded = await loadConfig({ cwd: tmpdir(), env: {}, configFile: false, flags: page.flags });
  const files = await generate(target, applyPlatformDefaults(loaded, {}), { name: NAME, app: page.app });
  const command = [
    `pounce generate ${target}`,
    ...(page.app ? [page.app] : []),
    ...Object.entries(page.flags).map(([name, value]) => `--${kebab(name)} ${value}`),
    `--name ${NAME}`,
  ].join(' ');
  let out = text;
  for (const file of [{ path: 'command', content: command, lang: 'sh' }, ...files]) {
    const start = `<!-- generated:${file.path}:start -->`;
    const end = `<!-- generated:${file.path}:end -->`;
    const a = out.indexOf(start);
    const b = out.indexOf(end);
    if (a < 0 || b < a) throw new Error(`docs/deploy/${target}.md lacks the markers for ${file.path}`);
    const lang = 'lang' in file ? file.lang : undefined;
    out = `${out.slice(0, a + start.length)}\n${fence(file.path, file.content, lang)}\n${out.slice(b)}`;
  }
  return out;
}

if (import.meta.main) {
  for (const target of Object.keys(PAGES) as TargetName[]) {
    const url = pageUrl(target);
    writeFileSync(url, await renderPage(target, readFileSync(url, 'utf8')));
  }
}
