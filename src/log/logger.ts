// One logger for the process: pino, JSON lines when stdout is not a terminal (or logFormat=json),
// readable lines when it is. Writes are synchronous so that the last lines before an exit (a
// forced shutdown, a startup failure) are never lost in a buffer.

import { createRequire } from 'node:module';
import pino from 'pino';
import type { Config } from '../config/options.ts';
import { catalogue, type EventFields, type EventName } from './catalogue.ts';

export interface Logger {
  /** Logs one event from the catalogue. */
  event<E extends EventName>(
    name: E,
    ...fields: EventFields<E> extends Record<string, never> ? [] : [EventFields<E>]
  ): void;
  /** The underlying pino logger, for ad-hoc debug output. */
  readonly pino: pino.Logger;
  child(bindings: Record<string, unknown>): Logger;
}

function wrap(base: pino.Logger): Logger {
  return {
    pino: base,
    event(name, ...rest) {
      const fields = (rest[0] ?? {}) as Record<string, unknown>;
      const entry = catalogue[name] as { level: pino.Level; message: (f: unknown) => string };
      base[entry.level]({ event: name, ...fields }, entry.message(fields));
    },
    child: (bindings) => wrap(base.child(bindings)),
  };
}

export function createLogger(config: Pick<Config, 'logLevel' | 'logFormat'>): Logger {
  const usePretty =
    config.logFormat === 'pretty' || (config.logFormat === 'auto' && process.stdout.isTTY === true);
  const options: pino.LoggerOptions = {
    level: config.logLevel,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  // pino-pretty is loaded only for a terminal: JSON logging (production) does not pay for it.
  const destination = usePretty
    ? (createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty'))({
        sync: true,
        ignore: 'pid,hostname,event',
        translateTime: 'SYS:yyyy-mm-dd HH:MM:ss',
      })
    : pino.destination({ dest: 1, sync: true });
  return wrap(pino(options, destination));
}
