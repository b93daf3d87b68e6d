// Configuration: precedence (defaults ← file ← env ← flags), and every bad value answered with one
// line naming the option, the value and the rule, exit status 2, no stack trace.

import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { loadConfig } from '../src/config/load.ts';
import { defaults, envName, kebab, optionNames } from '../src/config/options.ts';
import { appPath, FIXTURES, runPounce } from './helpers/pounce.ts';

const CONFIGS = path.join(FIXTURES, 'configs');
const APP = appPath('esm.mjs');

describe('configuration precedence', () => {
  test('defaults match the documented values', () => {
    const d = defaults();
    assert.equal(d.host, '127.0.0.1');
    assert.equal(d.port, 8000);
    assert.equal(d.workers, 1);
    assert.equal(d.shutdownTimeout, 10);
    assert.equal(d.shutdownDelay, 0);
    assert.equal(d.reloadTimeout, 30);
    assert.equal(d.startupTimeout, 30);
    assert.equal(d.healthCheckPath, undefined);
    assert.equal(d.logFormat, 'auto');
  });

  test('file ← env ← flags, and the result is frozen', async () => {
    const { config, configFile } = await loadConfig({
      cwd: path.join(CONFIGS, 'good-json'),
      env: { PORT: '7100', WEB_CONCURRENCY: '5', POUNCE_WORKERS: '6' },
      flags: { workers: '7' },
    });
    assert.equal(configFile, path.join(CONFIGS, 'good-json', 'pounce.config.json'));
    assert.equal(config.port, 7100, 'env PORT beats the file');
    assert.equal(config.workers, 7, 'the flag beats POUNCE_WORKERS, which beats WEB_CONCURRENCY');
    assert.equal(config.logLevel, 'warn', 'file beats default');
    assert.equal(config.shutdownTimeout, 10, 'default');
    assert.ok(Object.isFrozen(config));
    assert.throws(() => {
      (config as { port: number }).port = 1;
    });
  });

  test('POUNCE_<OPTION> beats the generic variable; SHUTDOWN_TIMEOUT is read', async () => {
    const { config } = await loadConfig({
      cwd: path.join(CONFIGS, 'good-json'),
      env: { PORT: '7100', POUNCE_PORT: '7200', SHUTDOWN_TIMEOUT: '42', POUNCE_HEALTH_CHECK_PATH: '/up' },
      configFile: false,
    });
    assert.equal(config.port, 7200);
    assert.equal(config.shutdownTimeout, 42);
    assert.equal(config.healthCheckPath, '/up');
  });

  test('POUNCE_CONFIG names the file (instead of the lookup in the working directory); --config beats it', async () => {
    const named = path.join(CONFIGS, 'good-ts', 'pounce.config.ts');
    const fromEnv = await loadConfig({ cwd: path.join(CONFIGS, 'good-json'), env: { POUNCE_CONFIG: named } });
    assert.equal(fromEnv.configFile, named);
    assert.equal(fromEnv.config.port, 7001);
    assert.equal(fromEnv.config.logLevel, 'info', 'the file in the working directory is not read');
    const json = path.join(CONFIGS, 'good-json', 'pounce.config.json');
    const fromFlag = await loadConfig({
      cwd: path.join(CONFIGS, 'good-json'),
      env: { POUNCE_CONFIG: named },
      configFile: json,
    });
    assert.equal(fromFlag.configFile, json);
    assert.equal(fromFlag.config.logLevel, 'warn');
  });

  test('a pounce.config.ts with defineConfig is loaded', async () => {
    const { config } = await loadConfig({ cwd: path.join(CONFIGS, 'good-ts'), env: {} });
    assert.equal(config.port, 7001);
    assert.equal(config.shutdownTimeout, 12);
    assert.equal(config.healthCheckPath, '/healthz');
  });

  test('list and boolean flags', async () => {
    const { config } = await loadConfig({
      cwd: CONFIGS,
      env: { POUNCE_RELOAD: 'yes' },
      flags: { reloadInclude: ['.html,.css', '.md'] },
      configFile: false,
    });
    assert.equal(config.reload, true);
    assert.deepEqual(config.reloadInclude, ['.html', '.css', '.md']);
  });

  test('every option has a flag and an env variable named after it', () => {
    for (const name of optionNames) {
      assert.match(kebab(name), /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/);
      assert.match(envName(name), /^POUNCE_[A-Z0-9_]+$/);
    }
  });
});

