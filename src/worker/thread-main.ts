// A worker thread (thread mode), started by the worker-host process (thread-host.ts). The worker
// itself is run-worker.ts; a thread installs no signal handlers (signals belong to the process, and
// the host ignores them) and never ends the process: its process.exit() ends this thread only.

import { workerData } from 'node:worker_threads';
import { threadEndpoint } from './endpoint.ts';
import { parseWorkerInit } from './init.ts';
import { runWorker } from './run-worker.ts';

const parsed = parseWorkerInit(typeof workerData === 'string' ? workerData : undefined);
if (typeof parsed !== 'object') throw new Error(`pounce: ${parsed ?? 'no worker init'}`);
await runWorker(parsed, threadEndpoint());
