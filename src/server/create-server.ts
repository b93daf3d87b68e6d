// Builds the Node server for the configured protocol: HTTP/1.1, HTTPS, or HTTP/2 over TLS with
// HTTP/1.1 fallback (ALPN). Certificate files are read here, when a worker starts, so a reload —
// which starts new workers — picks up rotated certificates, and a broken one fails the new worker
// (and so the reload) while the old generation keeps its certificate.

import type { Server as HttpServer, IncomingMessage, ServerResponse } from 'node:http';
import type http2 from 'node:http2';
import type https from 'node:https';
import type tls from 'node:tls';
import type { Config } from '../config/options.ts';
import { pounceError } from '../errors.ts';
import { SWEEP_MS } from './unused-connections.ts';

const { readFileSync } = process.getBuiltinModule('node:fs');
const http = process.getBuiltinModule('node:http');

export type Protocol = 'http' | 'https' | 'h2';
export type NodeServer = HttpServer | https.Server | http2.Http2SecureServer;

export interface CreatedServer {
  server: NodeServer;
  protocol: Protocol;
  /** The event that hands over each new connection as the socket requests will see. */
  connectionEvent: 'connection' | 'secureConnection';
}

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

type ServerConfig = Pick<
  Config,
  'keepAliveTimeout' | 'headersTimeout' | 'certFile' | 'keyFile' | 'caFile' | 'clientCertificates' | 'http2'
>;

function readPem(option: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const reason =
      (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : (err as Error).message;
    throw pounceError('TLS_FILE', { option, file, reason });
  }
}

// node:tls, node:https and node:http2 are loaded only for a server that uses them: together they
// add tens of milliseconds to every worker's boot (and a reload's new generation boots while the
// old one serves on the same cores) and several MB to its memory.
const builtin = <T>(name: string) => process.getBuiltinModule(name) as T;

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

/**
 * The CA file's certificates, each checked: OpenSSL skips what it cannot parse in `ca` without a
 * word, so a wrong file (a key, a DER file, a typo'd concatenation) would only show as a chain
 * clients cannot verify.
 */
function readCaFile(file: string): Buffer {
  const pem = readPem('caFile', file);
  const blocks = pem.toString('latin1').match(PEM_CERTIFICATE) ?? [];
  const invalid = (reason: string) => pounceError('TLS_FILE', { option: 'caFile', file, reason });
  if (blocks.length === 0) throw invalid('holds no PEM certificate (-----BEGIN CERTIFICATE-----)');
  const { X509Certificate } = builtin<typeof import('node:crypto')>('node:crypto');
  blocks.forEach((block, i) => {
    try {
      new X509Certificate(block);
    } catch (err) {
      throw invalid(
        `has a certificate that cannot be read (certificate ${i + 1} of ${blocks.length}: ${(err as Error).message})`,
      );
    }
  });
  return pem;
}

function tlsOptions(config: ServerConfig): tls.SecureContextOptions {
  const options: tls.SecureContextOptions = {
    cert: readPem('certFile', config.certFile!),
    key: readPem('keyFile', config.keyFile!),
    ca: config.caFile ? readCaFile(config.caFile) : undefined,
  };
  try {
    // Fails now, with OpenSSL's reason, rather than on the first handshake.
    builtin<typeof tls>('node:tls').createSecureContext(options);
  } catch (err) {
    throw pounceError('TLS_PAIR', {
      certFile: config.certFile!,
      keyFile: config.keyFile!,
      reason: (err as Error).message,
    });
  }
  return options;
}

export function createNodeServer(config: ServerConfig, onRequest: Listener): CreatedServer {
  const headersTimeout = config.headersTimeout * 1000;
  const timeouts = {
    keepAliveTimeout: config.keepAliveTimeout * 1000,
    headersTimeout,
    // Node's own requestTimeout bounds receiving the request (slowloris protection); it must not
    // be shorter than headersTimeout. pounce's requestTimeout (the whole exchange) is separate.
    requestTimeout: Math.max(300_000, headersTimeout),
    // Node checks both only every connectionsCheckingInterval (30 s by default: a 5 s headersTimeout
    // cut a slowloris client at 29.9 s). The check walks the connections that are receiving a
    // request, nothing per request.
    connectionsCheckingInterval: SWEEP_MS,
  };
  if (config.certFile === undefined) {
    return {
      server: http.createServer(timeouts, onRequest),
      protocol: 'http',
      connectionEvent: 'connection',
    };
  }
  // The TLS handshake is the first part of sending the first request (the default bound is 120 s).
  // Mutual TLS (clientCertificates): the client's certificate is checked against caFile alone (a
  // `ca` replaces Node's default roots); with `request` a client without one, or with one caFile
  // does not trust, is still served, and the app decides (req.socket.authorized).
  const secure = {
    ...tlsOptions(config),
    handshakeTimeout: headersTimeout,
    requestCert: config.clientCertificates !== 'none',
    rejectUnauthorized: config.clientCertificates === 'require',
  };
  if (config.http2) {
    const server = builtin<typeof http2>('node:http2').createSecureServer(
      { ...secure, allowHTTP1: true },
      onRequest as never,
    );
    // The HTTP/1.1 fallback reads these from the server object.
    Object.assign(server, timeouts);
    return { server, protocol: 'h2', connectionEvent: 'secureConnection' };
  }
  return {
    server: builtin<typeof https>('node:https').createServer({ ...secure, ...timeouts }, onRequest),
    protocol: 'https',
    connectionEvent: 'secureConnection',
  };
}
