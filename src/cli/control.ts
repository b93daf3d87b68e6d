// `pounce reload | stop | status | scale N`: talk to a running supervisor over its control socket. The socket
// is found from the same configuration `pounce serve` used (working directory, config file, env,
// flags), or named with --control-socket.
//
// Before it believes an answer, the client checks that it talks to a server of its own user: the
// socket's directory must be private (the default location) or trustworthy (checkTrustedPath), and
// the socket file itself must belong to this user or root — the owner of a unix socket file is
// whoever bound it, which another user cannot fake. When a pid file is configured, the pid in the
// answer must also be the one in the pid file (read before asking, as `stop` removes it), which
// catches a control socket and a pid file that belong to different servers.

import type { Stats } from 'node:fs';
import {
  CONTROL_DIR_CHECK,
  type ControlAnswer,
  type ControlRequest,
  type ControlSocketLocation,
  controlSocketLocation,
  type ServerStatus,
} from '../control/protocol.ts';
import { ExitCode, PounceError, pounceError } from '../errors.ts';
import { checkTrustedPath, ensurePrivateDir } from '../fs/private-dir.ts';
import { loadCommandConfig, type ParsedArgs } from './args.ts';

const { lstatSync, readFileSync } = process.getBuiltinModule('node:fs');
const net = process.getBuiltinModule('node:net');
const path = process.getBuiltinModule('node:path');

function ask(
  socketPath: string,
  request: ControlRequest,
): Promise<{ response: ControlAnswer; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    let buffer = '';
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.setEncoding('utf8');
    socket.once('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      const newline = buffer.indexOf('\n');
      if (newline >= 0)
        try {
          resolve({ response: JSON.parse(buffer.slice(0, newline)) as ControlAnswer, closed });
        } catch {
          reject(new Error(`${socketPath} answered something that is not pounce's control protocol`));
          socket.destroy();
        }
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') {
        reject(noServer(socketPath, err.code === 'ENOENT' ? 'does not exist' : 'refuses connections'));
      } else reject(err);
    });
    socket.once('close', () =>
      reject(new Error('the server closed the control connection without an answer')),
    );
  });
}

function noServer(socketPath: string, why: string): Error {
  return new Error(
    `no running pounce server found (control socket ${socketPath} ${why}); run this command with the configuration pounce serve was started with, or pass --control-socket`,
  );
}

/** Throws unless the socket at `location` can only have been bound by this user (or root). */
function verifyControlSocket(location: ControlSocketLocation): void {
  const socketPath = location.path;
  const dir = path.dirname(socketPath);
  if (location.isDefault) {
    if (ensurePrivateDir(dir, CONTROL_DIR_CHECK, false) === 'missing')
      throw noServer(socketPath, 'does not exist');
  } else {
    try {
      checkTrustedPath(dir, CONTROL_DIR_CHECK);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw noServer(socketPath, 'does not exist');
      throw err;
    }
  }
  let st: Stats;
  try {
    st = lstatSync(socketPath);
  } catch {
    throw noServer(socketPath, 'does not exist');
  }
  if (!st.isSocket()) throw noServer(socketPath, 'is not a socket');
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid && st.uid !== 0) {
    throw pounceError('UNSAFE_CONTROL_SOCKET_CLIENT', { path: socketPath, owner: st.uid, uid });
  }
}

/** The pid recorded in the pid file, read before the request is sent. */
function readPidFile(file: string): number {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(
      `cannot read the pid file ${file} (${(err as NodeJS.ErrnoException).code}) — is the server running with this configuration?`,
    );
  }
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`the pid file ${file} does not hold a pid`);
  return pid;
}

/**
 * Sends `request` to the server at `location` once the socket passed verifyControlSocket, and
 * checks the answering pid against `pidFile` (if configured). Every client command asks this way.
 */
