// `pounce generate haproxy`: the backend section. HAProxy polls the health path; the interval and
// `fall` come from balancerChecks(), which keeps the time HAProxy needs to see a draining instance
// within half of shutdownDelay.

import { configError } from '../../errors.ts';
import {
  GENERATED_BY,
  type GenerateContext,
  type GeneratedFile,
  requireHealthPath,
  requirePort,
} from '../context.ts';
import { balancerChecks, MIN_BALANCER_DELAY_SECONDS } from '../timings.ts';

export function haproxy({ config, name }: GenerateContext): GeneratedFile[] {
  const health = requireHealthPath(config, 'haproxy');
  const port = requirePort(config, 'haproxy');
  const checks = balancerChecks(config);
  if (checks === undefined) {
    throw configError(
      `Invalid shutdownDelay for haproxy: ${config.shutdownDelay}s — HAProxy needs ${MIN_BALANCER_DELAY_SECONDS}s or more to see that an instance is draining (two failed checks at least 100 ms apart, within half the delay); set shutdownDelay to ${MIN_BALANCER_DELAY_SECONDS} or more (--shutdown-delay 1)`,
    );
  }
  const inter = `${checks.intervalMs}ms`;
  const content = `# ${GENERATED_BY('haproxy')}
# On SIGTERM pounce answers ${health} with 503 at once and serves on for shutdownDelay (${config.shutdownDelay}s).
# HAProxy checks every ${inter} and takes a server out after ${checks.fall} failed checks:
# within (fall + 1) x inter = ${checks.detectionMs}ms, at most half the delay.
# One \`server\` line per instance.
backend ${name}
    balance roundrobin
    option httpchk GET ${health}
    http-check expect status 200
    timeout check ${inter}
    default-server inter ${inter} fall ${checks.fall} rise ${checks.rise}
    server ${name}-1 127.0.0.1:${port} check
`;
  return [{ path: 'haproxy.cfg', content }];
}
