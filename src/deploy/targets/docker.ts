// `pounce generate docker`: a Dockerfile and a .dockerignore. Exec-form CMD, so pounce is PID 1 and
// gets SIGTERM itself (a shell in between would swallow it); a non-root user; a HEALTHCHECK that
// runs `pounce health` (no curl in a slim image).

import {
  GENERATED_BY,
  type GenerateContext,
  type GeneratedFile,
  requireApp,
  requireHealthPath,
  requirePort,
  runtimeEnv,
} from '../context.ts';
import { commandHealthCheck, stopWaitSeconds } from '../timings.ts';

/** Where the app lives in the image; the health check and CMD name pounce by absolute path. */
export const IMAGE_APP_DIR = '/app';
export const POUNCE_IN_IMAGE = `${IMAGE_APP_DIR}/node_modules/.bin/pounce`;

/** The Node image: the major version that runs `pounce generate` (the one the app is developed on). */
export function nodeImage(): string {
  return `node:${process.versions.node.split('.')[0]}-slim`;
}

export function docker({ config, app }: GenerateContext): GeneratedFile[] {
  const entry = requireApp(app, 'docker');
  requireHealthPath(config, 'docker');
  const port = requirePort(config, 'docker');
  const check = commandHealthCheck(config);
  const stop = stopWaitSeconds(config);
  const env = runtimeEnv(config, { container: true });
  const dockerfile = `# ${GENERATED_BY('docker')}
FROM ${nodeImage()}
WORKDIR ${IMAGE_APP_DIR}
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
COPY . .
# The image's unprivileged user (uid 1000); the files copied above stay owned by root, read-only to it.
USER node
${env.map(([k, v]) => `ENV ${k}=${v}`).join('\n')}
EXPOSE ${port}
STOPSIGNAL SIGTERM
# docker stop waits 10 s before SIGKILL; pounce may need ${stop} s (shutdownDelay + shutdownTimeout +
# shutdownHookTimeout + its slack): run with --stop-timeout ${stop} (compose: stop_grace_period: ${stop}s).
HEALTHCHECK --interval=${check.intervalSeconds}s --timeout=${check.timeoutSeconds}s --start-period=${check.startPeriodSeconds}s --retries=${check.retries} CMD ["${POUNCE_IN_IMAGE}", "health"]
CMD ["${POUNCE_IN_IMAGE}", "serve", ${JSON.stringify(entry)}]
`;
  const dockerignore = `# ${GENERATED_BY('docker')}
node_modules
npm-debug.log*
.git
.env
Dockerfile
.dockerignore
`;
  return [
    { path: 'Dockerfile', content: dockerfile },
    { path: '.dockerignore', content: dockerignore },
  ];
}
