/**
 * Probe (not part of `npm run bench`): CPU per event of each ingest stage
 * without HTTP, for a batch of 100 bench events:
 * parse (strict JSON) → prepare (validate, hash, security) → stored record encoding.
 *   node bench/_ingest-pipeline-cpu.ts
 */
import { buildEvent } from '../src/core/builder.ts';
import { createPolicy } from '../src/core/policy.ts';
import { uuidv7 } from '../src/core/uuidv7.ts';
import { canonicalize } from '../src/integrity/canonical.ts';
import { parseLogBody, prepareEvents } from '../src/sidecar/ingest.ts';
import { eventLine } from '../src/sinks/serialize.ts';

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
// CANONICAL=1: header and payload written as RFC 8785 text, as the recorder's sinks write them.
const line =
  process.env.CANONICAL === '1'
    ? eventLine(sample, canonicalize(sample.header), canonicalize(sample.payload))
    : JSON.stringify(sample);
const parts = line.split(sample.header.event_id);
const bodies: Buffer[] = [];
for (let b = 0; b < 200; b++) {
  let s = '[';
  for (let i = 0; i < 100; i++) s += (i ? ',' : '') + parts.join(uuidv7());
  bodies.push(Buffer.from(`${s}]`));
}
const limits = { maxBatchEvents: 10_000, maxEventBytes: 64 * 1024 };
const time = (name: string, f: (b: Buffer) => unknown) => {
  for (let r = 0; r < 3; r++) for (const b of bodies) f(b); // warm-up
  const t0 = process.hrtime.bigint();
  const rounds = 10;
  for (let r = 0; r < rounds; r++) for (const b of bodies) f(b);
  const ns = Number(process.hrtime.bigint() - t0) / (rounds * bodies.length * 100);
  console.log(`${name.padEnd(40)} ${(ns / 1000).toFixed(2)} µs/event`);
};
time('JSON.parse only (the ceiling)', (b) => JSON.parse(b.toString('utf8')));
time('parseLogBody', (b) => parseLogBody(b, 'json', limits));
time('parseLogBody + prepareEvents', (b) =>
  prepareEvents(parseLogBody(b, 'json', limits), { ...limits, strict: false }),
);
