// `pounce --help`, generated from the option table so it always lists every option.

import { kebab, optionNames, optionSpec } from '../config/options.ts';

export function helpText(): string {
  const lines = [
    'pounce — production application server for Node.js',
    '',
    'Usage:',
    '  pounce serve PATH[:EXPORT] [options]   serve the app (default export, else `app`)',
    '  pounce check PATH[:EXPORT] [options]   validate the configuration and import the app, then exit',
    '  pounce reload [options]                reload the running server; waits for the outcome',
    '  pounce stop [options]                  graceful shutdown of the running server',
    '  pounce status [--json] [options]       generation, workers, uptime of the running server',
    '  pounce top [--once] [options]          live view of the running server, refreshed each second (q quits); --once: one frame',
    '  pounce scale N [options]               run N workers (also: SIGTTIN adds one, SIGTTOU removes one)',
    '  pounce upgrade [--node PATH] [options] hand the sockets to a new supervisor from the pounce and Node on disk',
    '                                         (also: SIGUSR2); waits for the outcome',
    "  pounce health [--url URL] [options]    ask the running server's health endpoint: exit 0 on 200, 1 otherwise",
    '  pounce generate TARGET [APP] [--out DIR] [--name NAME]',
    '                                         deployment files for kubernetes, docker, ecs, systemd or haproxy',
    '  pounce --version',
    '',
    'Options (also settable in pounce.config.{ts,js,json} and as POUNCE_<OPTION> env variables):',
    '  -c, --config PATH            config file to read instead of ./pounce.config.*',
  ];
  for (const name of optionNames) {
    const spec = optionSpec(name);
    const flag =
      spec.flag === 'boolean' ? `--[no-]${kebab(name)}` : `--${kebab(name)} ${spec.placeholder ?? 'VALUE'}`;
    const def =
      spec.default === undefined || (Array.isArray(spec.default) && spec.default.length === 0)
        ? ''
        : ` [default: ${String(spec.default)}]`;
    lines.push(`  ${flag.padEnd(28)} ${spec.doc}${def}`);
  }
  lines.push(
    '',
    'Exit status: 0 clean shutdown, 1 startup failure or forced exit, 2 bad configuration or usage.',
  );
  return lines.join('\n');
}
