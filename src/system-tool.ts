// util-linux's tools that pounce runs on its workers (chrt in sched-idle.ts, taskset in
// cpu-affinity.ts): Node has no call for scheduling policies or CPU affinity. Only an executable at
// one of a few fixed paths is used, never one looked up in PATH (the supervisor may run as root),
// and only on Linux.

const { accessSync, constants } = process.getBuiltinModule('node:fs');

const found = new Map<string, string | undefined>();

/** The first executable of `paths` on this host, or undefined (looked up once per tool). */
export function systemTool(paths: readonly string[]): string | undefined {
  const key = paths.join(':');
  if (!found.has(key)) {
    found.set(
      key,
      process.platform !== 'linux'
        ? undefined
        : paths.find((candidate) => {
            try {
              accessSync(candidate, constants.X_OK);
              return true;
            } catch {
              return false;
            }
          }),
    );
  }
  return found.get(key);
}
