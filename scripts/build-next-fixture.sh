#!/usr/bin/env bash
# Builds the tiny Next.js app in test/fixtures/next-app with output: 'standalone', which
# test/scripts.test.ts serves as a server script (.next/standalone/server.js). Cached: does nothing
# when the build is newer than the app's sources and lockfile. .ci/run runs it before the tests (the
# test runs it too, so a fresh checkout works). Measured on the 2-core dev machine: npm ci 9-12 s,
# next build 5.6 s.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root/test/fixtures/next-app"
out=.next/standalone/server.js
if [ -f "$out" ] && [ -z "$(find app next.config.mjs package.json package-lock.json -newer "$out" | head -n 1)" ]; then
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
# The Node pounce's tests run on (the `node` devDependency), not whatever `node` is on PATH.
rm -rf .next
NEXT_TELEMETRY_DISABLED=1 "$root/node_modules/node/bin/node" node_modules/next/dist/bin/next build
test -f "$out" || { echo "next build did not write $out" >&2; exit 1; }
