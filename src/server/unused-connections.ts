// Connections that have not sent a single byte yet. Node's headersTimeout clock starts at a
// request's first byte, so a connection that stays silent was never closed: a few thousand of them
// (a load balancer's pre-connects gone stale, or an attacker) held every file descriptor, and normal
// clients were reset. Here:
//   - a connection silent for headersTimeout since its accept is closed (for TLS: its handshake, and
//     then its first request, each get headersTimeout); checked every SWEEP_MS, so it is closed
//     within headersTimeout + SWEEP_MS;
//   - near the process's descriptor limit (descriptors.ts), the oldest silent connections are closed
//     at once — only those silent for SHED_MIN_AGE_MS at least: a normal client sends its request
//     (or its TLS ClientHello) right after connecting, so it arrives with the accept or just after.
// The cost per connection is one Map insert and delete and one clock read; the sweep visits only the
// connections still silent at the previous sweep and the new ones since.

import type { Socket } from 'node:net';
import type { Logger } from '../log/logger.ts';
import { type DescriptorBudget, descriptorBudget } from './descriptors.ts';

/** How often silent connections are looked at (also Node's connectionsCheckingInterval). */
export const SWEEP_MS = 500;
/** Under descriptor pressure, a connection silent for this long may be closed before headersTimeout. */
export const SHED_MIN_AGE_MS = 100;
/** Connections closed when accept() reports EMFILE/ENFILE, whatever the budget says. */
const OUT_OF_DESCRIPTORS_SHED = 32;
/** The descriptor warning is logged at most this often. */
const WARN_EVERY_MS = 60_000;

export class UnusedConnections {
  /** Silent so far, in accept order: socket → accepted at (ms). */
  readonly #silent = new Map<Socket, number>();
  readonly #firstByteMs: number;
  readonly #budget: DescriptorBudget | null = descriptorBudget();
  readonly #log: Logger;
  readonly #workerId: number;
  readonly #sweep: NodeJS.Timeout;
  #warnedAt = Number.NEGATIVE_INFINITY;
  #shedSinceWarning = 0;

  constructor(firstByteMs: number, log: Logger, workerId: number) {
    this.#firstByteMs = firstByteMs;
    this.#log = log;
    this.#workerId = workerId;
    this.#sweep = setInterval(() => this.#sweepNow(), SWEEP_MS).unref();
  }

  /** A connection accepted from the listening socket: one descriptor, silent so far. */
  accepted(raw: Socket): void {
    this.#silent.set(raw, Date.now());
    const budget = this.#budget;
    if (budget === null) {
      raw.once('close', () => this.#silent.delete(raw));
      return;
    }
    budget.connections++;
    raw.once('close', () => {
      this.#silent.delete(raw);
      budget.connections--;
    });
    if (budget.pressed) this.#shed(Date.now());
  }

  /** A TLS connection whose handshake just ended: its request has yet to come. */
  handshaken(socket: Socket, raw: Socket): void {
    this.#silent.delete(raw);
    this.#silent.set(socket, Date.now());
    socket.once('close', () => this.#silent.delete(socket));
  }

  /** Stops the sweep (the server is closed). */
  dispose(): void {
    clearInterval(this.#sweep);
  }

  #sweepNow() {
    const now = Date.now();
    let closed = 0;
    for (const [socket, acceptedAt] of this.#silent) {
      if (socket.bytesRead > 0) this.#silent.delete(socket);
      else if (now - acceptedAt >= this.#firstByteMs) {
        this.#silent.delete(socket);
        socket.destroy();
        closed++;
      }
    }
    if (closed > 0)
      this.#log.event('silentClosed', { connections: closed, seconds: this.#firstByteMs / 1000 });
    // Accepting may be stuck (libuv resets what it cannot accept): shed without waiting for one.
    if (this.#budget?.pressed) this.#shed(now);
  }

  /**
   * accept() failed for want of descriptors (Node reports it only when libuv has no reserve left,
   * and then for every attempt): make room as under pressure, even where the budget is unknown.
   */
  outOfDescriptors(): void {
    this.#shed(Date.now(), OUT_OF_DESCRIPTORS_SHED);
  }

  /** Closes the oldest connections silent for SHED_MIN_AGE_MS, as many as the budget asks. */
  #shed(now: number, atLeast = 0) {
    const budget = this.#budget;
    let excess = Math.max(budget?.excess(now) ?? 0, atLeast);
    if (excess <= 0) return;
    let shed = 0;
    for (const [socket, acceptedAt] of this.#silent) {
      if (excess <= 0 || now - acceptedAt < SHED_MIN_AGE_MS) break; // the rest are younger
      this.#silent.delete(socket);
      if (socket.bytesRead > 0) continue;
      socket.destroy();
      shed++;
      excess--;
    }
    this.#shedSinceWarning += shed;
    if (now - this.#warnedAt < WARN_EVERY_MS) return;
    this.#warnedAt = now;
    this.#log.event('descriptorsLow', {
      worker: this.#workerId,
      limit: budget?.limit,
      connections: budget?.connections,
      closed: this.#shedSinceWarning,
    });
    this.#shedSinceWarning = 0;
  }
}
