// When to replace a crashed worker, and when crashes have become a crash loop. Pure bookkeeping
// with an injectable clock, so the policy is tested on its own.
//
// The restart backoff grows only while replacements fail to boot (doubling from BASE_DELAY_MS,
// capped at MAX_DELAY_MS): broken code on disk must not become a fork storm, but a worker that
// crashed after serving (a request hit a bug) is replaced at once, since the code is known to boot.
// More than MAX_CRASHES crashes within WINDOW_MS is a crash loop: reported, and the end of the
// server only with exitOnCrashLoop — a server that can still replace its workers keeps doing so,
// or a request that makes the app crash would let any client take it down.

export const MAX_CRASHES = 5;
export const WINDOW_MS = 60_000;
export const BASE_DELAY_MS = 100;
export const MAX_DELAY_MS = 5_000;

export interface CrashVerdict {
  /** Crashes within the window, this one included. */
  crashes: number;
  /** Wait this long before starting the replacement. */
  delayMs: number;
  /** This crash made it a crash loop (reported once per loop). */
  loopStarted: boolean;
  /** More than MAX_CRASHES within the window. */
  inLoop: boolean;
}

export class CrashPolicy {
  #times: number[] = [];
  #bootFailures = 0;
  #inLoop = false;
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** A worker of the serving generation crashed; `beforeReady`: it never became ready. */
  crashed(beforeReady: boolean): CrashVerdict {
    const now = this.#now();
    this.#times = this.#recent(now);
    this.#times.push(now);
    if (beforeReady) this.#bootFailures++;
    const delayMs = Math.min(BASE_DELAY_MS * 2 ** this.#bootFailures, MAX_DELAY_MS);
    const inLoop = this.#times.length > MAX_CRASHES;
    const loopStarted = inLoop && !this.#inLoop;
    if (inLoop) this.#inLoop = true;
    return { crashes: this.#times.length, delayMs, loopStarted, inLoop };
  }

  /** A worker became ready: the code boots, so the next crash is replaced without a growing wait. */
  workerReady(): void {
    this.#bootFailures = 0;
  }

  /** True once, when a crash loop is over: no crash left in the window. */
  loopEnded(): boolean {
    if (!this.#inLoop || this.#recent(this.#now()).length > 0) return false;
    this.#inLoop = false;
    this.#times = [];
    return true;
  }

  get inLoop(): boolean {
    return this.#inLoop;
  }

  get crashesInWindow(): number {
    return this.#recent(this.#now()).length;
  }

  #recent(now: number): number[] {
    return this.#times.filter((t) => now - t < WINDOW_MS);
  }
}
