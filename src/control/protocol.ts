// The control channel between `pounce reload|stop|status` and a running supervisor: one JSON
// request per connection, answered by one JSON line. The socket lives in a directory only its
// owner can enter, and is itself readable only by its owner.

import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../config/options.ts';
import type { StatusReport } from '../supervisor/supervisor.ts';

export type ControlRequest =
  | { command: 'reload' }
  | { command: 'stop' }
  | { command: 'status' }
  | { command: 'scale'; workers: number };

export type ControlResponse =
  | { ok: true; command: 'reload'; generation: number }
  | { ok: true; command: 'scale'; workers: number; previous: number }
  | { ok: true; command: 'stop' }
  | { ok: true; command: 'status'; status: StatusReport }
  | { ok: false; error: string };

/**
 * Where the control socket of a server lives: `controlSocket` if set, else a name derived from the
 * working directory and the listen address, so `pounce reload` run with the same configuration
 * in the same directory finds the server `pounce serve` started.
 */
export function controlSocketPath(
  config: Pick<Config, 'controlSocket' | 'uds' | 'fd' | 'host' | 'port'>,
  cwd: string,
): string {
  if (config.controlSocket) return path.resolve(cwd, config.controlSocket);
  const address = config.uds
    ? `unix:${path.resolve(cwd, config.uds)}`
    : config.fd !== undefined
      ? `fd:${config.fd}`
      : `${config.host}:${config.port}`;
  const key = createHash('sha256').update(`${cwd}\0${address}`).digest('hex').slice(0, 16);
  return path.join(controlDirectory(), `${key}.sock`);
}

export function controlDirectory(): string {
  const base = process.env.XDG_RUNTIME_DIR || os.tmpdir();
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  return path.join(base, `pounce-${uid}`);
}
