// Log lines to stdout that never block the process on a reader that stopped reading.
//
// Lifecycle lines were written synchronously to fd 1, so that the last lines before an exit are
// never lost. But when whatever reads stdout stops (a stalled log shipper, `docker logs`
// backpressure, a shell pipeline that stopped reading) the pipe fills, and the next write(2) blocks
// the whole process: a supervisor stuck there handles no signal, no control command and no crashed
// worker, and a worker stuck there neither starts nor exits. Here, when stdout is a pipe, pounce
// opens it a second time through /proc, non-blocking (stdoutDescriptor): a line is written at
// once, in order, when the pipe has room — the normal case, the same as a synchronous write — and
// waits in a bounded queue, retried by a timer, when it has none. Beyond MAX_QUEUED_BYTES lines are
// dropped and counted, and the count is reported once stdout has caught up. At exit the queue is
// written synchronously, giving up after EXIT_STALL_MS without progress: a reader that never comes
// back must not keep a process from exiting.
//
// A socket (systemd's journal, a parent that spawned pounce from Node) has no second open, and fd
// 1's own O_NONBLOCK flag cannot be relied on: it belongs to every process sharing the socket,
// libuv clears it in each child it spawns with an inherited stdout, and Node puts back at exit the
// flags it found at start. Lines to a socket are written to fd 1 as it is — they block while the
// reader stalls, as before — and still queued when a write fails with EAGAIN. (Writing them from the
// thread pool instead does not help: a pool thread blocked in write(2) holds the process's exit,
// which joins the pool.) A file or a terminal: fd 1 as it is.

import type { Stats } from 'node:fs';

const fs = process.getBuiltinModule('node:fs');

/** The most a process holds of lines stdout has not taken yet (about 3,000 lifecycle lines). */
export const MAX_QUEUED_BYTES = 2 ** 20;
/** How long an exit keeps trying to write what is queued while stdout makes no progress. */
export const EXIT_STALL_MS = 1000;
const RETRY_MIN_MS = 10;
const RETRY_MAX_MS = 250;

let descriptor: number | undefined;
/** Why lines to stdout may block this process (a socket, a pipe that could not be reopened), if so. */
let mayBlock: string | undefined;

/**
 * Where log lines go: for a pipe, a non-blocking descriptor of its own (its own open file
 * description, so fd 1 — shared with the workers, the app and whatever started pounce — keeps its
 * flags); otherwise fd 1; -1 when there is no stdout. Opened once per process; a worker thread is
 * given its host's (setStdoutDescriptor).
 */
export function stdoutDescriptor(): number {
  descriptor ??= openStdout();
  return descriptor;
}

/**
 * Why a reader of stdout that stops reading would stop this process at its next line, or undefined
 * when it would not (stdout is a pipe opened non-blocking, a file, a terminal).
 */
export function stdoutMayBlock(): string | undefined {
  stdoutDescriptor();
  return mayBlock;
}

/** For a worker thread: the descriptor its host process opened (one for every thread). */
export function setStdoutDescriptor(fd: number): void {
  descriptor = fd;
}

