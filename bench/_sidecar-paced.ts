/**
 * Probe (not part of `npm run bench`): where the latency of single events
 * paced at a fixed rate comes from, on the bare `node:http` server of
 * bench/sidecar-ingest.ts (no sidecar at all): the load generator's lateness
 * in sending, its own event-loop delay and GC, against the latency measured;
 * in a fresh load generator, and in one that first drove closed-loop batches
 * of 100 (as the benchmark's shared one used to).
 *   node bench/_sidecar-paced.ts [rate=1000] [seconds=5] [connections=8]
 */
import { bareServer, forkLoadChild, runInChild } from './sidecar-ingest.ts';

const [rate = 1000, seconds = 5, connections = 8] = process.argv.slice(2, 5).map(Number);
const bare = await bareServer();
try {
  for (const used of [false, true, false, true]) {
    const child = forkLoadChild();
    try {
      if (used) {
        await runInChild(child, {
          url: bare.url,
          batch: 100,
          connections: 8,
          warmupMs: 500,
          durationMs: 2000,
        });
        await runInChild(child, {
          url: bare.url,
          batch: 1,
          connections: 32,
          warmupMs: 500,
          durationMs: 2000,
        });
      }
      const r = await runInChild(child, {
        url: bare.url,
        batch: 1,
        connections,
        warmupMs: 1000,
        durationMs: seconds * 1000,
        rate,
      });
      console.log(
        `bare, ${rate}/s paced, ${connections} conns, ${used ? 'load generator used before' : 'fresh load generator     '}: ` +
          `p50 ${r.p50Ms.toFixed(2)} p99 ${r.p99Ms.toFixed(2)} max ${r.maxMs.toFixed(1)} ms; send lag p99 ${r.sendLagP99Ms?.toFixed(2)} ms, ` +
          `counted from the send p99 ${r.fromSendP99Ms?.toFixed(2)} ms; loop delay p99 ${r.loadLoopP99Ms?.toFixed(2)} max ${r.loadLoopMaxMs?.toFixed(1)} ms; ` +
          `GC ${r.loadGcPauses}× max ${r.loadGcMaxMs?.toFixed(1)} ms`,
      );
    } finally {
      child.kill();
    }
  }
} finally {
  await bare.close();
}
