// The connections of one server, and how they are drained: the connection rows of the draining
// table in docs/architecture.md, for one process. What each request gets is the request pipeline's
// business (request-pipeline.ts); what a drain does with the listener is its policy (drain-policy.ts).
//
//   new connection while draining for shutdown  → its requests are answered 503 (the pipeline's answer)
//   request in flight when the drain starts     → finishes; response carries Connection: close
//   next request on an open keep-alive socket   → served, with Connection: close
//   pipelined requests already received         → all answered; Connection: close on the last one
//   idle keep-alive socket                      → closed only after it stayed idle for IDLE_GRACE_MS
//   HTTP/2 session                              → GOAWAY; open streams finish
//   upgraded socket (WebSocket)                 → left to the app (drain signal); cut at the deadline
//   deadline                                    → every remaining socket and session destroyed
//
// Why not server.close(): since Node 19 it destroys idle keep-alive sockets at once, and under load a
// request is nearly always already on its way on such a socket; the client then sees a reset for a
// request nobody will answer. So only the listening socket is closed (net.Server's close), and each
// connection only when HTTP lets us do it safely.
//
// The phase is one value, changed only by #enter: serving → leaving (the signal; health may answer
// 503, requests are served as usual during shutdownDelay) → draining. Whether the listener is still
// open is Node's own `server.listening`.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, ServerHttp2Session } from 'node:http2';
import type { Socket } from 'node:net';
import type { Logger } from '../log/logger.ts';
import { settleWithin, TIMED_OUT } from '../timeout.ts';
import { answerClientErrors } from './client-errors.ts';
import { connState, kState, type TrackedSession, type TrackedSocket } from './connection-state.ts';
import type { CreatedServer, NodeServer } from './create-server.ts';
import type { DrainPolicy } from './drain-policy.ts';
import { FIRST_REQUEST_GRACE_MS, IDLE_GRACE_MS } from './grace.ts';
import { closeListener, type ListenTarget, lingerWhileAccepting, listenOn } from './listen.ts';
import { abortRequest } from './request-signal.ts';
import { isHttp2, rendersClose, restoreKeepAlive } from './responses.ts';
import { UnusedConnections } from './unused-connections.ts';

export type DrainPhase =
  | { readonly name: 'serving' }
  /** The drain is decided (the shutdown signal); until it starts, requests are served as usual. */
  | { readonly name: 'leaving'; readonly policy: DrainPolicy }
  | { readonly name: 'draining'; readonly policy: DrainPolicy };

export interface DrainResult {
  /** Connections still open at the deadline, destroyed. */
  forced: number;
}

/**
 * How the pipeline answers a request that arrived during a drain: `late` if its connection was
 * accepted after the drain began and the policy answers those 503.
 */
export type AnswerWhileDraining = (req: IncomingMessage, res: ServerResponse, late: boolean) => void;

const SERVING: DrainPhase = { name: 'serving' };

export class ConnectionDrain {
  readonly #log: Logger;
  readonly #workerId: number;
  readonly #sockets = new Set<TrackedSocket>();
  readonly #sessions = new Set<TrackedSession>();
  /** TLS connections still in their handshake (raw TCP sockets). */
  readonly #handshaking = new Set<TrackedSocket>();
  /** Connections that have not sent a byte yet: closed after headersTimeout, or sooner if descriptors run low. */
  readonly #unused: UnusedConnections;
  #server: NodeServer | undefined;
  /** An HTTP/2 server: its requests may be HTTP/2 streams or HTTP/1.1 (ALPN fallback). */
  #h2 = false;
  #phase: DrainPhase = SERVING;
  /** Connections accepted so far: tells the linger whether the last poll brought any. */
  #accepted = 0;
  /** Resolves when no connection accepted before the drain is left. */
  #onSettled: (() => void) | undefined;
  /** Called when the last open connection closes. */
  #onEmpty: (() => void) | undefined;

  constructor(headersTimeoutSeconds: number, log: Logger, workerId: number) {
    this.#log = log;
    this.#workerId = workerId;
    this.#unused = new UnusedConnections(headersTimeoutSeconds * 1000, log, workerId);
  }

