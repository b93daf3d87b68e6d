// Counters across `pounce upgrade`: the new supervisor would otherwise start from zero, and rate()
// over the upgrade would lie. Both sides of the hand-over (see upgrade/protocol.ts):
//
// The old supervisor, once the new one has taken over: stops answering scrapes (the metrics socket
// is the new one's too, handed at its start; scrapes wait in the kernel's queue meanwhile), then sends
// what it has counted (CarriedCounters: its requests, fresh from its live workers, and its own
// lifecycle counters, its predecessors' included) — and again after each of its workers' exits (they
// drain and exit after the hand-over: their last requests go on), and once more before it exits.
//
// The new supervisor: adds the newest counters received to its own in every scrape, and starts
// answering scrapes with the first ones (or when the old one went away without).
//
// Why the counts never go down: one supervisor answers at a time (the old one until it stops, the new
// one after); the first counters are taken after the old one's last answer, and every later ones after
// the one before (each send waits for the one before), so each is at least as high as what was shown.

import type { Logger } from '../log/logger.ts';
import type { ToSuccessor } from '../upgrade/protocol.ts';
import type { MetricsEndpoint } from './metrics-server.ts';
import type { CarriedCounters } from './server-metrics.ts';

/**
 * The old supervisor's side, from the hand-over on. `finish()` sends the last counters (call it right
 * before exiting).
 */
export function carryCounters(
  endpoint: MetricsEndpoint,
  send: (message: ToSuccessor) => Promise<void>,
): { finish(): Promise<void> } {
  let chain = endpoint.release();
  const push = () => {
    chain = chain
      .then(() => endpoint.metrics.carried())
      .then((counters) => send({ type: 'counters', ...counters }))
      // A failed status or send: the next push (or the final one) carries everything anyway.
      .catch(() => {});
    return chain;
  };
  void push();
  endpoint.metrics.onRetired(() => void push());
  return { finish: push };
}

/** The new supervisor's side: what the old one sends (undefined: it went away). */
export function receiveCounters(
  endpoint: MetricsEndpoint,
  log: Logger,
): (counters: CarriedCounters | undefined) => void {
  return (counters) => {
    if (counters) endpoint.metrics.inherit(counters);
    endpoint.accept().catch((err: Error) => log.event('metricsError', { error: err.message }));
  };
}
