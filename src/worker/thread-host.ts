// The worker-host process of thread mode: the supervisor runs one (as a child process) and every
// worker is a thread in it. The host runs no app code itself; it starts threads when told, relays
// each thread's messages tagged with its worker id, ends a thread when told, and reports each
// thread's exit. The supervisor's side is supervisor/thread-transport.ts.

import { type FromHost, THREAD_ENTRY, type ThreadData, type ToHost } from '../ipc/thread-host-messages.ts';
import { stdoutDescriptor } from '../log/stdout-lines.ts';

const { Worker } = process.getBuiltinModule('node:worker_threads');

if (!process.send) {
  process.stderr.write('pounce: the worker host is started by the pounce supervisor, not directly\n');
  process.exit(2);
}
const send = (message: FromHost) => process.send?.(message);
const threads = new Map<number, InstanceType<typeof Worker>>();
/**
 * The listening socket received with each spawn: a descriptor of this process that the thread
 * listens on and closes when it ends. The handle object is kept while the thread lives and never
 * closed here: closing it would close the thread's listener, and after the thread ended that fd
 * number may already belong to a newer thread's copy.
 */
const sockets = new Map<number, unknown>();

process.on('message', (message: ToHost, handle: unknown) => {
  switch (message.type) {
    case 'spawn': {
      const fd = (handle as { fd?: unknown } | undefined)?.fd;
      const data: ThreadData = {
        init: message.init,
        fd: typeof fd === 'number' && fd >= 0 ? fd : undefined,
        // One descriptor for every thread: a thread's own would stay open after the thread ended.
        stdoutFd: stdoutDescriptor(),
      };
      if (handle) sockets.set(message.id, handle);
      const thread = new Worker(new URL(THREAD_ENTRY, import.meta.url), {
        workerData: data,
        execArgv: process.execArgv,
      });
      threads.set(message.id, thread);
      thread.on('message', (m: unknown) => send({ type: 'from', id: message.id, message: m }));
      // An error that escaped the thread's own handler (it threw while starting): the thread ends
      // with exit code 1, reported by 'exit'.
      thread.on('error', () => {});
      thread.once('exit', (code) => {
        threads.delete(message.id);
        sockets.delete(message.id);
        send({ type: 'exit', id: message.id, code });
      });
      return;
    }
    case 'to':
      threads.get(message.id)?.postMessage(message.message);
      return;
    case 'kill':
      void threads.get(message.id)?.terminate();
      return;
  }
});
// Signals reach the supervisor (it runs the shutdown, a reload, a scale); the host must not die of
// one with requests in flight on its threads.
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGTTIN', 'SIGTTOU', 'SIGUSR2'] as const)
  process.on(signal, () => {});
// The supervisor is gone: end every thread with the process rather than serve unsupervised.
process.on('disconnect', () => process.exit(0));
