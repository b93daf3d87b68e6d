// The old supervisor's side of an upgrade (`pounce upgrade`, SIGUSR2): start a new supervisor from
// the pounce and Node on disk with the listening sockets and the configuration, wait until its
// first generation is ready, hand it the control socket, the pid file and systemd's main pid, then
// drain this supervisor's workers and exit. If the new supervisor cannot start (it crashes, fails,
// is not ready in time, its Node cannot run pounce), it is stopped and this one keeps serving.
//
// The new supervisor is a child of this one, in the same process group, not detached: a signal to
// the group during the upgrade (Ctrl-C in a terminal, `kill -- -PGID`) reaches both, and both shut
// down gracefully; systemd's KillMode=control-group reaches every process of the unit anyway. It
// does not die with this one: when the old supervisor exits the new one is re-parented (to init or
// the service manager) and keeps the group. With KillMode=mixed, systemd signals only the main pid,
// so a shutdown during the upgrade is passed on over the IPC channel (`stop`), never as a second
// signal (a second SIGTERM means "exit now").

import type { ChildProcess } from 'node:child_process';
import type { Config } from '../config/options.ts';
import { dispatch, type Handlers, type InheritedFd } from '../ipc/messages.ts';
import type { Logger } from '../log/logger.ts';
import { supervisorFlags } from '../supervisor/bin-flags.ts';
import type { Supervisor } from '../supervisor/supervisor.ts';
import { clampTimer } from '../timeout.ts';
import { NODE_VERSION, POUNCE_VERSION } from '../version.ts';
import {
  FIRST_HANDED_FD,
  type FromSuccessor,
  type Handover,
  type SuccessorInfo,
  stagingSocketPath,
  type ToSuccessor,
  UPGRADE_ENV,
} from './protocol.ts';

const { execFile, spawn } = process.getBuiltinModule('node:child_process');
const { lstatSync, rmSync } = process.getBuiltinModule('node:fs');

export type UpgradeOutcome =
  | ({ ok: true; previousPid: number; upgrades: number } & SuccessorInfo)
  | { ok: false; reason: string };

export interface UpgraderOptions {
  supervisor: Supervisor;
  app: string;
  cwd: string;
  config: Config;
  log: Logger;
  /** The listening sockets to hand over, as fds of this process. */
  listeningFds: () => InheritedFd[];
  /** The `metrics` listening socket to hand over (undefined: none). */
  metricsFd: () => number | undefined;
  /**
   * The new supervisor has taken over: `send` reaches it until this process exits (with `metrics`,
   * the counters are carried over this way).
   */
  handedOver: (send: (message: ToSuccessor) => Promise<void>) => void;
  /**
   * The new supervisor's environment: this one's, with what pounce took from it (systemd's) put back
   * and what it set for its workers (the compile cache's) taken out.
   */
  env: () => NodeJS.ProcessEnv;
  /** Upgrades this server has been through so far. */
  upgrades: number;
  /** Why this supervisor cannot upgrade yet (it is itself an upgrade's new one, not taken over yet). */
  notYet: () => string | undefined;
  /** The control socket path the new supervisor takes over (undefined: this one has none). */
  controlPath: () => string | undefined;
  /** At the cutover, before the new one takes the control socket: tell systemd MAINPID=pid. */
  onCutover: (successorPid: number) => void | Promise<void>;
  /** The cutover failed after onCutover: systemd's main pid is this process again. */
  onCutoverUndone: () => void;
  /**
   * The take-over failed and the new supervisor has exited: it may have moved its control socket
   * over this one's and written its pid into the pid file before it failed. Put both back.
   */
  reclaim: () => Promise<void>;
  /** This supervisor's workers have drained after the hand-over: exit (keeping what is the new one's). */
  exit: (code: number) => void;
}

/** How long a new supervisor may take to boot Node and pounce, on top of its workers' startupTimeout. */
const BOOT_SLACK_MS = 15_000;
/** How long the preflight (`NODE POUNCE --version`) may take. */
const PREFLIGHT_TIMEOUT_MS = 30_000;
/** How long the take-over (rename, pid file, systemd) may take once asked. */
const TAKEOVER_TIMEOUT_MS = 10_000;
/** How long a new supervisor told to stop may take before it is killed. */
const STOP_GRACE_MS = 10_000;

