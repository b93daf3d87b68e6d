// `pounce health`: asks the running server's health endpoint, for container health checks (Docker
// HEALTHCHECK, ECS healthCheck) that should not need curl in the image. The server is found like
// `pounce status` finds it (its control socket, from the same configuration), or named with --url.
// Exit 0 on 200, 1 otherwise, with a one-line reason either way.

import { type ControlSocketLocation, controlSocketLocation } from '../control/protocol.ts';
import { configError, ErrorCode, ExitCode, PounceError, pounceError } from '../errors.ts';
import { loadCommandConfig, type ParsedArgs } from './args.ts';
import { askServer } from './control.ts';

const http = process.getBuiltinModule('node:http');
const https = process.getBuiltinModule('node:https');

interface Target {
  url: URL;
  /** For a server on a unix socket: the socket, and `url` only carries the path. */
  socketPath?: string;
}

export async function healthCommand(args: ParsedArgs): Promise<number> {
  const cwd = process.cwd();
  const { config } = await loadCommandConfig(args, cwd);
  let target: Target;
  if (args.url !== undefined) {
    if (!URL.canParse(args.url) || !/^https?:$/.test(new URL(args.url).protocol))
      throw pounceError('INVALID_URL_FLAG', { url: args.url });
    target = { url: new URL(args.url) };
  } else {
    if (config.healthCheckPath === undefined) {
      throw configError(
        'Invalid healthCheckPath: it is not set, so the server has no health endpoint to ask — set healthCheckPath (--health-check-path /health), or pass --url',
      );
    }
    let found: Target | string;
    try {
      found = await serverTarget(
        controlSocketLocation(config, cwd),
        config.healthCheckPath,
        config.pidFile,
        cwd,
      );
    } catch (err) {
      if (err instanceof PounceError && err.code === ErrorCode.CONFIG) throw err;
      found = err instanceof PounceError ? `error ${err.code}: ${err.message}` : (err as Error).message;
    }
    if (typeof found === 'string') return unhealthy(found);
    target = found;
  }
  const answer = await get(target, (config.readinessTimeout + 1) * 1000);
  if (typeof answer === 'string') return unhealthy(`${answer} (${shown(target)})`);
  const line = `${answer.status}${answer.body ? ` ${answer.body}` : ''} from ${shown(target)}`;
  if (answer.status !== 200) return unhealthy(line);
  process.stdout.write(`healthy: ${line}\n`);
  return ExitCode.OK;
}

function unhealthy(reason: string): number {
  process.stderr.write(`pounce health: unhealthy: ${reason}\n`);
  return ExitCode.FAILURE;
}

function shown(target: Target): string {
  return target.socketPath ? `unix:${target.socketPath}${target.url.pathname}` : target.url.href;
}

/** Where the running server listens, from its status, with the health path. */
async function serverTarget(
  location: ControlSocketLocation,
  healthPath: string,
  pidFile: string | undefined,
  cwd: string,
): Promise<Target | string> {
  const { response } = await askServer(location, { command: 'status' }, pidFile, cwd);
  if (!response.ok || response.command !== 'status') return `the server did not report its status`;
  const listening = response.status.url;
  if (listening === undefined) return `the server is ${response.status.state} and not listening yet`;
  if (listening.startsWith('unix:'))
    return { url: new URL(healthPath, 'http://localhost'), socketPath: listening.slice('unix:'.length) };
  const url = new URL(healthPath, listening);
  // A server listening on every address is asked on loopback.
  if (url.hostname === '0.0.0.0') url.hostname = '127.0.0.1';
  if (url.hostname === '[::]') url.hostname = '[::1]';
  return { url };
}

function get(target: Target, timeoutMs: number): Promise<{ status: number; body: string } | string> {
  return new Promise((resolve) => {
    const client = target.url.protocol === 'https:' ? https : http;
    const req = client.get(
      target.url,
      {
        socketPath: target.socketPath,
        timeout: timeoutMs,
        // The server's own certificate, asked on loopback: its name rarely matches, and what is
        // checked here is the server, not the certificate.
        rejectUnauthorized: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (body.length < 200) body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: body.trim().split('\n')[0] ?? '' }));
        res.on('error', (err) => resolve(err.message));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs / 1000}s`)));
    req.on('error', (err: NodeJS.ErrnoException) =>
      resolve(err.code === 'ECONNREFUSED' ? 'nothing listens there (connection refused)' : err.message),
    );
  });
}
