#!/bin/sh
':' //; for a in "$@"; do if [ "$a" = serve ]; then export POUNCE_INTERNAL_BIN_FLAGS='--no-sparkplug --no-maglev --no-turbofan --expose-gc --v8-pool-size=1'; exec node $POUNCE_INTERNAL_BIN_FLAGS "$0" "$@"; fi; done; exec node "$0" "$@"

// The `pounce` bin: a POSIX shell script and an ES module in one file. Run as a program (npm links
// it as node_modules/.bin/pounce), /bin/sh reads the line above and replaces itself (exec: same pid,
// signals go straight to Node, systemd's MainPID stays right) with `node` on this file; Node skips
// the #! line, and for JavaScript that line is a string (':') and a comment. So the shell only
// chooses Node's command line; the rest is dist/cli/main.js.
//
// `pounce serve` gets V8's compilers off on the command line, before Node resolves this file's
// path: with a deep install path that resolution alone makes V8's Maglev compile a few path
// functions and bring ~2.5 MB of compiler code into the supervisor's memory, which the runtime
// switch in src/supervisor/jit-tiers.ts (see there why the supervisor runs without them) comes too
// late to avoid; --expose-gc, which spares it node:v8 (src/supervisor/compact-heap.ts); and one
// V8 background thread instead of four (there is little for them to do in an idle supervisor).
// POUNCE_INTERNAL_BIN_FLAGS names the flags: src/supervisor/bin-flags.ts takes them back out of
// process.execArgv, so the workers run node plainly. No `#!/usr/bin/env -S node …`: BusyBox's env
// (Alpine) has no -S. `node path/to/dist/cli/main.js` works as well, with the runtime switch only.

import '../dist/cli/main.js';
