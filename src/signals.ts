// Shutdown signals: the first SIGTERM/SIGINT starts the graceful shutdown, a second one exits at
// once (status 1), as promise 3 says. A user who presses Ctrl-C twice means it.

import { ExitCode } from './errors.ts';
import type { Logger } from './log/logger.ts';

export type ShutdownSignal = 'SIGTERM' | 'SIGINT';

/**
 * Installs the handlers. `onFirst` runs the graceful shutdown; when it resolves the process exits
 * with its status. Returns a function that removes the handlers.
 */
export function handleShutdownSignals(
  log: Logger,
  onFirst: (signal: ShutdownSignal) => Promise<number>,
): () => void {
  let received = false;
  const handler = (signal: ShutdownSignal) => {
    if (received) {
      log.event('signalForce', { signal });
      process.exit(ExitCode.FAILURE);
    }
    received = true;
    log.event('signalShutdown', { signal });
    onFirst(signal).then(
      (code) => process.exit(code),
      (err) => {
        log.pino.fatal({ err }, 'Shutdown failed');
        process.exit(ExitCode.FAILURE);
      },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  return () => {
    process.off('SIGTERM', handler);
    process.off('SIGINT', handler);
  };
}
