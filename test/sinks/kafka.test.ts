/**
 * KafkaSink against a real broker (`bash scripts/kafka.sh start`; skipped with
 * a message when VCP_TEST_KAFKA_BROKERS is unset).
 */
import { Consumer, stringDeserializers } from '@platformatic/kafka';
import { afterAll, describe, expect, it } from 'vitest';
import { buildEvent } from '../../src/core/builder.ts';
import { VcpConfigError } from '../../src/core/errors.ts';
import { createPolicy } from '../../src/core/policy.ts';
import type { VcpEvent } from '../../src/core/types.ts';
import { uuidv7 } from '../../src/core/uuidv7.ts';
import { sealEvent } from '../../src/integrity/seal.ts';
import { SinkError } from '../../src/sinks/errors.ts';
import { KAFKA_COMPRESSIONS, KafkaSink } from '../../src/sinks/kafka.ts';
import {
  createTopic,
  deleteTopics,
  describeKafka,
  takeMessages,
  uniqueTopic,
  withTimeout,
} from '../helpers/kafka.ts';

const policy = createPolicy({ policyId: 'local:test:kafka-sink' });

function order(traceId: string, n: number): VcpEvent {
  return sealEvent(
    buildEvent(
      'ORD',
      {
        trade_data: {
          order_id: `O-${traceId.slice(-4)}-${n}`,
          symbol: 'EURUSD',
          side: 'BUY',
          price: '1.0850',
          quantity: String(1000 + n),
          // ~1 KB events, so small maxBatchBytes split batches.
          note: 'x'.repeat(700),
        },
      },
      { policy, traceId },
    ),
  );
}

interface Read {
  key: string;
  value: string;
  partition: number;
  offset: bigint;
  headers: Map<string, string>;
}

async function readAll(brokers: string[], topic: string, count: number): Promise<Read[]> {
  const consumer = new Consumer({
    clientId: 'vcp-test-reader',
    groupId: uniqueTopic('vcp-test-reader'),
    bootstrapBrokers: brokers,
    deserializers: stringDeserializers,
    maxWaitTime: 200,
  });
  try {
    const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false });
    const got = await takeMessages(stream, count, 20_000);
    await stream.close();
    return got.map((m) => ({
      key: m.key,
      value: m.value,
      partition: m.partition,
      offset: m.offset,
      headers: m.headers as Map<string, string>,
    }));
  } finally {
    await consumer.close(true);
  }
}

describe('KafkaSink options', () => {
  it('refuses bad configuration with a clear error, before connecting', () => {
    expect(() => new KafkaSink({ brokers: [], topic: 't' })).toThrow(/needs brokers/);
    expect(() => new KafkaSink({ brokers: 'localhost', topic: 't' })).toThrow(/not host:port/);
    expect(() => new KafkaSink({ brokers: 'h:1', topic: 'bad topic!' })).toThrow(VcpConfigError);
    expect(() => new KafkaSink({ brokers: 'h:1', topic: 't', compression: 'brotli' as never })).toThrow(
      /compression must be one of/,
    );
    expect(() => new KafkaSink({ brokers: 'h:1', topic: 't', timeoutMs: 0 })).toThrow(/timeoutMs/);
  });
});

