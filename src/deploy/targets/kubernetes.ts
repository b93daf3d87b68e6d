// `pounce generate kubernetes`: a Deployment, a Service and a PodDisruptionBudget, built as typed
// objects of kubernetes-models and validated against the Kubernetes OpenAPI schema before they are
// printed, so a wrong field or type is caught here, not by `kubectl apply`.
//
// The pod's environment sets shutdownDelay explicitly (KUBERNETES_SHUTDOWN_DELAY_SECONDS when the
// configuration leaves it at 0 by default): the grace period below is computed from it, and the
// pod then runs exactly that.

import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IProbe } from 'kubernetes-models/v1/Probe';
import { Service } from 'kubernetes-models/v1/Service';
import { stringify } from 'yaml';
import { configError } from '../../errors.ts';
import {
  GENERATED_BY,
  type GenerateContext,
  type GeneratedFile,
  requireHealthPath,
  requirePort,
  runtimeEnv,
} from '../context.ts';
import {
  livenessProbe,
  type ProbeTimings,
  readinessProbe,
  startupProbe,
  stopWaitSeconds,
} from '../timings.ts';

export const REPLICAS = 3;

function probe(path: string, timings: ProbeTimings): IProbe {
  return { httpGet: { path, port: 'http' }, ...timings };
}

export function kubernetes({ config, name }: GenerateContext): GeneratedFile[] {
  const health = requireHealthPath(config, 'kubernetes');
  const port = requirePort(config, 'kubernetes');
  if (config.livenessPath === undefined) {
    throw configError(
      'Invalid livenessPath for kubernetes: it is not set — the livenessProbe must not use healthCheckPath, which fails while the pod drains or its readiness check fails, and Kubernetes would restart it; set livenessPath (--liveness-path /livez)',
    );
  }
  const labels = { 'app.kubernetes.io/name': name };
  const deployment = new Deployment({
    metadata: { name, labels },
    spec: {
      replicas: REPLICAS,
      selector: { matchLabels: labels },
      // A new pod is ready before an old one leaves: capacity never drops during a rollout.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: { labels },
        spec: {
          terminationGracePeriodSeconds: stopWaitSeconds(config),
          securityContext: { runAsNonRoot: true, runAsUser: 1000 },
          containers: [
            {
              name,
              image: `${name}:latest`,
              ports: [{ name: 'http', containerPort: port, protocol: 'TCP' }],
              env: runtimeEnv(config, { container: true }).map(([k, v]) => ({ name: k, value: v })),
              readinessProbe: probe(health, readinessProbe(config)),
              livenessProbe: probe(config.livenessPath, livenessProbe()),
              startupProbe: probe(health, startupProbe(config)),
              securityContext: { allowPrivilegeEscalation: false },
            },
          ],
        },
      },
    },
  });
  const service = new Service({
    metadata: { name, labels },
    spec: { selector: labels, ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }] },
  });
  const budget = new PodDisruptionBudget({
    metadata: { name, labels },
    spec: { maxUnavailable: 1, selector: { matchLabels: labels } },
  });
  const documents = [deployment, service, budget].map((object) => {
    object.validate();
    return stringify(object.toJSON());
  });
  return [
    { path: 'kubernetes.yaml', content: `# ${GENERATED_BY('kubernetes')}\n${documents.join('---\n')}` },
  ];
}
