// The supervisor's end of the control channel (see protocol.ts).

import { chmodSync, existsSync, mkdirSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Logger } from '../log/logger.ts';
import type { Supervisor } from '../supervisor/supervisor.ts';
import type { ControlRequest, ControlResponse } from './protocol.ts';

export interface ControlServer {
  close(): void;
}

/** Resolves true if something accepts connections at `socketPath`. */
function isAlive(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.connect(socketPath);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

/**
 * Listens on `socketPath`. A live socket there belongs to another server: this one then runs
 * without a control socket (and says so) rather than steal it. A stale file is removed.
 */
export async function startControlServer(
  socketPath: string,
  supervisor: Supervisor,
  log: Logger,
): Promise<ControlServer | undefined> {
  try {
    mkdirSync(path.dirname(socketPath), { recursive: true, mode: 0o700 });
    if (existsSync(socketPath)) {
      if (await isAlive(socketPath)) {
        log.event('controlUnavailable', { path: socketPath, error: 'another pounce server is using it' });
        return undefined;
      }
      unlinkSync(socketPath);
    }
    const server = net.createServer((connection) => serveConnection(connection, supervisor, log));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
    chmodSync(socketPath, 0o600);
    server.unref();
    log.event('controlListening', { path: socketPath });
    return {
      close() {
        server.close();
        try {
          unlinkSync(socketPath);
        } catch {
          // already removed
        }
      },
    };
  } catch (err) {
    log.event('controlUnavailable', { path: socketPath, error: (err as Error).message });
    return undefined;
  }
}

function serveConnection(connection: net.Socket, supervisor: Supervisor, log: Logger): void {
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
    let request: ControlRequest;
    try {
      request = JSON.parse(buffer.slice(0, newline)) as ControlRequest;
    } catch {
      reply(connection, { ok: false, error: 'malformed request' }, true);
      return;
    }
    connection.removeAllListeners('data');
    void handle(request, connection, supervisor, log);
  });
}

function reply(connection: net.Socket, response: ControlResponse, end: boolean): void {
  const line = `${JSON.stringify(response)}\n`;
  if (end) connection.end(line);
  else connection.write(line);
}

async function handle(
  request: ControlRequest,
  connection: net.Socket,
  supervisor: Supervisor,
  log: Logger,
): Promise<void> {
  switch (request.command) {
    case 'reload': {
      log.event('reloadRequested');
      const outcome = await supervisor.reload();
      reply(
        connection,
        outcome.ok
          ? { ok: true, command: 'reload', generation: outcome.generation }
          : { ok: false, error: outcome.reason },
        true,
      );
      return;
    }
    case 'status':
      reply(connection, { ok: true, command: 'status', status: await supervisor.status() }, true);
      return;
    case 'scale': {
      if (!Number.isInteger(request.workers) || request.workers < 1) {
        reply(
          connection,
          { ok: false, error: 'the number of workers must be an integer of 1 or more' },
          true,
        );
        return;
      }
      const outcome = await supervisor.scale(request.workers, 'Scale requested through the control socket');
      reply(
        connection,
        outcome.ok
          ? { ok: true, command: 'scale', workers: outcome.workers, previous: outcome.previous }
          : { ok: false, error: outcome.reason },
        true,
      );
      return;
    }
    case 'stop':
      // The connection stays open until this process exits: the client's wait ends with it.
      reply(connection, { ok: true, command: 'stop' }, false);
      supervisor.requestStop();
      return;
    default:
      reply(
        connection,
        { ok: false, error: `unknown command ${JSON.stringify((request as { command?: unknown }).command)}` },
        true,
      );
  }
}
