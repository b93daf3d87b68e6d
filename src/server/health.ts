// The built-in health endpoints: what load balancers and Kubernetes probes ask. They tell only
// whether this process takes traffic (readiness, `healthCheckPath`) and whether it is alive
// (liveness, `livenessPath`); nothing about the app, versions or hosts leaks through them (a failed
// readiness check's reason goes to the log, not to the prober).
//
//   healthCheckPath  200 {"status":"ok"}; 503 {"status":"draining"} from the shutdown signal on;
//                    503 {"status":"not-ready"} while the app's readiness check fails
//   livenessPath     200 {"status":"alive"} as long as the process serves HTTP, draining included:
//                    a draining instance must leave the rotation, not be restarted

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '../config/options.ts';
import type { Logger } from '../log/logger.ts';
import { ReadinessGate } from './readiness.ts';
import { isPath } from './responses.ts';

const BODIES = {
  ok: JSON.stringify({ status: 'ok' }),
  draining: JSON.stringify({ status: 'draining' }),
  'not-ready': JSON.stringify({ status: 'not-ready' }),
  alive: JSON.stringify({ status: 'alive' }),
};
type Status = keyof typeof BODIES;

export type HealthKind = 'readiness' | 'liveness';

export class HealthEndpoints {
  readonly #readinessPath: string | undefined;
  readonly #livenessPath: string | undefined;
  readonly #gate: ReadinessGate;

  constructor(config: Pick<Config, 'healthCheckPath' | 'livenessPath' | 'readinessTimeout'>, log: Logger) {
    this.#readinessPath = config.healthCheckPath;
    this.#livenessPath = config.livenessPath;
    this.#gate = new ReadinessGate(config.readinessTimeout, (now) =>
      now.ready ? log.event('readinessRestored') : log.event('readinessFailed', { reason: now.reason }),
    );
  }

  /** Which endpoint `url` asks for, if any. */
  match(url: string | undefined): HealthKind | undefined {
    if (this.#readinessPath !== undefined && isPath(url, this.#readinessPath)) return 'readiness';
    if (this.#livenessPath !== undefined && isPath(url, this.#livenessPath)) return 'liveness';
    return undefined;
  }

  respond(kind: HealthKind, req: IncomingMessage, res: ServerResponse, draining: boolean): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-length': 0 });
      res.end();
      return;
    }
    if (kind === 'liveness') send(res, 'alive');
    else if (draining) send(res, 'draining');
    else {
      const readiness = this.#gate.check();
      if (readiness instanceof Promise) void readiness.then((r) => send(res, r.ready ? 'ok' : 'not-ready'));
      else send(res, readiness.ready ? 'ok' : 'not-ready');
    }
  }
}

function send(res: ServerResponse, status: Status): void {
  // The connection may have gone while a readiness check ran.
  if (res.writableEnded || res.destroyed) return;
  const body = BODIES[status];
  res.writeHead(status === 'ok' || status === 'alive' ? 200 : 503, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  // HEAD: same status and headers as GET, no body (Node drops the body of a HEAD response itself).
  res.end(body);
}
