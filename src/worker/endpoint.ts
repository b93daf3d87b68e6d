// A worker's end of its channel to the supervisor: the IPC channel of a process worker, or the
// MessagePort of a thread worker (whose messages the worker-host process relays, see
// thread-host.ts). run-worker.ts uses only this, so the same worker code runs in either.

import type { FromWorker, MemoryMeasure } from '../ipc/messages.ts';

const { parentPort } = process.getBuiltinModule('node:worker_threads');

export interface WorkerEndpoint {
  /** Sends a message; `then` runs once it has left, or at once if the channel is closed. */
  send(message: FromWorker, then?: () => void): void;
  onMessage(listener: (message: unknown) => void): void;
  /** The supervisor is gone (the channel closed). */
  onDisconnect(listener: () => void): void;
  /** Ends this worker: the whole process, or only this thread. */
  exit(code: number): void;
  /** The figure maxMemory is compared with, in megabytes (see MemoryMeasure). */
  memoryMegabytes(): number;
  readonly memoryMeasure: MemoryMeasure;
}

export const processEndpoint: WorkerEndpoint = {
  send(message, then) {
    if (!process.send?.(message, undefined, {}, () => then?.())) then?.();
  },
  onMessage: (listener) => process.on('message', listener),
  onDisconnect: (listener) => process.on('disconnect', listener),
  exit: (code) => process.exit(code),
  memoryMegabytes: () => Math.round(process.memoryUsage.rss() / 1_048_576),
  memoryMeasure: 'rss',
};

/** Inside a worker thread: process.exit() ends only this thread (Node's worker_threads). */
export function threadEndpoint(): WorkerEndpoint {
  const port = parentPort;
  if (!port) throw new Error('threadEndpoint() outside a worker thread');
  return {
    send(message, then) {
      port.postMessage(message);
      then?.();
    },
    onMessage: (listener) => port.on('message', listener),
    onDisconnect: (listener) => port.on('close', listener),
    exit: (code) => process.exit(code),
    // RSS is the host process's (every thread's): this thread's isolate's heap in use plus what its
    // objects hold outside the heap (a Buffer's bytes are `external`, never heapUsed).
    memoryMegabytes: () => {
      const { heapUsed, external } = process.memoryUsage();
      return Math.round((heapUsed + external) / 1_048_576);
    },
    memoryMeasure: 'heap+external',
  };
}