export class Upgrader {
  readonly #o: UpgraderOptions;
  #running: Promise<UpgradeOutcome> | undefined;
  #child: ChildProcess | undefined;
  /** Resolves when the running attempt has settled, a failed new supervisor stopped included. */
  #settled: Promise<void> = Promise.resolve();
  #handedOver = false;
  #successorPid: number | undefined;

  constructor(options: UpgraderOptions) {
    this.#o = options;
    options.supervisor.on('upgradeSignal', () => {
      void this.upgrade(undefined, 'Received SIGUSR2');
    });
  }

  /** The new supervisor has taken over: this one only drains and exits. */
  get handedOver(): boolean {
    return this.#handedOver;
  }

  /** The new supervisor's pid once it is ready (it may answer on the control socket from then on). */
  get successorPid(): number | undefined {
    return this.#successorPid;
  }

  get upgrading(): boolean {
    return this.#running !== undefined;
  }

  /** Waits until no new supervisor is starting or stopping (for this one's own shutdown). */
  settled(): Promise<void> {
    return this.#settled;
  }

  /** Runs an upgrade; `node` is the Node executable to run the new supervisor (default: this one's). */
  upgrade(node: string | undefined, via: string): Promise<UpgradeOutcome> {
    const log = this.#o.log;
    const refuse = (reason: string): Promise<UpgradeOutcome> => {
      log.event('upgradeRefused', { reason });
      return Promise.resolve({ ok: false, reason });
    };
    if (this.#running) {
      const pid = this.#child?.pid;
      return refuse(
        `an upgrade is already in progress${pid ? ` (new supervisor pid ${pid})` : ''} — wait for its outcome`,
      );
    }
    const state = this.#o.supervisor.state;
    if (state !== 'serving') return refuse(`the server is ${state}`);
    const notYet = this.#o.notYet();
    if (notYet) return refuse(notYet);
    const fds = this.#o.listeningFds();
    if (fds.length === 0) {
      return refuse(
        this.#o.config.scheduling === 'round-robin'
          ? 'with scheduling round-robin the listening socket lives inside Node’s cluster module, where pounce cannot hand it over — use scheduling shared (the default)'
          : this.#o.config.workerMode === 'thread'
            ? 'the threads listen on sockets of their own (this Node lacks net._createServerHandle), so there is no one socket to hand over'
            : 'no listening socket to hand over',
      );
    }
    log.event('upgradeRequested', { via });
    let done: () => void = () => {};
    this.#settled = new Promise((resolve) => {
      done = resolve;
    });
    const running = this.#run(node ?? process.execPath, fds)
      .catch((err: unknown): UpgradeOutcome => ({ ok: false, reason: `internal error: ${String(err)}` }))
      .then((outcome) => {
        if (!outcome.ok) log.event('upgradeFailed', { reason: outcome.reason });
        return outcome;
      })
      .finally(() => {
        this.#running = undefined;
        // After whoever awaits the outcome has had its turn: a shutdown waiting for settled() must
        // not exit before the control socket's answer to `pounce upgrade` is written.
        setImmediate(done);
      });
    this.#running = running;
    return running;
  }

  async #run(node: string, fds: InheritedFd[]): Promise<UpgradeOutcome> {
    const o = this.#o;
    const bin = process.argv[1]!;
    const preflight = await checkNode(node, bin);
    if (!preflight.ok) return preflight;
    // A SIGTERM during the preflight: its 'stopping' event has gone by (the listener below is
    // registered after the spawn, synchronously with it). Do not start a new supervisor for a server
    // that is shutting down.
    if (o.supervisor.state !== 'serving') {
      return { ok: false, reason: `aborted: the server is ${o.supervisor.state}` };
    }

    const metricsFd = o.metricsFd();
    const handover: Handover = {
      app: o.app,
      cwd: o.cwd,
      // The number of workers as it is now (`pounce scale`, SIGTTIN/SIGTTOU), not as it was at start.
      config: { ...o.config, workers: o.supervisor.workersWanted },
      controlSocket: o.controlPath() !== undefined,
      fds: fds.map((f, i) => ({ fd: FIRST_HANDED_FD + i, name: f.name })),
      upgrades: o.upgrades + 1,
      previousPid: process.pid,
      ...(metricsFd === undefined ? {} : { metricsFd: FIRST_HANDED_FD + fds.length }),
    };
    // With the flags the bin gave this supervisor (see supervisor/jit-tiers.ts).
    const flags = supervisorFlags();
    let child: ChildProcess;
    try {
      child = spawn(node, [...flags.execArgv, bin, 'serve', o.app], {
        cwd: o.cwd,
        env: { ...o.env(), ...flags.env, [UPGRADE_ENV]: JSON.stringify(handover) },
        stdio: [
          'ignore',
          'inherit',
          'inherit',
          'ipc',
          ...fds.map((f) => f.fd),
          ...(metricsFd === undefined ? [] : [metricsFd]),
        ],
      });
    } catch (err) {
      return { ok: false, reason: `cannot start ${node}: ${(err as Error).message}` };
    }
    this.#child = child;
    const events = successorEvents(child);
    const pid = child.pid;
    if (pid === undefined) {
      const failure = await events.exited;
      return { ok: false, reason: `cannot start ${node}: ${failure}` };
    }
    o.log.event('upgradeStarting', { pid, node, pounceVersion: preflight.pounceVersion });

    // A shutdown of this supervisor during the upgrade stops the new one too.
    const stopping = new Promise<UpgradeOutcome>((resolve) => {
      const onStopping = () => resolve({ ok: false, reason: 'aborted: the server is shutting down' });
      o.supervisor.once('stopping', onStopping);
      void events.exited.then(() => o.supervisor.off('stopping', onStopping));
    });
    const budgetMs = o.config.startupTimeout * 1000 + BOOT_SLACK_MS;
    const started = await Promise.race([
      events.ready,
      events.failed.then((reason): UpgradeOutcome => ({ ok: false, reason })),
      events.exited.then(
        (exit): UpgradeOutcome => ({
          ok: false,
          reason: `the new supervisor ${exit} before it was ready (see its log lines above)`,
        }),
      ),
      stopping,
      delay(budgetMs).then(
        (): UpgradeOutcome => ({
          ok: false,
          reason: `the new supervisor was not ready within startupTimeout (${o.config.startupTimeout}s) and ${BOOT_SLACK_MS / 1000}s to boot`,
        }),
      ),
    ]);
    if ('ok' in started) {
      await this.#stopSuccessor(child, events.exited, pid);
      return started;
    }
    if (o.supervisor.state !== 'serving') {
      await this.#stopSuccessor(child, events.exited, pid);
      return { ok: false, reason: `aborted: the server is ${o.supervisor.state}` };
    }

    // The cutover. systemd first: the new supervisor is the unit's main pid before it says READY=1.
    this.#successorPid = pid;
    // MAINPID= must reach systemd before the new supervisor's READY=1 (sent once it took over).
    await o.onCutover(pid);
    if (o.supervisor.state !== 'serving') {
      this.#successorPid = undefined;
      o.onCutoverUndone();
      await this.#stopSuccessor(child, events.exited, pid);
      return { ok: false, reason: `aborted: the server is ${o.supervisor.state}` };
    }
    send(child, { type: 'takeOver' });
    const tookOver = await Promise.race([
      events.tookOver.then(() => true),
      events.exited.then(() => false),
      delay(TAKEOVER_TIMEOUT_MS).then(() => false),
    ]);
    if (!tookOver) {
      this.#successorPid = undefined;
      o.onCutoverUndone();
      await this.#stopSuccessor(child, events.exited, pid);
      await o.reclaim();
      return { ok: false, reason: 'the new supervisor did not take over the control socket and pid file' };
    }
    this.#handedOver = true;
    // The new supervisor must outlive this one: nothing here may keep it or wait for it. The
    // channel stays open (unref'd) until this process exits, for what it still has to say.
    child.unref();
    (child.channel as { unref?: () => void } | undefined)?.unref?.();
    o.handedOver(
      (message) =>
        new Promise((resolve) => {
          if (!child.connected) resolve();
          else child.send(message, () => resolve());
        }),
    );
    const outcome: UpgradeOutcome = {
      ok: true,
      pid,
      pounceVersion: started.pounceVersion,
      nodeVersion: started.nodeVersion,
      previousPid: process.pid,
      upgrades: o.upgrades + 1,
    };
    o.log.event('upgradeComplete', {
      pid,
      pounceVersion: started.pounceVersion,
      nodeVersion: started.nodeVersion,
      upgrades: outcome.upgrades,
    });
    void o.supervisor.handOver().then((code) => o.exit(code));
    return outcome;
  }

  /** Stops a new supervisor that will not take over (gracefully, then by force) and cleans up after it. */
  async #stopSuccessor(child: ChildProcess, exited: Promise<string>, pid: number): Promise<void> {
    if (child.exitCode === null && child.signalCode === null) {
      if (child.connected) send(child, { type: 'stop' });
      else child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    }
    // Its staging control socket, if it was killed before it could remove it.
    const controlPath = this.#o.controlPath();
    if (controlPath) {
      const staging = stagingSocketPath(controlPath, pid);
      try {
        if (lstatSync(staging).isSocket()) rmSync(staging);
      } catch {
        // not there
      }
    }
    this.#child = undefined;
  }

  /** What `pounce status` adds about versions and upgrades. */
  info(): { pounceVersion: string; nodeVersion: string; upgrades: number; upgradingTo: number | null } {
    return {
      pounceVersion: POUNCE_VERSION,
      nodeVersion: NODE_VERSION,
      upgrades: this.#o.upgrades,
      upgradingTo: this.#child?.pid ?? null,
    };
  }
}

