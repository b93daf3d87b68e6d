// The supervisor's end of the control channel (see protocol.ts).

import type { Stats } from 'node:fs';
import type { Server, Socket } from 'node:net';
import { configError, PounceError, pounceError } from '../errors.ts';
import { checkTrustedPath, ensurePrivateDir } from '../fs/private-dir.ts';
import { socketAnswers } from '../fs/socket-path.ts';
import type { Logger } from '../log/logger.ts';
import { StatusFigures } from '../metrics/status-figures.ts';
import type { Supervisor } from '../supervisor/supervisor.ts';
import type { Upgrader } from '../upgrade/upgrader.ts';
import { NODE_VERSION, POUNCE_VERSION } from '../version.ts';
import {
  CONTROL_DIR_CHECK,
  type ControlAnswer,
  type ControlRequest,
  type ControlResponse,
  type ControlSocketLocation,
} from './protocol.ts';

const { chmodSync, existsSync, lstatSync, renameSync, rmSync, unlinkSync } =
  process.getBuiltinModule('node:fs');
const net = process.getBuiltinModule('node:net');
const path = process.getBuiltinModule('node:path');

export interface ControlServer {
  close(): void;
  /**
   * Moves the socket to `target` with one rename(2), replacing what is there (an upgrade: the old
   * supervisor's socket). Clients connect to whichever socket the path names at that instant, so
   * one of the two supervisors always answers.
   */
  moveTo(target: string): void;
  /**
   * Puts this supervisor's socket back at its path if the path no longer names it: after an upgrade
   * whose new supervisor moved its own socket there (moveTo) and then failed, that socket is dead
   * or gone, and this one's listener has no path left. Listens anew and renames the new socket over
   * the path. Returns whether it had to.
   */
  reclaim(): Promise<boolean>;
  /**
   * Resolves once every connection accepted so far has been answered and closed, or after
   * `timeoutMs`: a supervisor that hands over must not exit in the middle of answering a request
   * that reached it just before the control socket moved.
   */
  answered(timeoutMs: number): Promise<void>;
}

/** "a regular file", "a directory", "a symbolic link": what is at a path instead of a socket. */
function describeEntry(st: Stats): string {
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isDirectory()) return 'a directory';
  if (st.isFile()) return 'a regular file';
  if (st.isFIFO()) return 'a named pipe';
  return 'a device';
}

/**
 * Listens on the control socket. Its directory is created private, or must already be (default
 * location), or trustworthy (a --control-socket chosen by the user). What is already at the path
 * decides the rest:
 * - nothing: listen;
 * - a socket of this user that nobody answers (a server that was killed): removed, then listen;
 * - a socket of this user that answers: another pounce server of this user with the same
 *   configuration owns it; this one runs without a control socket and says so (logged);
 * - anything else (a file, a directory, a link, another user's socket) is not ours to remove, and
 *   serving without a control socket would leave `pounce stop` talking to whoever put it there:
 *   a clear error, exit status 2.
 */
