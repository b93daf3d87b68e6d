// What can be known about the listen address before any worker tries it, checked in the
// supervisor so that a wrong address is one clear line instead of a worker's raw errno (EACCES for
// a missing directory, EADDRINUSE for a regular file, bind EINVAL for a closed fd, getaddrinfo
// ENOTFOUND followed by "the worker keeps serving").

import type { Stats } from 'node:fs';
import type { Config } from '../config/options.ts';
import { configError, pounceError } from '../errors.ts';
import { socketAnswers, socketPathTooLong } from '../fs/socket-path.ts';

const { fstatSync, lstatSync, readFileSync, statSync, unlinkSync } = process.getBuiltinModule('node:fs');
const net = process.getBuiltinModule('node:net');
const path = process.getBuiltinModule('node:path');

function kindOf(st: Stats): string {
  if (st.isFile()) return 'a regular file';
  if (st.isDirectory()) return 'a directory';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a pipe';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'not a socket';
}

async function checkUds(uds: string, cwd: string): Promise<void> {
  const socketPath = path.resolve(cwd, uds);
  const shown = `Invalid uds ${JSON.stringify(uds)}`;
  const tooLong = socketPathTooLong(socketPath);
  if (tooLong)
    throw configError(
      `${shown}: ${tooLong} (the kernel's limit for unix socket paths) — choose a shorter path`,
    );
  const dir = path.dirname(socketPath);
  let dirStat: Stats;
  try {
    dirStat = statSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw configError(
      code === 'ENOENT'
        ? `${shown}: its directory ${dir} does not exist`
        : `${shown}: its directory ${dir} cannot be read (${code})`,
    );
  }
  if (!dirStat.isDirectory()) throw configError(`${shown}: ${dir} is not a directory`);
  let st: Stats;
  try {
    st = lstatSync(socketPath);
  } catch {
    return; // nothing there: the worker binds it
  }
  if (!st.isSocket()) {
    throw configError(
      `${shown}: ${socketPath} already exists and is ${kindOf(st)}, not a socket — pounce does not remove it; remove it or choose another path`,
    );
  }
  if (await socketAnswers(socketPath)) {
    throw pounceError('LISTEN_SOCKET_BUSY', { path: socketPath });
  }
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) {
    throw pounceError('LISTEN_SOCKET_FOREIGN', { path: socketPath, uid: st.uid });
  }
  // A socket nobody answers is what a killed server leaves behind: remove it, as binding would
  // otherwise fail with EADDRINUSE.
  unlinkSync(socketPath);
}

/**
 * Linux only: what /proc/net says about the socket with inode `inode`, if it is not usable as a
 * listening stream socket ("a UDP socket", "a connected TCP socket"); undefined when it is, or
 * when /proc cannot tell (another network namespace, another system).
 */
function socketProblem(inode: number): string | undefined {
  const read = (file: string) => {
    try {
      return readFileSync(`/proc/net/${file}`, 'utf8').split('\n').slice(1);
    } catch {
      return [];
    }
  };
  for (const file of ['udp', 'udp6']) {
    if (read(file).some((line) => line.trim().split(/\s+/)[9] === String(inode))) return 'a UDP socket';
  }
  for (const file of ['tcp', 'tcp6']) {
    const row = read(file).find((line) => line.trim().split(/\s+/)[9] === String(inode));
    // st 0A: LISTEN; 07: CLOSE (bound or not yet, listen() still possible). Others are connections.
    if (row && !['0A', '07'].includes(row.trim().split(/\s+/)[3] ?? '')) return 'a connected TCP socket';
  }
  const unix = read('unix').find((line) => line.trim().split(/\s+/)[6] === String(inode));
  if (unix) {
    const [, , , , type, state] = unix.trim().split(/\s+/);
    if (type !== '0001') return 'a unix datagram or seqpacket socket';
    if (state === '03') return 'a connected unix socket';
  }
  return undefined;
}

function checkFd(fd: number): void {
  const shown = `Invalid fd ${fd}`;
  let st: Stats;
  try {
    st = fstatSync(fd);
  } catch {
    throw configError(
      `${shown}: file descriptor ${fd} is not open in this process — it must be a listening socket this process inherited`,
    );
  }
  if (!st.isSocket()) throw configError(`${shown}: file descriptor ${fd} is ${kindOf(st)}, not a socket`);
  const problem = process.platform === 'linux' ? socketProblem(st.ino) : undefined;
  if (problem)
    throw configError(`${shown}: file descriptor ${fd} is ${problem}, not a listening stream socket`);
}

async function checkHost(host: string, port: number): Promise<void> {
  if (net.isIP(host)) return;
  try {
    // Loaded only for a host name: the supervisor keeps what it loads for its whole life.
    const { lookup } = process.getBuiltinModule('node:dns/promises');
    await lookup(host);
  } catch (err) {
    throw pounceError('LISTEN_HOST_UNRESOLVED', {
      host,
      port,
      reason: (err as NodeJS.ErrnoException).code ?? (err as Error).message,
    });
  }
}

/** Checks the configured listen address; `inherited`: socket activation supplies the sockets. */
export async function checkListenAddress(config: Config, cwd: string, inherited: boolean): Promise<void> {
  if (config.fd !== undefined) checkFd(config.fd);
  else if (inherited) return;
  else if (config.uds !== undefined) await checkUds(config.uds, cwd);
  else await checkHost(config.host, config.port);
}
