// `pounce generate TARGET [APP] [--out DIR] [--name NAME]`: deployment files computed from the
// configuration `pounce serve` would use here (config file, env, flags). Printed to stdout, each
// file after a `# ==> path <==` line, or written under --out.

import { generate, isTarget, TARGETS } from '../deploy/generate.ts';
import { ExitCode, pounceError } from '../errors.ts';
import { loadCommandConfig, type ParsedArgs } from './args.ts';

const { readFileSync } = process.getBuiltinModule('node:fs');
const { mkdir, writeFile } = process.getBuiltinModule('node:fs/promises');
const path = process.getBuiltinModule('node:path');

const LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export async function generateCommand(args: ParsedArgs): Promise<number> {
  const target = args.target ?? '';
  if (!isTarget(target)) {
    throw pounceError('UNKNOWN_TARGET', { target, targets: Object.keys(TARGETS) });
  }
  const cwd = process.cwd();
  const resolved = await loadCommandConfig(args, cwd);
  const files = await generate(target, resolved, { name: deploymentName(args.name, cwd), app: args.app });
  if (args.out === undefined) {
    const many = files.length > 1;
    process.stdout.write(
      files.map((f) => (many ? `# ==> ${f.path} <==\n${f.content}` : f.content)).join('\n'),
    );
    return ExitCode.OK;
  }
  const out = args.out;
  const dir = path.resolve(cwd, out);
  await mkdir(dir, { recursive: true });
  for (const file of files) await writeFile(path.join(dir, file.path), file.content);
  process.stdout.write(`Wrote ${files.map((f) => path.join(out, f.path)).join(', ')}\n`);
  return ExitCode.OK;
}

/** --name, else the package name of the working directory, else its directory name. */
function deploymentName(given: string | undefined, cwd: string): string {
  if (given !== undefined) {
    if (!LABEL.test(given)) {
      throw pounceError('INVALID_NAME_FLAG', { name: given });
    }
    return given;
  }
  let name = path.basename(cwd);
  try {
    const pkg = JSON.parse(readFileSync(path.join(cwd, 'package.json'), 'utf8')) as { name?: unknown };
    if (typeof pkg.name === 'string') name = pkg.name.replace(/^@[^/]*\//, '');
  } catch {
    // no package.json: the directory name
  }
  const label = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return label || 'app';
}
