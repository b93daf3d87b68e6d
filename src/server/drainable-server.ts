// The drain engine for one server, in two rooms: the connections and how they drain
// (connection-drain.ts), and what stands in front of the app for each request (request-pipeline.ts).
// This file puts them together around a Node server — one pounce creates, or a server script's own
// (adopted) — and is the engine's only door: callers listen, drain with a policy (drain-policy.ts)
// and read the connection count; nothing reaches the connections or the listener around it.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppHandler, UpgradeHandler } from '../app/shape.ts';
import type { Config } from '../config/options.ts';
import type { Logger } from '../log/logger.ts';
import { ConnectionDrain, type DrainResult } from './connection-drain.ts';
import { type CreatedServer, createNodeServer, type NodeServer, type Protocol } from './create-server.ts';
import type { DrainPolicy, SocketLife } from './drain-policy.ts';
import type { ListenTarget } from './listen.ts';
import { RequestPipeline } from './request-pipeline.ts';
import { wrappedListener } from './request-wrappers.ts';

export type { DrainResult } from './connection-drain.ts';
export type { ListenTarget } from './listen.ts';

type ServerConfig = Pick<
  Config,
  | 'healthCheckPath'
  | 'livenessPath'
  | 'readinessTimeout'
  | 'requestTimeout'
  | 'keepAliveTimeout'
  | 'headersTimeout'
  | 'backlog'
  | 'certFile'
  | 'keyFile'
  | 'caFile'
  | 'clientCertificates'
  | 'http2'
>;

/**
 * Hands the drain engine a server pounce did not create (a server script's, src/app/script/): given
 * pounce's request and upgrade entry points, it must route the server's requests through them, in
 * front of the app's own listeners, and return the server.
 */
export type AdoptServer = (
  onRequest: (req: IncomingMessage, res: ServerResponse) => void,
  onUpgrade: UpgradeHandler,
) => CreatedServer;

export interface EngineOptions {
  workerId?: number;
  /** Drains that server instead of creating one (its own TLS and timeout settings stand). */
  adopt?: AdoptServer;
  /** Whether the listening socket outlives this server (drain-policy.ts); it ends with it by default. */
  socketLife?: SocketLife;
}

export class DrainableServer {
  readonly server: NodeServer;
  readonly protocol: Protocol;
  readonly socketLife: SocketLife;
  readonly #connections: ConnectionDrain;

  /** Throws PounceError POUNCE_ERR_TLS if the certificate files are missing or invalid. */
  constructor(handler: AppHandler, config: ServerConfig, log: Logger, options: EngineOptions = {}) {
    const { workerId = 0, adopt, socketLife = 'ends-with-server' } = options;
    this.socketLife = socketLife;
    this.#connections = new ConnectionDrain(config.headersTimeout, log, workerId);
    const pipeline = new RequestPipeline(handler, config, log, this.#connections);
    // Metrics and the access log (issue 12), when configured, wrap the entry point.
    const onRequest = wrappedListener(pipeline.onRequest);
    const created = adopt ? adopt(onRequest, pipeline.onUpgrade) : createNodeServer(config, onRequest);
    this.server = created.server;
    this.protocol = created.protocol;
    this.#connections.track(created);
    if (handler.upgrade && !adopt) this.server.on('upgrade', pipeline.onUpgrade);
  }

  /** Open connections (including ones accepted while draining). */
  get connectionCount(): number {
    return this.#connections.connectionCount;
  }

  listen(target: ListenTarget, backlog: number): Promise<string> {
    return this.#connections.listen(target, backlog, this.protocol === 'http' ? 'http' : 'https');
  }

  /** The drain is decided (health follows the policy at once); serving continues until drain(). */
  leave(policy: DrainPolicy): void {
    this.#connections.leave(policy);
  }

  /** Drains per the policy; see ConnectionDrain#drain. */
  drain(policy: DrainPolicy): Promise<DrainResult> {
    return this.#connections.drain(policy);
  }
}
