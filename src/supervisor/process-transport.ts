// A worker as a process: Node's cluster forks it (so it can share the supervisor's listening
// socket) and carries the IPC messages. Its birth information crosses the process boundary as JSON
// in an environment variable, which the worker validates (worker/init.ts).

import type { Cluster } from 'node:cluster';
import { WORKER_INIT_ENV, type WorkerInit } from '../ipc/messages.ts';
import { forkForBoot } from './boot-priority.ts';
import type { WorkerTransport } from './worker-transport.ts';

// @types/node types node:cluster as its ES namespace (`default`); Node returns the module object.
const cluster = process.getBuiltinModule('node:cluster') as unknown as Cluster;

export function spawnProcessWorker(init: WorkerInit): WorkerTransport {
  const fork = () => cluster.fork({ [WORKER_INIT_ENV]: JSON.stringify(init) });
  // A worker that boots while others serve: at the lowest priority from the fork on (boot-priority.ts),
  // on part of the CPUs if they are busy (boot-cpus.ts).
  const worker =
    init.bootPriority === undefined ? fork() : forkForBoot(fork, (w) => w.process.pid, init.bootCpus?.boot);
  // IPC errors (the channel closing as the worker dies) are reported through 'exit'.
  worker.on('error', () => {});
  return {
    pid: worker.process.pid ?? -1,
    send(message) {
      if (worker.isConnected()) worker.send(message);
    },
    kill(signal) {
      try {
        worker.process.kill(signal);
      } catch {
        // already gone
      }
    },
    onMessage(listener) {
      worker.on('message', listener);
    },
    onExit(listener) {
      worker.once('exit', (code, signal) => listener({ code, signal }));
    },
  };
}
