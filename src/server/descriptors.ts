// The process's file descriptor budget: connections that never send a request must not take the
// descriptors that normal clients need.
//
// Why the server counts instead of reacting to EMFILE: libuv hides it. When accept() fails for want
// of descriptors, libuv closes a descriptor it keeps in reserve, accepts and closes every connection
// waiting in the backlog (their clients see a reset), and reopens the reserve; Node never hears of
// it. So the servers of this process count their connections and, near the limit, close the oldest
// ones that never sent a byte, before accept() fails. The budget is known on Linux (/proc); where it
// is not, nothing is shed (silent connections are still closed after headersTimeout).

const { readdirSync, readFileSync } = process.getBuiltinModule('node:fs');
/** The soft RLIMIT_NOFILE of this process, or undefined where /proc does not tell. */
function descriptorLimit(): number | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
    const limit = Number(soft);
    return Number.isSafeInteger(limit) && limit > 0 ? limit : undefined;
  } catch {
    return undefined;
  }
}

function openDescriptors(): number | undefined {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return undefined;
  }
}

/** Open descriptors are counted again at most this often (a readdir of /proc/self/fd). */
const RECOUNT_MS = 1000;

export class DescriptorBudget {
  readonly limit: number;
  /** Kept free for the app's own descriptors (files, database connections) and new clients. */
  readonly reserve: number;
  /** Connections open in every server of this process. */
  connections = 0;
  /** The connection count at which shedding starts (limit − reserve − the process's other descriptors). */
  #shedAt: number;
  #countedAt = 0;

  constructor(limit: number) {
    this.limit = limit;
    this.reserve = Math.max(32, Math.floor(limit / 16));
    this.#shedAt = Number.POSITIVE_INFINITY;
    this.#recount(Date.now());
  }

  /** Near the limit: one comparison, for every accepted connection. */
  get pressed(): boolean {
    return this.connections >= this.#shedAt;
  }

  /**
   * How many connections to close now to get back to a reserve below the threshold (0 if the
   * recount shows the process is not that close after all).
   */
  excess(now: number): number {
    if (now - this.#countedAt >= RECOUNT_MS) this.#recount(now);
    if (!this.pressed) return 0;
    return this.connections - (this.#shedAt - this.reserve);
  }

  #recount(now: number) {
    this.#countedAt = now;
    const open = openDescriptors();
    if (open !== undefined) this.#shedAt = this.connections + (this.limit - this.reserve - open);
  }
}

let shared: DescriptorBudget | null | undefined;

/** The budget shared by every server of this process; null where the limit is unknown. */
export function descriptorBudget(): DescriptorBudget | null {
  if (shared === undefined) {
    const limit = descriptorLimit();
    shared = limit === undefined ? null : new DescriptorBudget(limit);
  }
  return shared;
}
