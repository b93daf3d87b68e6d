// The serving core: an HTTP server that knows how to drain. It implements the draining table of
// docs/architecture.md for one process (a worker, or the caller's own process with the programmatic API):
//
//   new connection while draining for shutdown  → 503, Connection: close, Retry-After
//   request in flight when the drain starts     → finishes; response carries Connection: close
//   next request on an open keep-alive socket   → served, with Connection: close
//   pipelined requests already received         → all answered; Connection: close on the last one
//   idle keep-alive socket                      → closed only after it stayed idle for IDLE_GRACE_MS
//   HTTP/2 session                              → GOAWAY; open streams finish
//   upgraded socket (WebSocket)                 → left to the app (drain signal); new upgrades 503
//   deadline                                    → every remaining socket and session destroyed
//
// Why not server.close(): since Node 19 it destroys idle keep-alive sockets at once, and under load a
// request is nearly always already on its way on such a socket; the client then sees a reset for a
// request nobody will answer. So we close only the listening socket (net.Server's close), and close
// each connection only when HTTP lets us do it safely.
//
// The hot path (no drain in progress) adds one boolean check, two property writes (linking the
// response for requestSignal; the connection's newest response, for pipelining) and, when
// configured, the health-path comparison and a request timer. Requests are not counted.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, ServerHttp2Session } from 'node:http2';
import net, { type AddressInfo, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { DrainReason } from '../app/lifecycle.ts';
import type { AppHandler, FetchHandler, UpgradeHandler } from '../app/shape.ts';
import type { Config } from '../config/options.ts';
import { pounceError } from '../errors.ts';
import type { Logger } from '../log/logger.ts';
import { type CreatedServer, createNodeServer, type NodeServer, type Protocol } from './create-server.ts';
import { FIRST_REQUEST_GRACE_MS, IDLE_GRACE_MS } from './grace.ts';
import { HealthEndpoints } from './health.ts';
import { abortRequest, linkResponse, withRequestSignal } from './request-signal.ts';
import { wrappedListener } from './request-wrappers.ts';
import { closeHeader, isHttp2, neuter, respondUnavailable, UPGRADE_UNAVAILABLE } from './responses.ts';
import { UnusedConnections } from './unused-connections.ts';

/** `reusePort`: thread mode, where every thread has its own SO_REUSEPORT listener on the address. */
export type ListenTarget =
  | { fd: number }
  | { path: string }
  | { host: string; port: number; reusePort?: boolean };

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
  | 'http2'
>;

interface ConnState {
  /** Accepted after a shutdown drain began: its requests are answered 503. */
  late: boolean;
  /** Handed to the app's upgrade handler (WebSocket): HTTP no longer runs on it. */
  upgraded: boolean;
  idleTimer: NodeJS.Timeout | undefined;
  /**
   * HTTP/1: the response to the newest request received on this connection. Pipelined requests
   * queue their responses behind each other, so this one, not the one being written, is where a
   * drain may close the connection without discarding a request the client already sent.
   */
  lastResponse: ServerResponse | undefined;
  /** The response pounce gave `Connection: close` during a drain (a later request takes it over). */
  closing: ServerResponse | undefined;
}

const kState = Symbol('pounce.connection');
type TrackedSocket = Socket & {
  [kState]: ConnState;
  _httpMessage?: ServerResponse | null;
  /** Set on TLS sockets: 'h2' when the connection carries an HTTP/2 session. */
  alpnProtocol?: string | false;
};
type TrackedSession = ServerHttp2Session & { [kState]?: { late: boolean } };

export interface DrainOptions {
  reason: DrainReason;
  /**
   * Shutdown keeps the listener open while draining so new connections get a clear 503 instead of a
   * refusal; a reload stops accepting at once because the new generation takes new connections.
   */
  keepAccepting: boolean;
  timeoutSeconds: number;
  timeoutName: 'shutdownTimeout' | 'reloadTimeout';
}

/**
 * Hands the drain engine a server pounce did not create (a server script's, src/app/script/): given
 * pounce's request and upgrade entry points, it must route the server's requests through them, in
 * front of the app's own listeners, and return the server.
 */
export type AdoptServer = (
  onRequest: (req: IncomingMessage, res: ServerResponse) => void,
  onUpgrade: UpgradeHandler,
) => CreatedServer;

export interface DrainResult {
  /** Connections still open at the deadline, destroyed. */
  forced: number;
}

export class DrainableServer {
  readonly server: NodeServer;
  readonly protocol: Protocol;
  readonly #handler: AppHandler;
  readonly #log: Logger;
  readonly #workerId: number;
  readonly #health: HealthEndpoints;
  /** An HTTP/2 server: its requests may be HTTP/2 streams or HTTP/1.1 (ALPN fallback). */
  readonly #h2: boolean;
  readonly #requestTimeoutMs: number | undefined;
  readonly #sockets = new Set<TrackedSocket>();
  readonly #sessions = new Set<TrackedSession>();
  /** TLS connections still in their handshake (raw TCP sockets). */
  readonly #handshaking = new Set<TrackedSocket>();
  /** Connections that have not sent a byte yet: closed after headersTimeout, or sooner if descriptors run low. */
  readonly #unused: UnusedConnections;
  #healthDraining = false;
  #draining = false;
  #rejectNew = false;
  #listening = false;
  /** Resolves when no connection accepted before the drain is left. */
  #onSettled: (() => void) | undefined;
  /** Called when the last open connection closes. */
  #onEmpty: (() => void) | undefined;

  /**
   * Throws PounceError POUNCE_ERR_TLS if the certificate files are missing or invalid. With `adopt`,
   * drains that server instead of creating one (its own TLS and timeout settings stand).
   */
  constructor(handler: AppHandler, config: ServerConfig, log: Logger, workerId = 0, adopt?: AdoptServer) {
    this.#handler =
      config.requestTimeout !== undefined && handler.fetch && handler.adapt
        ? { ...handler, listener: handler.adapt(withRequestSignal(handler.fetch) as FetchHandler) }
        : handler;
    this.#log = log;
    this.#workerId = workerId;
    this.#health = new HealthEndpoints(config, log);
    this.#requestTimeoutMs = config.requestTimeout === undefined ? undefined : config.requestTimeout * 1000;
    // Metrics and the access log (issue 12), when configured, wrap the entry point.
    const onRequest = wrappedListener(this.#onRequest);
    const created = adopt ? adopt(onRequest, this.#onUpgrade) : createNodeServer(config, onRequest);
    this.server = created.server;
    this.protocol = created.protocol;
    this.#h2 = created.protocol === 'h2';
    this.#unused = new UnusedConnections(config.headersTimeout * 1000, log, workerId);
    this.server.once('close', () => this.#unused.dispose());
    this.server.on(created.connectionEvent, this.#onConnection);
    // TLS: a connection is handed over only after its handshake. Until then it is tracked here, so
    // a drain does not settle (and the worker exit) while a client is still shaking hands.
    if (created.connectionEvent === 'secureConnection') this.server.on('connection', this.#onHandshakeStart);
    // After listen, an accept error must not crash the worker and every request it serves. EMFILE /
    // ENFILE (out of file descriptors) can come for every accept attempt: no line each, but room made.
    this.server.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EMFILE' || err.code === 'ENFILE') this.#unused.outOfDescriptors();
      else this.#log.event('serverError', { error: err.message });
    });
    if (created.protocol === 'h2') this.server.on('session', this.#onSession);
    if (handler.upgrade && !adopt) this.server.on('upgrade', this.#onUpgrade);
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** Open connections (including ones accepted while draining). */
  get connectionCount(): number {
    return this.#sockets.size + this.#handshaking.size;
  }

  listen(target: ListenTarget, backlog: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        reject(pounceError('LISTEN', { target: describeTarget(target), reason: err.message }));
      };
      this.server.once('error', onError);
      const done = () => {
        this.server.off('error', onError);
        this.#listening = true;
        resolve(addressUrl(this.server.address(), target, this.protocol === 'http' ? 'http' : 'https'));
      };
      if ('fd' in target) this.server.listen({ fd: target.fd, backlog }, done);
      else if ('path' in target) this.server.listen({ path: target.path, backlog }, done);
      else
        this.server.listen(
          { host: target.host, port: target.port, backlog, reusePort: target.reusePort },
          done,
        );
    });
  }

  /** Health turns 503 at once (shutdown signal received); serving continues until drain(). */
  markDraining(): void {
    this.#healthDraining = true;
  }

  /**
   * Drains per the table above. Resolves when every connection accepted before the drain has closed,
   * or at the deadline after destroying what is left. Does not close the listener for a shutdown:
   * call closeListener() when done.
   */
  async drain(options: DrainOptions): Promise<DrainResult> {
    // A reload drain leaves health alone: the server as a whole stays in service (the new
    // generation serves), and a probe on an old keep-alive connection must not take it out.
    if (options.reason === 'shutdown') this.#healthDraining = true;
    this.#draining = true;
    this.#rejectNew = options.keepAccepting;
    if (!options.keepAccepting) this.closeListener();
    const active = [...this.#sockets].filter((s) => !s[kState].late);
    const handshaking = [...this.#handshaking].filter((s) => !s[kState].late).length;
    if (active.length + handshaking) {
      this.#log.event('workerDraining', { worker: this.#workerId, connections: active.length + handshaking });
    } else this.#log.event('workerIdleShutdown', { worker: this.#workerId, reason: options.reason });
    // GOAWAY: the client opens new streams on a new connection (to the new generation on a reload);
    // the streams already open finish.
    for (const session of this.#sessions) session.close();
    for (const socket of active) this.#drainSocket(socket);
    // A handshake normally takes milliseconds; one that has not finished within the first-request
    // grace never will.
    for (const raw of this.#handshaking) {
      setTimeout(() => {
        if (this.#handshaking.has(raw)) raw.destroy();
      }, FIRST_REQUEST_GRACE_MS).unref();
    }

    let deadline: NodeJS.Timeout | undefined;
    const settled = new Promise<void>((resolve) => {
      this.#onSettled = resolve;
      this.#checkSettled();
    });
    const timedOut = new Promise<'timeout'>((resolve) => {
      deadline = setTimeout(() => resolve('timeout'), options.timeoutSeconds * 1000);
    });
    try {
      if ((await Promise.race([settled, timedOut])) !== 'timeout') return { forced: 0 };
      const left = this.connectionCount;
      this.#log.event('workerForce', {
        worker: this.#workerId,
        timeoutName: options.timeoutName,
        seconds: options.timeoutSeconds,
        connections: left,
      });
      this.destroyAll();
      return { forced: left };
    } finally {
      clearTimeout(deadline);
    }
  }

  /**
   * Stops accepting. Only the listening socket is closed (net.Server's close): http.Server's close
   * would also destroy idle keep-alive connections, which is exactly the reset we avoid.
   */
  closeListener(): Promise<void> {
    if (!this.#listening) return Promise.resolve();
    this.#listening = false;
    return new Promise((resolve) => net.Server.prototype.close.call(this.server, () => resolve()));
  }

  /**
   * After a shutdown drain: waits (up to `ms`) for the connections accepted during the drain to get
   * their 503 and close, then destroys whatever is left.
   */
  async finishLateConnections(ms: number): Promise<void> {
    if (this.connectionCount > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        this.#onEmpty = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#onEmpty = undefined;
    }
    this.destroyAll();
  }

  destroyAll(): void {
    for (const raw of this.#handshaking) raw.destroy();
    for (const session of this.#sessions) session.destroy();
    for (const socket of this.#sockets) {
      const res = socket._httpMessage;
      if (res) abortRequest(res.req, new Error('The request was cut at the drain deadline'));
      socket.destroy();
    }
  }

  #onHandshakeStart = (raw: Socket) => {
    const tracked = raw as TrackedSocket;
    tracked[kState] = connState(this.#rejectNew);
    this.#handshaking.add(tracked);
    this.#unused.accepted(raw);
    raw.once('close', () => this.#handshakeDone(tracked));
  };

  #handshakeDone(raw: TrackedSocket) {
    if (!this.#handshaking.delete(raw)) return;
    if (this.#draining) this.#checkSettled();
    if (this.#sockets.size === 0 && this.#handshaking.size === 0) this.#onEmpty?.();
  }

  #onConnection = (socket: Socket) => {
    // For TLS: the raw socket whose handshake just ended; the connection dates from its accept.
    const parent = (socket as Socket & { _parent?: TrackedSocket })._parent;
    const tracked = socket as TrackedSocket;
    tracked[kState] = connState(parent?.[kState]?.late ?? this.#rejectNew);
    this.#sockets.add(tracked);
    if (parent) this.#unused.handshaken(socket, parent);
    else this.#unused.accepted(socket);
    // Only now, with the TLS socket tracked, may the raw one leave the handshake set: the other
    // order lets a drain see no connection for an instant, settle, and exit under the client.
    if (parent) this.#handshakeDone(parent);
    socket.once('close', () => {
      clearTimeout(tracked[kState].idleTimer);
      this.#sockets.delete(tracked);
      if (this.#draining) this.#checkSettled();
      if (this.connectionCount === 0) this.#onEmpty?.();
    });
    // A connection accepted during a drain that never sends a request must not hold the exit.
    if (this.#draining) this.#armIdle(tracked);
  };

  #onSession = (session: ServerHttp2Session) => {
    const tracked = session as TrackedSession;
    tracked[kState] = { late: this.#rejectNew };
    this.#sessions.add(tracked);
    session.once('close', () => this.#sessions.delete(tracked));
    // A session that starts during a drain serves the streams it arrived with (503 in a shutdown),
    // then is told to go away.
    if (this.#draining) setImmediate(() => session.close());
  };

  #checkSettled() {
    if (!this.#onSettled) return;
    for (const socket of this.#sockets) if (!socket[kState].late) return;
    for (const raw of this.#handshaking) if (!raw[kState].late) return;
    this.#onSettled();
  }

  /** A socket that was open when the drain began. */
  #drainSocket(socket: TrackedSocket) {
    // HTTP/2 sessions got GOAWAY; upgraded sockets belong to the app until the deadline.
    const state = socket[kState];
    if (socket.alpnProtocol === 'h2' || state.upgraded) return;
    // The newest request received, not the one being answered: with pipelining, requests queue
    // behind it, and Node destroys the socket after a Connection: close response, dropping the
    // queue. So only the last received request's response may carry the close.
    const last = state.lastResponse;
    if (!last || last.writableFinished) {
      this.#armIdle(socket);
      return;
    }
    // A response that already rendered its headers said keep-alive: once it ends the socket is
    // idle, and the client's next request (if it comes within the grace) is served with
    // Connection: close.
    if (!last.headersSent) {
      last.setHeader('connection', 'close');
      state.closing = last;
    }
    last.once('close', () => this.#armIdle(socket));
  }

  #armIdle(socket: TrackedSocket) {
    const state = socket[kState];
    if (state.upgraded) return;
    clearTimeout(state.idleTimer);
    const bytesAtArm = socket.bytesRead;
    state.idleTimer = setTimeout(
      () => {
        const res = socket._httpMessage;
        if (res && !res.writableFinished) return; // a request arrived: its response re-arms us
        // Bytes arrived since arming (a request still being sent): not idle, look again later.
        if (socket.bytesRead !== bytesAtArm) this.#armIdle(socket);
        else socket.destroy();
      },
      bytesAtArm === 0 ? FIRST_REQUEST_GRACE_MS : IDLE_GRACE_MS,
    );
    state.idleTimer.unref();
  }

  #onRequest = (req: IncomingMessage, res: ServerResponse) => {
    if (this.#draining) {
      this.#onRequestWhileDraining(req, res);
      return;
    }
    // One property write per HTTP/1 request (see ConnState.lastResponse); HTTP/2 requests have no
    // socket of their own (and reading req.socket would build a proxy).
    if (!this.#h2 || !isHttp2(req)) {
      const state = (req.socket as TrackedSocket)[kState];
      if (state) state.lastResponse = res;
    }
    this.#dispatch(req, res);
  };

  /** Health endpoint or app, with the request signal and requestTimeout. */
  #dispatch(req: IncomingMessage, res: ServerResponse) {
    const health = this.#health.match(req.url);
    if (health) {
      this.#health.respond(health, req, res, this.#healthDraining);
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

  /**
   * Whether no request was received after this one on its connection. A response pounce writes
   * itself (500, 503 on requestTimeout) closes the connection only then: Node would drop the
   * requests pipelined behind a Connection: close, and the app has already been called for them.
   */
  #isLastReceived(req: IncomingMessage, res: ServerResponse): boolean {
    if (isHttp2(req)) return true;
    const state = (req.socket as TrackedSocket)[kState];
    return state === undefined || state.lastResponse === res;
  }

  #isHealth(req: IncomingMessage): boolean {
    return this.#health.match(req.url) !== undefined;
  }

  /** The drain rules for one request. */
  #onRequestWhileDraining(req: IncomingMessage, res: ServerResponse) {
    // Accepted after a shutdown drain began: 503, except for health probes.
    const isLate = (late: boolean | undefined) => this.#rejectNew && late === true && !this.#isHealth(req);
    if (isHttp2(req)) {
      const session = (req as unknown as Http2ServerRequest).stream.session as TrackedSession | undefined;
      if (isLate(session?.[kState]?.late)) respondUnavailable(req, res);
      else this.#dispatch(req, res);
      return;
    }
    const socket = req.socket as TrackedSocket;
    const state = socket[kState];
    if (!state) {
      // A connection pounce did not see accepted: no pipelining bookkeeping, close after this one.
      res.setHeader('connection', 'close');
      this.#dispatch(req, res);
      return;
    }
    clearTimeout(state.idleTimer);
    const previous = state.lastResponse;
    // The client sent this request before it read the Connection: close of an earlier response,
    // whose headers are already rendered: Node closes the connection after that response, so this
    // one cannot be answered. It is not given to the app either (RFC 9112 §9.6: the server
    // should not process requests after a close), and the client, which saw the close, retries it.
    if (previous && rendersClose(previous)) return;
    // Connection: close moves to the newest request received; the one that had it, not yet
    // rendered, goes out keep-alive and this one follows it on the same connection.
    if (state.closing && !state.closing.headersSent) restoreKeepAlive(state.closing);
    state.lastResponse = res;
    state.closing = res;
    res.setHeader('connection', 'close');
    // Node closes the socket after a Connection: close response; should the app have forced
    // keep-alive anyway, the idle grace still closes it.
    res.once('close', () => this.#armIdle(socket));
    // Answered on the next turn of the event loop: requests that arrived in the same read are
    // parsed first, and take the close over, before an app that answers synchronously renders
    // this response's headers.
    setImmediate(() => {
      if (isLate(state.late)) respondUnavailable(req, res, undefined, false);
      else this.#dispatch(req, res);
    });
  }

  #onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (this.#draining) {
      // A new WebSocket on a leaving worker would only be cut at the deadline: send it elsewhere.
      socket.end(UPGRADE_UNAVAILABLE);
      return;
    }
    const tracked = socket as TrackedSocket;
    if (tracked[kState]) {
      tracked[kState].upgraded = true;
      clearTimeout(tracked[kState].idleTimer);
    }
    try {
      this.#handler.upgrade!(req, socket, head);
    } catch (err) {
      this.#log.event('requestError', {
        method: req.method ?? '?',
        url: req.url ?? '?',
        error: err instanceof Error ? (err.stack ?? err.message) : String(err),
      });
      socket.destroy();
    }
  };

  #onAppError(req: IncomingMessage, res: ServerResponse, err: unknown) {
    this.#log.event('requestError', {
      method: req.method ?? '?',
      url: req.url ?? '?',
      error: err instanceof Error ? (err.stack ?? err.message) : String(err),
    });
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // On the next tick: a handler that threw at once did so while Node was still parsing the read
    // it came in; requests pipelined behind it in that read must be seen before the close is chosen.
    setImmediate(() => {
      if (res.headersSent || res.destroyed) return;
      const close = this.#isLastReceived(req, res) ? closeHeader(req) : {};
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
      const close = this.#isLastReceived(req, res);
      if (!close) restoreKeepAlive(res);
      respondUnavailable(req, res, 'Request timed out\n', close);
      neuter(res);
    }, ms);
    res.once('close', () => clearTimeout(timer));
  }
}

/** Headers rendered with Connection: close (Node's `_last`: it ends the connection after it). */
function rendersClose(res: ServerResponse): boolean {
  return res.headersSent && (res as ServerResponse & { _last?: boolean })._last === true;
}

/**
 * Undoes our setHeader('connection', 'close'). removeHeader alone would make Node send no
 * Connection header at all (its `_removedConnection` flag); with the flag cleared Node renders the
 * header it would have (keep-alive, with its Keep-Alive timeout).
 */
function restoreKeepAlive(res: ServerResponse): void {
  res.removeHeader('connection');
  (res as ServerResponse & { _removedConnection?: boolean })._removedConnection = false;
}

function connState(late: boolean): ConnState {
  return { late, upgraded: false, idleTimer: undefined, lastResponse: undefined, closing: undefined };
}

function describeTarget(target: ListenTarget): string {
  if ('fd' in target) return `inherited fd ${target.fd}`;
  if ('path' in target) return `unix socket ${target.path}`;
  return `${target.host}:${target.port}`;
}

function addressUrl(
  address: string | AddressInfo | null,
  target: ListenTarget,
  scheme: 'http' | 'https',
): string {
  if (typeof address === 'string') return `unix:${address}`;
  if (address === null) return describeTarget(target);
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `${scheme}://${host}:${address.port}`;
}
