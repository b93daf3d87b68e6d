// Every timing of a deployment, computed in one place from pounce's own timeouts. The supervisor's
// backstop, systemd's EXTEND_TIMEOUT_USEC, and every number `pounce generate` writes into a
// Kubernetes, Docker, ECS, systemd or HAProxy file come from here, so they cannot disagree.
//
// The rule, once:
//
//   1. On SIGTERM pounce answers health 503 at once and keeps serving for `shutdownDelay`: the load
//      balancer must notice within that time, so its detection time (checks × interval) must be
//      well under the delay — the generator keeps it at half of it.
//   2. pounce then drains (≤ shutdownTimeout), runs the shutdown hooks (≤ shutdownHookTimeout), and
//      its supervisor kills any worker that outlives delay + timeout + hooks + DRAIN_SLACK_SECONDS:
//      that sum is pounce's own bound on a stop.
//   3. A platform must not SIGKILL before that bound: its stop wait (terminationGracePeriodSeconds,
//      stopTimeout, TimeoutStopSec, docker stop -t) is the bound rounded up plus EXIT_MARGIN_SECONDS
//      for the supervisor to exit after its last worker.
//
// Pure functions of the configuration, free of imports beyond the drain graces, so the supervisor
// can load this module without the generators.

import type { Config } from '../config/options.ts';
import { IDLE_GRACE_MS } from '../server/grace.ts';
import { clampTimer } from '../timeout.ts';

/** Slack on top of a worker's own deadlines before the supervisor kills it (a blocked event loop). */
export const BACKSTOP_SLACK_MS = 3_000;
/**
 * What a worker's stop takes beyond delay + timeout + hooks: the idle-connection grace after the
 * drain settles, and the backstop slack.
 */
export const DRAIN_SLACK_SECONDS = (IDLE_GRACE_MS + BACKSTOP_SLACK_MS) / 1000;
/** Time for the supervisor to exit once its last worker is gone (flush logs, systemd, pid file). */
export const EXIT_MARGIN_SECONDS = 2;
/** What a platform's stop wait adds to delay + timeout + hooks: pounce's slack and its exit. */
export const STOP_MARGIN_SECONDS = DRAIN_SLACK_SECONDS + EXIT_MARGIN_SECONDS;
/** The shutdownDelay pounce uses in Kubernetes when none is set (see src/deploy/platform.ts). */
export const KUBERNETES_SHUTDOWN_DELAY_SECONDS = 5;
/** ECS refuses a container stopTimeout above this. */
export const ECS_MAX_STOP_TIMEOUT_SECONDS = 120;
/** How long a readiness check result is reused, so a burst of probes runs the app's check once. */
export const READINESS_CACHE_MS = 1_000;

type Timeouts = Pick<
  Config,
  'shutdownDelay' | 'shutdownTimeout' | 'shutdownHookTimeout' | 'reloadTimeout' | 'startupTimeout'
>;

/** The longest a worker may take to drain and exit before the supervisor kills it. */
export function retireBudgetMs(c: Timeouts, reason: 'reload' | 'shutdown'): number {
  const seconds = reason === 'reload' ? c.reloadTimeout : c.shutdownTimeout + c.shutdownDelay;
  return clampTimer((seconds + c.shutdownHookTimeout) * 1000 + IDLE_GRACE_MS + BACKSTOP_SLACK_MS);
}

/**
 * How long the supervisor waits for a generation to be ready: startupTimeout, which the worker
 * enforces itself, and a second for its report to arrive (this catches a blocked event loop).
 */
export function startupBudgetMs(c: Pick<Config, 'startupTimeout'>): number {
  return clampTimer(c.startupTimeout * 1000 + 1000);
}

/** The longest a start or a reload may take to reach its outcome (the new generation's start, and slack). */
export function reloadBudgetMs(c: Pick<Config, 'startupTimeout'>): number {
  return clampTimer(startupBudgetMs(c) + BACKSTOP_SLACK_MS);
}

/**
 * Whole seconds a platform must wait after SIGTERM before it kills pounce: pounce's own bound on a
 * stop (retireBudgetMs) plus the supervisor's exit. With the defaults (0 + 10 + 5 + 4 + 2): 21.
 */
export function stopWaitSeconds(c: Timeouts): number {
  return Math.ceil(retireBudgetMs(c, 'shutdown') / 1000 + EXIT_MARGIN_SECONDS);
}

