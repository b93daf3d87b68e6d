// What makes a configuration unsafe behind a load balancer, for `pounce check`. Measured with three
// instances behind HAProxy replaced one by one under load (docs/deploy/haproxy.md): with
// shutdownDelay 0, about 1 request in 90 failed; with the generated settings, none.

import type { Config } from '../config/options.ts';
import { KUBERNETES_SHUTDOWN_DELAY_SECONDS, MIN_BALANCER_DELAY_SECONDS } from './timings.ts';

export function fleetWarnings(config: Config): string[] {
  const warnings: string[] = [];
  if (config.healthCheckPath === undefined) {
    warnings.push(
      'healthCheckPath is not set: a load balancer cannot see that an instance is draining (set --health-check-path /health)',
    );
  }
  if (config.shutdownDelay < MIN_BALANCER_DELAY_SECONDS) {
    warnings.push(
      `shutdownDelay is ${config.shutdownDelay}s: a load balancer keeps routing to a stopping instance until its health checks notice, and those requests fail; set shutdownDelay to at least ${MIN_BALANCER_DELAY_SECONDS}s behind HAProxy, ${KUBERNETES_SHUTDOWN_DELAY_SECONDS}s in Kubernetes (pounce generate TARGET prints settings that agree)`,
    );
  }
  if (config.clientCertificates === 'require') {
    warnings.push(
      "clientCertificates is require: the load balancer's connections and health checks must present a client certificate caFile trusts, or every check fails and the instance is taken out of rotation (pounce generate's configurations do not add one)",
    );
  }
  return warnings;
}
