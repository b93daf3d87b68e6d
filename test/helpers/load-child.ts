// The mixed load of bench/load-generator.ts as its own process, so that it can run inside a network
// namespace (`ip netns exec NS node load-child.ts URL`). It stops when its stdin closes and prints
// the report (without per-request results) as one JSON line.

import { mixedLoad } from '../../bench/load-generator.ts';

const load = mixedLoad(process.argv[2]!);
process.stdin.resume();
process.stdin.once('end', () => load.stop());
const { results: _results, latencies: _latencies, ...report } = await load.done;
process.stdout.write(`${JSON.stringify(report)}\n`);