/** Whole seconds a platform should give pounce to start before it counts the start as failed. */
export function startWaitSeconds(c: Pick<Config, 'startupTimeout'>): number {
  return Math.ceil(reloadBudgetMs(c) / 1000 + EXIT_MARGIN_SECONDS);
}

/** A probe's own timeout: pounce answers within readinessTimeout, the probe waits one second more. */
export function probeTimeoutSeconds(c: Pick<Config, 'readinessTimeout'>): number {
  return Math.ceil(c.readinessTimeout) + 1;
}

export interface BalancerChecks {
  /** Milliseconds between two health checks. */
  intervalMs: number;
  /** Consecutive failed checks before the instance is taken out of rotation. */
  fall: number;
  /** Consecutive passed checks before a (new) instance takes traffic. */
  rise: number;
  /** Worst time from "health turns 503" to "out of rotation": (fall + 1) × interval. */
  detectionMs: number;
}

/** HAProxy's check interval never goes below this (a check every 100 ms per instance is plenty). */
const MIN_CHECK_INTERVAL_MS = 100;
const MAX_CHECK_INTERVAL_MS = 2_000;
const BALANCER_FALL = 2;

/**
 * The health checks of a load balancer that polls (HAProxy): after SIGTERM the first failing check
 * comes within one interval, and `fall` of them take the instance out. The interval is chosen so
 * that this detection time, (fall + 1) × interval, is at most half of shutdownDelay. Returns
 * undefined when shutdownDelay is too short for any interval the balancer can sustain.
 */
export function balancerChecks(c: Pick<Config, 'shutdownDelay'>): BalancerChecks | undefined {
  const budgetMs = (c.shutdownDelay * 1000) / 2;
  const intervalMs = Math.min(MAX_CHECK_INTERVAL_MS, Math.floor(budgetMs / (BALANCER_FALL + 1) / 10) * 10);
  if (intervalMs < MIN_CHECK_INTERVAL_MS) return undefined;
  return { intervalMs, fall: BALANCER_FALL, rise: 2, detectionMs: (BALANCER_FALL + 1) * intervalMs };
}

/** The shortest shutdownDelay balancerChecks() accepts. */
export const MIN_BALANCER_DELAY_SECONDS = (2 * (BALANCER_FALL + 1) * MIN_CHECK_INTERVAL_MS) / 1000;

export interface ProbeTimings {
  periodSeconds: number;
  failureThreshold: number;
  timeoutSeconds: number;
}

/**
 * Kubernetes readiness: fails within shutdownDelay where Kubernetes allows it (its probes run at
 * most once a second). Kubernetes takes a terminating pod out of its endpoints without waiting for
 * the probe; the probe matters for balancers that follow readiness and for the app's readiness check.
 */
export function readinessProbe(c: Pick<Config, 'shutdownDelay' | 'readinessTimeout'>): ProbeTimings {
  const failureThreshold = 2;
  return {
    periodSeconds: Math.max(1, Math.min(10, Math.floor(c.shutdownDelay / failureThreshold))),
    failureThreshold,
    timeoutSeconds: probeTimeoutSeconds(c),
  };
}

/** Kubernetes liveness: the liveness path answers without the app, so only a hung process fails it. */
export function livenessProbe(): ProbeTimings {
  return { periodSeconds: 10, failureThreshold: 3, timeoutSeconds: 5 };
}

/** Kubernetes startup: checked every second, for as long as pounce itself waits for a start. */
export function startupProbe(c: Pick<Config, 'startupTimeout' | 'readinessTimeout'>): ProbeTimings {
  return { periodSeconds: 1, failureThreshold: startWaitSeconds(c), timeoutSeconds: probeTimeoutSeconds(c) };
}

/** A container health check that runs `pounce health` (Docker HEALTHCHECK, ECS healthCheck). */
export function commandHealthCheck(c: Pick<Config, 'readinessTimeout' | 'startupTimeout'>) {
  return {
    intervalSeconds: 10,
    // `pounce health` starts a Node process (≈ 0.2 s) before it asks; one extra second for that.
    timeoutSeconds: probeTimeoutSeconds(c) + 1,
    retries: 3,
    startPeriodSeconds: startWaitSeconds(c),
  };
}
