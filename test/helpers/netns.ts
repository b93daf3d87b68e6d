// A network namespace of the test's own (loopback up, its own sysctls), removed at the end of the
// test even when it fails. Needs root: `available()` says why not.

import { execFileSync } from 'node:child_process';
import type { TestContext } from 'node:test';

export function netnsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (ip netns add)';
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
  } catch {
    return 'needs iproute2 (ip netns)';
  }
  return undefined;
}

/** Creates the namespace; returns its name and the command prefix that runs a program inside it. */
export function netns(t: TestContext, sysctls: Record<string, string>): { name: string; exec: string[] } {
  const name = `pounce-t${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
  execFileSync('ip', ['netns', 'add', name]);
  t.after(() => execFileSync('ip', ['netns', 'del', name]));
  execFileSync('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  for (const [key, value] of Object.entries(sysctls))
    execFileSync('ip', ['netns', 'exec', name, 'sysctl', '-qw', `${key}=${value}`]);
  return { name, exec: ['ip', 'netns', 'exec', name] };
}
