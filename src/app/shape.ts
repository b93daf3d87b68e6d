// Turns whatever the app module exported into one Node request listener. Accepted shapes:
// a Node listener `(req, res)` (Express is one), a fetch handler `(request) => Response`, an object
// with `fetch` (Hono), a Koa app (`callback()`), a Fastify instance, and a factory (a function of no
// arguments, sync or async, returning one of these; run once per worker).

import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { type PounceError, pounceError } from '../errors.ts';

export type Interface = 'auto' | 'node' | 'fetch';
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
export type FetchHandler = (
  request: Request,
  env: { incoming: IncomingMessage; outgoing: ServerResponse },
) => unknown;

export interface AppHandler {
  /** What the export turned out to be, for logs: "fetch handler", "factory → node listener", … */
  shape: string;
  kind: 'node' | 'fetch';
  listener: RequestListener;
  /** The original fetch function, for adapters that wrap it (request timeouts). */
  fetch?: FetchHandler;
  /** Bridges a (wrapped) fetch function to a Node listener; set for fetch apps. */
  adapt?: (fetch: FetchHandler) => RequestListener;
  /** Receives HTTP upgrade requests (WebSocket); without it upgrades are refused. */
  upgrade?: UpgradeHandler;
}

type Classified =
  | { kind: 'node'; listener: RequestListener; shape: string }
  | { kind: 'fetch'; fetch: FetchHandler; shape: string }
  | { kind: 'factory'; factory: () => unknown }
  | { kind: 'fastify'; app: { ready(): Promise<unknown>; routing: RequestListener } };

function classify(value: unknown, iface: Interface): Classified | undefined {
  if (typeof value === 'function') {
    // Arity is the only thing that tells a listener from a fetch handler from a factory in JS.
    // `--interface` settles the cases where arity misleads (rest parameters, default values).
    const fn = value as (...args: unknown[]) => unknown;
    if (fn.length === 0) return { kind: 'factory', factory: fn };
    if (iface === 'node' || (iface === 'auto' && fn.length >= 2)) {
      return { kind: 'node', listener: fn as RequestListener, shape: 'node listener' };
    }
    return { kind: 'fetch', fetch: fn as FetchHandler, shape: 'fetch handler' };
  }
  if (typeof value === 'object' && value !== null) {
    const obj = value as Record<string, unknown>;
    if (typeof obj.ready === 'function' && typeof obj.routing === 'function') {
      return { kind: 'fastify', app: obj as never };
    }
    if (typeof obj.fetch === 'function' && iface !== 'node') {
      const fetch = (obj.fetch as FetchHandler).bind(obj);
      return { kind: 'fetch', fetch, shape: 'object with fetch' };
    }
    if (typeof obj.callback === 'function' && iface !== 'fetch') {
      // Koa: app.callback() builds the (req, res) listener.
      const listener = (obj.callback as () => unknown).call(obj);
      if (typeof listener === 'function') {
        return { kind: 'node', listener: listener as RequestListener, shape: 'Koa-style app' };
      }
    }
  }
  return undefined;
}

function shapeError(where: string, value: unknown): PounceError {
  return pounceError('APP_SHAPE', { where, value });
}

/** An `upgrade(req, socket, head)` method on the exported object (or the factory's product). */
function upgradeOf(value: unknown): UpgradeHandler | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const upgrade = (value as { upgrade?: unknown }).upgrade;
  return typeof upgrade === 'function' ? (upgrade.bind(value) as UpgradeHandler) : undefined;
}

/** Builds the request listener for an exported value, running its factory if it is one. */
export async function toHandler(value: unknown, iface: Interface, where: string): Promise<AppHandler> {
  let c = classify(value, iface);
  let upgrade = upgradeOf(value);
  let prefix = '';
  if (c?.kind === 'factory') {
    let produced: unknown;
    try {
      produced = await c.factory();
    } catch (err) {
      throw pounceError('APP_FACTORY', { where, error: errorText(err) }, { cause: err });
    }
    c = classify(produced, iface);
    upgrade ??= upgradeOf(produced);
    if (c === undefined || c.kind === 'factory')
      throw shapeError(`The value returned by the factory ${where}`, produced);
    prefix = 'factory → ';
  }
  if (c === undefined) throw shapeError(where, value);
  switch (c.kind) {
    case 'node':
      return { kind: 'node', listener: c.listener, shape: prefix + c.shape, upgrade };
    case 'fetch': {
      const adapt = await fetchAdapter();
      return {
        kind: 'fetch',
        fetch: c.fetch,
        adapt,
        listener: adapt(c.fetch),
        shape: prefix + c.shape,
        upgrade,
      };
    }
    case 'fastify': {
      try {
        await c.app.ready();
      } catch (err) {
        throw pounceError('APP_READY', { where, error: errorText(err) }, { cause: err });
      }
      return {
        kind: 'node',
        listener: c.app.routing.bind(c.app),
        shape: `${prefix}Fastify instance`,
        upgrade,
      };
    }
    default:
      throw shapeError(where, value);
  }
}

/**
 * Bridges fetch handlers to Node through @hono/node-server, the maintained adapter. Imported only
 * when an app is a fetch handler: it costs about 20 MB of memory, which the supervisor and the
 * workers of Node-listener apps need not pay.
 */
async function fetchAdapter(): Promise<(fetch: FetchHandler) => RequestListener> {
  const { getRequestListener } = await import('@hono/node-server');
  return (fetch) => getRequestListener(fetch as never) as unknown as RequestListener;
}

export function errorText(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}
