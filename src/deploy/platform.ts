// Defaults that depend on where pounce runs. In Kubernetes a terminating pod is removed from the
// Service's endpoints at the same moment it gets SIGTERM, and every node's kube-proxy, and every
// ingress controller, learns that asynchronously — for a few seconds new requests still arrive. With
// shutdownDelay 0 pounce would answer them 503 (or refuse them once it exits), so when
// KUBERNETES_SERVICE_HOST says we run in a pod and the user set no shutdownDelay, pounce uses
// KUBERNETES_SHUTDOWN_DELAY_SECONDS and logs that it did. An explicit value, 0 included, wins.

import type { LoadedConfig } from '../config/load.ts';
import type { Config, OptionName } from '../config/options.ts';
import { KUBERNETES_SHUTDOWN_DELAY_SECONDS } from './timings.ts';

export interface PlatformDefault {
  option: OptionName;
  value: unknown;
  /** Why, for the log line. */
  reason: string;
}

export interface ResolvedConfig extends LoadedConfig {
  /** Defaults this environment changed (logged by `pounce serve` at start). */
  platformDefaults: PlatformDefault[];
}

export function inKubernetes(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.KUBERNETES_SERVICE_HOST);
}

export function applyPlatformDefaults(loaded: LoadedConfig, env: NodeJS.ProcessEnv): ResolvedConfig {
  const platformDefaults: PlatformDefault[] = [];
  let config: Config = loaded.config;
  if (inKubernetes(env) && !loaded.explicit.has('shutdownDelay')) {
    config = Object.freeze({ ...config, shutdownDelay: KUBERNETES_SHUTDOWN_DELAY_SECONDS });
    platformDefaults.push({
      option: 'shutdownDelay',
      value: KUBERNETES_SHUTDOWN_DELAY_SECONDS,
      reason: 'KUBERNETES_SERVICE_HOST is set: endpoints are removed while the pod already drains',
    });
  }
  return { ...loaded, config, platformDefaults };
}
