/**
 * Profile driver (not part of `npm run bench`): the tap runner's own work (map, draft, check, seal) on
 * 50 000 guide-shaped messages, Kafka values and Redis fields, with no client and no sink: µs per event,
 * best of ROUNDS (default 7). `node bench/_runner-micro.ts`
 */
import { createDefaultMapping, type TapMessage } from '../src/adapters/message-mapping.ts';
import { redisTapMessage } from '../src/adapters/redis-tap.ts';
import { TapRunner } from '../src/adapters/tap-runner.ts';
import { MemorySink } from '../src/sinks/memory.ts';
import { orderFields, orderValue } from './_tap-data.ts';

const n = 50_000;
const rounds = Number(process.env.ROUNDS ?? 7);
const t0 = 1_796_000_000_000;
const kafka: TapMessage[] = [];
const redis: TapMessage[] = [];
for (let i = 0; i < n; i++) {
  kafka.push({
    transport: 'kafka',
    topic: 'orders',
    partition: i % 4,
    offset: String(i >> 2),
    key: Buffer.from(`ORD-${i % 5000}`),
    value: orderValue(i),
    fields: undefined,
    rawFields: undefined,
    headers: Object.create(null),
    timestamp: t0 + i,
  });
  const f = orderFields(i);
  redis.push(
    redisTapMessage(
      'orders',
      `${t0 + i}-0`,
      f.map((x) => Buffer.from(x)),
    ),
  );
}

function measure(
  name: string,
  messages: TapMessage[],
  mapping?: ReturnType<typeof createDefaultMapping>,
): void {
  const runner = new TapRunner(
    { sink: new MemorySink(), policyId: 'local:p:r', ...(mapping ? { mapping } : {}) },
    'micro',
  );
  const best: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const s = performance.now();
    for (let i = 0; i < messages.length; i += 500) runner.toEvents(messages.slice(i, i + 500));
    best.push(((performance.now() - s) * 1000) / messages.length);
  }
  best.sort((a, b) => a - b);
  console.log(
    `${name}: ${best[0]!.toFixed(2)} µs/event best, ${best[rounds >> 1]!.toFixed(2)} median of ${rounds}`,
  );
}
measure('kafka', kafka, createDefaultMapping({ topics: { orders: 'orders' } }));
measure('redis', redis);

// The HTTP sink's body: the sealed events of one batch encoded as a JSON array (encodeEvents, as `#post` does).
{
  const { encodeEvents } = await import('../src/sinks/_jsonl.ts');
  const runner = new TapRunner({ sink: new MemorySink(), policyId: 'local:p:r' }, 'micro');
  const batches = [];
  for (let i = 0; i < redis.length; i += 500) batches.push(runner.toEvents(redis.slice(i, i + 500)).events);
  const scratch = { buf: undefined };
  const best: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const s = performance.now();
    for (const b of batches) encodeEvents(b, '[', ',', ']', scratch);
    best.push(((performance.now() - s) * 1000) / redis.length);
  }
  best.sort((a, b) => a - b);
  console.log(
    `encode (JSON array, reused scratch): ${best[0]!.toFixed(2)} µs/event best, ${best[rounds >> 1]!.toFixed(2)} median`,
  );
}
