// One way to bound a wait: race the work against a timer that never outlives the race. Small and
// free of imports, so the supervisor can use it without loading the server code.

/** setTimeout fires at once for delays past 2^31-1 ms: long sums of timeouts must stay below. */
export function clampTimer(ms: number): number {
  return Math.min(ms, 2 ** 31 - 1);
}

/** Settles like `work`, or rejects with `onTimeout()` once `ms` have passed. */
export async function withTimeout<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), clampTimer(ms));
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
