// V8's `gc` function, which Node gives only to a process started with --expose-gc. Without that
// flag it is set for a moment: V8 then gives `gc` to a context created while it is set (one made
// here and thrown away), never to the process's own global scope, and the flag is cleared again —
// so the flags V8 runs with (part of the key of cached code) are the same before and after, and
// the app (or a pounce.config file) sees no `gc`. node:v8 and node:vm are loaded only on that path.
// Used by the supervisor to compact its heap (supervisor/compact-heap.ts) and by a booting worker
// to collect its boot's garbage (worker/boot-garbage.ts).

export type Gc = (options?: {
  type?: 'major' | 'minor';
  execution?: 'sync' | 'async';
  flavor?: 'regular' | 'last-resort';
}) => void;

/**
 * The process's own `gc` when it was started with --expose-gc (the flag is not ours to clear), else
 * one from a throwaway context; undefined where V8 refuses. Not kept: a kept function would keep
 * its context alive.
 */
export function gcFunction(): Gc | undefined {
  const own = (globalThis as { gc?: unknown }).gc;
  if (typeof own === 'function') return own as Gc;
  const { setFlagsFromString } = process.getBuiltinModule('node:v8');
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = process
      .getBuiltinModule('node:vm')
      .runInNewContext('typeof gc === "function" ? gc : undefined');
    return typeof gc === 'function' ? (gc as Gc) : undefined;
  } catch {
    return undefined;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
}
