// `pounce generate`: every generated file is parsed and checked — the Kubernetes objects against
// the Kubernetes schema (offline, kubernetes-models' validators), the Dockerfile's form, the ECS
// task definition's limits — and the timing rule holds for many random timeout combinations
// (fast-check): no platform kills pounce before pounce's own deadline, and HAProxy sees a draining
// instance within half of shutdownDelay.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { Service } from 'kubernetes-models/v1/Service';
import { parseAllDocuments } from 'yaml';
import { loadConfig } from '../src/config/load.ts';
import type { GeneratedFile } from '../src/deploy/context.ts';
import { generate, type TargetName } from '../src/deploy/generate.ts';
import { applyPlatformDefaults } from '../src/deploy/platform.ts';
import {
  ECS_MAX_STOP_TIMEOUT_SECONDS,
  KUBERNETES_SHUTDOWN_DELAY_SECONDS,
  MIN_BALANCER_DELAY_SECONDS,
  retireBudgetMs,
  STOP_MARGIN_SECONDS,
} from '../src/deploy/timings.ts';
import { PounceError } from '../src/errors.ts';
import { runPounce } from './helpers/pounce.ts';

const BASE = { healthCheckPath: '/health', livenessPath: '/livez' };

/** Generates in-process from options as a config file would give them (no env, no file). */
async function generated(
  target: TargetName,
  options: Record<string, unknown> = {},
  app: string | undefined = './app.ts',
): Promise<GeneratedFile[]> {
  const loaded = await loadConfig({
    cwd: tmpdir(),
    env: {},
    configFile: false,
    programmatic: { ...BASE, ...options },
  });
  return generate(target, applyPlatformDefaults(loaded, {}), { name: 'shop', app });
}

function file(files: GeneratedFile[], name: string): string {
  const found = files.find((f) => f.path === name);
  assert.ok(found, `${name} is generated (got ${files.map((f) => f.path).join(', ')})`);
  return found.content;
}

function kubernetesObjects(files: GeneratedFile[]) {
  const docs = parseAllDocuments(file(files, 'kubernetes.yaml'));
  for (const doc of docs) assert.deepEqual(doc.errors, [], 'valid YAML');
  const [deployment, service, budget] = docs.map((d) => d.toJS());
  // Offline schema validation: each object rebuilt from the YAML text, validated by its model.
  const objects = {
    deployment: new Deployment(deployment),
    service: new Service(service),
    budget: new PodDisruptionBudget(budget),
  };
  for (const object of Object.values(objects)) object.validate();
  assert.equal(docs.length, 3);
  return objects;
}

function env(list: { name: string; value?: string }[] | undefined): Record<string, string | undefined> {
  return Object.fromEntries((list ?? []).map((e) => [e.name, e.value]));
}

/** The rule: a platform waits at least delay + timeout + hooks + pounce's slack, in whole seconds. */
function assertStopWait(
  seconds: unknown,
  c: { shutdownDelay: number; shutdownTimeout: number; shutdownHookTimeout: number },
) {
  assert.ok(Number.isInteger(seconds), `${seconds} is whole seconds`);
  const n = seconds as number;
  assert.ok(
    n >= c.shutdownDelay + c.shutdownTimeout + c.shutdownHookTimeout + STOP_MARGIN_SECONDS,
    `${n} >= ${c.shutdownDelay} + ${c.shutdownTimeout} + ${c.shutdownHookTimeout} + ${STOP_MARGIN_SECONDS}`,
  );
  // …so the supervisor's own backstop fires before the platform's SIGKILL.
  assert.ok(n * 1000 >= retireBudgetMs({ ...c, reloadTimeout: 30, startupTimeout: 30 }, 'shutdown'));
  assert.ok(
    n < c.shutdownDelay + c.shutdownTimeout + c.shutdownHookTimeout + STOP_MARGIN_SECONDS + 1,
    'and not more',
  );
}

