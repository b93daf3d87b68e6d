// `pounce check APP`: the configuration is valid and the app imports and has an accepted shape.
// Meant for CI and deploy scripts, before a reload is attempted.

import { loadApp } from '../app/load.ts';
import { resolveAppSpec } from '../app/resolve.ts';
import { probeScript } from '../app/script/start-script.ts';
import type { Interface } from '../app/shape.ts';
import { fleetWarnings } from '../deploy/safety.ts';
import { ExitCode } from '../errors.ts';
import { createLogger } from '../log/logger.ts';
import { migrateReqWarning } from '../supervisor/migrate-req.ts';
import { threadListenerAvailable } from '../supervisor/thread-listener.ts';
import { loadCommandConfig, type ParsedArgs } from './args.ts';
import { assertAvailable } from './serve.ts';

export async function checkCommand(args: ParsedArgs): Promise<number> {
  const cwd = process.cwd();
  const { config, configFile } = await loadCommandConfig(args, cwd);
  assertAvailable(config);
  const spec = resolveAppSpec(args.app!, cwd);
  // A server script is imported with its listen() captured, never bound: checking it must not
  // start a server (nor fail because it exports no app).
  const script = await probeScript(spec, config, createLogger({ ...config, logLevel: 'silent' }));
  const shape = script
    ? `server script (it listens on ${script.asked}; pounce serves it on its own listener)`
    : (await loadApp(spec, config.interface as Interface)).handler.shape;
  // Warnings, not errors: a single instance without a load balancer is a valid deployment.
  for (const warning of fleetWarnings(config)) {
    process.stderr.write(`pounce check: warning (if this runs behind a load balancer): ${warning}\n`);
  }
  const migrate =
    config.workerMode === 'thread' && !threadListenerAvailable() ? migrateReqWarning() : undefined;
  if (migrate) process.stderr.write(`pounce check: warning: ${migrate}\n`);
  process.stdout.write(
    `OK: ${args.app} is ${/^[aeiou]/i.test(shape) ? 'an' : 'a'} ${shape}; configuration valid${configFile ? ` (${configFile})` : ' (defaults, env and flags)'}\n`,
  );
  return ExitCode.OK;
}
