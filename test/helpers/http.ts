// Small HTTP client helpers over real sockets. Responses are read completely, so a test sees the
// difference between a full response, a reset ("ECONNRESET") and an empty reply ("socket hang up").

import http from 'node:http';
import type http2 from 'node:http2';
import net from 'node:net';

export interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** True when the request went over a socket that had served an earlier request. */
  reusedSocket: boolean;
}

export interface RequestOptions {
  method?: string;
  agent?: http.Agent | false;
  body?: string;
  headers?: Record<string, string>;
  /** Send the request over this already-connected socket. */
  socket?: net.Socket;
  timeoutMs?: number;
}

export function request(url: string, options: RequestOptions = {}): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: options.method ?? 'GET',
        agent: options.socket ? undefined : (options.agent ?? false),
        headers: options.headers,
        createConnection: options.socket ? () => options.socket! : undefined,
        timeout: options.timeoutMs ?? 15_000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () =>
          resolve({ status: res.statusCode!, headers: res.headers, body, reusedSocket: req.reusedSocket }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('client timeout')));
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Opens a TCP connection and resolves once it is established (accepted by the kernel). */
export function connect(port: number, host = '127.0.0.1'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, host, () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** A keep-alive agent with a single socket, so consecutive requests share one connection. */
export function keepAliveAgent(): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets: 1 });
}

/** Resolves when the socket is closed by the peer (or errors). */
export function closed(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) resolve();
    socket.once('close', () => resolve());
  });
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Parses the HTTP/1.1 responses a raw socket received, in order (Content-Length or chunked bodies).
 * A trailing partial response is reported as `incomplete`, so a test sees a cut response.
 */
export function parseResponses(data: Buffer): { responses: RawResponse[]; incomplete: boolean } {
  const responses: RawResponse[] = [];
  let at = 0;
  while (at < data.length) {
    const end = data.indexOf('\r\n\r\n', at);
    if (end < 0) return { responses, incomplete: true };
    const [statusLine, ...lines] = data.subarray(at, end).toString('latin1').split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    let body: Buffer = Buffer.alloc(0);
    at = end + 4;
    if (headers['content-length'] !== undefined) {
      const length = Number(headers['content-length']);
      if (at + length > data.length) return { responses, incomplete: true };
      body = data.subarray(at, at + length);
      at += length;
    } else if (headers['transfer-encoding'] === 'chunked') {
      const chunks: Buffer[] = [];
      for (;;) {
        const lineEnd = data.indexOf('\r\n', at);
        if (lineEnd < 0) return { responses, incomplete: true };
        const size = Number.parseInt(data.subarray(at, lineEnd).toString('latin1'), 16);
        at = lineEnd + 2;
        if (at + size + 2 > data.length) return { responses, incomplete: true };
        chunks.push(data.subarray(at, at + size));
        at += size + 2;
        if (size === 0) break;
      }
      body = Buffer.concat(chunks);
    }
    responses.push({ status: Number(statusLine!.split(' ')[1]), headers, body: body.toString('utf8') });
  }
  return { responses, incomplete: false };
}

/** Everything the peer sends on `socket` until it closes the connection. */
export function readUntilClosed(socket: net.Socket): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => {});
    socket.once('close', () => resolve(Buffer.concat(chunks)));
  });
}

/** One GET stream on an HTTP/2 session, read completely. */
export function h2Request(
  session: http2.ClientHttp2Session,
  p: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':path': p });
    let status = 0;
    let body = '';
    stream.on('response', (headers) => {
      status = Number(headers[':status']);
    });
    stream.setEncoding('utf8').on('data', (c: string) => {
      body += c;
    });
    stream.on('end', () => resolve({ status, body }));
    stream.on('error', reject);
  });
}
