// The control channel between `pounce reload|stop|status` and a running supervisor: one JSON
// request per connection, answered by one JSON line. The socket lives in a directory only its
// owner can enter (checked, not assumed: see fs/private-dir.ts), and is itself readable only by
// its owner.

import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import type { Config } from '../config/options.ts';
import { configError } from '../errors.ts';
import { socketPathTooLong } from '../fs/socket-path.ts';
import type { LiveStatus } from '../metrics/status-figures.ts';

const os = process.getBuiltinModule('node:os');
const path = process.getBuiltinModule('node:path');

export type ControlRequest =
  | { command: 'reload' }
  | { command: 'stop' }
  | { command: 'status' }
  | { command: 'scale'; workers: number }
  /** `node`: an absolute path to the Node executable the new supervisor runs on (default: the same). */
  | { command: 'upgrade'; node?: string };

export type ControlResponse =
  | { ok: true; command: 'reload'; generation: number }
  | { ok: true; command: 'scale'; workers: number; previous: number }
  | { ok: true; command: 'stop' }
  | { ok: true; command: 'status'; status: ServerStatus }
  | {
      ok: true;
      command: 'upgrade';
      /** The new supervisor. */
      newPid: number;
      pounceVersion: string;
      nodeVersion: string;
      upgrades: number;
    }
  | { ok: false; error: string };

/** What `pounce status` shows: the supervisor's report, the versions it runs and its upgrades. */
export type ServerStatus = LiveStatus & {
  pounceVersion: string;
  nodeVersion: string;
  /** How many times this server has been upgraded (`pounce upgrade`, SIGUSR2) since it started. */
  upgrades: number;
  /** The pid of the new supervisor while an upgrade runs, else null. */
  upgradingTo: number | null;
};

/**
 * Every answer carries the pid of the server that gave it, for the client to check (see
 * cli/control.ts). A supervisor in the middle of handing over to a new one (an upgrade) also names
 * it: the pid file may already name the new one.
 */
export type ControlAnswer = ControlResponse & { pid: number; successorPid?: number };

export interface ControlSocketLocation {
  path: string;
  /** True for the derived default under controlDirectory(), which pounce creates and must own. */
  isDefault: boolean;
}

/**
 * Where the control socket of a server lives: `controlSocket` if set, else a name derived from the
 * working directory and the listen address, so `pounce reload` run with the same configuration
 * in the same directory finds the server `pounce serve` started. A path too long to be a unix
 * socket is a config error here, for the server and the client alike.
 */
export function controlSocketLocation(
  config: Pick<Config, 'controlSocket' | 'uds' | 'fd' | 'host' | 'port'>,
  cwd: string,
): ControlSocketLocation {
  if (config.controlSocket) {
    const explicit = path.resolve(cwd, config.controlSocket);
    const tooLong = socketPathTooLong(explicit);
    if (tooLong)
      throw configError(
        `Invalid controlSocket ${JSON.stringify(config.controlSocket)}: ${tooLong} (the kernel's limit for unix socket paths) — choose a shorter path`,
      );
    return { path: explicit, isDefault: false };
  }
  const address = config.uds
    ? `unix:${path.resolve(cwd, config.uds)}`
    : config.fd !== undefined
      ? `fd:${config.fd}`
      : `${config.host}:${config.port}`;
  // SHA-256 keeps the name every pounce version derives (a newer client finds an older server, and
  // an upgrade keeps the socket where it was); no secret is involved, so a pure-JS hash does: it
  // spares the supervisor node:crypto (OpenSSL's initialisation and ~25 internal modules, ~2.5 MB RSS).
  const key = bytesToHex(sha256(utf8ToBytes(`${cwd}\0${address}`))).slice(0, 16);
  const derived = path.join(controlDirectory(), `${key}.sock`);
  const tooLong = socketPathTooLong(derived);
  if (tooLong)
    throw configError(
      `Invalid control socket: the default path ${derived} is too long (${tooLong}) because its directory ${controlDirectory()} (from $XDG_RUNTIME_DIR or the temp dir) is — set --control-socket to a shorter path`,
    );
  return { path: derived, isDefault: true };
}

export function controlDirectory(): string {
  const base = process.env.XDG_RUNTIME_DIR || os.tmpdir();
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  return path.join(base, `pounce-${uid}`);
}

/** How pounce names the control socket's directory in errors, and what to do about it. */
export const CONTROL_DIR_CHECK = {
  what: 'The control socket directory',
  advice:
    'another user could put their own socket there and answer pounce reload/stop/status; remove it, or choose a private place with --control-socket',
};