describe('pounce generate kubernetes', () => {
  test('a Deployment, a Service and a PodDisruptionBudget that validate against the Kubernetes schema', async () => {
    const { deployment, service, budget } = kubernetesObjects(
      await generated('kubernetes', { port: 3000, workers: 4, shutdownDelay: 2, shutdownTimeout: 20 }),
    );
    const spec = deployment.spec!;
    assert.deepEqual(spec.strategy?.rollingUpdate, { maxUnavailable: 0, maxSurge: 1 });
    const pod = spec.template.spec!;
    assertStopWait(pod.terminationGracePeriodSeconds, {
      shutdownDelay: 2,
      shutdownTimeout: 20,
      shutdownHookTimeout: 5,
    });
    assert.equal(pod.terminationGracePeriodSeconds, 2 + 20 + 5 + STOP_MARGIN_SECONDS);
    const container = pod.containers[0]!;
    assert.equal(container.ports?.[0]?.containerPort, 3000);
    const vars = env(container.env);
    assert.equal(vars.WEB_CONCURRENCY, '4');
    assert.equal(vars.POUNCE_HOST, '0.0.0.0', 'a container listens on every address');
    assert.equal(
      vars.POUNCE_SHUTDOWN_DELAY,
      '2',
      'the pod runs the delay the grace period was computed from',
    );
    assert.equal(vars.POUNCE_SHUTDOWN_TIMEOUT, '20');
    assert.equal(container.readinessProbe?.httpGet?.path, '/health');
    assert.equal(container.startupProbe?.httpGet?.path, '/health');
    assert.equal(
      container.livenessProbe?.httpGet?.path,
      '/livez',
      'liveness never uses the draining health path',
    );
    const readiness = container.readinessProbe!;
    assert.ok(
      readiness.periodSeconds! * readiness.failureThreshold! <= 2,
      'readiness fails within the delay',
    );
    assert.ok(readiness.timeoutSeconds! > 1, 'a probe waits longer than readinessTimeout (1s)');
    const startup = container.startupProbe!;
    assert.ok(
      startup.periodSeconds! * startup.failureThreshold! > 30,
      'startup gets the whole startupTimeout',
    );
    assert.equal(service.spec?.ports?.[0]?.targetPort, 'http');
    assert.equal(budget.spec?.maxUnavailable, 1);
  });

  test(`no shutdownDelay set: the pod gets Kubernetes' default (${KUBERNETES_SHUTDOWN_DELAY_SECONDS}s), explicitly`, async () => {
    const { deployment } = kubernetesObjects(await generated('kubernetes'));
    const pod = deployment.spec!.template.spec!;
    assert.equal(
      env(pod.containers[0]!.env).POUNCE_SHUTDOWN_DELAY,
      String(KUBERNETES_SHUTDOWN_DELAY_SECONDS),
    );
    assertStopWait(pod.terminationGracePeriodSeconds, {
      shutdownDelay: KUBERNETES_SHUTDOWN_DELAY_SECONDS,
      shutdownTimeout: 10,
      shutdownHookTimeout: 5,
    });
    // An explicit 0 is the user's choice and is kept.
    const zero = kubernetesObjects(await generated('kubernetes', { shutdownDelay: 0 }));
    assert.equal(env(zero.deployment.spec!.template.spec!.containers[0]!.env).POUNCE_SHUTDOWN_DELAY, '0');
  });

  test('the grace period holds the rule for any timeouts (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          shutdownDelay: fc.double({ min: 0, max: 120, noNaN: true }),
          shutdownTimeout: fc.double({ min: 0.001, max: 3600, noNaN: true }),
          shutdownHookTimeout: fc.double({ min: 0.001, max: 600, noNaN: true }),
          readinessTimeout: fc.double({ min: 0.001, max: 30, noNaN: true }),
          startupTimeout: fc.double({ min: 0.001, max: 600, noNaN: true }),
        }),
        async (c) => {
          const { deployment } = kubernetesObjects(await generated('kubernetes', c));
          const pod = deployment.spec!.template.spec!;
          assertStopWait(pod.terminationGracePeriodSeconds, c);
          const container = pod.containers[0]!;
          assert.ok(container.readinessProbe!.timeoutSeconds! > c.readinessTimeout);
          assert.ok(
            container.startupProbe!.failureThreshold! * container.startupProbe!.periodSeconds! >
              c.startupTimeout,
          );
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('pounce generate docker', () => {
  test('exec-form CMD and HEALTHCHECK (pounce health, no curl), a non-root USER, STOPSIGNAL, npm ci --omit=dev', async () => {
    const files = await generated('docker', { shutdownDelay: 1 }, './server.ts:api');
    const lines = file(files, 'Dockerfile')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'));
    const instruction = (name: string) => lines.filter((l) => l.startsWith(`${name} `));
    assert.match(instruction('FROM')[0]!, /^FROM node:\d+-slim$/);
    assert.ok(instruction('RUN').some((l) => /npm ci --omit=dev/.test(l)));
    const cmd = instruction('CMD');
    assert.equal(cmd.length, 1);
    assert.deepEqual(JSON.parse(cmd[0]!.slice(4)), [
      '/app/node_modules/.bin/pounce',
      'serve',
      './server.ts:api',
    ]);
    const users = instruction('USER');
    assert.ok(users.length > 0);
    assert.ok(!['root', '0'].includes(users.at(-1)!.slice(5).split(':')[0]!), 'the last USER is not root');
    assert.ok(lines.indexOf(users.at(-1)!) < lines.indexOf(cmd[0]!), 'USER comes before CMD');
    assert.deepEqual(instruction('STOPSIGNAL'), ['STOPSIGNAL SIGTERM']);
    const health = instruction('HEALTHCHECK')[0]!;
    assert.deepEqual(JSON.parse(health.slice(health.indexOf(' CMD ') + 5)), [
      '/app/node_modules/.bin/pounce',
      'health',
    ]);
    assert.ok(!/curl|wget/.test(health));
    assert.ok(instruction('ENV').includes('ENV POUNCE_SHUTDOWN_DELAY=1'));
    assert.match(file(files, '.dockerignore'), /^node_modules$/m);
  });
});

describe('pounce generate ecs', () => {
  test('stopTimeout is at least the stop budget, or a clear error above ECS’s 120 s (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          shutdownDelay: fc.double({ min: 0, max: 60, noNaN: true }),
          shutdownTimeout: fc.double({ min: 0.001, max: 150, noNaN: true }),
          shutdownHookTimeout: fc.double({ min: 0.001, max: 30, noNaN: true }),
        }),
        async (c) => {
          const sum = c.shutdownDelay + c.shutdownTimeout + c.shutdownHookTimeout + STOP_MARGIN_SECONDS;
          let files: GeneratedFile[];
          try {
            files = await generated('ecs', c);
          } catch (err) {
            assert.ok(err instanceof PounceError && err.code === 'POUNCE_ERR_CONFIG', String(err));
            assert.match(err.message, /ECS allows at most 120s/);
            assert.ok(Math.ceil(sum) > ECS_MAX_STOP_TIMEOUT_SECONDS, `refused only over the cap (${sum})`);
            return;
          }
          const task = JSON.parse(file(files, 'ecs-task-definition.json'));
          const container = task.containerDefinitions[0];
          assertStopWait(container.stopTimeout, c);
          assert.ok(container.stopTimeout <= ECS_MAX_STOP_TIMEOUT_SECONDS);
          assert.deepEqual(container.healthCheck.command, ['CMD', '/app/node_modules/.bin/pounce', 'health']);
        },
      ),
      { numRuns: 200 },
    );
  });

  test('the CLI refuses a budget ECS cannot hold with exit 2, naming the options', async (t) => {
    const result = await runPounce(t, [
      'generate',
      'ecs',
      '--health-check-path',
      '/health',
      '--shutdown-timeout',
      '115',
    ]);
    assert.equal(result.code, 2);
    assert.match(
      result.stderr,
      /POUNCE_ERR_CONFIG: Invalid shutdownTimeout for ecs: .*stopTimeout of 126s, and ECS allows at most 120s/,
    );
  });
});

