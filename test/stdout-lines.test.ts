// log/stdout-lines.ts: lines to a pipe that never block the process, against a real pipe (a FIFO)
// whose reader the test controls, in a child process.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, readSync } from 'node:fs';
import path from 'node:path';
import { type TestContext, test } from 'node:test';
import { EXIT_STALL_MS, MAX_QUEUED_BYTES } from '../src/log/stdout-lines.ts';
import { FIXTURES, makePipe, waitFor } from './helpers/pounce.ts';

const WRITER = path.join(FIXTURES, 'ops/stdout-lines-writer.ts');

interface Writer {
  child: ChildProcess;
  /** Reads what the pipe holds now (never blocks). */
  read(): Buffer;
  /** The JSON lines the writer printed on stderr so far. */
  reports(): Record<string, unknown>[];
  exited: Promise<number>;
}

function startWriter(t: TestContext, count: number, size: number, waitMs: number): Writer {
  const { readFd, writeFd } = makePipe(t);
  t.after(() => closeSync(readFd));
  const started = Date.now();
  const child = spawn(
    process.execPath,
    ['--conditions=pounce-source', WRITER, String(count), String(size), String(waitMs)],
    { stdio: ['ignore', writeFd, 'pipe'] },
  );
  closeSync(writeFd);
  t.after(() => child.kill('SIGKILL'));
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  return {
    child,
    read() {
      const chunks: Buffer[] = [];
      const buffer = Buffer.alloc(1 << 16);
      for (;;) {
        let n: number;
        try {
          n = readSync(readFd, buffer);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'EAGAIN') break;
          throw error;
        }
        if (n === 0) break;
        chunks.push(Buffer.from(buffer.subarray(0, n)));
      }
      return Buffer.concat(chunks);
    },
    reports: () =>
      stderr
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    exited: once(child, 'exit').then(() => Date.now() - started),
  };
}

function numbers(text: string): number[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => (JSON.parse(l) as { i: number }).i);
}

test('a pipe nobody reads: the writer never blocks, and every line arrives, in order, once it is read', async (t) => {
  // 3000 lines of 300 bytes: 900 KB, far more than the pipe holds (64 KB), less than the queue.
  const writer = startWriter(t, 3000, 300, 1500);
  // The process went on past its writes at once: nothing blocked it.
  await waitFor('the writer to finish writing', () => writer.reports().some((r) => r.written === 3000));
  let text = '';
  await waitFor('every line', () => {
    text += writer.read().toString();
    return numbers(text).length === 3000;
  });
  assert.deepEqual(
    numbers(text),
    Array.from({ length: 3000 }, (_, i) => i),
  );
  await writer.exited;
  assert.ok(!writer.reports().some((r) => 'dropped' in r), 'nothing was dropped');
});

test('beyond the queue, lines are dropped and counted, and the count is told once stdout caught up', async (t) => {
  // 6000 lines of 400 bytes: 2.4 MB, more than the pipe and the queue (1 MB) together.
  const writer = startWriter(t, 6000, 400, 2000);
  await waitFor('the writer to finish writing', () => writer.reports().some((r) => r.written === 6000));
  let text = '';
  await waitFor('the drop report', () => {
    text += writer.read().toString();
    return writer.reports().some((r) => 'dropped' in r);
  });
  await writer.exited;
  text += writer.read().toString();
  const written = numbers(text);
  const dropped = Number(writer.reports().find((r) => 'dropped' in r)!.dropped);
  assert.equal(written.length + dropped, 6000, `${written.length} written + ${dropped} dropped`);
  // What was written is a prefix, in order: the first lines went through, the newest were dropped.
  assert.deepEqual(
    written,
    Array.from({ length: written.length }, (_, i) => i),
  );
  assert.ok(
    written.length * 400 >= MAX_QUEUED_BYTES,
    `at least the queue's worth written (${written.length})`,
  );
});

test('a pipe nobody reads at exit: the process exits after EXIT_STALL_MS without progress, not never', async (t) => {
  const writer = startWriter(t, 3000, 300, 100);
  const ms = await Promise.race([
    writer.exited,
    new Promise<number>((resolve) => setTimeout(() => resolve(Number.POSITIVE_INFINITY), 10_000).unref()),
  ]);
  assert.ok(Number.isFinite(ms), 'the writer did not exit while its stdout was not read');
  assert.ok(
    writer.reports().some((r) => r.exiting),
    'it reached its exit',
  );
  assert.ok(ms >= EXIT_STALL_MS, `it tried to write for EXIT_STALL_MS first (exited after ${ms} ms)`);
});