  /** Tracks the connections of `created` from now on (once, before it listens). */
  track(created: CreatedServer): void {
    const server = created.server;
    this.#server = server;
    this.#h2 = created.protocol === 'h2';
    server.once('close', () => this.#unused.dispose());
    server.on(created.connectionEvent, this.#onConnection);
    // TLS: a connection is handed over only after its handshake. Until then it is tracked here, so
    // a drain does not settle (and the worker exit) while a client is still shaking hands.
    if (created.connectionEvent === 'secureConnection') server.on('connection', this.#onHandshakeStart);
    // After listen, an accept error must not crash the worker and every request it serves. EMFILE /
    // ENFILE (out of file descriptors) can come for every accept attempt: no line each, but room made.
    server.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EMFILE' || err.code === 'ENFILE') this.#unused.outOfDescriptors();
      else this.#log.event('serverError', { error: err.message });
    });
    if (created.protocol === 'h2') server.on('session', this.#onSession);
    answerClientErrors(server);
  }

  get phase(): DrainPhase {
    return this.#phase;
  }

  /** Open connections (including ones accepted while draining). */
  get connectionCount(): number {
    return this.#sockets.size + this.#handshaking.size;
  }

  listen(target: ListenTarget, backlog: number, scheme: 'http' | 'https'): Promise<string> {
    return listenOn(this.#server!, target, backlog, scheme);
  }

  /** The one place the phase changes. */
  #enter(phase: DrainPhase): void {
    this.#phase = phase;
  }

  /**
   * The drain is decided: from now on health follows the policy, and a listener whose socket
   * outlives this server closes at once. Requests are still served as usual until drain().
   */
  leave(policy: DrainPolicy): void {
    if (this.#phase.name !== 'serving') return;
    this.#enter({ name: 'leaving', policy });
    if (policy.closeListener === 'at-signal') void this.#closeListener();
  }

  /**
   * Drains per the table above and the policy. Resolves when every connection accepted before the
   * drain has closed, or at the deadline after destroying what is left; for a policy that answers
   * new connections 503, also after the listener closed and those connections got their answer.
   */
  async drain(policy: DrainPolicy): Promise<DrainResult> {
    this.leave(policy);
    this.#enter({ name: 'draining', policy });
    if (policy.closeListener === 'at-drain') void this.#closeListener();
    const active = [...this.#sockets].filter((s) => !s[kState].late);
    const handshaking = [...this.#handshaking].filter((s) => !s[kState].late).length;
    if (policy.tellApp && active.length + handshaking) {
      this.#log.event('workerDraining', { worker: this.#workerId, connections: active.length + handshaking });
    } else if (policy.tellApp) {
      this.#log.event('workerIdleShutdown', { worker: this.#workerId, reason: policy.tellApp });
    }
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

    const settled = new Promise<void>((resolve) => {
      this.#onSettled = resolve;
      this.#checkSettled();
    });
    let forced = 0;
    if ((await settleWithin(settled, policy.deadline.seconds * 1000)) === TIMED_OUT) {
      forced = this.connectionCount;
      this.#log.event('workerForce', {
        worker: this.#workerId,
        timeoutName: policy.deadline.name,
        seconds: policy.deadline.seconds,
        connections: forced,
      });
      this.#destroyAll();
    }
    if (policy.newConnections === 'unavailable') await this.#finishAccepting(policy);
    return { forced };
  }

  /**
   * After a drain that answers new connections 503: stops accepting, waits (up to the idle grace)
   * for the connections accepted during the drain to get their 503 and close, then destroys
   * whatever is left.
   */
  async #finishAccepting(policy: DrainPolicy): Promise<void> {
    // First the connections already queued in the listening socket (listen.ts).
    if (policy.closeListener === 'after-drain') await lingerWhileAccepting(() => this.#accepted);
    // Not awaited: net.Server's close callback waits for every connection, and a client that
    // connected during the drain and stays silent (a load balancer's pre-connect) would hold it.
    void this.#closeListener();
    if (this.connectionCount > 0) {
      const empty = new Promise<void>((resolve) => {
        this.#onEmpty = resolve;
      });
      await settleWithin(empty, IDLE_GRACE_MS);
      this.#onEmpty = undefined;
    }
    this.#destroyAll();
  }

  #closeListener(): Promise<void> {
    return this.#server ? closeListener(this.#server) : Promise.resolve();
  }

  #destroyAll(): void {
    for (const raw of this.#handshaking) raw.destroy();
    for (const session of this.#sessions) session.destroy();
    for (const socket of this.#sockets) {
      const res = socket._httpMessage;
      if (res) abortRequest(res.req, new Error('The request was cut at the drain deadline'));
      socket.destroy();
    }
  }

  /** Whether a connection accepted now is answered 503. */
  #acceptsLate(): boolean {
    const phase = this.#phase;
    return phase.name === 'draining' && phase.policy.newConnections === 'unavailable';
  }

  #onHandshakeStart = (raw: Socket) => {
    const tracked = raw as TrackedSocket;
    tracked[kState] = connState(this.#acceptsLate());
    this.#accepted++;
    this.#handshaking.add(tracked);
    this.#unused.accepted(raw);
    raw.once('close', () => this.#handshakeDone(tracked));
  };

  #handshakeDone(raw: TrackedSocket) {
    if (!this.#handshaking.delete(raw)) return;
    if (this.#phase.name === 'draining') this.#checkSettled();
    if (this.connectionCount === 0) this.#onEmpty?.();
  }

  #onConnection = (socket: Socket) => {
    // For TLS: the raw socket whose handshake just ended; the connection dates from its accept.
    const parent = (socket as Socket & { _parent?: TrackedSocket })._parent;
    const tracked = socket as TrackedSocket;
    tracked[kState] = connState(parent?.[kState]?.late ?? this.#acceptsLate());
    this.#sockets.add(tracked);
    if (parent) this.#unused.handshaken(socket, parent);
    else {
      this.#accepted++;
      this.#unused.accepted(socket);
    }
    // Only now, with the TLS socket tracked, may the raw one leave the handshake set: the other
    // order lets a drain see no connection for an instant, settle, and exit under the client.
    if (parent) this.#handshakeDone(parent);
    socket.once('close', () => {
      clearTimeout(tracked[kState].idleTimer);
      this.#sockets.delete(tracked);
      if (this.#phase.name === 'draining') this.#checkSettled();
      if (this.connectionCount === 0) this.#onEmpty?.();
    });
    // A connection accepted during a drain that never sends a request must not hold the exit.
    if (this.#phase.name === 'draining') this.#armIdle(tracked);
  };

  #onSession = (session: ServerHttp2Session) => {
    const tracked = session as TrackedSession;
    tracked[kState] = { late: this.#acceptsLate() };
    this.#sessions.add(tracked);
    session.once('close', () => this.#sessions.delete(tracked));
    // A session that starts during a drain serves the streams it arrived with (503 in a shutdown),
    // then is told to go away.
    if (this.#phase.name === 'draining') setImmediate(() => session.close());
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

  /**
   * A request received while serving (the hot path): one property write per HTTP/1 request (see
   * ConnState.lastResponse). HTTP/2 requests have no socket of their own (and reading req.socket
   * would build a proxy).
   */
  received(req: IncomingMessage, res: ServerResponse): void {
    if (this.#h2 && isHttp2(req)) return;
    const state = (req.socket as TrackedSocket)[kState];
    if (state) state.lastResponse = res;
  }

  /**
   * Whether no request was received after this one on its connection. A response pounce writes
   * itself (500, 503 on requestTimeout) closes the connection only then: Node would drop the
   * requests pipelined behind a Connection: close, and the app has already been called for them.
   */
  isLastReceived(req: IncomingMessage, res: ServerResponse): boolean {
    if (isHttp2(req)) return true;
    const state = (req.socket as TrackedSocket)[kState];
    return state === undefined || state.lastResponse === res;
  }

  /** A socket handed to the app's upgrade handler: HTTP and its idle grace no longer apply. */
  upgraded(socket: unknown): void {
    const state = (socket as TrackedSocket)[kState];
    if (!state) return;
    state.upgraded = true;
    clearTimeout(state.idleTimer);
  }

  /**
   * The connection rules for a request received during a drain; `answer` is called when (and if)
   * the request is to be answered.
   */
  whileDraining(req: IncomingMessage, res: ServerResponse, answer: AnswerWhileDraining): void {
    if (isHttp2(req)) {
      const session = (req as unknown as Http2ServerRequest).stream.session as TrackedSession | undefined;
      answer(req, res, session?.[kState]?.late === true);
      return;
    }
    const socket = req.socket as TrackedSocket;
    const state = socket[kState];
    if (!state) {
      // A connection pounce did not see accepted: no pipelining bookkeeping, close after this one.
      res.setHeader('connection', 'close');
      answer(req, res, false);
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
    setImmediate(() => answer(req, res, state.late));
  }
}
