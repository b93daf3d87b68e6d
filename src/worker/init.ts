// A worker's birth information arrives as JSON in an environment variable (see WorkerInit in
// ipc/messages.ts). It is checked here rather than trusted by a cast: a worker started by hand, by
// a different pounce version, or with a damaged variable says so in one line instead of failing
// somewhere deep inside with an undefined field.

import { type Config, defaults, optionNames } from '../config/options.ts';
import type { BootCpus, InheritedFd, WorkerInit } from '../ipc/messages.ts';

/** The WorkerInit in `text`, or a reason it is not one. */
export function parseWorkerInit(text: string | undefined): WorkerInit | string {
  if (text === undefined) return 'the worker entry point is started by the pounce supervisor, not directly';
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'the worker information from the supervisor is not valid JSON';
  }
  const v = value as Partial<Record<keyof WorkerInit, unknown>> | null;
  const problem =
    typeof v !== 'object' || v === null
      ? 'not an object'
      : !Number.isInteger(v.workerId)
        ? 'workerId'
        : !Number.isInteger(v.generation)
          ? 'generation'
          : typeof v.app !== 'string' || typeof v.cwd !== 'string'
            ? 'app or cwd'
            : !isConfig(v.config)
              ? 'config'
              : !Array.isArray(v.inheritedFds) || !v.inheritedFds.every(isInheritedFd)
                ? 'inheritedFds'
                : v.bootPriority !== undefined && !Number.isInteger(v.bootPriority)
                  ? 'bootPriority'
                  : v.bootCpus !== undefined && !isBootCpus(v.bootCpus)
                    ? 'bootCpus'
                    : v.warmUp !== undefined && typeof v.warmUp !== 'boolean'
                      ? 'warmUp'
                      : undefined;
  if (problem)
    return `the worker information from the supervisor is damaged (${problem}): is it the same pounce version?`;
  return v as WorkerInit;
}

/** Every option is there, except optional ones that are unset (JSON drops undefined values). */
function isConfig(value: unknown): value is Config {
  if (typeof value !== 'object' || value === null) return false;
  const base = defaults();
  return optionNames.every((name) => name in value || base[name] === undefined);
}

function isInheritedFd(value: unknown): value is InheritedFd {
  return typeof value === 'object' && value !== null && Number.isInteger((value as InheritedFd).fd);
}

function isBootCpus(value: unknown): value is BootCpus {
  const v = value as Partial<BootCpus> | null;
  return typeof v === 'object' && v !== null && typeof v.boot === 'string' && typeof v.serve === 'string';
}
