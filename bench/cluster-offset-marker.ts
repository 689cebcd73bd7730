/**
 * What does the offset marker (`<data-dir>/p<N>/TOPIC-OFFSET`, rewritten
 * durably before every offset commit so the group never commits past what a
 * folder holds) cost a cluster member draining a backlog, against the same
 * member without it (`takeoverCheck: false`), in the same run?
 *
 * A 4-partition topic is filled with N sealed ORD events (KafkaSink); each
 * run is one in-process member in a new consumer group on a new data folder,
 * timed from start to lag 0 (every event validated, hashed, stored with
 * fdatasync, every offset committed). Runs alternate to share the machine's
 * noise.
 *
 *   export "$(bash scripts/kafka.sh start)"; node bench/cluster-offset-marker.ts [--events 100000] [--rounds 2]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Admin, Consumer } from '@platformatic/kafka';
import { buildEvent } from '../src/core/builder.ts';
import { createPolicy } from '../src/core/policy.ts';
import type { VcpEvent } from '../src/core/types.ts';
import { uuidv7 } from '../src/core/uuidv7.ts';
import { sealEvent } from '../src/integrity/seal.ts';
import { generateSigningKey } from '../src/integrity/sign.ts';
import { startPartitionedSidecar } from '../src/sidecar/cluster/partitioned-sidecar.ts';
import { resolveSidecarConfig } from '../src/sidecar/config.ts';
import { KafkaSink } from '../src/sinks/kafka.ts';

const { values } = parseArgs({
  options: { events: { type: 'string', default: '100000' }, rounds: { type: 'string', default: '2' } },
});
const EVENTS = Number(values.events);
const ROUNDS = Number(values.rounds);
const brokers = (process.env.VCP_TEST_KAFKA_BROKERS ?? '').split(',').filter(Boolean);
if (brokers.length === 0) {
  console.error('set VCP_TEST_KAFKA_BROKERS (bash scripts/kafka.sh start prints it)');
  process.exit(2);
}
const PARTITIONS = 4;
const topic = `vcp-bench-marker-${Date.now().toString(36)}`;
const admin = new Admin({ clientId: 'vcp-bench', bootstrapBrokers: brokers });
await admin.createTopics({ topics: [topic], partitions: PARTITIONS, replicas: 1 });
await new Promise((r) => setTimeout(r, 1000));

const policy = createPolicy({ policyId: 'com.example.bench:marker', tier: 'SILVER' });
const sink = new KafkaSink({ brokers, topic, timeoutMs: 60_000 });
const traces = Array.from({ length: 1000 }, () => uuidv7());
for (let k = 0; k < EVENTS; k += 2000) {
  const batch: VcpEvent[] = [];
  for (let i = k; i < Math.min(EVENTS, k + 2000); i++) {
    batch.push(
      sealEvent(
        buildEvent(
          'ORD',
          {
            trade_data: {
              order_id: `O-${i}`,
              symbol: 'EURUSD',
              side: 'BUY',
              order_type: 'LIMIT',
              price: '1.0850',
              quantity: '100000',
            },
          } as never,
          {
            policy,
            traceId: traces[i % traces.length]!,
            venueId: 'XLON',
            accountId: 'ACC-1',
            symbol: 'EURUSD',
          },
        ),
      ),
    );
  }
  await sink.write(batch);
}
await sink.close();

const signer = generateSigningKey();
const drain = async (marker: boolean, round: number): Promise<number> => {
  const dir = mkdtempSync(join(tmpdir(), 'vcp-bench-marker-'));
  const group = `bench-${marker ? 'marker' : 'none'}-${round}-${Date.now()}`;
  const config = resolveSidecarConfig(
    { port: '0', 'data-dir': dir, ingest: `kafka://${brokers.join(',')}/${topic}?group=${group}` },
    {},
    dir,
  );
  const lag = new Consumer({ groupId: group, clientId: 'vcp-bench-lag', bootstrapBrokers: brokers });
  const t0 = performance.now();
  const member = await startPartitionedSidecar({ config, signer, takeoverCheck: marker, log: () => {} });
  try {
    for (;;) {
      const c = (await lag.listCommittedOffsets({ topics: [{ topic, partitions: [0, 1, 2, 3] }] })).get(
        topic,
      )!;
      const h = (await lag.listOffsets({ topics: [topic] })).get(topic)!;
      if (h.every((end, p) => c[p] === end)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    return performance.now() - t0;
  } finally {
    await member.close();
    await lag.close();
    rmSync(dir, { recursive: true, force: true });
  }
};

const rows: { marker: number[]; none: number[] } = { marker: [], none: [] };
for (let r = 0; r < ROUNDS; r++) {
  rows.none.push(await drain(false, r));
  rows.marker.push(await drain(true, r));
}
const best = (xs: number[]) => Math.min(...xs);
const rate = (ms: number) => Math.round((EVENTS * 1000) / ms);
console.log(`cluster member draining ${EVENTS} events, 4 partitions, best of ${ROUNDS}:`);
console.log(`  without the offset marker  ${rate(best(rows.none))} events/s`);
console.log(`  with the offset marker     ${rate(best(rows.marker))} events/s`);
console.log(`  ratio with/without         ${(best(rows.none) / best(rows.marker)).toFixed(2)}`);
await admin.deleteTopics({ topics: [topic] }).catch(() => {});
await admin.close();
