/**
 * Probe (not part of `npm run bench`): HTTP-thread CPU per event of preparing
 * batches of 100 bench events inline against handing them to the ingest
 * thread (ingest-pool.ts), and the thread's own CPU.
 *   node bench/_sidecar-pool-cpu.ts
 */
import { buildEvent } from '../src/core/builder.ts';
import { createPolicy } from '../src/core/policy.ts';
import { uuidv7 } from '../src/core/uuidv7.ts';
import { parseLogBody, prepareEvents } from '../src/sidecar/ingest.ts';
import { IngestPool } from '../src/sidecar/ingest-pool.ts';

const policy = createPolicy({ policyId: 'com.example.trading:bench-algo', tier: 'GOLD' });
const sample = buildEvent(
  'ORD',
  {
    trade_data: {
      order_id: 'ORD-000001',
      client_order_id: 'C-7781',
      symbol: 'EURUSD',
      side: 'BUY',
      order_type: 'LIMIT',
      price: '1.0850',
      quantity: '100000',
      time_in_force: 'DAY',
      currency: 'USD',
    },
    vcp_risk: { risk_profile_id: 'RP-1', max_order_size: '1000000', current_exposure: '250000' },
  },
  { policy, venueId: 'XLON', accountId: 'ACC-42', symbol: 'EURUSD', operatorId: 'algo-7' },
);
const parts = JSON.stringify(sample).split(sample.header.event_id);
const makeBody = () => {
  let s = '[';
  for (let i = 0; i < 100; i++) s += (i ? ',' : '') + parts.join(uuidv7());
  return Buffer.from(`${s}]`);
};
const options = { maxBatchEvents: 10_000, maxEventBytes: 64 * 1024, strict: false };
const N = 400;
const thread = () => {
  const t = process.threadCpuUsage();
  return t.user + t.system;
};
const all = () => {
  const t = process.cpuUsage();
  return t.user + t.system;
};

for (let round = 0; round < 2; round++) {
  let bodies = Array.from({ length: N }, makeBody);
  let t0 = thread();
  for (const b of bodies) prepareEvents(parseLogBody(b, 'json', options), options);
  console.log(`inline: HTTP thread ${((thread() - t0) / (N * 100)).toFixed(2)} µs/event`);

  const pool = new IngestPool({ threads: 1 });
  await pool.prepare(makeBody(), 'json', options); // start the thread
  bodies = Array.from({ length: N }, makeBody);
  t0 = thread();
  const a0 = all();
  const w0 = performance.now();
  const inflight = new Set<Promise<unknown>>();
  for (const b of bodies) {
    const p = pool.prepare(b, 'json', options).then((r) => r.events.length);
    inflight.add(p);
    p.finally(() => inflight.delete(p));
    if (inflight.size >= 4) await Promise.race(inflight);
  }
  await Promise.all(inflight);
  const main = thread() - t0;
  const total = all() - a0;
  console.log(
    `thread: HTTP thread ${(main / (N * 100)).toFixed(2)} µs/event, ingest thread ${((total - main) / (N * 100)).toFixed(2)} µs/event, ` +
      `${Math.round((N * 100) / ((performance.now() - w0) / 1000)).toLocaleString('en-US')} events/s`,
  );
  await pool.close();
}
