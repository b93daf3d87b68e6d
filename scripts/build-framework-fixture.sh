#!/usr/bin/env bash
# Builds one of the tiny framework apps in test/fixtures that test/scripts.test.ts serves as server
# scripts: `next` (test/fixtures/next-app, output: 'standalone' → .next/standalone/server.js) or
# `sveltekit` (test/fixtures/sveltekit-app, @sveltejs/adapter-node → build/index.js). Each app has its
# own package.json and lockfile (exact versions). `astro`: test/fixtures/astro-app, @astrojs/node
# standalone → dist/server/entry.mjs. Cached: does nothing when the build output is newer
# than the app's sources and lockfile. .ci/run runs it before the tests (the test runs it too, so a
# fresh checkout works). Built with the Node pounce's tests run on (the `node` devDependency), with
# telemetry off. Measured on the 2-core dev machine: next: npm ci 9-12 s, next build 5.6 s;
# sveltekit: npm ci 6 s, vite build 2 s; astro: npm install 14 s, astro build 1 s.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
node="$root/node_modules/node/bin/node"
case "${1:-}" in
  next)
    dir=next-app out=.next/standalone/server.js sources=(app next.config.mjs)
    build=(env NEXT_TELEMETRY_DISABLED=1 "$node" node_modules/next/dist/bin/next build)
    clean=(.next)
    ;;
  sveltekit)
    # SvelteKit and Vite send no telemetry; the build reads nothing from the network.
    dir=sveltekit-app out=build/index.js sources=(src vite.config.js)
    build=("$node" node_modules/vite/bin/vite.js build)
    clean=(build .svelte-kit)
    ;;
  astro)
    dir=astro-app out=dist/server/entry.mjs sources=(src astro.config.mjs)
    build=(env ASTRO_TELEMETRY_DISABLED=1 "$node" node_modules/astro/bin/astro.mjs build)
    clean=(dist .astro)
    ;;
  *)
    echo "usage: $0 next|sveltekit|astro" >&2
    exit 2
    ;;
esac
cd "$root/test/fixtures/$dir"
if [ -f "$out" ] && [ -z "$(find "${sources[@]}" package.json package-lock.json -newer "$out" | head -n 1)" ]; then
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
rm -rf "${clean[@]}"
"${build[@]}"
test -f "$out" || { echo "$1: the build did not write $dir/$out" >&2; exit 1; }
