// One logger for the process: pino, JSON lines when stdout is not a terminal (or logFormat=json),
// readable lines when it is. Each JSON line is written at once, in order, so that the last lines
// before an exit (a forced shutdown, a startup failure) are never lost in a buffer, but never by a
// write that blocks: a stdout that stopped reading must not stop the process (stdout-lines.ts). The
// access log's lines are many and buffered (createAccessLogger).

import pino from 'pino';
import sonicBoom from 'sonic-boom';
import type { Config } from '../config/options.ts';
import { catalogue, type EventFields, type EventName } from './catalogue.ts';
import { pinoIsoTime } from './iso-time.ts';
import { EXIT_STALL_MS, StdoutLines, stdoutDescriptor } from './stdout-lines.ts';

const { createRequire } = process.getBuiltinModule('node:module');

export interface Logger {
  /** Logs one event from the catalogue. */
  event<E extends EventName>(
    name: E,
    ...fields: EventFields<E> extends Record<string, never> ? [] : [EventFields<E>]
  ): void;
  /** The underlying pino logger, for ad-hoc debug output. */
  readonly pino: pino.Logger;
  child(bindings: Record<string, unknown>): Logger;
}

function wrap(base: pino.Logger): Logger {
  return {
    pino: base,
    event(name, ...rest) {
      const fields = (rest[0] ?? {}) as Record<string, unknown>;
      const entry = catalogue[name] as { level: pino.Level; message: (f: unknown) => string };
      base[entry.level]({ event: name, ...fields }, entry.message(fields));
    },
    child: (bindings) => wrap(base.child(bindings)),
  };
}

function usePretty(config: Pick<Config, 'logFormat'>): boolean {
  // isatty, not process.stdout.isTTY: creating Node's stdout stream is not needed to know. node:tty
  // only for `auto`: a supervisor told its format keeps no module it does not use.
  return (
    config.logFormat === 'pretty' ||
    (config.logFormat === 'auto' && process.getBuiltinModule('node:tty').isatty(1))
  );
}

function pinoOptions(level: pino.LevelWithSilent): pino.LoggerOptions {
  return { level, base: { pid: process.pid }, timestamp: pinoIsoTime };
}

// pino-pretty is loaded only for a terminal: JSON logging (production) does not pay for it.
function prettyDestination(): pino.DestinationStream {
  return (createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty'))({
    sync: true,
    ignore: 'pid,hostname,event',
    translateTime: 'SYS:yyyy-mm-dd HH:MM:ss',
  });
}

export function createLogger(config: Pick<Config, 'logLevel' | 'logFormat'>): Logger {
  if (usePretty(config)) return wrap(pino(pinoOptions(config.logLevel), prettyDestination()));
  const destination = new StdoutLines(stdoutDescriptor(), (lines, queuedBytes) =>
    logger.event('logLinesDropped', { lines, queuedKb: queuedBytes / 1024 }),
  );
  const logger = wrap(pino(pinoOptions(config.logLevel), destination));
  return logger;
}

/**
 * Access lines are buffered: written in chunks of whole lines once ACCESS_MIN_BYTES have piled up,
 * at least once a second, and asynchronously, so a request never waits for stdout (a slow reader of
 * the pipe, a busy journal) and a busy worker makes one write() per dozen requests rather than one
 * each. Each write is at most PIPE_BUF_BYTES: the workers and the supervisor share one stdout, and
 * the kernel writes that much to a pipe in one piece, so lines of different processes never mix —
 * except a single line longer than that, which is written (and may be cut by a full pipe) alone.
 */
const ACCESS_MIN_BYTES = 3072;
const PIPE_BUF_BYTES = 4096;
const ACCESS_FLUSH_MS = 1000;

