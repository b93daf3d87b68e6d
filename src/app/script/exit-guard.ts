// process.exit() (or a signal to itself) from a server script's code while the worker drains. Scripts exit from their own
// shutdown paths (a held signal handler run as a shutdown hook, a server 'close' listener, a library
// that "exits cleanly"): obeyed at once during the drain, that would cut the responses pounce is
// still sending. So from the start of the drain, an exit called by app code is logged and held:
// the call returns, and the worker exits as it would anyway once the drain is done and the shutdown
// hooks ran (the drain is bounded by shutdownTimeout/reloadTimeout, the hooks by
// shutdownHookTimeout). Before a drain, process.exit() works as usual (the supervisor sees a crash
// and replaces the worker).
//
// pounce's own exits (the end of the drain, a second signal, the supervisor gone) must not be held.
// They are told apart by the caller's file: the frame above process.exit lies in pounce's own
// source (src/ or dist/), never in the app's.

import type { Logger } from '../../log/logger.ts';
import { onDrain } from '../lifecycle.ts';

const path = process.getBuiltinModule('node:path');
const { fileURLToPath, pathToFileURL } = process.getBuiltinModule('node:url');

const POUNCE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..') + path.sep;
const POUNCE_URL = pathToFileURL(POUNCE_DIR).href;

let onAppExit: () => void = () => {};
/** Resolves when app code called process.exit() during the drain (the call was held). */
export const appExitRequested = new Promise<void>((resolve) => {
  onAppExit = resolve;
});

export function guardAppExit(log: Logger): void {
  const exit = process.exit;
  let draining = false;
  onDrain(() => {
    draining = true;
  });
  process.exit = function guardedExit(code?: number | string | null) {
    if (draining && !calledByPounce(callerStack())) {
      log.event('scriptExitHeld', { code: String(code ?? process.exitCode ?? 0) });
      onAppExit();
      return undefined as never;
    }
    return exit.call(process, code);
  } as typeof process.exit;
  // NestJS's enableShutdownHooks() ends its handler by re-raising the signal on itself to exit:
  // during the drain that is the same request as process.exit(), and must not reach the worker's
  // own signal handling (which would report a signal to the supervisor).
  const kill = process.kill;
  process.kill = function guardedKill(pid: number, signal?: string | number) {
    const selfStop =
      pid === process.pid && (signal === 'SIGTERM' || signal === 'SIGINT' || signal === undefined);
    if (draining && selfStop && !calledByPounce(callerStack())) {
      log.event('scriptExitHeld', { code: `process.kill(process.pid, ${signal ?? 'SIGTERM'})` });
      onAppExit();
      return true;
    }
    return kill.call(process, pid, signal);
  } as typeof process.kill;
}

/** Taken in guardedExit, whatever stack depth the app configured (some set stackTraceLimit to 0). */
function callerStack(): string | undefined {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 4;
  try {
    // Taken here, one frame deeper: drop this function's own frame.
    return new Error().stack?.split('\n').toSpliced(1, 1).join('\n');
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** `stack` as seen from guardedExit: [0] "Error", [1] guardedExit, [2] the caller of process.exit. */
function calledByPounce(stack: string | undefined): boolean {
  const caller = stack?.split('\n')[2] ?? '';
  return caller.includes(POUNCE_URL) || caller.includes(POUNCE_DIR);
}
