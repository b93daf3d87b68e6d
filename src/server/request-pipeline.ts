// What stands in front of the app for every request: the health endpoints, the request timeout,
// the 500 after an app error, the 503 for requests on connections accepted during a shutdown, and
// upgrades (WebSocket). Which connection a request may close, and when a request received during a
// drain is answered at all, is the connection drain's business (connection-drain.ts).
//
// The hot path (no drain in progress) adds one phase check, two property writes (linking the
// response for requestSignal; the connection's newest response, for pipelining) and, when
// configured, the health-path comparison and a request timer. Requests are not counted.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AppHandler, FetchHandler } from '../app/shape.ts';
import type { Config } from '../config/options.ts';
import type { Logger } from '../log/logger.ts';
import type { ConnectionDrain } from './connection-drain.ts';
import { HealthEndpoints } from './health.ts';
import { abortRequest, linkResponse, withRequestSignal } from './request-signal.ts';
import {
  closeHeader,
  neuter,
  respondUnavailable,
  restoreKeepAlive,
  UPGRADE_UNAVAILABLE,
} from './responses.ts';

export type PipelineConfig = Pick<
  Config,
  'healthCheckPath' | 'livenessPath' | 'readinessTimeout' | 'requestTimeout'
>;

export class RequestPipeline {
  readonly #handler: AppHandler;
  readonly #log: Logger;
  readonly #health: HealthEndpoints;
  readonly #requestTimeoutMs: number | undefined;
  readonly #connections: ConnectionDrain;

  constructor(handler: AppHandler, config: PipelineConfig, log: Logger, connections: ConnectionDrain) {
    this.#handler =
      config.requestTimeout !== undefined && handler.fetch && handler.adapt
        ? { ...handler, listener: handler.adapt(withRequestSignal(handler.fetch) as FetchHandler) }
        : handler;
    this.#log = log;
    this.#health = new HealthEndpoints(config, log);
    this.#requestTimeoutMs = config.requestTimeout === undefined ? undefined : config.requestTimeout * 1000;
    this.#connections = connections;
  }

  /** The server's request listener. */
  onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const connections = this.#connections;
    if (connections.phase.name === 'draining') {
      connections.whileDraining(req, res, this.#answerWhileDraining);
      return;
    }
    connections.received(req, res);
    this.#dispatch(req, res);
  };

  /** The server's upgrade listener (WebSocket). */
  onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (this.#connections.phase.name === 'draining') {
      // A new WebSocket on a leaving worker would only be cut at the deadline: send it elsewhere.
      socket.end(UPGRADE_UNAVAILABLE);
      return;
    }
    this.#connections.upgraded(socket);
    try {
      this.#handler.upgrade!(req, socket, head);
    } catch (err) {
      this.#logAppError(req, err);
      socket.destroy();
    }
  };

  /** Accepted after a shutdown drain began: 503, except for health probes. */
  #answerWhileDraining = (req: IncomingMessage, res: ServerResponse, late: boolean) => {
    if (late && this.#health.match(req.url) === undefined) respondUnavailable(req, res, undefined, false);
    else this.#dispatch(req, res);
  };

  /** Health endpoint or app, with the request signal and requestTimeout. */
  #dispatch(req: IncomingMessage, res: ServerResponse) {
    const health = this.#health.match(req.url);
    if (health) {
      const phase = this.#connections.phase;
      this.#health.respond(health, req, res, phase.name !== 'serving' && phase.policy.healthDraining);
      return;
    }
    linkResponse(req, res);
    if (this.#requestTimeoutMs !== undefined) this.#armRequestTimeout(req, res, this.#requestTimeoutMs);
    try {
      const result = this.#handler.listener(req, res) as unknown;
      if (result instanceof Promise) result.catch((err) => this.#onAppError(req, res, err));
    } catch (err) {
      this.#onAppError(req, res, err);
    }
  }

  #logAppError(req: IncomingMessage, err: unknown) {
    this.#log.event('requestError', {
      method: req.method ?? '?',
      url: req.url ?? '?',
      error: err instanceof Error ? (err.stack ?? err.message) : String(err),
    });
  }

  #onAppError(req: IncomingMessage, res: ServerResponse, err: unknown) {
    this.#logAppError(req, err);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // On the next tick: a handler that threw at once did so while Node was still parsing the read
    // it came in; requests pipelined behind it in that read must be seen before the close is chosen.
    setImmediate(() => {
      if (res.headersSent || res.destroyed) return;
      const close = this.#connections.isLastReceived(req, res) ? closeHeader(req) : {};
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8', ...close });
      res.end('Internal Server Error\n');
    });
  }

  #armRequestTimeout(req: IncomingMessage, res: ServerResponse, ms: number) {
    const timer = setTimeout(() => {
      const responseStarted = res.headersSent;
      this.#log.event('requestTimeout', {
        method: req.method ?? '?',
        url: req.url ?? '?',
        seconds: ms / 1000,
        responseStarted,
      });
      abortRequest(req, new Error('requestTimeout exceeded'));
      if (responseStarted) {
        res.destroy();
        return;
      }
      // Headers the app set for its own response (content-encoding, …) must not describe ours.
      for (const name of res.getHeaderNames()) res.removeHeader(name);
      const close = this.#connections.isLastReceived(req, res);
      if (!close) restoreKeepAlive(res);
      respondUnavailable(req, res, 'Request timed out\n', close);
      neuter(res);
    }, ms);
    res.once('close', () => clearTimeout(timer));
  }
}
