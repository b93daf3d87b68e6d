// Small HTTP client helpers over real sockets. Responses are read completely, so a test sees the
// difference between a full response, a reset ("ECONNRESET") and an empty reply ("socket hang up").

import http from 'node:http';
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
