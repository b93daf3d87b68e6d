// Command-line parsing. Flags are the kebab-case option names from the option table
// (`--shutdown-timeout 5`), so there is no second list of flags to keep in sync.

import { loadConfig } from '../config/load.ts';
import { kebab, type OptionName, optionNames, optionSpec } from '../config/options.ts';
import { applyPlatformDefaults, type ResolvedConfig } from '../deploy/platform.ts';
import { ErrorCode, PounceError, pounceError } from '../errors.ts';

const { parseArgs } = process.getBuiltinModule('node:util');

export const COMMANDS = [
  'serve',
  'check',
  'reload',
  'stop',
  'status',
  'top',
  'scale',
  'upgrade',
  'health',
  'generate',
  'help',
  'version',
] as const;
export type Command = (typeof COMMANDS)[number];

export interface ParsedArgs {
  command: Command;
  /** The APP argument: `PATH[:EXPORT]`. */
  app: string | undefined;
  flags: Partial<Record<OptionName, unknown>>;
  configFile: string | undefined;
  /** `status --json`. */
  json: boolean;
  /** `scale N`: the number of workers. */
  workers?: number;
  /** `generate TARGET [APP]`: what to generate, and its command's own flags. */
  target?: string;
  /** `generate --out DIR`, `generate --name NAME`, `health --url URL`. */
  out?: string;
  name?: string;
  url?: string;
  /** `upgrade --node PATH`: the Node executable for the new supervisor. */
  node?: string;
  /** `top --once`: one frame, then exit. */
  once?: boolean;
}

type ParseArgsOptions = NonNullable<Parameters<typeof parseArgs>[0]>['options'];

function flagDefinitions(): ParseArgsOptions {
  const defs: NonNullable<ParseArgsOptions> = {
    config: { type: 'string', short: 'c' },
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean', short: 'v' },
    json: { type: 'boolean' },
    out: { type: 'string' },
    name: { type: 'string' },
    url: { type: 'string' },
    node: { type: 'string' },
    once: { type: 'boolean' },
  };
  for (const name of optionNames) {
    const spec = optionSpec(name);
    defs[kebab(name)] =
      spec.flag === 'boolean'
        ? { type: 'boolean' }
        : spec.flag === 'list'
          ? { type: 'string', multiple: true }
          : { type: 'string' };
  }
  defs.workers = { ...defs.workers, type: 'string', short: 'w' };
  return defs;
}

function usageError(message: string): PounceError {
  return new PounceError(ErrorCode.USAGE, message);
}

/**
 * parseArgs reads a value that starts with "-" as the next flag, so `--port -1` would be reported
 * as "--port takes no value". A flag that takes a value and is followed by something that looks
 * like a negative number gets it as its value (`--port=-1`), so that the option's own rule answers.
 */
function attachNegativeNumbers(argv: readonly string[], defs: ParseArgsOptions): string[] {
  const takesValue = new Set<string>();
  for (const [name, def] of Object.entries(defs ?? {})) {
    if (def.type !== 'string') continue;
    takesValue.add(`--${name}`);
    if (def.short) takesValue.add(`-${def.short}`);
  }
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    if (takesValue.has(arg) && next !== undefined && /^-(\d|\.\d|infinity$)/i.test(next)) {
      out.push(`${arg.startsWith('--') ? arg : `--${longName(arg, defs)}`}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

function longName(short: string, defs: ParseArgsOptions): string {
  return Object.entries(defs ?? {}).find(([, def]) => `-${def.short}` === short)![0];
}

export function parseCommandLine(argv: readonly string[]): ParsedArgs {
  let parsed: ReturnType<typeof parseArgs>;
  const options = flagDefinitions();
  try {
    parsed = parseArgs({
      args: attachNegativeNumbers(argv, options),
      options,
      allowPositionals: true,
      allowNegative: true,
      strict: true,
    });
  } catch (err) {
    throw translateParseError(err as Error & { code?: string });
  }
  const { values, positionals } = parsed;
  if (values.help) return { command: 'help', app: undefined, flags: {}, configFile: undefined, json: false };
  if (values.version)
    return { command: 'version', app: undefined, flags: {}, configFile: undefined, json: false };

  const [first, ...rest] = positionals;
  if (first === undefined)
    return { command: 'help', app: undefined, flags: {}, configFile: undefined, json: false };
  if (!(COMMANDS as readonly string[]).includes(first)) {
    throw usageError(`Unknown command ${JSON.stringify(first)} — commands: ${COMMANDS.join(', ')}`);
  }
  const command = first as Command;
  // `generate TARGET [APP]`: the target comes first.
  const target = command === 'generate' ? rest.shift() : undefined;
  if (command === 'generate' && target === undefined)
    throw usageError(
      'Missing TARGET — usage: pounce generate kubernetes|docker|ecs|systemd|haproxy [APP] [--out DIR]',
    );
  if (rest.length > 1) throw usageError(`Too many arguments: ${rest.join(' ')} — ${command} takes one APP`);
  if (command === 'scale') {
    const count = rest[0];
    if (count === undefined || !/^\d+$/.test(count) || Number(count) < 1 || Number(count) > 1024) {
      const what =
        count === undefined
          ? 'Missing number of workers'
          : `Invalid number of workers ${JSON.stringify(count)}`;
      throw usageError(`${what} — usage: pounce scale N [options], N an integer from 1 to 1024`);
    }
  }
  if (command === 'upgrade' && rest.length > 0)
    throw usageError(`Unexpected argument ${rest[0]} — usage: pounce upgrade [--node PATH] [options]`);
  if (values.node !== undefined && command !== 'upgrade')
    throw usageError(`--node is a flag of pounce upgrade, not of pounce ${command}`);
  if (values.once !== undefined && command !== 'top')
    throw usageError(`--once is a flag of pounce top, not of pounce ${command}`);
  const app = command === 'scale' ? undefined : rest[0];
  if ((command === 'serve' || command === 'check') && app === undefined) {
    throw usageError(`Missing APP — usage: pounce ${command} PATH[:EXPORT] [options]`);
  }

  const flags: Partial<Record<OptionName, unknown>> = {};
  for (const name of optionNames) {
    const value = values[kebab(name)];
    if (value !== undefined) flags[name] = value;
  }
  const configFile = typeof values.config === 'string' ? values.config : undefined;
  const workers = command === 'scale' ? Number(rest[0]) : undefined;
  const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return {
    command,
    app,
    flags,
    configFile,
    json: values.json === true,
    workers,
    target,
    out: text(values.out),
    name: text(values.name),
    url: text(values.url),
    node: text(values.node),
    once: values.once === true,
  };
}

function translateParseError(err: Error & { code?: string }): PounceError {
  const flag = /'(-{1,2}[^' ]+)/.exec(err.message)?.[1];
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return pounceError('UNKNOWN_FLAG', { flag: flag ?? err.message });
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return pounceError(/argument missing/.test(err.message) ? 'FLAG_VALUE_MISSING' : 'FLAG_IS_SWITCH', {
        flag,
      });
    default:
      return usageError(err.message);
  }
}

/**
 * The configuration a command runs with: config file, environment and this command line's flags,
 * and the defaults of the platform pounce runs on (src/deploy/platform.ts).
 */
export async function loadCommandConfig(args: ParsedArgs, cwd = process.cwd()): Promise<ResolvedConfig> {
  const loaded = await loadConfig({ cwd, env: process.env, flags: args.flags, configFile: args.configFile });
  return applyPlatformDefaults(loaded, process.env);
}
