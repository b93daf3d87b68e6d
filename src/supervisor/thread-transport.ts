// Workers as threads (thread mode): every worker is a thread of one worker-host process
// (worker/thread-host.ts) that this module starts on the first spawn and again after the host
// died. The supervisor itself runs no app code. A WorkerTransport here relays through the host:
// supervisor ⇄ host (child-process IPC, tagged with the worker id) ⇄ thread (MessagePort).
//
// With `listener` (supervisor/thread-listener.ts), every spawn sends the host that listening socket
// too: the host receives a descriptor of its own for it and hands its number to the new thread.
//
// kill() ends the one thread (Worker.terminate: the signal has no meaning for a thread). If the host
// process dies, all of its threads are reported gone with the host's exit status, and the
// supervisor replaces them as crashed workers (in a new host).

import type { ChildProcess } from 'node:child_process';
import type { WorkerInit } from '../ipc/messages.ts';
import type { FromHost, ToHost } from '../ipc/thread-host-messages.ts';
import type { ExitInfo, SpawnWorker, WorkerTransport } from './worker-transport.ts';

const { fork } = process.getBuiltinModule('node:child_process');

interface ThreadEnds {
  message: ((message: unknown) => void)[];
  exit: ((info: ExitInfo) => void)[];
  gone: boolean;
}

/** How long the host may take to exit once its channel is closed, before it is killed. */
const HOST_EXIT_MS = 2_000;

export interface ThreadWorkers {
  spawn: SpawnWorker;
  /**
   * Ends the host process (its channel closes: it exits, see worker/thread-host.ts) and resolves
   * once it has gone, so that the supervisor exits after it. Called when the supervisor exits.
   */
  close(): Promise<void>;
}

export function threadWorkers(hostEntry: string, execArgv: string[], listener?: object): ThreadWorkers {
  let host: ChildProcess | undefined;
  const threads = new Map<number, ThreadEnds>();

  const ended = (id: number, info: ExitInfo) => {
    const ends = threads.get(id);
    if (!ends || ends.gone) return;
    ends.gone = true;
    threads.delete(id);
    for (const listener of ends.exit) listener(info);
  };

  const startHost = (): ChildProcess => {
    const child = fork(hostEntry, [], { execArgv, stdio: 'inherit' });
    child.on('error', () => {});
    child.on('message', (message: FromHost) => {
      if (message.type === 'from') for (const l of threads.get(message.id)?.message ?? []) l(message.message);
      else if (message.type === 'exit') ended(message.id, { code: message.code, signal: null });
    });
    child.once('exit', (code, signal) => {
      if (host === child) host = undefined;
      for (const id of [...threads.keys()]) ended(id, { code, signal });
    });
    return child;
  };

  const post = (child: ChildProcess, message: ToHost, handle?: object) => {
    if (child.connected) child.send(message, handle as Parameters<ChildProcess['send']>[1]);
  };

  const spawn = (init: WorkerInit): WorkerTransport => {
    host ??= startHost();
    const child = host;
    const id = init.workerId;
    const ends: ThreadEnds = { message: [], exit: [], gone: false };
    threads.set(id, ends);
    post(child, { type: 'spawn', id, init: JSON.stringify(init) }, listener);
    return {
      pid: child.pid ?? -1,
      send: (message) => post(child, { type: 'to', id, message }),
      kill: () => post(child, { type: 'kill', id }),
      onMessage: (listener) => ends.message.push(listener),
      onExit: (listener) => ends.exit.push(listener),
    };
  };

  const close = async () => {
    const child = host;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    if (child.connected) child.disconnect();
    const timer = setTimeout(() => child.kill('SIGKILL'), HOST_EXIT_MS);
    await exited;
    clearTimeout(timer);
  };

  return { spawn, close };
}
