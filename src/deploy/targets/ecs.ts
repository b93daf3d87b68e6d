// `pounce generate ecs`: a Fargate task definition. ECS sends SIGTERM, waits the container's
// stopTimeout, then SIGKILL; it refuses a stopTimeout above 120 s, so a configuration whose stop may
// take longer cannot be deployed safely there and is an error, not a silently short timeout.

import { configError } from '../../errors.ts';
import {
  type GenerateContext,
  type GeneratedFile,
  requireHealthPath,
  requirePort,
  runtimeEnv,
} from '../context.ts';
import {
  commandHealthCheck,
  ECS_MAX_STOP_TIMEOUT_SECONDS,
  STOP_MARGIN_SECONDS,
  stopWaitSeconds,
} from '../timings.ts';
import { POUNCE_IN_IMAGE } from './docker.ts';

/** ECS's limits on a container health check (seconds, and a count for retries). */
const HEALTH_LIMITS = {
  interval: [5, 300],
  timeout: [2, 60],
  retries: [1, 10],
  startPeriod: [0, 300],
} as const;

export function ecs({ config, name }: GenerateContext): GeneratedFile[] {
  requireHealthPath(config, 'ecs');
  const port = requirePort(config, 'ecs');
  const stopTimeout = stopWaitSeconds(config);
  if (stopTimeout > ECS_MAX_STOP_TIMEOUT_SECONDS) {
    throw configError(
      `Invalid shutdownTimeout for ecs: shutdownDelay (${config.shutdownDelay}s) + shutdownTimeout (${config.shutdownTimeout}s) + shutdownHookTimeout (${config.shutdownHookTimeout}s) + ${STOP_MARGIN_SECONDS}s of slack needs a stopTimeout of ${stopTimeout}s, and ECS allows at most ${ECS_MAX_STOP_TIMEOUT_SECONDS}s — lower shutdownTimeout, shutdownDelay or shutdownHookTimeout so that their sum is at most ${ECS_MAX_STOP_TIMEOUT_SECONDS - STOP_MARGIN_SECONDS}s`,
    );
  }
  const check = commandHealthCheck(config);
  const healthCheck = {
    command: ['CMD', POUNCE_IN_IMAGE, 'health'],
    interval: check.intervalSeconds,
    timeout: check.timeoutSeconds,
    retries: check.retries,
    startPeriod: check.startPeriodSeconds,
  };
  for (const [field, [min, max]] of Object.entries(HEALTH_LIMITS)) {
    const value = healthCheck[field as keyof typeof HEALTH_LIMITS];
    if (value < min || value > max) {
      const option = field === 'startPeriod' ? 'startupTimeout' : 'readinessTimeout';
      throw configError(
        `Invalid ${option} for ecs: it makes the health check's ${field} ${value}s, and ECS allows ${min} to ${max} — lower ${option}`,
      );
    }
  }
  const taskDefinition = {
    family: name,
    networkMode: 'awsvpc',
    requiresCompatibilities: ['FARGATE'],
    cpu: '512',
    memory: '1024',
    containerDefinitions: [
      {
        name,
        image: `${name}:latest`,
        essential: true,
        portMappings: [{ containerPort: port, protocol: 'tcp' }],
        environment: runtimeEnv(config, { container: true }).map(([k, v]) => ({ name: k, value: v })),
        healthCheck,
        stopTimeout,
      },
    ],
  };
  return [{ path: 'ecs-task-definition.json', content: `${JSON.stringify(taskDefinition, null, 2)}\n` }];
}
