// The `pounce` command: parses the command line and runs a command. Every error that ends the run
// is one line on stderr with its stable code; the exit status says what kind of failure it was.

import { ExitCode, PounceError } from '../errors.ts';
import { POUNCE_VERSION } from '../version.ts';
import { parseCommandLine } from './args.ts';
import { helpText } from './help.ts';

// Each command's module is loaded only when that command runs: the supervisor (`serve`) is a
// long-lived process, and what `check` loads (the app loader and the whole server stack, to try the
// app) or the control client would stay in its memory for nothing.

export function reportFatal(err: unknown): number {
  if (err instanceof PounceError) {
    process.stderr.write(`pounce: error ${err.code}: ${err.message}\n`);
    return err.exitCode;
  }
  process.stderr.write(
    `pounce: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  return ExitCode.FAILURE;
}

async function main(argv: string[]): Promise<number | undefined> {
  const args = parseCommandLine(argv);
  switch (args.command) {
    case 'help':
      process.stdout.write(`${helpText()}\n`);
      return ExitCode.OK;
    case 'version':
      process.stdout.write(`${POUNCE_VERSION}\n`);
      return ExitCode.OK;
    case 'check': {
      const code = await (await import('./check.ts')).checkCommand(args);
      // Importing the app may have opened connections or timers (a pool, a server script's own
      // setup) that would keep this one-shot command alive: the answer is out, so end here.
      setImmediate(() => process.exit(code));
      return code;
    }
    case 'health':
      return (await import('./health.ts')).healthCommand(args);
    case 'generate':
      return (await import('./generate.ts')).generateCommand(args);
    case 'top':
      return (await import('./top.ts')).topCommand(args);
    case 'reload':
    case 'stop':
    case 'status':
    case 'scale':
    case 'upgrade':
      return (await import('./control.ts')).controlCommand(args);
    case 'serve':
      // Runs until a signal ends it; the signal handler sets the exit status.
      await (await import('./serve.ts')).serveCommand(args);
      return undefined;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (err) => {
    process.exit(reportFatal(err));
  },
);