function openStdout(): number {
  let stat: Stats;
  try {
    stat = fs.fstatSync(1);
  } catch {
    return -1;
  }
  if (stat.isSocket()) mayBlock = 'stdout is a socket, which cannot be opened a second time, non-blocking';
  if (!stat.isFIFO()) return 1;
  try {
    return fs.openSync('/proc/self/fd/1', fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
  } catch (error) {
    // No /proc (not Linux, or not mounted); EACCES: the pipe belongs to another user (pounce was
    // started by a program that changed user after the pipe was made: su, gosu, su-exec, sudo -u).
    mayBlock = `stdout is a pipe that could not be opened a second time, non-blocking (${(error as NodeJS.ErrnoException).code ?? String(error)})`;
    return 1;
  }
}

type WriteResult = 'all' | 'again' | 'closed' | number;

/** A pino destination: whole lines, in order, never blocking (see the top of this file). */
export class StdoutLines {
  readonly #fd: number;
  readonly #onDropped: (lines: number, queuedBytes: number) => void;
  #queue: Buffer[] = [];
  #queuedBytes = 0;
  #dropped = 0;
  #closed: boolean;
  #timer: NodeJS.Timeout | undefined;
  #retryMs = RETRY_MIN_MS;
  /** `onDropped` is told, once stdout has caught up, how many lines did not fit in the queue. */
  constructor(fd: number, onDropped: (lines: number, queuedBytes: number) => void) {
    this.#fd = fd;
    this.#onDropped = onDropped;
    this.#closed = fd < 0;
    process.once('exit', () => this.flushSync());
  }

  write(line: string): void {
    if (this.#closed) return;
    if (this.#queue.length > 0) {
      this.#enqueue(Buffer.from(line));
      return;
    }
    const written = this.#writeNow(line);
    if (written === 'all' || written === 'closed') return;
    const rest = Buffer.from(line);
    this.#enqueue(written === 'again' ? rest : rest.subarray(written));
    this.#schedule();
  }

  /**
   * Writes what is queued, synchronously (at exit). Gives up after EXIT_STALL_MS in which stdout
   * took nothing; a reader that is slow but alive keeps it going.
   */
  flushSync(): void {
    clearTimeout(this.#timer);
    if (this.#queue.length === 0 || this.#closed) return;
    let giveUpAt = Date.now() + EXIT_STALL_MS;
    while (this.#queue.length > 0 && !this.#closed) {
      const progressed = this.#writeQueued();
      if (progressed) giveUpAt = Date.now() + EXIT_STALL_MS;
      else if (Date.now() >= giveUpAt) return;
      else if (this.#queue.length > 0) sleepSync(5);
    }
    this.#caughtUp();
  }

  #enqueue(data: Buffer): void {
    if (this.#queuedBytes + data.length > MAX_QUEUED_BYTES) {
      this.#dropped++;
      return;
    }
    this.#queue.push(data);
    this.#queuedBytes += data.length;
  }

  #schedule(): void {
    if (this.#timer || this.#closed) return;
    // Unref'd: pending lines do not keep a process alive; the exit hook writes them.
    this.#timer = setTimeout(() => this.#retry(), this.#retryMs).unref();
    this.#retryMs = Math.min(this.#retryMs * 2, RETRY_MAX_MS);
  }

  #retry(): void {
    this.#timer = undefined;
    // A reader that took something is reading again: retry soon. One that took nothing: back off.
    if (this.#writeQueued()) this.#retryMs = RETRY_MIN_MS;
    if (this.#queue.length > 0) {
      this.#schedule();
      return;
    }
    this.#retryMs = RETRY_MIN_MS;
    this.#caughtUp();
  }

  /** The queue is empty again: report what was dropped meanwhile. */
  #caughtUp(): void {
    if (this.#dropped === 0 || this.#closed) return;
    const lines = this.#dropped;
    this.#dropped = 0;
    this.#onDropped(lines, MAX_QUEUED_BYTES);
  }

  /** Writes queued lines until stdout takes no more; true if it took anything. */
  #writeQueued(): boolean {
    let progressed = false;
    while (this.#queue.length > 0) {
      const head = this.#queue[0]!;
      const written = this.#writeNow(head);
      if (written === 'again' || written === 'closed') return progressed;
      progressed = true;
      const taken = written === 'all' ? head.length : written;
      this.#queuedBytes -= taken;
      if (taken === head.length) this.#queue.shift();
      else this.#queue[0] = head.subarray(taken);
    }
    return progressed;
  }

  #writeNow(data: string | Buffer): WriteResult {
    try {
      const [written, length] =
        typeof data === 'string'
          ? [fs.writeSync(this.#fd, data), Buffer.byteLength(data)]
          : [fs.writeSync(this.#fd, data), data.length];
      return written >= length ? 'all' : written;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN' || code === 'EWOULDBLOCK' || code === 'EINTR') return 'again';
      this.#close();
      return 'closed';
    }
  }

  /**
   * EPIPE (the reader is gone for good), EBADF (stdout closed), anything else: nothing written to
   * stdout can ever arrive; drop what is queued and whatever comes.
   */
  #close(): void {
    this.#closed = true;
    this.#queue = [];
    this.#queuedBytes = 0;
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}
