// Builds the one frozen Config from its layers: defaults ← config file ← environment ← CLI flags.
// Every value is checked against its option's rule where it enters, so the error can say where the
// bad value came from (a flag, an env variable, the file).

import { configError, describeValue } from '../errors.ts';
import {
  type Config,
  defaults,
  envName,
  isOptionName,
  kebab,
  type OptionName,
  optionNames,
  optionSpec,
  options,
  type Source,
} from './options.ts';

const { existsSync, readFileSync } = process.getBuiltinModule('node:fs');
const path = process.getBuiltinModule('node:path');
const { pathToFileURL } = process.getBuiltinModule('node:url');

/** Names a config file may have, in the working directory. */
export const CONFIG_FILE_NAMES = [
  'pounce.config.ts',
  'pounce.config.js',
  'pounce.config.mjs',
  'pounce.config.json',
];

export interface ConfigInputs {
  /** Working directory: where the config file is looked for. */
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Values from CLI flags, keyed by option name; raw text (or booleans / lists for switches). */
  flags?: Partial<Record<OptionName, unknown>>;
  /** An explicit config file (`--config`, `POUNCE_CONFIG`); false disables the lookup. */
  configFile?: string | false;
  /** Values set in code (the programmatic API); typed, applied where a config file would be. */
  programmatic?: Partial<Record<string, unknown>>;
}

export interface LoadedConfig {
  config: Config;
  /** The config file that was read, if any. */
  configFile: string | undefined;
  /** The options set by the config file, the environment or a flag (the others have their default). */
  explicit: ReadonlySet<OptionName>;
}

function checkValue(name: OptionName, raw: unknown, source: Source, origin: string): unknown {
  const spec = optionSpec(name);
  const parsed = spec.parse(raw, source);
  if (parsed.ok) return (parsed as { value: unknown }).value;
  const shown = source === 'text' ? JSON.stringify(raw) : describeValue(raw);
  throw configError(`Invalid ${name} from ${origin}: ${shown} — must be ${spec.rule}`);
}

function unknownOption(name: string, origin: string): never {
  const hint = closest(name);
  throw configError(
    `Unknown option ${JSON.stringify(name)} in ${origin}${hint ? ` — did you mean ${JSON.stringify(hint)}?` : ''} (options: ${optionNames.join(', ')})`,
  );
}

/** Merge typed values (config file, programmatic options) onto `target`. */
function applyTyped(target: Record<string, unknown>, values: Record<string, unknown>, origin: string) {
  for (const [key, raw] of Object.entries(values)) {
    if (!isOptionName(key)) unknownOption(key, origin);
    if (raw === undefined) continue;
    target[key] = checkValue(key, raw, 'typed', origin);
  }
}

function applyEnv(target: Record<string, unknown>, env: NodeJS.ProcessEnv) {
  for (const name of optionNames) {
    // Generic names (PORT, WEB_CONCURRENCY) first, so the pounce-specific variable wins over them.
    const candidates = [...((options[name] as { env?: readonly string[] }).env ?? []), envName(name)];
    for (const variable of candidates) {
      const raw = env[variable];
      if (raw === undefined || raw === '') continue;
      target[name] = checkValue(name, raw, 'text', `environment variable ${variable}`);
    }
  }
  // A misspelt POUNCE_ variable would otherwise be silently ignored: the user believes a setting is
  // in force that is not.
  const known = new Set([...optionNames.map(envName), 'POUNCE_CONFIG']);
  for (const variable of Object.keys(env)) {
    if (variable.startsWith('POUNCE_') && !variable.startsWith('POUNCE_INTERNAL_') && !known.has(variable)) {
      throw configError(
        `Unknown environment variable ${variable} — pounce reads POUNCE_<OPTION> for these options: ${optionNames.join(', ')}`,
      );
    }
  }
}

function applyFlags(target: Record<string, unknown>, flags: Partial<Record<OptionName, unknown>>) {
  for (const [key, raw] of Object.entries(flags)) {
    if (raw === undefined || !isOptionName(key)) continue;
    target[key] = checkValue(key, raw, 'text', `--${kebab(key)}`);
  }
}

