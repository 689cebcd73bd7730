/**
 * Probe (not part of `npm run bench`): A/B of sidecar argument sets under the
 * same load, interleaved round by round so a busy neighbour hits both alike.
 *   node bench/_sidecar-ab.ts [batch] [connections] [seconds] [rounds] -- "<args A>" "<args B>" …
 *   e.g. node bench/_sidecar-ab.ts 100 8 3 3 -- "--ingest-threads 0" "--ingest-threads 1"
 * A set starting with `@<path of another checkout's src/cli/sidecar-entry.ts>` runs that sidecar.
 * Prints events/s, p50/p99 and the sidecar's CPU per event for each set.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forkLoadChild, runInChild, sidecarServer } from './sidecar-ingest.ts';

const argv = process.argv.slice(2);
const dash = argv.indexOf('--');
const [batch = 100, connections = 8, seconds = 3, rounds = 3] = argv
  .slice(0, dash === -1 ? argv.length : dash)
  .map(Number);
const sets = dash === -1 ? [''] : argv.slice(dash + 1);
const child = forkLoadChild();
const rate = process.env.AB_RATE ? Number(process.env.AB_RATE) : undefined;
// Per set, each round's events/s and sidecar CPU per event, for the summary.
const rates = sets.map(() => [] as number[]);
const cpus = sets.map(() => [] as number[]);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
try {
  for (let r = 1; r <= rounds; r++) {
    for (const set of sets) {
      const dir = mkdtempSync(join(tmpdir(), 'vcp-ab-'));
      const words = set.split(' ').filter(Boolean);
      const entry = words[0]?.startsWith('@') ? words.shift()!.slice(1) : undefined;
      const sc = await sidecarServer(dir, undefined, words, entry);
      try {
        const res = await runInChild(
          child,
          {
            url: sc.url,
            batch,
            connections,
            warmupMs: 1000,
            durationMs: seconds * 1000,
            ...(rate ? { rate } : {}),
          },
          sc.cpu,
        );
        rates[sets.indexOf(set)]!.push(res.eventsPerSec);
        cpus[sets.indexOf(set)]!.push(res.cpuUsPerEvent!);
        console.log(
          `[${r}] ${JSON.stringify(set).padEnd(26)} ${Math.round(res.eventsPerSec).toLocaleString('en-US').padStart(8)} events/s  ` +
            `p50 ${res.p50Ms.toFixed(2)} p99 ${res.p99Ms.toFixed(2)} ms  sidecar CPU ${res.cpuUsPerEvent!.toFixed(1)} µs/event  ` +
            `load gen CPU ${res.loadCpuUsPerEvent!.toFixed(1)} µs/event, loop p99 ${res.loadLoopP99Ms!.toFixed(1)} ms; RSS ${(sc.peakRss() / 2 ** 20).toFixed(0)} MiB`,
        );
      } finally {
        await sc.close();
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
  // The rounds alternate the sets, so each round's ratio to the first set is paired against the same neighbours.
  console.log(
    `summary over ${rounds} round(s): median events/s, sidecar CPU µs/event; ratio to the first set (median of the rounds' ratios, rounds it was ahead)`,
  );
  sets.forEach((set, k) => {
    const paired = rates[k]!.map((x, r) => x / rates[0]![r]!);
    const ahead = paired.filter((x) => x > 1).length;
    console.log(
      `  ${JSON.stringify(set).padEnd(26)} ${Math.round(median(rates[k]!)).toLocaleString('en-US').padStart(8)}/s  ${median(cpus[k]!).toFixed(1)} µs` +
        (k === 0 ? '' : `  ×${median(paired).toFixed(3)} (ahead in ${ahead} of ${paired.length})`),
    );
  });
} finally {
  child.kill();
}
