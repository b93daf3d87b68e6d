// The load of load-generator.ts as its own process, so that it can run inside a network namespace
// (`ip netns exec NS node bench/load-child.ts URL [OPTIONS-JSON]`): the mixed load of the zero-drop
// tests, or runLoad with the given options. It stops on SIGTERM and prints the report (without
// per-request results and latencies) as one JSON line.

import { type LoadOptions, mixedLoad, runLoad } from './load-generator.ts';

const [url, options] = process.argv.slice(2) as [string, string | undefined];
const load = options
  ? runLoad({ ...(JSON.parse(options) as Omit<LoadOptions, 'url'>), url })
  : mixedLoad(url);
process.once('SIGTERM', () => load.stop());
const { results: _results, latencies: _latencies, ...report } = await load.done;
process.stdout.write(`${JSON.stringify(report)}\n`);