function send(child: ChildProcess, message: ToSuccessor): void {
  if (child.connected) child.send(message, () => {});
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, clampTimer(ms)).unref());
}

/** The new supervisor's messages and exit, as promises. */
function successorEvents(child: ChildProcess) {
  let onReady: (info: SuccessorInfo) => void = () => {};
  let onFailed: (reason: string) => void = () => {};
  let onTookOver: () => void = () => {};
  const ready = new Promise<SuccessorInfo>((resolve) => {
    onReady = resolve;
  });
  const failed = new Promise<string>((resolve) => {
    onFailed = resolve;
  });
  const tookOver = new Promise<void>((resolve) => {
    onTookOver = resolve;
  });
  const exited = new Promise<string>((resolve) => {
    child.once('error', (err) => resolve(`could not run (${err.message})`));
    child.once('exit', (code, signal) =>
      resolve(signal ? `was killed by ${signal}` : `exited with status ${code}`),
    );
  });
  const handlers: Handlers<FromSuccessor> = {
    ready: ({ pid, pounceVersion, nodeVersion }) => onReady({ pid, pounceVersion, nodeVersion }),
    failed: ({ reason }) => onFailed(String(reason)),
    tookOver: () => onTookOver(),
  };
  child.on('message', (message) => dispatch(handlers, message));
  return { ready, failed, tookOver, exited };
}

