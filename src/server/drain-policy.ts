// What a drain does, decided in one place. The drain engine (connection-drain.ts) and the shutdown
// sequence (run-server.ts) follow the policy; neither decides on its own.
//
//   drain                         listener closes          new connections   health   app told   delay
//   reload                        at once                  (go elsewhere)    ok       yes        —
//   shutdown, own socket          after the drain, once    503               503      yes        shutdownDelay
//                                 the accept queue is quiet
//   shutdown, inherited socket    at the signal            (wait queued for  503      yes        shutdownDelay
//                                                          the next instance)
//   unused (a server script's     at once                  (go elsewhere)    ok       no         —
//   server, when its export wins)

import type { DrainReason } from '../app/lifecycle.ts';
import type { Config } from '../config/options.ts';

/**
 * Whether the listening socket ends with this server or outlives it. An inherited socket (systemd's
 * socket unit, a launcher, LISTEN_FDS, `--fd` given to the supervisor) is held by someone else:
 * connections queued in it after this server stopped accepting wait there for the next instance.
 * A socket that ends with this server (or with its supervisor, which exits right after its
 * workers) resets the connections still queued in it when it closes.
 */
export type SocketLife = 'ends-with-server' | 'outlives-server';

/** The socket life of a worker's servers, given the sockets it inherited. */
export function socketLife(inheritedFds: readonly unknown[]): SocketLife {
  return inheritedFds.length > 0 ? 'outlives-server' : 'ends-with-server';
}

/** Why a server drains: the app's two reasons, or a server pounce started and does not use. */
export type DrainCause = DrainReason | 'unused';

export interface DrainPolicy {
  readonly cause: DrainCause;
  /**
   * When the listening socket closes: `at-signal` (before shutdownDelay: the socket outlives this
   * server, new connections wait in it for the next one), `at-drain` (when the drain starts: another
   * server accepts them), `after-drain` (new connections are answered 503 during the drain; the
   * listener closes once the drain settled and a poll of the event loop found the accept queue empty).
   */
  readonly closeListener: 'at-signal' | 'at-drain' | 'after-drain';
  /** What a connection accepted during the drain gets: a 503 for each request, or served as usual. */
  readonly newConnections: 'unavailable' | 'served';
  /** The readiness endpoint answers 503 draining from the signal on. */
  readonly healthDraining: boolean;
  /** The reason the app is told (drain signal, onDrain hooks, the workerDraining log line); none for unused. */
  readonly tellApp: DrainReason | undefined;
  /** Between the signal and the drain (shutdownDelay): the load balancer takes the server out. */
  readonly delaySeconds: number;
  /** Connections still open then are destroyed. */
  readonly deadline: { readonly seconds: number; readonly name: 'shutdownTimeout' | 'reloadTimeout' };
}

type PolicyConfig = Pick<Config, 'shutdownDelay' | 'shutdownTimeout' | 'reloadTimeout'>;

/**
 * The policy for a drain. `reloadTimeoutSeconds` replaces a reload drain's deadline (a worker that
 * hit an uncaught exception drains for a shorter time).
 */
export function drainPolicy(
  cause: DrainCause,
  socket: SocketLife,
  config: PolicyConfig,
  reloadTimeoutSeconds = config.reloadTimeout,
): DrainPolicy {
  if (cause === 'shutdown') {
    return {
      cause,
      closeListener: socket === 'outlives-server' ? 'at-signal' : 'after-drain',
      newConnections: 'unavailable',
      healthDraining: true,
      tellApp: 'shutdown',
      delaySeconds: config.shutdownDelay,
      deadline: { seconds: config.shutdownTimeout, name: 'shutdownTimeout' },
    };
  }
  return {
    cause,
    closeListener: 'at-drain',
    newConnections: 'served',
    healthDraining: false,
    tellApp: cause === 'reload' ? 'reload' : undefined,
    delaySeconds: 0,
    deadline: { seconds: reloadTimeoutSeconds, name: 'reloadTimeout' },
  };
}
