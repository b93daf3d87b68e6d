// One way to bound a wait: race the work against a timer that never outlives the race. Small and
// free of imports, so the supervisor can use it without loading the server code.

/** setTimeout fires at once for delays past 2^31-1 ms: long sums of timeouts must stay below. */
export function clampTimer(ms: number): number {
  return Math.min(ms, 2 ** 31 - 1);
}

/** What settleWithin resolves with when the time ran out first. */
export const TIMED_OUT: unique symbol = Symbol('timed out');

export interface SettleOptions {
  /**
   * The timer does not keep the process alive: a wait whose work has nothing left to do (no
   * handle, no request) must not hold the event loop open, e.g. for 'beforeExit' listeners.
   */
  unref?: boolean;
}

/**
 * Settles like `work`, or resolves TIMED_OUT once `ms` have passed — for waits where running out
 * of time is an outcome to handle, not an error. The timer is cleared as soon as the race is decided.
 */
export async function settleWithin<T>(
  work: Promise<T>,
  ms: number,
  options: SettleOptions = {},
): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), clampTimer(ms));
    if (options.unref) timer.unref();
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Settles like `work`, or rejects with `onTimeout()` once `ms` have passed. */
export async function withTimeout<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  const result = await settleWithin(work, ms);
  if (result === TIMED_OUT) throw onTimeout();
  return result;
}