/**
 * Runs `NODE POUNCE --version` before anything else: a missing or non-executable `--node`, a Node
 * too old for the pounce on disk (its entry says so), or a pounce on disk that does not load is
 * found out here, with its own message, before the new supervisor is given any socket.
 */
function checkNode(
  node: string,
  bin: string,
): Promise<{ ok: true; pounceVersion: string } | { ok: false; reason: string }> {
  return new Promise((resolve) => {
    // With the flags the real start gives it (supervisorFlags): a Node that refuses one of them is
    // found out here, not after the sockets were handed over.
    const args = [...supervisorFlags().execArgv, bin, '--version'];
    execFile(node, args, { timeout: PREFLIGHT_TIMEOUT_MS }, (err, stdout, stderr) => {
      if (!err) {
        resolve({ ok: true, pounceVersion: stdout.trim() });
        return;
      }
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') resolve({ ok: false, reason: `the Node executable ${node} does not exist` });
      else if (code === 'EACCES')
        resolve({ ok: false, reason: `the Node executable ${node} cannot be run (permission denied)` });
      else if (err.killed)
        resolve({
          ok: false,
          reason: `${node} ${bin} --version did not answer within ${PREFLIGHT_TIMEOUT_MS / 1000}s`,
        });
      else {
        // Its error line (pounce's own, or Node's: a stack's first lines are only where it was thrown).
        const lines = stderr.trim().split('\n');
        const said = lines.find((l) => /error/i.test(l)) ?? lines[0] ?? err.message;
        resolve({ ok: false, reason: `${node} cannot run pounce ${bin}: ${said}` });
      }
    });
  });
}
