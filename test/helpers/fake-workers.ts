// In-memory workers for the supervisor's own tests: a SpawnWorker whose workers answer the
// supervisor's messages the way a real worker does (ready, draining, drained, exit), with
// behaviours a test chooses per worker (fail to boot, never get ready, drain slowly, crash). The
// supervisor cannot tell them from processes: it only sees the WorkerTransport seam.

import { type Config, defaults } from '../../src/config/options.ts';
import type { FromWorker, ToWorker, WorkerInit } from '../../src/ipc/messages.ts';
import type { Logger } from '../../src/log/logger.ts';
import { Supervisor } from '../../src/supervisor/supervisor.ts';
import type { ExitInfo, WorkerTransport } from '../../src/supervisor/worker-transport.ts';

export interface Behaviour {
  /** ready: reports ready after `readyMs`; fail: reports a failed start and exits 1; hang: never ready. */
  boot: 'ready' | 'fail' | 'hang';
  readyMs?: number;
  /** Answer `drain` with `drained` after this long (never, if undefined and `stuckDrain`). */
  drainMs?: number;
  stuckDrain?: boolean;
  /** Confirm `drain` (`draining`: the listener is closed) only after this long. */
  confirmDrainMs?: number;
}

let nextPid = 100_000;

export class FakeWorker implements WorkerTransport {
  readonly pid = nextPid++;
  readonly init: WorkerInit;
  readonly received: ToWorker[] = [];
  exitedWith: ExitInfo | undefined;
  /** Reported ready (a real worker listens from then on). */
  ready = false;
  /** Confirmed a drain order (a real worker no longer accepts from then on). */
  confirmedDrain = false;
  readonly #messageListeners: ((message: unknown) => void)[] = [];
  readonly #exitListeners: ((info: ExitInfo) => void)[] = [];
  readonly #behaviour: Behaviour;

  constructor(init: WorkerInit, behaviour: Behaviour) {
    this.init = init;
    this.#behaviour = behaviour;
    if (behaviour.boot === 'ready') {
      setTimeout(() => {
        if (!this.alive) return;
        this.ready = true;
        this.say({ type: 'ready', url: 'http://127.0.0.1:8000' });
      }, behaviour.readyMs ?? 0);
    } else if (behaviour.boot === 'fail') {
      setImmediate(() => {
        this.say({ type: 'failed', code: 'POUNCE_ERR_APP_IMPORT', message: 'SyntaxError: broken' });
        this.exit({ code: 1, signal: null });
      });
    }
  }

  get alive(): boolean {
    return this.exitedWith === undefined;
  }

  /** A message from the worker to the supervisor. */
  say(message: FromWorker): void {
    if (!this.alive) return;
    for (const listener of this.#messageListeners) listener(message);
  }

  /** The worker dies on its own (a crash). */
  crash(code = 1): void {
    this.exit({ code, signal: null });
  }

  exit(info: ExitInfo): void {
    if (!this.alive) return;
    this.exitedWith = info;
    setImmediate(() => {
      for (const listener of this.#exitListeners) listener(info);
    });
  }

  send(message: ToWorker): void {
    if (!this.alive) return;
    this.received.push(message);
    if (message.type === 'drain') {
      // A real worker told to drain before it listens has nothing to drain: it exits at once.
      if (!this.ready) {
        this.exit({ code: 0, signal: null });
        return;
      }
      if (this.#behaviour.stuckDrain) return;
      setTimeout(() => {
        this.confirmedDrain = this.alive;
        this.say({ type: 'draining', connections: 0 });
        setTimeout(() => this.say({ type: 'drained', forced: 0 }), this.#behaviour.drainMs ?? 0);
      }, this.#behaviour.confirmDrainMs ?? 0);
    } else if (message.type === 'exit') {
      this.exit({ code: 0, signal: null });
    } else if (message.type === 'stats') {
      this.say({ type: 'stats', requestId: message.requestId, connections: 0 });
    }
  }

  kill(signal: NodeJS.Signals): void {
    this.exit({ code: null, signal });
  }

  onMessage(listener: (message: unknown) => void): void {
    this.#messageListeners.push(listener);
  }

  onExit(listener: (info: ExitInfo) => void): void {
    this.#exitListeners.push(listener);
  }
}

export interface LoggedEvent {
  event: string;
  [field: string]: unknown;
}

/** A Logger that keeps the events it is given. */
export function recordingLogger(events: LoggedEvent[]): Logger {
  const logger: Logger = {
    event(name, ...fields) {
      events.push({ event: name, ...(fields[0] as Record<string, unknown> | undefined) });
    },
    pino: undefined as unknown as Logger['pino'],
    child: () => logger,
  };
  return logger;
}

/** A supervisor over fake workers, with everything a test looks at. */
export function fakeSupervisor(
  options: {
    config?: Partial<Config>;
    behaviour?: (init: WorkerInit) => Behaviour;
    /** What the host allows for booting at a low priority (supervisor/boot-priority.ts); 0 by default. */
    bootPriority?: number;
  } = {},
) {
  const workers: FakeWorker[] = [];
  const events: LoggedEvent[] = [];
  const exits: number[] = [];
  const config = { ...defaults(), workers: 2, ...options.config } as Config;
  const behaviour = options.behaviour ?? (() => ({ boot: 'ready' }) as Behaviour);
  const supervisor = new Supervisor({
    config,
    app: 'app.ts',
    cwd: '/',
    log: recordingLogger(events),
    exit: (code) => exits.push(code),
    bootPriority: () => ('bootPriority' in options ? options.bootPriority : 0),
    spawnWorker: (init) => {
      const worker = new FakeWorker(init, behaviour(init));
      workers.push(worker);
      return worker;
    },
  });
  return {
    supervisor,
    workers,
    events,
    exits,
    /** Stops the supervisor and ends every fake worker, so that no wait outlives the test. */
    dispose: () => {
      void supervisor.stop();
      for (const worker of workers) worker.kill('SIGKILL');
    },
    /** Resolves once the supervisor is in `phase` (fails after 5 s). */
    async inState(phase: string): Promise<void> {
      const deadline = Date.now() + 5_000;
      while (supervisor.state !== phase) {
        if (Date.now() > deadline) throw new Error(`still ${supervisor.state}, not ${phase}`);
        await new Promise((r) => setTimeout(r, 1));
      }
    },
    /** Names of the events logged so far. */
    names: () => events.map((e) => e.event),
    /** Live fake workers of a generation. */
    live: (generation: number) => workers.filter((w) => w.alive && w.init.generation === generation),
    /** Resolves once `count` events with this name have been logged (fails after 5 s). */
    async until(name: string, count = 1): Promise<void> {
      const deadline = Date.now() + 5_000;
      while (events.filter((e) => e.event === name).length < count) {
        if (Date.now() > deadline) {
          throw new Error(`no ${count}× "${name}"; logged: ${events.map((e) => e.event).join(', ')}`);
        }
        await new Promise((r) => setTimeout(r, 1));
      }
    },
  };
}
