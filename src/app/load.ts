// Loads the user's app module: `PATH[:EXPORT]`, the default export else `app`. Each way this can
// fail has its own error code, because "file not found", "export missing" and "your code threw
// while importing" need three different fixes.

import { pounceError } from '../errors.ts';
import { onDrain, onReadinessCheck, onShutdown, onStartup } from './lifecycle.ts';
import type { AppSpec } from './resolve.ts';
import { type AppHandler, errorText, type Interface, toHandler } from './shape.ts';

const { spawnSync } = process.getBuiltinModule('node:child_process');
const { pathToFileURL } = process.getBuiltinModule('node:url');

export interface LoadedApp {
  spec: AppSpec;
  handler: AppHandler;
}

/**
 * Imports the module, picks the export, registers the lifecycle hooks it exports (`onStartup`,
 * `onDrain`, `onShutdown`), and builds the request listener (running a factory if there is one).
 */
export async function loadApp(spec: AppSpec, iface: Interface): Promise<LoadedApp> {
  const mod = await importModule(spec);
  const { value, where } = pickExport(mod, spec);
  registerModuleHooks(mod);
  const handler = await toHandler(value, iface, where);
  handler.upgrade ??= moduleUpgrade(mod);
  return { spec, handler };
}

/** Imports the module (once: a second call returns the same namespace); APP_IMPORT if it throws. */
export async function importModule(spec: AppSpec): Promise<Record<string, unknown>> {
  try {
    return await import(pathToFileURL(spec.file).href);
  } catch (err) {
    throw pounceError(
      'APP_IMPORT',
      { module: spec.text, error: errorText(err), location: importLocation(err, spec.file) },
      { cause: err },
    );
  }
}

function pickExport(mod: Record<string, unknown>, spec: AppSpec): { value: unknown; where: string } {
  const names = Object.keys(mod).filter((k) => k !== '__esModule' && k !== 'module.exports');
  const available = names.length ? names.join(', ') : 'none';
  if (spec.exportName !== undefined) {
    if (!(spec.exportName in mod) || mod[spec.exportName] === undefined) {
      throw pounceError('APP_EXPORT_MISSING', { file: spec.file, name: spec.exportName, available });
    }
    return {
      value: mod[spec.exportName],
      where: `Export ${JSON.stringify(spec.exportName)} of ${spec.file}`,
    };
  }
  for (const name of ['default', 'app']) {
    const value = mod[name];
    // A CJS module whose module.exports is an object with `app` arrives as default: { app }.
    if (name === 'default' && isPlainObjectWithApp(value)) {
      return { value: (value as { app: unknown }).app, where: `Export "app" of ${spec.file}` };
    }
    if (value !== undefined) return { value, where: `Export ${JSON.stringify(name)} of ${spec.file}` };
  }
  throw pounceError('APP_NO_DEFAULT_EXPORT', { file: spec.file, module: spec.text, available });
}

function isPlainObjectWithApp(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    Object.getPrototypeOf(value) === Object.prototype &&
    'app' in value &&
    typeof (value as { fetch?: unknown }).fetch !== 'function'
  );
}

/** `export function upgrade(req, socket, head)` next to the app receives WebSocket upgrades. */
function moduleUpgrade(mod: Record<string, unknown>): AppHandler['upgrade'] {
  const upgrade = mod.upgrade ?? (mod.default as { upgrade?: unknown } | undefined)?.upgrade;
  if (upgrade === undefined) return undefined;
  if (typeof upgrade !== 'function') {
    throw pounceError('APP_UPGRADE_SHAPE', { value: upgrade });
  }
  return upgrade as AppHandler['upgrade'];
}

const HOOK_NAMES = ['onStartup', 'onDrain', 'onShutdown', 'onReadinessCheck'] as const;

/**
 * Hooks exported next to the app are the same as those registered with `pounce`'s functions. ESM
 * apps export them by name; a CJS app's `module.exports = { app, onShutdown }` may only show them on
 * the default export.
 */
function registerModuleHooks(mod: Record<string, unknown>) {
  const hasNamed = HOOK_NAMES.some((name) => mod[name] !== undefined);
  const source = hasNamed ? mod : typeof mod.default === 'object' && mod.default !== null ? mod.default : {};
  const hooks = source as Record<string, unknown>;
  for (const name of HOOK_NAMES) {
    const hook = hooks[name];
    if (hook === undefined) continue;
    if (typeof hook !== 'function') {
      throw pounceError('APP_HOOK_SHAPE', { name, value: hook });
    }
  }
  if (typeof hooks.onStartup === 'function') onStartup(hooks.onStartup as () => unknown);
  if (typeof hooks.onDrain === 'function')
    onDrain(hooks.onDrain as (reason: 'reload' | 'shutdown') => unknown);
  if (typeof hooks.onShutdown === 'function') onShutdown(hooks.onShutdown as () => unknown);
  if (typeof hooks.onReadinessCheck === 'function') onReadinessCheck(hooks.onReadinessCheck as () => unknown);
}

/**
 * Where the import failed. A syntax error's stack names only Node's loader, not the user's file, so
 * ask `node --check` (same Node, error path only) for the file:line and the offending line.
 */
function importLocation(err: unknown, file: string): string {
  if (!(err instanceof Error) || !err.stack) return '';
  if (err instanceof SyntaxError) {
    const check = spawnSync(process.execPath, ['--check', file], { encoding: 'utf8', timeout: 10_000 });
    const where = check.stderr?.split('\n').find((line) => line.includes(':') && /:\d+$/.test(line.trim()));
    return where ? ` (at ${where.trim()})` : '';
  }
  const frame = err.stack.split('\n').find((line) => /^\s+at /.test(line) && !line.includes('node:internal'));
  return frame ? ` (${frame.trim()})` : '';
}
