// Puts pounce in front of a server script's own request handling. Node's HTTP servers hand every
// request to `server.emit('request', req, res)`; this replaces `emit` on that one server object so
// 'request' and 'upgrade' reach the drain engine first (health endpoint, 503 during a shutdown
// drain, Connection: close, requestTimeout), which then passes them to the app's listeners through
// the original emit. Taking over emit rather than moving the listeners keeps working for listeners
// the app adds after listen() (routes registered late, a WebSocket server attached later), and it
// is one extra function call per request: no closure, no rest array.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AdoptServer } from '../../server/drainable-server.ts';
import type { AppHandler } from '../shape.ts';
import type { ScriptServer } from './capture.ts';

const http = process.getBuiltinModule('node:http');

export interface Adopted {
  /** The app as the drain engine calls it: the server's own listeners. */
  handler: AppHandler;
  adopt: AdoptServer;
}

export function adoptServer(server: ScriptServer): Adopted {
  type Emit = (this: unknown, event: string | symbol, ...args: unknown[]) => boolean;
  const appEmit = server.emit as Emit;
  const protocol =
    server instanceof http.Server
      ? 'http'
      : (server as { constructor?: { name?: string } }).constructor?.name === 'Http2SecureServer'
        ? 'h2'
        : 'https';
  const handler: AppHandler = {
    shape: 'server script',
    kind: 'node',
    listener: (req, res) => {
      appEmit.call(server, 'request', req, res);
    },
    upgrade: (req, socket, head) => {
      appEmit.call(server, 'upgrade', req, socket, head);
    },
  };
  const adopt: AdoptServer = (onRequest, onUpgrade) => {
    // Named parameters and `arguments`, not a rest parameter: for every event the server emits (each
    // request, each connection) that would build an array and spread it again, also once V8 has
    // optimized this function (which then needs no `arguments` object for 'request').
    (server as { emit: Emit }).emit = function emit(
      this: unknown,
      event: string | symbol,
      a?: unknown,
      b?: unknown,
    ) {
      if (event === 'request') {
        onRequest(a as IncomingMessage, b as ServerResponse);
        return true;
      }
      if (event === 'upgrade') {
        // biome-ignore lint/complexity/noArguments: a rest parameter would allocate per event (above)
        onUpgrade(a as IncomingMessage, b as Duplex, arguments[3] as Buffer);
        return true;
      }
      // biome-ignore lint/complexity/noArguments: passes any other event on exactly as emitted
      return Reflect.apply(appEmit, this, arguments);
    };
    // pounce closes the listener during the drain. The script's own server.close() (from its held
    // signal handler, after the drain) then finds it closed, and Node would call back with
    // ERR_SERVER_NOT_RUNNING, which frameworks print (Next.js does) or treat as a failed shutdown.
    // The close the script asked for has happened: call back without an error.
    const close = server.close;
    server.close = function closeAfterDrain(this: ScriptServer, callback?: (err?: Error) => void) {
      if (this.listening) return close.call(this, callback);
      if (callback) process.nextTick(callback);
      return this;
    } as typeof server.close;
    return {
      server,
      protocol,
      connectionEvent: protocol === 'http' ? 'connection' : 'secureConnection',
    };
  };
  return { handler, adopt };
}