describe('pounce generate systemd and haproxy', () => {
  test('systemd: TimeoutStopSec holds the rule, the timing options are in Environment=', async () => {
    const unit = file(await generated('systemd', { shutdownTimeout: 30, shutdownDelay: 1 }), 'shop.service');
    const keys = Object.fromEntries(
      unit
        .split('\n')
        .filter((l) => /^\w+=/.test(l))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    assertStopWait(Number(keys.TimeoutStopSec), {
      shutdownDelay: 1,
      shutdownTimeout: 30,
      shutdownHookTimeout: 5,
    });
    assert.equal(keys.Type, 'notify');
    assert.match(keys.ExecStart!, /pounce serve \.\/app\.ts$/);
    assert.match(keys.ExecReload!, /pounce reload$/);
    assert.match(keys.Environment!, /POUNCE_SHUTDOWN_TIMEOUT=30 /);
    assert.match(keys.Environment!, /POUNCE_SHUTDOWN_DELAY=1 /);
  });

  test('haproxy: the check interval and fall see a draining instance within half of shutdownDelay (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.double({ min: 0, max: 120, noNaN: true }), async (shutdownDelay) => {
        let text: string;
        try {
          text = file(await generated('haproxy', { shutdownDelay }), 'haproxy.cfg');
        } catch (err) {
          assert.ok(err instanceof PounceError && err.code === 'POUNCE_ERR_CONFIG');
          assert.match(err.message, /^Invalid shutdownDelay for haproxy/);
          assert.ok(shutdownDelay < MIN_BALANCER_DELAY_SECONDS);
          return;
        }
        assert.match(text, /^ {4}option httpchk GET \/health$/m);
        const [, inter, fall] = /default-server inter (\d+)ms fall (\d+)/.exec(text)!;
        assert.ok((Number(fall) + 1) * Number(inter) <= (shutdownDelay * 1000) / 2);
        assert.ok(Number(inter) >= 100);
      }),
      { numRuns: 200 },
    );
  });
});

