/**
 * The throughput issue's goals as the benchmarks check them, gathered so that
 * `npm run bench` ends with one table of every goal checked in the run:
 * what was measured, against what, and whether it was met. Each benchmark
 * still prints its own lines; run alone (`node bench/x.ts`) it prints no table.
 * `npm run bench` runs each benchmark in a process of its own, which appends
 * its checks to the file named by `VCP_BENCH_GOALS_FILE`.
 */
import { appendFileSync, readFileSync } from 'node:fs';

/** One goal checked by one benchmark in this run. */
export interface GoalCheck {
  /** The benchmark that measured it (`sidecar-ingest`). */
  bench: string;
  /** The goal as the issue states it (`single events ≥ 60 % of the ceiling`). */
  goal: string;
  /** The figure measured, with its peer where it is a ratio (`37.6 % (8 952 / 23 784 events/s)`). */
  measured: string;
  met: boolean;
}

const checks: GoalCheck[] = [];

/** Record a goal's outcome; returns `met` or `NOT met` for the benchmark's own line. */
export function checkGoal(bench: string, goal: string, measured: string, met: boolean): string {
  const check = { bench, goal, measured, met };
  checks.push(check);
  const file = process.env.VCP_BENCH_GOALS_FILE;
  if (file) appendFileSync(file, `${JSON.stringify(check)}\n`);
  return met ? 'met' : 'NOT met';
}

/** The checks benchmark processes appended to `file` (none when it does not exist). */
export function readGoalChecks(file: string): GoalCheck[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out: GoalCheck[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    try {
      out.push(JSON.parse(line) as GoalCheck);
    } catch {
      // A benchmark killed mid-append leaves a partial line: the others still make the table.
    }
  }
  return out;
}

/** The goals checked so far in this process, in the order they were checked. */
export function goalChecks(): readonly GoalCheck[] {
  return checks;
}

/** The table `npm run bench` prints last; nothing when no goal was checked. */
export function printGoalSummary(all: readonly GoalCheck[] = checks): void {
  const checks = all;
  if (checks.length === 0) return;
  const met = checks.filter((c) => c.met).length;
  const quick =
    process.env.BENCH_QUICK === '1' ? ' (BENCH_QUICK: short single rounds, noisier than a full run)' : '';
  console.log(`\n# goals checked in this run: ${met} of ${checks.length} met${quick}`);
  console.log('| benchmark | goal | measured | met |');
  console.log('|---|---|---|---|');
  for (const c of checks) console.log(`| ${c.bench} | ${c.goal} | ${c.measured} | ${c.met ? 'yes' : 'no'} |`);
}