export async function askServer(
  location: ControlSocketLocation,
  request: ControlRequest,
  pidFile: string | undefined,
  cwd: string,
): Promise<Awaited<ReturnType<typeof ask>>> {
  verifyControlSocket(location);
  const expectedPid = pidFile ? readPidFile(path.resolve(cwd, pidFile)) : undefined;
  const answer = await ask(location.path, request);
  const { pid, successorPid } = answer.response;
  // During an upgrade's cutover the pid file and the control socket move to the new supervisor one
  // after the other: the answer may come from the old one handing over (it names its successor) or
  // from the new one while the pid file read before still named the old one.
  const samePid = (expected: number) => pid === expected || successorPid === expected;
  if (
    expectedPid !== undefined &&
    !samePid(expectedPid) &&
    !samePid(readPidFile(path.resolve(cwd, pidFile!)))
  ) {
    throw pounceError('UNTRUSTED_SERVER_PID', {
      path: location.path,
      pid,
      pidFile: pidFile!,
      expected: expectedPid,
    });
  }
  return answer;
}

export async function controlCommand(args: ParsedArgs): Promise<number> {
  const cwd = process.cwd();
  const { config } = await loadCommandConfig(args, cwd);
  const location = controlSocketLocation(config, cwd);
  const command = args.command as ControlRequest['command'];
  const request: ControlRequest =
    command === 'scale'
      ? { command, workers: args.workers ?? 0 }
      : command === 'upgrade'
        ? { command, ...(args.node === undefined ? {} : { node: path.resolve(cwd, args.node) }) }
        : { command };
  let answer: Awaited<ReturnType<typeof ask>>;
  try {
    answer = await askServer(location, request, config.pidFile, cwd);
  } catch (err) {
    const coded = err instanceof PounceError ? `error ${err.code}: ` : '';
    process.stderr.write(`pounce ${command}: ${coded}${(err as Error).message}\n`);
    return ExitCode.FAILURE;
  }
  const { response, closed } = answer;
  if (!response.ok) {
    process.stderr.write(`pounce ${command}: failed — ${response.error}\n`);
    return ExitCode.FAILURE;
  }
  switch (response.command) {
    case 'reload':
      process.stdout.write(`Reload complete: generation ${response.generation} is serving\n`);
      return ExitCode.OK;
    case 'scale':
      process.stdout.write(
        response.workers === response.previous
          ? `Already running ${response.workers} worker(s)\n`
          : `Scaled from ${response.previous} to ${response.workers} worker(s)\n`,
      );
      return ExitCode.OK;
    case 'upgrade':
      process.stdout.write(
        `Upgrade complete: pid ${response.newPid} (pounce ${response.pounceVersion}, Node ${response.nodeVersion}) serves now; pid ${response.pid} drains and exits (upgrade ${response.upgrades})\n`,
      );
      return ExitCode.OK;
    case 'stop':
      process.stdout.write('Stopping...\n');
      await closed;
      process.stdout.write('Stopped\n');
      return ExitCode.OK;
    case 'status':
      process.stdout.write(
        args.json ? `${JSON.stringify(response.status, null, 2)}\n` : formatStatus(response.status),
      );
      return ExitCode.OK;
  }
}

function duration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return h ? `${h}h ${m}m ${s}s` : m ? `${m}m ${s}s` : `${s}s`;
}

export function formatStatus(status: ServerStatus): string {
  const lines = [
    `pounce ${status.state}, generation ${status.generation}, pid ${status.pid}, up ${duration(status.uptimeSeconds)}`,
    `pounce ${status.pounceVersion} on Node ${status.nodeVersion}, upgraded ${status.upgrades} time(s)${status.upgradingTo ? ` — upgrading now, new supervisor pid ${status.upgradingTo}` : ''}`,
    `workers: ${status.workersWanted} wanted, ${status.workers.filter((w) => w.state === 'ready' && w.generation === status.generation).length} serving`,
    `listening on ${status.url ?? '(not yet)'}`,
    ...(status.crashesLastMinute > 0
      ? [
          `crashes: ${status.crashesLastMinute} in the last 60s${status.crashLoop ? ' — crash loop (see the log)' : ''}`,
        ]
      : []),
    '',
    `${'WORKER'.padEnd(8)}${'PID'.padEnd(9)}${'GEN'.padEnd(6)}${'STATE'.padEnd(14)}${'CONNS'.padEnd(7)}UPTIME`,
  ];
  for (const w of status.workers) {
    lines.push(
      `${String(w.id).padEnd(8)}${String(w.pid).padEnd(9)}${String(w.generation).padEnd(6)}${w.state.padEnd(14)}${String(w.connections ?? '?').padEnd(7)}${duration(w.uptimeSeconds)}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