describe('pounce generate on the command line', () => {
  test('an unknown target, or a missing health path, is exit 2 naming what is wrong', async (t) => {
    const unknown = await runPounce(t, ['generate', 'nomad']);
    assert.equal(unknown.code, 2);
    assert.match(
      unknown.stderr,
      /POUNCE_ERR_USAGE: Unknown target "nomad" — pounce generate takes one of: kubernetes, docker, ecs, systemd, haproxy/,
    );
    const noHealth = await runPounce(t, ['generate', 'haproxy', '--shutdown-delay', '1']);
    assert.equal(noHealth.code, 2);
    assert.match(noHealth.stderr, /POUNCE_ERR_CONFIG: Invalid healthCheckPath for haproxy: it is not set/);
  });

  test('--out writes the files; the config file, env and flags all count', async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pounce-generate-'));
    const result = await runPounce(
      t,
      [
        'generate',
        'docker',
        './app.ts',
        '--out',
        path.join(dir, 'out'),
        '--name',
        'web',
        '--shutdown-timeout',
        '12',
      ],
      { cwd: dir, env: { POUNCE_HEALTH_CHECK_PATH: '/healthz', PORT: '9000' } },
    );
    assert.equal(result.code, 0, result.stderr);
    const dockerfile = readFileSync(path.join(dir, 'out/Dockerfile'), 'utf8');
    assert.match(dockerfile, /^ENV POUNCE_HEALTH_CHECK_PATH=\/healthz$/m);
    assert.match(dockerfile, /^ENV POUNCE_SHUTDOWN_TIMEOUT=12$/m);
    assert.match(dockerfile, /^EXPOSE 9000$/m);
    assert.match(readFileSync(path.join(dir, 'out/.dockerignore'), 'utf8'), /node_modules/);
    // Without --out: every file on stdout, each after a header naming it.
    const printed = await runPounce(t, ['generate', 'docker', './app.ts', '--health-check-path', '/health'], {
      cwd: dir,
    });
    assert.equal(printed.code, 0, printed.stderr);
    assert.match(printed.stdout, /^# ==> Dockerfile <==\n# Generated by `pounce generate docker`/);
    assert.match(printed.stdout, /\n# ==> \.dockerignore <==\n/);
  });
});
