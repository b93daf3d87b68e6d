// `pounce generate TARGET`: one generator per target, each a file in targets/, in one table. The
// Kubernetes generator (and its schema library) is loaded only when asked for.

import type { GenerateContext, GeneratedFile } from './context.ts';
import type { ResolvedConfig } from './platform.ts';
import { applyPlatformDefaults } from './platform.ts';

interface Target {
  load(): Promise<(context: GenerateContext) => GeneratedFile[]>;
  /** The environment the generated files run in, for platform defaults (src/deploy/platform.ts). */
  platformEnv?: NodeJS.ProcessEnv;
}

export const TARGETS = {
  kubernetes: {
    load: async () => (await import('./targets/kubernetes.ts')).kubernetes,
    platformEnv: { KUBERNETES_SERVICE_HOST: 'kubernetes.default.svc' },
  },
  docker: { load: async () => (await import('./targets/docker.ts')).docker },
  ecs: { load: async () => (await import('./targets/ecs.ts')).ecs },
  systemd: { load: async () => (await import('./targets/systemd.ts')).systemd },
  haproxy: { load: async () => (await import('./targets/haproxy.ts')).haproxy },
} satisfies Record<string, Target>;

export type TargetName = keyof typeof TARGETS;

export function isTarget(name: string): name is TargetName {
  return Object.hasOwn(TARGETS, name);
}

export async function generate(
  target: TargetName,
  resolved: ResolvedConfig,
  options: { name: string; app: string | undefined },
): Promise<GeneratedFile[]> {
  const spec: Target = TARGETS[target];
  const { config } = spec.platformEnv ? applyPlatformDefaults(resolved, spec.platformEnv) : resolved;
  const generator = await spec.load();
  return generator({ config, name: options.name, app: options.app });
}
