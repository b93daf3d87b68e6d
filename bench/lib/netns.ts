// A network namespace of our own (loopback up, its own sysctls), for what must not touch the
// machine's network settings: thread mode's reloads with net.ipv4.tcp_migrate_req at 0 and at 1
// (the bench's scenario 8 and the thread-mode tests). Creating one needs root and iproute2.

import { execFileSync } from 'node:child_process';

/** Why no namespace can be created here, or undefined when one can. */
export function netnsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (ip netns add)';
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
  } catch {
    return 'needs iproute2 (ip netns)';
  }
  return undefined;
}

export interface Netns {
  name: string;
  /** The command prefix that runs a program inside it (`ip netns exec NAME`: the program keeps its pid). */
  exec: string[];
  /** Deletes it (its processes keep running, detached from it: end them first). Idempotent. */
  remove(): void;
}

/** Creates a namespace named `${prefix}${pid}-random`, loopback up, with these sysctls set inside. */
export function createNetns(prefix: string, sysctls: Record<string, string>): Netns {
  const name = `${prefix}${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
  execFileSync('ip', ['netns', 'add', name]);
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    execFileSync('ip', ['netns', 'del', name]);
  };
  try {
    execFileSync('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    for (const [key, value] of Object.entries(sysctls))
      execFileSync('ip', ['netns', 'exec', name, 'sysctl', '-qw', `${key}=${value}`]);
  } catch (err) {
    remove();
    throw err;
  }
  return { name, exec: ['ip', 'netns', 'exec', name], remove };
}
