// A server script's own SIGTERM/SIGINT handlers. Next.js standalone, Nitro, SvelteKit and many
// hand-written servers install one that calls server.close() and process.exit(). In a pounce worker
// the supervisor decides when a worker stops, and the drain engine decides when its connections
// close: run at the signal, such a handler would cut the requests in flight and exit under the
// drain. So while the script runs, process.on/once/addListener/prependListener for these signals
// keep the handler aside instead of installing it; pounce runs the kept handlers once, as a shutdown
// hook, after the drain (within shutdownHookTimeout), whether the worker leaves for a shutdown or a
// reload, and lets them finish (see below) before the worker exits. The worker's own signal handling (src/worker/main.ts) was installed before and is untouched.

import { onShutdown } from '../lifecycle.ts';
import { appExitRequested } from './exit-guard.ts';

const { once } = process.getBuiltinModule('node:events');

const HELD_SIGNALS = new Set<string | symbol>(['SIGTERM', 'SIGINT']);
type Handler = (signal: NodeJS.Signals) => unknown;

export interface HeldSignals {
  /** How many handlers the script installed so far. */
  readonly count: number;
  /** Installs the kept handlers for real and stops holding (the module exported its app after all). */
  release(): void;
}

export function holdSignalHandlers(): HeldSignals {
  const held = new Map<string, Handler[]>([
    ['SIGTERM', []],
    ['SIGINT', []],
  ]);
  const originals = {
    on: process.on,
    addListener: process.addListener,
    once: process.once,
    prependListener: process.prependListener,
    prependOnceListener: process.prependOnceListener,
    off: process.off,
    removeListener: process.removeListener,
    removeAllListeners: process.removeAllListeners,
  };
  const keep = (method: keyof typeof originals) =>
    function (this: NodeJS.Process, event: string | symbol, listener: Handler) {
      if (!HELD_SIGNALS.has(event))
        return (originals[method] as (...a: unknown[]) => unknown).call(this, event, listener);
      held.get(event as string)!.push(listener);
      return this;
    };
  const drop = (method: 'off' | 'removeListener') =>
    function (this: NodeJS.Process, event: string | symbol, listener: Handler) {
      if (!HELD_SIGNALS.has(event)) return originals[method].call(this, event, listener as never);
      const list = held.get(event as string)!;
      const at = list.lastIndexOf(listener);
      if (at >= 0) list.splice(at, 1);
      return this;
    };
  const patch: Partial<Record<keyof typeof originals, unknown>> = {
    on: keep('on'),
    addListener: keep('addListener'),
    once: keep('once'),
    prependListener: keep('prependListener'),
    prependOnceListener: keep('prependOnceListener'),
    off: drop('off'),
    removeListener: drop('removeListener'),
    // Removing every SIGTERM listener must not remove the worker's own.
    removeAllListeners(this: NodeJS.Process, event?: string | symbol) {
      if (event !== undefined && HELD_SIGNALS.has(event)) held.set(event as string, []);
      else originals.removeAllListeners.call(this, event);
      return this;
    },
  };
  Object.assign(process, patch);

  onShutdown(async () => {
    // A script usually installs one function for both signals; each runs once, as for SIGTERM (the
    // signal a service manager stops with), or SIGINT if it listened only for that.
    const term = held.get('SIGTERM')!;
    const [signal, list] = term.length
      ? (['SIGTERM', term] as const)
      : (['SIGINT', held.get('SIGINT')!] as const);
    if (list.length === 0) return;
    await Promise.all([...new Set(list)].map((handler) => handler(signal)));
    // Such a handler rarely returns a promise: it calls server.close(callback) and exits from the
    // callback. Its work is done when it calls process.exit() (held, see exit-guard.ts) or when it
    // has nothing left to run; shutdownHookTimeout bounds the wait. The IPC channel would keep the
    // event loop alive forever: nothing more comes through it now (the supervisor already sent
    // `exit`), so it stops counting.
    process.channel?.unref();
    await Promise.race([appExitRequested, once(process, 'beforeExit')]);
  });

  return {
    get count() {
      return held.get('SIGTERM')!.length + held.get('SIGINT')!.length;
    },
    release() {
      Object.assign(process, originals);
      for (const [signal, list] of held) for (const handler of list.splice(0)) process.on(signal, handler);
    },
  };
}
