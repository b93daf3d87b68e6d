// Captures the servers a server script starts, by wrapping net.Server.prototype.listen before the
// script is imported. Every listen() in the worker goes through the wrap: http.createServer(),
// Express's and Koa's app.listen(), Fastify's and NestJS's await app.listen() all end there.
//
// Why a wrap and not diagnostics_channel: Node 26 publishes `tracing:net.server.listen:asyncStart`
// with { server, options } before it binds, and rewriting `options` there does move the bind (tried:
// port 3000 → 45123, a unix path → a TCP port). But a tracing channel is for observing: rewriting
// what it publishes is undocumented, and a subscriber can neither refuse a listen (a second listener
// must bind nothing) nor take over its callback. The wrap can do all three with public API only.
//
// What each listen() gets:
//   the first, on an HTTP(S) server → the server pounce serves: bound on pounce's listener, whatever
//                                      the script asked for (serve() does it, through the cluster)
//   the first, on anything else      → POUNCE_ERR_SCRIPT_NOT_HTTP
//   a later one, same request listener (another address of the same app: Fastify binds ::1 next to
//     127.0.0.1 for "localhost")      → an alias: not bound; its 'error' listeners hear why
//   a later one, anything else        → per scriptExtraListeners: error | ignore | passthrough

import type { Server as HttpServer } from 'node:http';
import type https from 'node:https';
import type { Server as NetServer } from 'node:net';
import type tls from 'node:tls';
import { type PounceError, pounceError } from '../../errors.ts';
import type { Logger } from '../../log/logger.ts';

const http = process.getBuiltinModule('node:http');
const net = process.getBuiltinModule('node:net');

export type ExtraListeners = 'error' | 'ignore' | 'passthrough';

/** A server a script may be served with: HTTP/1.1, HTTPS, or HTTP/2 over TLS. */
export type ScriptServer = HttpServer | https.Server;

export interface CaptureOptions {
  extraListeners: ExtraListeners;
  /** Binds the first HTTP server on pounce's listener (called once, synchronously in its listen()). */
  serve(server: ScriptServer, asked: string): void;
  /** A listen() the script may not make: the worker must fail with this error. */
  fail(err: PounceError): void;
  log: Logger;
}

export interface Capture {
  /** The server being served, once the script called listen(). */
  readonly served: ScriptServer | undefined;
  /** Later listen() calls go straight to Node (the module turned out to export its app). */
  stop(): void;
}

const originalListen = net.Server.prototype.listen;

export function captureListens(options: CaptureOptions): Capture {
  let served: ScriptServer | undefined;
  let stopped = false;
  const passthrough = new WeakSet<NetServer>();

  net.Server.prototype.listen = function listen(this: NetServer, ...args: unknown[]) {
    // pounce's own bind of the served server, a passed-through listener, or capture over.
    if (stopped || this === served || passthrough.has(this)) return originalListen.apply(this, args as never);
    const asked = describeListen(args);
    const callback = args.at(-1);
    if (served === undefined) {
      if (!isHttpServer(this)) {
        options.fail(pounceError('SCRIPT_NOT_HTTP', { address: asked, kind: serverKind(this) }));
        return this;
      }
      served = this;
      // As Node's own listen(…, callback) does.
      if (typeof callback === 'function') this.once('listening', callback as () => void);
      options.serve(this, asked);
      return this;
    }
    if (isHttpServer(this) && sameApp(this, served)) {
      options.log.event('scriptAlias', { asked });
      refuse(this, 'EPOUNCEALIAS', `not bound: pounce serves this app on one listener (asked for ${asked})`);
      return this;
    }
    switch (options.extraListeners) {
      case 'ignore':
        options.log.event('scriptExtraListener', { asked, server: serverKind(this), action: 'ignored' });
        refuse(this, 'EPOUNCEIGNORED', `not bound: scriptExtraListeners is ignore (asked for ${asked})`);
        return this;
      case 'passthrough':
        options.log.event('scriptExtraListener', { asked, server: serverKind(this), action: 'bound' });
        passthrough.add(this);
        return originalListen.apply(this, args as never);
      default:
        options.fail(pounceError('SCRIPT_EXTRA_LISTENER', { address: asked, kind: serverKind(this) }));
        return this;
    }
  } as typeof net.Server.prototype.listen;

  return {
    get served() {
      return served;
    },
    stop() {
      stopped = true;
    },
  };
}

/**
 * node:https and node:tls, loaded when a script listens: not before, as most workers never need them
 * (every boot would pay for loading them).
 */
const secure = () => ({
  https: process.getBuiltinModule('node:https') as typeof https,
  tls: process.getBuiltinModule('node:tls') as typeof tls,
});

function isHttpServer(server: NetServer): server is ScriptServer {
  // https.Server is a tls.Server, not an http.Server; HTTP/2 secure servers are tls.Servers that
  // emit 'session' (checked by name: node:http2 does not export its server classes).
  return (
    server instanceof http.Server ||
    server instanceof secure().https.Server ||
    server.constructor?.name === 'Http2SecureServer'
  );
}

/** The same request listeners: the same app, listening on another address. */
function sameApp(server: NetServer, served: NetServer): boolean {
  const mine = server.listeners('request');
  const theirs = served.listeners('request');
  return mine.length > 0 && mine.every((l) => theirs.includes(l));
}

/**
 * A listen() that binds nothing. Code that waits for it with an 'error' listener (Fastify's
 * secondary bindings) hears why; a server without one is left alone, never listening, rather than
 * crashing the worker with an unhandled 'error'.
 */
function refuse(server: NetServer, code: string, message: string): void {
  if (server.listenerCount('error') === 0) return;
  process.nextTick(() => server.emit('error', Object.assign(new Error(message), { code })));
}

function serverKind(server: NetServer): string {
  if (server instanceof http.Server) return 'an http.Server';
  const { https, tls } = secure();
  if (server instanceof https.Server) return 'an https.Server';
  if (server instanceof tls.Server) return 'a tls.Server (raw TLS)';
  const name = server.constructor?.name;
  return name && name !== 'Server' ? `a ${name}` : 'a net.Server (raw TCP)';
}

/** What a listen() call asked for, in words: "port 3000", "127.0.0.1:3000", "unix socket /x". */
export function describeListen(args: unknown[]): string {
  const first = args[0];
  if (typeof first === 'function' || first === undefined) return 'a random port';
  if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
    const host = typeof args[1] === 'string' ? args[1] : undefined;
    return host ? `${host}:${first}` : `port ${first}`;
  }
  if (typeof first === 'string') return `unix socket ${first}`;
  if (typeof first === 'object' && first !== null) {
    // In the order Node's listen() reads them: a port wins over a path, and a falsy path is no path
    // (SvelteKit's adapter-node passes { path: false, host, port } when SOCKET_PATH is unset).
    const o = first as { port?: unknown; host?: unknown; path?: unknown; fd?: unknown };
    if (typeof o.fd === 'number') return `fd ${o.fd}`;
    const port = typeof o.port === 'number' || typeof o.port === 'string' ? String(o.port) : undefined;
    if (port === undefined && typeof o.path === 'string' && o.path) return `unix socket ${o.path}`;
    if (typeof o.host === 'string') return `${o.host}:${port ?? 'a random port'}`;
    if (port !== undefined) return `port ${port}`;
    return 'a handle';
  }
  return String(first);
}