export async function startControlServer(
  location: ControlSocketLocation,
  supervisor: Supervisor,
  log: Logger,
  upgrader?: Upgrader,
): Promise<ControlServer | undefined> {
  let socketPath = location.path;
  const dir = path.dirname(socketPath);
  try {
    if (location.isDefault || !existsSync(dir)) ensurePrivateDir(dir, CONTROL_DIR_CHECK);
    else checkTrustedPath(dir, CONTROL_DIR_CHECK);
  } catch (err) {
    if (err instanceof PounceError) throw err;
    throw configError(
      `Invalid control socket ${socketPath}: cannot create or check its directory (${(err as Error).message})`,
    );
  }
  const existing = lstatOrUndefined(socketPath);
  if (existing) {
    if (!existing.isSocket()) {
      throw configError(
        `Invalid control socket ${socketPath}: the path is already taken by ${describeEntry(existing)}, not a pounce control socket — pounce does not remove it; remove it or choose another --control-socket`,
      );
    }
    const uid = process.getuid?.();
    if (uid !== undefined && existing.uid !== uid) {
      throw pounceError('UNSAFE_CONTROL_SOCKET_SERVE', { path: socketPath, owner: existing.uid, uid });
    }
    if (await socketAnswers(socketPath)) {
      log.event('controlUnavailable', { path: socketPath, error: 'another pounce server is using it' });
      return undefined;
    }
    unlinkSync(socketPath);
  }
  const open = new Set<Socket>();
  const whenIdle: (() => void)[] = [];
  const figures = new StatusFigures(supervisor);
  const onConnection = (connection: Socket) => {
    open.add(connection);
    connection.once('close', () => {
      open.delete(connection);
      if (open.size === 0) for (const resolve of whenIdle.splice(0)) resolve();
    });
    serveConnection(connection, supervisor, figures, log, upgrader);
  };
  let server: Server;
  try {
    server = await listenPrivately(socketPath, onConnection);
  } catch (err) {
    throw configError(
      `Invalid control socket ${socketPath}: cannot listen on it (${(err as Error).message})`,
    );
  }
  /** The inode of the socket file this server made: how reclaim() knows the path still names it. */
  let inode = lstatSync(socketPath).ino;
  log.event('controlListening', { path: socketPath });
  const reclaimPath = async () => {
    // Short, next to the real path (one rename), and not a successor's staging name.
    const staging = path.join(path.dirname(socketPath), `.reclaim-${process.pid}.sock`);
    rmSync(staging, { force: true });
    const fresh = await listenPrivately(staging, onConnection);
    // Closing the orphaned listener makes libuv unlink the path it was bound to — the real path,
    // where the failed successor's socket is (or nothing): before the rename, not after it.
    server.close();
    renameSync(staging, socketPath);
    server = fresh;
    inode = lstatSync(socketPath).ino;
  };
  return {
    async reclaim() {
      if (lstatOrUndefined(socketPath)?.ino === inode) return false;
      try {
        await reclaimPath();
      } catch (err) {
        log.event('controlReclaimFailed', { path: socketPath, error: (err as Error).message });
        return false;
      }
      log.event('controlReclaimed', { path: socketPath });
      return true;
    },

    answered(timeoutMs) {
      if (open.size === 0) return Promise.resolve();
      return new Promise((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        whenIdle.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
    moveTo(target) {
      renameSync(socketPath, target);
      socketPath = target;
    },
    close() {
      server.close();
      try {
        unlinkSync(socketPath);
      } catch {
        // already removed
      }
    },
  };
}

/** A listening unix socket at `socketPath`, readable and writable by this user only, unref'd. */
async function listenPrivately(socketPath: string, onConnection: (c: Socket) => void): Promise<Server> {
  const server = net.createServer(onConnection);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  chmodSync(socketPath, 0o600);
  server.unref();
  return server;
}

function lstatOrUndefined(p: string): Stats | undefined {
  try {
    return lstatSync(p);
  } catch {
    return undefined;
  }
}

function serveConnection(
  connection: Socket,
  supervisor: Supervisor,
  figures: StatusFigures,
  log: Logger,
  upgrader: Upgrader | undefined,
): void {
  let buffer = '';
  connection.setEncoding('utf8');
  connection.on('error', () => {});
  connection.on('data', (chunk: string) => {
    buffer += chunk;
    const newline = buffer.indexOf('\n');
    if (newline < 0) {
      if (buffer.length > 4096) connection.destroy();
      return;
    }
    let request: unknown;
    try {
      request = JSON.parse(buffer.slice(0, newline));
    } catch {
      request = undefined;
    }
    // JSON that is not a request object (`null`, a number, no command) must get an answer, not
    // throw inside the supervisor.
    if (
      typeof request !== 'object' ||
      request === null ||
      typeof (request as ControlRequest).command !== 'string'
    ) {
      reply(connection, { ok: false, error: 'malformed request' }, true, upgrader);
      return;
    }
    connection.removeAllListeners('data');
    handle(request as ControlRequest, connection, supervisor, figures, log, upgrader).catch(
      (err: unknown) => {
        reply(
          connection,
          { ok: false, error: `internal error: ${(err as Error)?.message ?? String(err)}` },
          true,
          upgrader,
        );
      },
    );
  });
}

function reply(
  connection: Socket,
  response: ControlResponse,
  end: boolean,
  upgrader: Upgrader | undefined,
): void {
  const successorPid = upgrader?.successorPid;
  const answer: ControlAnswer = { ...response, pid: process.pid, ...(successorPid ? { successorPid } : {}) };
  const line = `${JSON.stringify(answer)}\n`;
  if (end) connection.end(line);
  else connection.write(line);
}

async function handle(
  request: ControlRequest,
  connection: Socket,
  supervisor: Supervisor,
  figures: StatusFigures,
  log: Logger,
  upgrader: Upgrader | undefined,
): Promise<void> {
  const answer = (response: ControlResponse, end = true) => reply(connection, response, end, upgrader);
  switch (request.command) {
    case 'reload': {
      log.event('reloadRequested');
      const outcome = await supervisor.reload();
      answer(
        outcome.ok
          ? { ok: true, command: 'reload', generation: outcome.generation }
          : { ok: false, error: outcome.reason },
      );
      return;
    }
    case 'status': {
      const status = await figures.report();
      answer({ ok: true, command: 'status', status: { ...status, ...upgradeInfo(upgrader) } });
      return;
    }
    case 'upgrade': {
      if (!upgrader) {
        answer({ ok: false, error: 'this server cannot be upgraded' });
        return;
      }
      const node = request.node;
      if (node !== undefined && (typeof node !== 'string' || !path.isAbsolute(node))) {
        answer({ ok: false, error: 'the Node executable must be an absolute path' });
        return;
      }
      const outcome = await upgrader.upgrade(node, 'Upgrade requested through the control socket');
      answer(
        outcome.ok
          ? {
              ok: true,
              command: 'upgrade',
              newPid: outcome.pid,
              pounceVersion: outcome.pounceVersion,
              nodeVersion: outcome.nodeVersion,
              upgrades: outcome.upgrades,
            }
          : { ok: false, error: outcome.reason },
      );
      return;
    }
    case 'scale': {
      if (!Number.isInteger(request.workers) || request.workers < 1) {
        answer({ ok: false, error: 'the number of workers must be an integer of 1 or more' });
        return;
      }
      const outcome = await supervisor.scale(request.workers, 'Scale requested through the control socket');
      answer(
        outcome.ok
          ? { ok: true, command: 'scale', workers: outcome.workers, previous: outcome.previous }
          : { ok: false, error: outcome.reason },
      );
      return;
    }
    case 'stop':
      // The connection stays open until this process exits: the client's wait ends with it.
      answer({ ok: true, command: 'stop' }, false);
      supervisor.requestStop();
      return;
    default:
      answer({
        ok: false,
        error: `unknown command ${JSON.stringify((request as { command?: unknown }).command)}`,
      });
  }
}

function upgradeInfo(upgrader: Upgrader | undefined) {
  return (
    upgrader?.info() ?? {
      pounceVersion: POUNCE_VERSION,
      nodeVersion: NODE_VERSION,
      upgrades: 0,
      upgradingTo: null,
    }
  );
}
