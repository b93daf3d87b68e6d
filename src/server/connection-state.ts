// What pounce keeps on each connection it tracks (connection-drain.ts): a symbol-keyed property on
// the socket itself, so finding a request's connection state costs one property read.

import type { ServerResponse } from 'node:http';
import type { ServerHttp2Session } from 'node:http2';
import type { Socket } from 'node:net';

export interface ConnState {
  /** Accepted during a drain whose policy answers new connections 503. */
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

export const kState = Symbol('pounce.connection');
export type TrackedSocket = Socket & {
  [kState]: ConnState;
  _httpMessage?: ServerResponse | null;
  /** Set on TLS sockets: 'h2' when the connection carries an HTTP/2 session. */
  alpnProtocol?: string | false;
};
export type TrackedSession = ServerHttp2Session & { [kState]?: { late: boolean } };

export function connState(late: boolean): ConnState {
  return { late, upgraded: false, idleTimer: undefined, lastResponse: undefined, closing: undefined };
}
