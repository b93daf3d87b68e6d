// What an upgrade hands from the running supervisor (the old one) to the supervisor it starts from
// the pounce and Node on disk (the new one), and the handshake between them.
//
// The hand-over travels in the new supervisor's environment (UPGRADE_ENV, JSON): the app, the
// working directory, the resolved configuration the old one was started with, the listening
// sockets (already at their fd numbers in the new process: spawn's stdio array puts them there)
// and the upgrade count. Why not LISTEN_FDS, which pounce reads already: sd_listen_fds(3) requires
// LISTEN_PID to be the receiving process's pid, which the old supervisor cannot know before the
// spawn (systemd sets it between fork and exec; Node's spawn has no such hook, and an exec wrapper
// would be one more program to ship). A pounce-only variable is also never taken by an app or a
// library in the new supervisor's workers for its own sockets (pounce removes it at once).
//
// The handshake runs over the IPC channel of the spawn (fd 3):
//   new → old  ready {pid, versions}   generation 0 of the new supervisor is ready
//   old → new  takeOver                the old told systemd MAINPID=new; take the control socket
//   new → old  tookOver                control socket, pid file and systemd are the new one's
//   then the old drains its workers and exits.
//   old → new  counters {…}            with `metrics`: what the old one has counted (its predecessors'
//                                      included), after each of its workers' exits and once more
//                                      before it exits; the first one also means it has stopped
//                                      answering scrapes, and the new one starts (metrics/upgrade-carry.ts)
//   new → old  failed {reason}         the new one could not start (it exits)
//   old → new  stop                    the upgrade was abandoned (failure, timeout, old shutting down)

import { configError } from '../errors.ts';
import type { InheritedFd } from '../ipc/messages.ts';
import type { CarriedCounters } from '../metrics/server-metrics.ts';

const { fstatSync } = process.getBuiltinModule('node:fs');
const path = process.getBuiltinModule('node:path');

export const UPGRADE_ENV = 'POUNCE_INTERNAL_UPGRADE';
/**
 * Test hook (fault injection): `die-after-move` makes a new supervisor kill itself (SIGKILL) right
 * after it wrote the pid file and moved its control socket over the old one's, before it reports
 * the take-over: the failure the old supervisor must recover from (Upgrader's reclaim).
 */
export const UPGRADE_FAULT_ENV = 'POUNCE_INTERNAL_UPGRADE_FAULT';

/** The fd the first listening socket has in the new supervisor (0-2 are stdio, 3 the IPC channel). */
export const FIRST_HANDED_FD = 4;

export interface Handover {
  app: string;
  cwd: string;
  /** The old supervisor's resolved configuration; the new one validates it like a config file. */
  config: Record<string, unknown>;
  fds: InheritedFd[];
  /**
   * Whether the old supervisor has the control socket. If another server of the same configuration
   * held it (the old one ran without one), the new one must not take it from that server either.
   */
  controlSocket: boolean;
  /** How many upgrades this server has been through, this one included. */
  upgrades: number;
  previousPid: number;
  /** The `metrics` listening socket (after the listening sockets), which the new one serves on. */
  metricsFd?: number;
}

export interface SuccessorInfo {
  pid: number;
  pounceVersion: string;
  nodeVersion: string;
}

/** New → old. */
export type FromSuccessor =
  | ({ type: 'ready' } & SuccessorInfo)
  | { type: 'failed'; reason: string }
  | { type: 'tookOver' };

/** Old → new. */
export type ToSuccessor = { type: 'takeOver' } | { type: 'stop' } | ({ type: 'counters' } & CarriedCounters);

/**
 * Reads the hand-over from `env` (and removes it, so the workers and the app never see it).
 * Undefined when this process was not started by an upgrade. A malformed one is a config error.
 */
export function takeHandover(env: NodeJS.ProcessEnv): Handover | undefined {
  const raw = env[UPGRADE_ENV];
  delete env[UPGRADE_ENV];
  if (raw === undefined) return undefined;
  const bad = (why: string) => configError(`Invalid upgrade hand-over from the previous supervisor: ${why}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw bad('not JSON');
  }
  const h = parsed as Partial<Handover>;
  if (typeof h !== 'object' || h === null) throw bad('not an object');
  if (typeof h.app !== 'string' || typeof h.cwd !== 'string') throw bad('app and cwd must be strings');
  if (typeof h.config !== 'object' || h.config === null || Array.isArray(h.config))
    throw bad('config must be an object');
  if (typeof h.controlSocket !== 'boolean') throw bad('controlSocket must be true or false');
  if (!Number.isInteger(h.upgrades) || !Number.isInteger(h.previousPid))
    throw bad('upgrades and previousPid must be integers');
  if (!Array.isArray(h.fds) || h.fds.length === 0) throw bad('no listening sockets');
  const socketFd = (fd: unknown): number => {
    if (!Number.isInteger(fd) || (fd as number) < FIRST_HANDED_FD) throw bad(`bad fd ${JSON.stringify(fd)}`);
    let isSocket = false;
    try {
      isSocket = fstatSync(fd as number).isSocket();
    } catch {
      // not open: reported below
    }
    if (!isSocket) throw bad(`fd ${fd} is not an open socket`);
    return fd as number;
  };
  const fds: InheritedFd[] = [];
  for (const entry of h.fds as unknown[]) {
    const { fd, name } = (entry ?? {}) as Partial<InheritedFd>;
    fds.push({ fd: socketFd(fd), name: typeof name === 'string' ? name : undefined });
  }
  return {
    ...(h.metricsFd === undefined ? {} : { metricsFd: socketFd(h.metricsFd) }),
    app: h.app,
    cwd: h.cwd,
    config: h.config,
    fds,
    controlSocket: h.controlSocket,
    upgrades: h.upgrades as number,
    previousPid: h.previousPid as number,
  };
}

/**
 * Where the new supervisor binds its control socket until it takes over: next to the real one, so
 * that the take-over is one rename(2) — atomic, so `pounce status` always reaches one of the two.
 */
export function stagingSocketPath(controlPath: string, successorPid: number): string {
  return path.join(path.dirname(controlPath), `.upgrade-${successorPid}.sock`);
}
