// The new supervisor's side of an upgrade (see protocol.ts for the handshake). It serves on the
// sockets it was handed, but stays invisible until the old supervisor hands over: its control
// socket waits at a staging path, it writes no pid file and says nothing to systemd (with the
// default NotifyAccess=main systemd would reject it anyway). If the old supervisor goes away before
// the hand-over, or tells it to stop, it shuts down: it is not the server.

import { dispatch, type Handlers } from '../ipc/messages.ts';
import type { Logger } from '../log/logger.ts';
import type { CarriedCounters } from '../metrics/server-metrics.ts';
import { NODE_VERSION, POUNCE_VERSION } from '../version.ts';
import type { FromSuccessor, Handover, ToSuccessor } from './protocol.ts';

export class SuccessorLink {
  readonly handover: Handover;
  /** Called when the upgrade is abandoned (the old supervisor said stop, or went away first). */
  onStop: () => void = () => process.exit(1);
  /**
   * The old supervisor's counters (with `metrics`), after the hand-over; `undefined` when it went
   * away without (more of) them. See metrics/upgrade-carry.ts.
   */
  onCounters: (counters: CarriedCounters | undefined) => void = () => {};
  #tookOver = false;
  readonly #takeOver: Promise<boolean>;

  constructor(handover: Handover, log: Logger) {
    this.handover = handover;
    let decide: (go: boolean) => void = () => {};
    this.#takeOver = new Promise((resolve) => {
      decide = resolve;
    });
    const handlers: Handlers<ToSuccessor> = {
      takeOver: () => decide(true),
      stop: () => {
        decide(false);
        this.onStop();
      },
      counters: ({ requests, lifecycle }) => {
        if (this.#tookOver && Array.isArray(requests) && Array.isArray(lifecycle))
          this.onCounters({ requests, lifecycle });
      },
    };
    process.on('message', (message) => dispatch(handlers, message));
    process.once('disconnect', () => {
      if (this.#tookOver) {
        this.onCounters(undefined);
        return;
      }
      log.event('upgradeAbandoned', { reason: 'went away before the hand-over' });
      decide(false);
      this.onStop();
    });
    log.event('upgradeSuccessor', { previousPid: handover.previousPid, upgrades: handover.upgrades });
  }

  /** Generation 0 is ready: tells the old supervisor; resolves true when it hands over. */
  ready(): Promise<boolean> {
    this.#send({ type: 'ready', pid: process.pid, pounceVersion: POUNCE_VERSION, nodeVersion: NODE_VERSION });
    return this.#takeOver;
  }

  /** This supervisor has taken over: it is the server. */
  get hasTakenOver(): boolean {
    return this.#tookOver;
  }

  /** The control socket, pid file and systemd are this process's now. */
  tookOver(): void {
    this.#tookOver = true;
    this.#send({ type: 'tookOver' });
    // The old supervisor disconnects; the channel must not keep this process alive meanwhile.
    process.channel?.unref();
  }

  /** This supervisor could not start: tells the old one why (before the caller exits). */
  failed(reason: string): Promise<void> {
    return new Promise((resolve) => {
      if (!process.connected || !process.send) {
        resolve();
        return;
      }
      process.send({ type: 'failed', reason } satisfies FromSuccessor, undefined, {}, () => resolve());
    });
  }

  #send(message: FromSuccessor): void {
    if (process.connected) process.send?.(message);
  }
}
