// A network namespace of the test's own (loopback up, its own sysctls), removed at the end of the
// test even when it fails. Needs root: netnsUnavailable() says why not. (bench/lib/netns.ts.)

import type { TestContext } from 'node:test';
import { createNetns } from '../../bench/lib/netns.ts';

export { netnsUnavailable } from '../../bench/lib/netns.ts';

/** Creates the namespace; returns its name and the command prefix that runs a program inside it. */
export function netns(t: TestContext, sysctls: Record<string, string>): { name: string; exec: string[] } {
  const ns = createNetns('pounce-t', sysctls);
  t.after(() => ns.remove());
  return ns;
}