describeKafka('KafkaSink (real broker)', (brokers) => {
  const topics: string[] = [];
  afterAll(async () => {
    if (topics.length) await deleteTopics(brokers, topics);
  });

  it('keys by trace id: every event of one trace lands on one partition, in write order', async () => {
    const topic = uniqueTopic('vcp-sink');
    topics.push(topic);
    await createTopic(brokers, topic, { partitions: 4 });
    // Fixed trace ids, so the spread checked below is certain: six random ones all landed on one of the
    // four partitions 1 run in 1024. These go to partitions 3, 3, 1, 0, 0, 3 (toPositive(murmur2) % 4).
    const traces = Array.from({ length: 6 }, (_, i) => `0195f1c2-0000-7000-8000-00000000000${i + 1}`);
    const events: VcpEvent[] = [];
    for (let n = 0; n < 20; n++) for (const t of traces) events.push(order(t, n));
    // maxBatchBytes of ~8 events: one write becomes several produce requests, still in order.
    const sink = new KafkaSink({ brokers, topic, maxBatchBytes: 8 * 1024 });
    for (let i = 0; i < events.length; i += 25) await sink.write(events.slice(i, i + 25));
    await sink.close();

    const read = await readAll(brokers, topic, events.length);
    const partitionsUsed = new Set<number>();
    for (const t of traces) {
      const mine = read.filter((r) => r.key === t);
      expect(mine).toHaveLength(20);
      const parts = new Set(mine.map((r) => r.partition));
      expect(parts.size).toBe(1);
      partitionsUsed.add(mine[0]!.partition);
      mine.sort((a, b) => (a.offset < b.offset ? -1 : 1));
      expect(mine.map((r) => JSON.parse(r.value).header.event_id)).toEqual(
        events.filter((e) => e.header.trace_id === t).map((e) => e.header.event_id),
      );
    }
    // Six traces over four partitions: keys really spread (murmur2), not all on partition 0.
    expect([...partitionsUsed].sort()).toEqual([0, 1, 3]);
    // Value = the sealed event as written; headers name it.
    const first = read.find((r) => JSON.parse(r.value).header.event_id === events[0]!.header.event_id)!;
    expect(JSON.parse(first.value)).toEqual(events[0]);
    expect(first.headers.get('event_type')).toBe('ORD');
    expect(first.headers.get('event_id')).toBe(events[0]!.header.event_id);
  });

  it('places each trace on the partition the Java client would (Utils.murmur2, toPositive, % 3)', async () => {
    // Computed with kafka-clients 4.1.1 (test/kafka/lib):
    //   Utils.toPositive(Utils.murmur2(key.getBytes(UTF_8))) % 3
    // @platformatic/kafka's default partitioner (murmur2 >>> 0) puts 5 of these 8 elsewhere.
    const java: [string, number][] = [
      ['0195f1c2-0000-7000-8000-000000000001', 2],
      ['0195f1c2-0000-7000-8000-000000000002', 0],
      ['0195f1c2-0000-7000-8000-000000000003', 1],
      ['0195f1c2-0000-7000-8000-000000000004', 2],
      ['0195f1c2-0000-7000-8000-000000000005', 2],
      ['0195f1c2-0000-7000-8000-000000000006', 2],
      ['0195f1c2-0000-7000-8000-000000000007', 0],
      ['0195f1c2-0000-7000-8000-000000000008', 0],
    ];
    const topic = uniqueTopic('vcp-sink');
    topics.push(topic);
    await createTopic(brokers, topic, { partitions: 3 });
    const sink = new KafkaSink({ brokers, topic });
    await sink.write(java.map(([trace]) => order(trace, 0)));
    await sink.close();
    const read = await readAll(brokers, topic, java.length);
    expect(Object.fromEntries(read.map((r) => [r.key, r.partition]))).toEqual(Object.fromEntries(java));
  });

  it('close() flushes: a write still in flight is acknowledged before close resolves', async () => {
    const topic = uniqueTopic('vcp-sink');
    topics.push(topic);
    await createTopic(brokers, topic, { partitions: 2 });
    const sink = new KafkaSink({ brokers, topic });
    const trace = uuidv7();
    const events = Array.from({ length: 50 }, (_, n) => order(trace, n));
    const written = sink.write(events); // not awaited
    await sink.close();
    await written;
    await expect(sink.write(events)).rejects.toMatchObject({ retryable: false, reason: 'closed' });
    const read = await readAll(brokers, topic, 50);
    expect(new Set(read.map((r) => JSON.parse(r.value).header.event_id)).size).toBe(50);
  });

  it('a topic that does not exist fails with a clear timeout error instead of hanging', async () => {
    const topic = uniqueTopic('vcp-missing');
    const sink = new KafkaSink({ brokers, topic, timeoutMs: 1500 });
    const error = await withTimeout(
      sink.write([order(uuidv7(), 1)]).catch((e: unknown) => e),
      15_000,
      'write',
    );
    expect(error).toBeInstanceOf(SinkError);
    expect(error).toMatchObject({ retryable: true, reason: 'timeout' });
    expect((error as Error).message).toMatch(
      /did not acknowledge 1 event\(s\) within 1500 ms.*does topic .* exist/,
    );
    await withTimeout(sink.close(), 15_000, 'close after a timed-out send');
  });

  it('writes with every compression codec the library offers, readable back', async () => {
    const topic = uniqueTopic('vcp-sink');
    topics.push(topic);
    await createTopic(brokers, topic, { partitions: 1 });
    const ids: string[] = [];
    for (const compression of KAFKA_COMPRESSIONS) {
      const sink = new KafkaSink({ brokers, topic, compression });
      const events = [order(uuidv7(), 1), order(uuidv7(), 2)];
      await sink.write(events);
      await sink.close();
      ids.push(...events.map((e) => e.header.event_id));
    }
    const read = await readAll(brokers, topic, ids.length);
    expect(read.map((r) => JSON.parse(r.value).header.event_id)).toEqual(ids);
  });
});
