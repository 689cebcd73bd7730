/**
 * `npm run bench [-- <name>…]`: every benchmark in one run, each printing
 * its figures and its ratio against the peer named in its issue.
 *
 * Benchmarks that need a server (Kafka, Redis) read the same env variables
 * as the tests (VCP_TEST_KAFKA_BROKERS, VCP_TEST_REDIS_URL) and say so when
 * skipped. BENCH_QUICK=1 shortens every measurement.
 */
import { existsSync } from 'node:fs';
import { printGoalSummary } from './_goals.ts';

/** In the order a reader meets the layers: integrity primitives, sealing, capture, sidecar, taps. */
const ORDER = [
  'canonical',
  'strict-json',
  'hash',
  'sign',
  'merkle',
  'seal-throughput',
  'decorator',
  'recorder-memory',
  'middleware',
  'sidecar-ingest',
  'sidecar-soak',
  'fix-replay',
  'kafka-tap',
  'redis-tap',
  'verify',
];

// Names come first; anything from the first `--option` on goes to every benchmark's run().
const args = process.argv.slice(2);
const firstOption = args.findIndex((a) => a.startsWith('--'));
const wanted = firstOption === -1 ? args : args.slice(0, firstOption);
const options = firstOption === -1 ? [] : args.slice(firstOption);
const names = wanted.length ? wanted : ORDER;
const started = Date.now();
for (const name of names) {
  const file = new URL(`./${name}.ts`, import.meta.url);
  if (!existsSync(file)) {
    console.log(`\n# ${name}: no such benchmark (bench/${name}.ts)`);
    continue;
  }
  console.log(`\n# ${name}`);
  const mod = (await import(file.href)) as { run?: (argv: string[]) => Promise<unknown> };
  if (typeof mod.run !== 'function') {
    console.log(`bench/${name}.ts exports no run()`);
    continue;
  }
  await mod.run(options);
}
printGoalSummary();
console.log(`\nall benchmarks done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
