// The load of bench/load-generator.ts as its own process, so that it can run inside a network
// namespace (`ip netns exec NS node load-child.ts URL [OPTIONS-JSON]`): the mixed load of the
// zero-drop tests, or runLoad with the given options. It stops when its stdin closes and prints the
// report (without per-request results) as one JSON line.

import { type LoadOptions, mixedLoad, runLoad } from '../../bench/load-generator.ts';

const [url, options] = process.argv.slice(2) as [string, string | undefined];
const load = options
  ? runLoad({ ...(JSON.parse(options) as Omit<LoadOptions, 'url'>), url })
  : mixedLoad(url);
process.stdin.resume();
process.stdin.once('end', () => load.stop());
const { results: _results, latencies: _latencies, ...report } = await load.done;
process.stdout.write(`${JSON.stringify(report)}\n`);
