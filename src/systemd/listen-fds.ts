// Socket activation (sd_listen_fds(3)): the service manager (systemd's .socket unit, or any
// launcher that follows the protocol) opened the listening sockets and passes them as fds 3, 4, …
// with LISTEN_FDS (how many), LISTEN_PID (for whom) and LISTEN_FDNAMES (their names, `:`-separated).
//
// The supervisor keeps these fds open for its whole life (supervisor/listening-sockets.ts) and every
// worker listens on them (WorkerInit.inheritedFds), so reloads, recycling and crashes never close
// the socket; and because the service manager holds it too, connections that arrive while pounce
// itself restarts wait in the kernel's accept queue instead of being refused.

import { configError } from '../errors.ts';
import type { InheritedFd } from '../ipc/messages.ts';

const { fstatSync } = process.getBuiltinModule('node:fs');

export const SD_LISTEN_FDS_START = 3;

export type ListenFds =
  | { kind: 'none' }
  /** The variables are for another process (a parent that was activated and started us). */
  | { kind: 'not-ours'; listenPid: string }
  | { kind: 'sockets'; fds: InheritedFd[] };

/**
 * Reads the socket-activation variables and removes them from `env` (as sd_listen_fds(1) does), so
 * that the workers and the app they run never take the sockets for their own.
 */
export function takeListenFds(env: NodeJS.ProcessEnv, pid: number): ListenFds {
  const count = env.LISTEN_FDS;
  const listenPid = env.LISTEN_PID;
  const names = env.LISTEN_FDNAMES;
  delete env.LISTEN_FDS;
  delete env.LISTEN_PID;
  delete env.LISTEN_FDNAMES;
  if (count === undefined || count === '') return { kind: 'none' };
  if (listenPid !== String(pid)) return { kind: 'not-ours', listenPid: listenPid ?? '(unset)' };
  if (!/^\d+$/.test(count) || Number(count) < 1 || Number(count) > 1024) {
    throw configError(
      `Invalid LISTEN_FDS from the service manager: ${JSON.stringify(count)} — must be an integer from 1 to 1024`,
    );
  }
  const nameList = names === undefined ? [] : names.split(':');
  const fds: InheritedFd[] = [];
  for (let i = 0; i < Number(count); i++) {
    const fd = SD_LISTEN_FDS_START + i;
    let isSocket = false;
    try {
      isSocket = fstatSync(fd).isSocket();
    } catch {
      // not open: reported below
    }
    if (!isSocket) {
      throw configError(`Invalid LISTEN_FDS=${count}: fd ${fd} is not an open socket`);
    }
    const name = nameList[i];
    fds.push({ fd, name: name === undefined || name === '' || name === 'unknown' ? undefined : name });
  }
  return { kind: 'sockets', fds };
}

export function describeFds(fds: readonly InheritedFd[]): string {
  return fds.map((f) => `fd ${f.fd}${f.name ? ` (${f.name})` : ''}`).join(', ');
}
