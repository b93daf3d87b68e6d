// The app's readiness checks (onReadinessCheck), asked by the health endpoint. A probe must answer
// quickly whatever the dependency does, so:
//   - a result is reused for READINESS_CACHE_MS: a burst of probes (several balancers, every
//     worker's share of them) runs the checks once;
//   - concurrent probes share one run, and a run that hangs is never started twice: later probes
//     wait for the same run, each at most readinessTimeout, then answer not-ready;
//   - a run that does not settle within readinessTimeout counts as not ready.

import { readinessChecks } from '../app/lifecycle.ts';
import { errorText } from '../app/shape.ts';
import { READINESS_CACHE_MS } from '../deploy/timings.ts';
import { settleWithin, TIMED_OUT } from '../timeout.ts';

export type Readiness = { ready: true } | { ready: false; reason: string };

const READY: Readiness = { ready: true };

export class ReadinessGate {
  readonly #timeoutMs: number;
  readonly #onChange: (now: Readiness) => void;
  #last: Readiness = READY;
  #cachedAt = Number.NEGATIVE_INFINITY;
  /** The checks' current run, until it settles (also after a probe gave up on it). */
  #running: Promise<Readiness> | undefined;

  /** `onChange` hears every change between ready and not ready (for the log). */
  constructor(timeoutSeconds: number, onChange: (now: Readiness) => void) {
    this.#timeoutMs = timeoutSeconds * 1000;
    this.#onChange = onChange;
  }

  /** Ready or not, within readinessTimeout. Synchronous when the app registered no check. */
  check(): Readiness | Promise<Readiness> {
    const checks = readinessChecks();
    if (checks.length === 0) return READY;
    if (performance.now() - this.#cachedAt < READINESS_CACHE_MS) return this.#last;
    this.#running ??= this.#run(checks);
    return settleWithin(this.#running, this.#timeoutMs).then((settled) => {
      const result: Readiness =
        settled === TIMED_OUT
          ? {
              ready: false,
              reason: `readiness check did not answer within readinessTimeout (${this.#timeoutMs / 1000}s)`,
            }
          : settled;
      // A probe that timed out records it too: the next probes within the cache time answer at once.
      this.#record(result);
      return result;
    });
  }

  async #run(checks: readonly (() => unknown)[]): Promise<Readiness> {
    try {
      const answers = await Promise.all(checks.map(async (check) => check()));
      return answers.includes(false) ? { ready: false, reason: 'readiness check returned false' } : READY;
    } catch (err) {
      return { ready: false, reason: `readiness check failed: ${errorText(err)}` };
    } finally {
      this.#running = undefined;
    }
  }

  #record(result: Readiness) {
    this.#cachedAt = performance.now();
    const changed = result.ready !== this.#last.ready;
    this.#last = result;
    if (changed) this.#onChange(result);
  }
}
