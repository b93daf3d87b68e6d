// Streaming and SSE under reload and shutdown, against examples/sse-clock: events arrive as they
// are written (no buffering), a stream that spans a reload or a shutdown ends cleanly between two
// events when the app ends it, and the deadline cuts a stream the app does not end.

import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import { describe, test } from 'node:test';
import { appPath, control, ROOT, startServer } from './helpers/pounce.ts';

const CLOCK = path.join(ROOT, 'examples/sse-clock/app.ts');

interface Stream {
  /** Complete events (the text between blank lines), in order. */
  events: string[];
  /** Resolves when the stream ends: `end` (clean) or `cut` (error/abort), with any torn remainder. */
  done: Promise<{ how: 'end' | 'cut'; rest: string }>;
  /** Resolves when `n` complete events have arrived. */
  waitFor(n: number): Promise<void>;
}

function readStream(url: string): Stream {
  const events: string[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  let buffer = '';
  const done = new Promise<{ how: 'end' | 'cut'; rest: string }>((resolve) => {
    // A new connection each time, as an EventSource reconnecting after a close does.
    const req = http.get(url, { agent: false }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let boundary = buffer.indexOf('\n\n');
        while (boundary >= 0) {
          events.push(buffer.slice(0, boundary));
          buffer = buffer.slice(boundary + 2);
          boundary = buffer.indexOf('\n\n');
        }
        for (const w of waiters.filter((w) => events.length >= w.n)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
      });
      res.on('end', () => resolve({ how: 'end', rest: buffer }));
      res.on('error', () => resolve({ how: 'cut', rest: buffer }));
      res.on('aborted', () => resolve({ how: 'cut', rest: buffer }));
    });
    req.on('error', () => resolve({ how: 'cut', rest: buffer }));
  });
  return {
    events,
    done,
    waitFor: (n) =>
      events.length >= n ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ n, resolve })),
  };
}

/** Every event is well-formed: `retry:`, `id:` + `data:`, or the final `event: bye`. */
function assertWellFormed(events: string[]) {
  for (const event of events) {
    assert.match(
      event,
      /^(retry: \d+|id: \d+\ndata: \S+ worker \d+|event: bye\ndata: (reload|shutdown)|id: \d+\ndata: tick \d+)$/,
    );
  }
}

describe('SSE and streaming', () => {
  test('events arrive as they are written, not when the response ends', async (t) => {
    const server = await startServer(t, CLOCK);
    const stream = readStream(`${server.url}/clock?ms=100`);
    await stream.waitFor(4);
    assert.equal(stream.events.length >= 4, true, 'four events while the stream is still open');
    assertWellFormed(stream.events);
  });

  test('a stream that spans a reload ends cleanly with the app’s last event; the next one is on the new generation', async (t) => {
    const server = await startServer(t, CLOCK);
    const stream = readStream(`${server.url}/clock?ms=50`);
    await stream.waitFor(3);
    const oldWorker = /worker (\d+)/.exec(stream.events[1]!)?.[1];
    assert.equal((await control(t, server, 'reload')).code, 0);
    const { how, rest } = await stream.done;
    assert.equal(how, 'end');
    assert.equal(rest, '', 'no torn event');
    assert.equal(stream.events.at(-1), 'event: bye\ndata: reload');
    assertWellFormed(stream.events);
    const next = readStream(`${server.url}/clock?ms=50`);
    await next.waitFor(2);
    assert.notEqual(/worker (\d+)/.exec(next.events[1]!)?.[1], oldWorker);
  });

  test('shutdown: the stream ends with the app’s last event, then exit 0', async (t) => {
    const server = await startServer(t, CLOCK);
    const stream = readStream(`${server.url}/clock?ms=50`);
    await stream.waitFor(3);
    server.signal('SIGTERM');
    const { how, rest } = await stream.done;
    assert.equal(how, 'end');
    assert.equal(rest, '');
    assert.equal(stream.events.at(-1), 'event: bye\ndata: shutdown');
    assert.equal((await server.exited).code, 0);
  });

  test('a stream the app does not end is cut at the deadline, after whole events only', async (t) => {
    const server = await startServer(t, appPath('sse-stubborn.mjs'), ['--reload-timeout', '1']);
    const stream = readStream(`${server.url}/`);
    await stream.waitFor(3);
    assert.equal((await control(t, server, 'reload')).code, 0);
    const { how, rest } = await stream.done;
    assert.equal(how, 'cut');
    assert.equal(rest, '', 'the cut falls between two events');
    assertWellFormed(stream.events);
    await server.waitForEvent('reloadComplete');
    assert.match(
      String(server.logs.find((l) => l.event === 'workerForce')?.msg),
      /did not stop within reloadTimeout \(1s\) — force terminating 1 connection/,
    );
  });
});
