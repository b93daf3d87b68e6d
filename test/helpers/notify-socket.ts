// A notification socket like systemd's (sd_notify(3)): an AF_UNIX datagram socket opened by
// test/fixtures/ops/notify-receiver.py, which reports every message with its sender's pid (read
// from SCM_CREDENTIALS, as systemd does).

import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { FIXTURES, killGroup } from './pounce.ts';

const RECEIVER = path.join(FIXTURES, 'ops/notify-receiver.py');

export interface Notification {
  pid: number;
  message: string;
  monotonicUsec: number;
}

/** A notification socket like systemd's: every datagram, with its sender's pid. */
export async function notifySocket(t: TestContext) {
  const dir = mkdtempSync(path.join(tmpdir(), 'pounce-notify-'));
  const socket = path.join(dir, 'notify.sock');
  const child = spawn('python3', [RECEIVER, socket, '90'], {
    detached: true,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => killGroup(child.pid!, 'SIGKILL'));
  const received: Notification[] = [];
  let partial = '';
  let bound: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    bound = resolve;
  });
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    partial += chunk;
    const lines = partial.split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      const parsed = JSON.parse(line) as Notification & { bound?: string };
      if (parsed.bound) bound();
      // systemd-notify's barrier (the helper transport) is part of the protocol, not a message.
      else if (parsed.message !== 'BARRIER=1') received.push(parsed);
    }
  });
  await ready;
  return {
    socket,
    received,
    /** The messages so far, without the watchdog pings, with changing numbers replaced by `N`. */
    messages: () =>
      received
        .filter((n) => n.message !== 'WATCHDOG=1')
        .map((n) => n.message.replace(/(MONOTONIC_USEC|EXTEND_TIMEOUT_USEC)=\d+/g, '$1=N')),
    async waitFor(what: string, predicate: (messages: string[]) => boolean, timeoutMs = 20_000) {
      const until = Date.now() + timeoutMs;
      while (!predicate(this.messages())) {
        if (Date.now() > until)
          throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.messages())}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
  };
}
