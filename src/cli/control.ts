// `pounce reload | stop | status | scale N`: talk to a running supervisor over its control socket. The socket
// is found from the same configuration `pounce serve` used (working directory, config file, env,
// flags), or named with --control-socket.

import net from 'node:net';
import { type ControlRequest, type ControlResponse, controlSocketPath } from '../control/protocol.ts';
import { ExitCode } from '../errors.ts';
import type { StatusReport } from '../supervisor/supervisor.ts';
import { loadCommandConfig, type ParsedArgs } from './args.ts';

export function ask(
  socketPath: string,
  request: ControlRequest,
): Promise<{ response: ControlResponse; closed: Promise<void> }> {
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
          resolve({ response: JSON.parse(buffer.slice(0, newline)) as ControlResponse, closed });
        } catch {
          reject(new Error(`${socketPath} answered something that is not pounce's control protocol`));
          socket.destroy();
        }
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') {
        reject(
          new Error(
            `no running pounce server found (control socket ${socketPath} ${err.code === 'ENOENT' ? 'does not exist' : 'refuses connections'}); run this command with the configuration pounce serve was started with, or pass --control-socket`,
          ),
        );
      } else reject(err);
    });
    socket.once('close', () =>
      reject(new Error('the server closed the control connection without an answer')),
    );
  });
}

export async function controlCommand(args: ParsedArgs): Promise<number> {
  const cwd = process.cwd();
  const { config } = await loadCommandConfig(args, cwd);
  const socketPath = controlSocketPath(config, cwd);
  const command = args.command as ControlRequest['command'];
  const request: ControlRequest = command === 'scale' ? { command, workers: args.workers ?? 0 } : { command };
  let answer: Awaited<ReturnType<typeof ask>>;
  try {
    answer = await ask(socketPath, request);
  } catch (err) {
    process.stderr.write(`pounce ${command}: ${(err as Error).message}\n`);
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

export function formatStatus(status: StatusReport): string {
  const lines = [
    `pounce ${status.state}, generation ${status.generation}, pid ${status.pid}, up ${duration(status.uptimeSeconds)}`,
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
