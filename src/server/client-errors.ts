// What a client that sends something the server cannot take as a request gets: a bad request, a
// header section too large, a request that took longer than headersTimeout (slowloris). Node's own
// answer writes the status line and destroys the socket at once; a client still sending (a slow
// client's next header bytes, the rest of a body) then meets a closed socket, the server's kernel
// answers with a reset, and a reset makes the client's kernel drop what it has not read yet — the
// very response that said why. Here the response is followed by a half-close (FIN): the client reads
// the response and the end of the stream, while the server reads nothing more (the HTTP parser gets
// no further bytes, so nothing sent after the error can become a request the app sees) and closes
// for good LINGER_MS later, when the client has long read the answer. nginx's "lingering close"
// does the same for the same reason.
//
// Only for servers whose app has no `clientError` listener of its own (a server script's framework,
// such as Fastify, may answer these itself).

import type { Socket } from 'node:net';
import type { NodeServer } from './create-server.ts';

/** How long a connection that was answered with an error stays half-closed before it is destroyed. */
export const LINGER_MS = 2000;

/** Node's own answers (lib/_http_server.js), by the parser's error code. */
const RESPONSES: Record<string, string> = {
  HPE_HEADER_OVERFLOW: 'HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n',
  HPE_CHUNK_EXTENSIONS_OVERFLOW: 'HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\n\r\n',
  ERR_HTTP_REQUEST_TIMEOUT: 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n',
};
const BAD_REQUEST = 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n';

interface HttpSocket extends Socket {
  /** The response in progress on this connection, if any (Node's http internals). */
  _httpMessage?: { headersSent?: boolean } | null;
  _handle?: { readStop?: () => number } | null;
}

const lingering = new WeakSet<Socket>();

function answerAndLinger(err: NodeJS.ErrnoException, socket: HttpSocket): void {
  // The parser reports again what it finds after the first error (more bytes, the end of the
  // stream): the first answer stands.
  if (lingering.has(socket) || socket.destroyed) return;
  // Nothing of a response may have gone out yet, or the answer would corrupt it.
  const answer =
    socket.writable && !socket._httpMessage?.headersSent ? (RESPONSES[err.code ?? ''] ?? BAD_REQUEST) : '';
  const stopReading = socket._handle?.readStop;
  if (typeof stopReading !== 'function') {
    // Not a stream handle this can stop reading from: Node's own way.
    if (answer) socket.write(answer);
    socket.destroy();
    return;
  }
  lingering.add(socket);
  socket.end(answer);
  stopReading.call(socket._handle);
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}

/** Installs the lingering answer on `server`, unless its app listens for `clientError` itself. */
export function answerClientErrors(server: NodeServer): void {
  if (server.listenerCount('clientError') > 0) return;
  server.on('clientError', answerAndLinger);
}
