// The seam between the supervisor and the thing a worker runs in. The supervisor only ever talks
// to a worker through this interface: it sends the typed messages of ipc/messages.ts, it may kill
// the worker, and it hears the worker's messages and its exit. A process worker (cluster.fork, in
// process-transport.ts) is one implementation; the in-memory fake of the supervisor's own tests is
// another, and a thread of the worker host (thread-transport.ts) is a third. WorkerHandle (worker-handle.ts) builds the
// worker's state from these messages, the same way for every implementation.

import type { ToWorker, WorkerInit } from '../ipc/messages.ts';

export interface ExitInfo {
  code: number | null;
  signal: string | null;
}

export function describeExit({ code, signal }: ExitInfo): string {
  return signal ? `killed by ${signal}` : `exit status ${code}`;
}

export interface WorkerTransport {
  /** The OS process id the worker runs in (the supervisor's own pid for an in-process worker). */
  readonly pid: number;
  /** Delivers a message in order; dropped without error once the worker's channel has closed. */
  send(message: ToWorker): void;
  /** Ends the worker at once (a process: the signal; others: its nearest equivalent). */
  kill(signal: NodeJS.Signals): void;
  /** Every message the worker sends, not yet validated (WorkerHandle dispatches them). */
  onMessage(listener: (message: unknown) => void): void;
  /** Called once, when the worker has gone. */
  onExit(listener: (info: ExitInfo) => void): void;
}

/** Starts one worker with its birth information. The supervisor receives one of these. */
export type SpawnWorker = (init: WorkerInit) => WorkerTransport;
