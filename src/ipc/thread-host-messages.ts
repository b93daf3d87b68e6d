// The supervisor ⇄ worker-host protocol of thread mode (see worker/thread-host.ts): every worker
// message travels inside one of these, tagged with the worker's id.

import type { ToWorker } from './messages.ts';

export type ToHost =
  /**
   * Start a thread; `init` is the WorkerInit as JSON (validated by the thread, worker/init.ts). The
   * message carries the supervisor's listening socket as its handle, when there is one.
   */
  | { type: 'spawn'; id: number; init: string }
  | { type: 'to'; id: number; message: ToWorker }
  /** End the thread at once (Worker.terminate). */
  | { type: 'kill'; id: number };

export type FromHost =
  | { type: 'from'; id: number; message: unknown }
  | { type: 'exit'; id: number; code: number };

/** What a thread gets as workerData: its WorkerInit as JSON, and the fd of the listening socket. */
export interface ThreadData {
  init: string;
  fd: number | undefined;
  /** Where the host's log lines go (log/stdout-lines.ts): one descriptor shared by its threads. */
  stdoutFd: number;
}

/** The thread entry point, relative to the host (same directory, same extension). */
export const THREAD_ENTRY = `./thread-main${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`;