function checkCombination(config: Config) {
  if (config.uds !== undefined && config.fd !== undefined) {
    throw configError('Invalid listener: uds and fd are both set — choose one way to listen');
  }
  if ((config.certFile === undefined) !== (config.keyFile === undefined)) {
    throw configError('Invalid TLS: certFile and keyFile must be set together');
  }
  if (config.http2 && config.certFile === undefined) {
    throw configError(
      'Invalid http2: HTTP/2 needs TLS (certFile and keyFile) — Node cannot serve cleartext HTTP/2 and HTTP/1.1 on one port, and HTTP/1.1 clients and health checks must still connect',
    );
  }
  if (config.maxRequestsJitter > 0 && config.maxRequests === undefined) {
    throw configError('Invalid maxRequestsJitter: it is set without maxRequests — set maxRequests too');
  }
  for (const name of ['reloadDirs', 'reloadInclude'] as const) {
    if (config[name].length > 0 && !config.reload) {
      throw configError(
        `Invalid ${name}: it is set without reload — it only says what to watch with --reload; add --reload (reload: true) or remove ${name}`,
      );
    }
  }
  if (config.caFile !== undefined && config.certFile === undefined) {
    throw configError('Invalid TLS: caFile is set without certFile and keyFile');
  }
  if (config.clientCertificates !== 'none' && config.caFile === undefined) {
    throw configError(
      `Invalid clientCertificates: ${config.clientCertificates} needs caFile — the CAs client certificates are checked against (and certFile and keyFile, for TLS)`,
    );
  }
}

/** Finds the config file to read: the explicit one, else the single `pounce.config.*` in cwd. */
export function findConfigFile(cwd: string, explicit: string | undefined | false): string | undefined {
  if (explicit === false) return undefined;
  if (explicit !== undefined) {
    const file = path.resolve(cwd, explicit);
    if (!existsSync(file))
      throw configError(`Invalid config: config file ${JSON.stringify(explicit)} does not exist`);
    return file;
  }
  const found = CONFIG_FILE_NAMES.filter((name) => existsSync(path.join(cwd, name)));
  if (found.length > 1) {
    throw configError(`Invalid config: found ${found.join(' and ')} in ${cwd} — keep one config file`);
  }
  return found[0] === undefined ? undefined : path.join(cwd, found[0]);
}

/** Reads a config file into a plain object; any failure is a config error naming the file. */
export async function readConfigFile(file: string): Promise<Record<string, unknown>> {
  const name = path.basename(file);
  let value: unknown;
  if (file.endsWith('.json')) {
    try {
      // Editors on Windows save UTF-8 with a byte-order mark; JSON.parse would stop at it.
      value = JSON.parse(readFileSync(file, 'utf8').replace(/^\uFEFF/, ''));
    } catch (err) {
      throw configError(`Invalid config file ${name}: it is not valid JSON (${(err as Error).message})`);
    }
  } else {
    try {
      const mod = await import(pathToFileURL(file).href);
      value = mod.default ?? mod.config;
    } catch (err) {
      throw configError(`Invalid config file ${name}: it could not be loaded (${firstLine(err)})`);
    }
    if (typeof value === 'function') {
      try {
        value = await (value as () => unknown)();
      } catch (err) {
        throw configError(`Invalid config file ${name}: its exported function threw (${firstLine(err)})`);
      }
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw configError(
      `Invalid config file ${name}: it must export an object of options (default export or defineConfig()), got ${describeValue(value)}`,
    );
  }
  return value as Record<string, unknown>;
}

export async function loadConfig(inputs: ConfigInputs): Promise<LoadedConfig> {
  // The layers write into `set`, so what was set explicitly stays known (a default may depend on it).
  const set: Record<string, unknown> = {};
  const explicitFile = inputs.configFile ?? (inputs.env.POUNCE_CONFIG || undefined);
  const configFile = findConfigFile(inputs.cwd, explicitFile);
  if (configFile)
    applyTyped(set, await readConfigFile(configFile), `config file ${path.basename(configFile)}`);
  if (inputs.programmatic) applyTyped(set, inputs.programmatic, 'options');
  applyEnv(set, inputs.env);
  if (inputs.flags) applyFlags(set, inputs.flags);
  const config = Object.freeze({ ...defaults(), ...set }) as Config;
  checkCombination(config);
  return { config, configFile, explicit: new Set(Object.keys(set) as OptionName[]) };
}

function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0] ?? message;
}

/** The option name closest to a misspelt one, if any is close enough to be a likely typo. */
function closest(name: string): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const candidate of optionNames) {
    const d = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}