describe('bad configuration: one line, exit status 2', () => {
  const cases: {
    name: string;
    args?: string[];
    env?: Record<string, string>;
    cwd?: string;
    expect: RegExp;
  }[] = [
    {
      name: 'a zero timeout',
      args: ['--shutdown-timeout', '0'],
      expect:
        /Invalid shutdownTimeout from --shutdown-timeout: "0" — must be a number of seconds greater than 0/,
    },
    {
      name: 'a negative timeout',
      args: ['--reload-timeout=-5'],
      expect:
        /Invalid reloadTimeout from --reload-timeout: "-5" — must be a number of seconds greater than 0/,
    },
    {
      name: 'a timeout that is not a number',
      args: ['--startup-timeout', '10s'],
      expect: /Invalid startupTimeout from --startup-timeout: "10s" — must be a number of seconds/,
    },
    {
      name: 'a timeout too long for a timer',
      args: ['--request-timeout', '99999999'],
      expect: /Invalid requestTimeout from --request-timeout: "99999999"/,
    },
    {
      name: 'a port that is not a number',
      args: ['--port', 'http'],
      expect: /Invalid port from --port: "http" — must be an integer from 0 to 65535/,
    },
    {
      name: 'a port out of range',
      args: ['--port', '65536'],
      expect: /Invalid port from --port: "65536" — must be an integer from 0 to 65535/,
    },
    {
      name: 'zero workers',
      args: ['--workers', '0'],
      expect: /Invalid workers from --workers: "0" — must be an integer from 1/,
    },
    {
      name: 'a fractional worker count',
      args: ['-w', '1.5'],
      expect: /Invalid workers from --workers: "1.5" — must be an integer/,
    },
    {
      name: 'an unknown log level',
      args: ['--log-level', 'loud'],
      expect:
        /Invalid logLevel from --log-level: "loud" — must be one of trace, debug, info, warn, error, fatal, silent/,
    },
    {
      name: 'an unknown interface',
      args: ['--interface', 'grpc'],
      expect: /Invalid interface from --interface: "grpc" — must be one of auto, node, fetch/,
    },
    {
      name: 'a health path without a slash',
      args: ['--health-check-path', 'health'],
      expect: /Invalid healthCheckPath from --health-check-path: "health" — must be a path starting with \//,
    },
    { name: 'an unknown flag', args: ['--shutdown-timout', '5'], expect: /Unknown flag --shutdown-timout/ },
    { name: 'a flag missing its value', args: ['--port'], expect: /Missing value for --port/ },
    {
      name: 'a value given to a switch',
      args: ['--reload=yes'],
      expect: /Flag --reload does not take a value/,
    },
    {
      name: 'a malformed PORT',
      env: { PORT: 'eighty' },
      expect: /Invalid port from environment variable PORT: "eighty" — must be an integer from 0 to 65535/,
    },
    {
      name: 'a malformed WEB_CONCURRENCY',
      env: { WEB_CONCURRENCY: '-2' },
      expect: /Invalid workers from environment variable WEB_CONCURRENCY: "-2"/,
    },
    {
      name: 'a malformed SHUTDOWN_TIMEOUT',
      env: { SHUTDOWN_TIMEOUT: 'soon' },
      expect: /Invalid shutdownTimeout from environment variable SHUTDOWN_TIMEOUT: "soon"/,
    },
    {
      name: 'a malformed boolean env',
      env: { POUNCE_RELOAD: 'maybe' },
      expect: /Invalid reload from environment variable POUNCE_RELOAD: "maybe" — must be true or false/,
    },
    {
      name: 'an unknown POUNCE_ variable',
      env: { POUNCE_SHUTDOWN_TIMOUT: '5' },
      expect: /Unknown environment variable POUNCE_SHUTDOWN_TIMOUT/,
    },
    {
      name: 'a config file that does not parse',
      cwd: 'broken-json',
      expect: /Invalid config file pounce.config.json: it is not valid JSON/,
    },
    {
      name: 'an unknown key in the config file',
      cwd: 'unknown-key',
      expect:
        /Unknown option "shutdownTimout" in config file pounce.config.json — did you mean "shutdownTimeout"\?/,
    },
    {
      name: 'a wrongly typed value in the config file',
      cwd: 'wrong-type',
      expect: /Invalid port from config file pounce.config.json: a string \("8000"\) — must be an integer/,
    },
    {
      name: 'a config file that throws',
      cwd: 'throws-ts',
      expect: /Invalid config file pounce.config.ts: it could not be loaded \(config exploded\)/,
    },
    { name: 'two config files', cwd: 'both', expect: /found pounce.config.ts and pounce.config.json/ },
    {
      name: 'a --config file that does not exist',
      args: ['--config', 'nope.json'],
      expect: /config file "nope.json" does not exist/,
    },
    {
      name: 'both uds and fd',
      args: ['--uds', '/tmp/x.sock', '--fd', '3'],
      expect: /uds and fd are both set/,
    },
  ];

  for (const c of cases) {
    test(c.name, async (t) => {
      for (const command of ['serve', 'check']) {
        const result = await runPounce(t, [command, APP, ...(c.args ?? [])], {
          env: c.env,
          cwd: c.cwd ? path.join(CONFIGS, c.cwd) : undefined,
        });
        assert.equal(result.code, 2, `${command} exit status; stderr: ${result.stderr}`);
        assert.match(result.stderr, c.expect);
        assert.match(result.stderr, /^pounce: error POUNCE_ERR_CONFIG: /);
        assert.equal(result.stderr.trimEnd().split('\n').length, 1, `one line: ${result.stderr}`);
      }
    });
  }

  test('usage errors: unknown command, missing APP', async (t) => {
    const unknown = await runPounce(t, ['srve', APP]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^pounce: error POUNCE_ERR_USAGE: Unknown command "srve"/);
    const missing = await runPounce(t, ['serve']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /Missing APP — usage: pounce serve PATH\[:EXPORT\]/);
  });

  test('--help lists every option', async (t) => {
    const result = await runPounce(t, ['--help']);
    assert.equal(result.code, 0);
    for (const name of optionNames)
      assert.match(result.stdout, new RegExp(`--(\\[no-\\])?${kebab(name)}\\b`));
  });
});
