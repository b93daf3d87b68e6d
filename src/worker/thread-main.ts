// A worker thread (thread mode), started by the worker-host process (thread-host.ts). The worker
// itself is run-worker.ts; a thread installs no signal handlers (signals belong to the process, and
// the host ignores them) and never ends the process: its process.exit() ends this thread only.

import type { ThreadData } from '../ipc/thread-host-messages.ts';
import { setStdoutDescriptor } from '../log/stdout-lines.ts';
import { threadEndpoint } from './endpoint.ts';
import { parseWorkerInit } from './init.ts';
import { runWorker } from './run-worker.ts';

const { workerData } = process.getBuiltinModule('node:worker_threads');

const data = workerData as Partial<ThreadData> | undefined;
const parsed = parseWorkerInit(typeof data?.init === 'string' ? data.init : undefined);
if (typeof parsed !== 'object') throw new Error(`pounce: ${parsed ?? 'no worker init'}`);
// The supervisor's listening socket (supervisor/thread-listener.ts), as this process's fd: the
// thread listens on it (listenTarget), like a process worker on the cluster's shared handle. It is
// not an inherited socket (inheritedFds): the supervisor's socket ends with the server.
const fd = typeof data?.fd === 'number' ? data.fd : undefined;
if (typeof data?.stdoutFd === 'number') setStdoutDescriptor(data.stdoutFd);
await runWorker(
  fd === undefined ? parsed : { ...parsed, config: { ...parsed.config, fd } },
  threadEndpoint(),
);