/** How long flush() waits for stdout (a reader that stopped reading must not hold a worker's exit). */
const ACCESS_FLUSH_WAIT_MS = 2000;
/**
 * The most access lines a worker holds while stdout does not keep up (a reader that stopped
 * reading, a stalled log shipper): beyond it new lines are dropped and counted, not buffered, so a
 * blocked stdout costs at most this much memory, never the worker. About 60,000 typical lines.
 */
export const ACCESS_MAX_BUFFER_BYTES = 16 * 2 ** 20;

export interface AccessLogger {
  readonly pino: pino.Logger;
  /** Resolves once every line logged so far has been written (or after ACCESS_FLUSH_WAIT_MS). */
  flush(): Promise<void>;
}

/**
 * The access log's own logger (option `accessLog`): JSON lines on stdout like the rest, at `info`
 * whatever `logLevel` says (the option asked for them), buffered (see ACCESS_MIN_BYTES). Whatever is
 * still buffered when the process (or thread) exits is written synchronously then; a worker that
 * exits normally has flushed before (see flush()). Lines are lost only to SIGKILL (at most the last
 * second's) and to a stdout that took nothing for EXIT_STALL_MS at exit. In a terminal (pretty format, development) lines are written at once. Lines that do not
 * fit in ACCESS_MAX_BUFFER_BYTES are dropped and their count goes to `onDropped`.
 */
export function createAccessLogger(
  config: Pick<Config, 'logFormat'>,
  bindings: Record<string, unknown>,
  onDropped: (lines: number) => void,
): AccessLogger {
  if (usePretty(config)) {
    const logger = pino(pinoOptions('info'), prettyDestination()).child(bindings);
    return { pino: logger, flush: () => Promise.resolve() };
  }
  // Written through the non-blocking descriptor of a pipe (stdout-lines.ts): a stalled reader
  // holds lines in the buffer, never a thread. At exit, what is buffered is written synchronously
  // (flushSync): sonic-boom asks retryEAGAIN whether to go on each time stdout takes nothing; it
  // goes on while stdout makes progress, and gives up after EXIT_STALL_MS without any.
  let exiting = false;
  let giveUpAt = 0;
  let lastRemaining = Number.POSITIVE_INFINITY;
  // A SonicBoom of our own rather than pino.destination(): pino's would also flush it at exit on
  // its own, retrying for as long as stdout takes nothing — forever, if the reader stalled.
  const destination = new sonicBoom.SonicBoom({
    fd: stdoutDescriptor(),
    sync: false,
    minLength: ACCESS_MIN_BYTES,
    maxWrite: PIPE_BUF_BYTES,
    periodicFlush: ACCESS_FLUSH_MS,
    maxLength: ACCESS_MAX_BUFFER_BYTES,
    retryEAGAIN: (_error, _writing, remaining) => {
      if (!exiting) return true;
      if (remaining < lastRemaining) {
        lastRemaining = remaining;
        giveUpAt = Date.now() + EXIT_STALL_MS;
      }
      return Date.now() < giveUpAt;
    },
  });
  // A stdout that is gone (EPIPE: the reader exited) loses the lines; it must not crash the worker.
  destination.on('error', () => {});
  // Dropped lines are reported once stdout has caught up (the buffer drained), not while it is
  // blocked: the report would only wait behind the lines. Each write of pino is one line.
  let dropped = 0;
  const report = () => {
    if (dropped === 0) return;
    const lines = dropped;
    dropped = 0;
    onDropped(lines);
  };
  destination.on('drop', () => dropped++);
  destination.on('drain', report);
  process.once('exit', () => {
    exiting = true;
    giveUpAt = Date.now() + EXIT_STALL_MS;
    try {
      destination.flushSync();
    } catch {
      // stdout is gone, or took nothing for EXIT_STALL_MS: what is left is lost
    }
    report();
  });
  return {
    pino: pino(pinoOptions('info'), destination).child(bindings),
    flush: () =>
      new Promise((resolve) => {
        const timer = setTimeout(resolve, ACCESS_FLUSH_WAIT_MS).unref();
        destination.flush(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}
