/**
 * `npm run bench [-- <name>…]`: every benchmark in one run, each printing
 * its figures and its ratio against the peer named in its issue.
 *
 * Benchmarks that need a server (Kafka, Redis) read the same env variables
 * as the tests (VCP_TEST_KAFKA_BROKERS, VCP_TEST_REDIS_URL) and say so when
 * skipped. BENCH_QUICK=1 shortens every measurement. Each benchmark runs in
 * a process of its own; one that fails is reported and the run goes on.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { printGoalSummary, readGoalChecks } from './_goals.ts';

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

/**
 * One benchmark in a process of its own (bench/_run-one.ts), so none runs on the heap, JIT state
 * and threads the ones before it left (in one process `vcp verify`'s RSS was measured on top of
 * the 700 MB the benchmarks before it held). Resolves with its exit code.
 */
function runAlone(name: string, options: string[], goalsFile: string): Promise<number> {
  const entry = fileURLToPath(new URL('./_run-one.ts', import.meta.url));
  const child = spawn(process.execPath, [...process.execArgv, entry, name, ...options], {
    stdio: 'inherit',
    env: { ...process.env, VCP_BENCH_GOALS_FILE: goalsFile },
  });
  return new Promise((resolve) => {
    child.on('error', () => resolve(1));
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

// Names come first; anything from the first `--option` on goes to every benchmark's run().
const args = process.argv.slice(2);
const firstOption = args.findIndex((a) => a.startsWith('--'));
const wanted = firstOption === -1 ? args : args.slice(0, firstOption);
const options = firstOption === -1 ? [] : args.slice(firstOption);
const names = wanted.length ? wanted : ORDER;
const started = Date.now();
const goalsDir = mkdtempSync(join(tmpdir(), 'vcp-bench-goals-'));
const goalsFile = join(goalsDir, 'goals.jsonl');
const failed: string[] = [];
for (const name of names) {
  if (!existsSync(new URL(`./${name}.ts`, import.meta.url))) {
    console.log(`\n# ${name}: no such benchmark (bench/${name}.ts)`);
    failed.push(name);
    continue;
  }
  console.log(`\n# ${name}`);
  const code = await runAlone(name, options, goalsFile);
  if (code !== 0) {
    console.log(`bench/${name}.ts failed (exit code ${code}); the run goes on with the next`);
    failed.push(name);
  }
}
printGoalSummary(readGoalChecks(goalsFile));
rmSync(goalsDir, { recursive: true, force: true });
console.log(`\nall benchmarks done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
if (failed.length) {
  console.log(`failed or missing: ${failed.join(', ')}`);
  process.exitCode = 1;
}
