/**
 * Smoke test of the real Kafka broker that `scripts/kafka.sh` runs: topic creation, an
 * idempotent acks=all producer and a consumer group, end to end with `@platformatic/kafka`.
 * Runs only when VCP_TEST_KAFKA_BROKERS is set (`export "$(bash scripts/kafka.sh start)"`).
 */
import {
  Admin,
  Consumer,
  ProduceAcks,
  Producer,
  stringDeserializers,
  stringSerializers,
} from '@platformatic/kafka';
import { afterAll, expect, it } from 'vitest';
import {
  createTopic,
  deleteTopics,
  describeKafka,
  takeMessages,
  uniqueTopic,
  withTimeout,
} from '../helpers/kafka.ts';

describeKafka('real Kafka broker', (brokers) => {
  const topics: string[] = [];
  afterAll(async () => {
    if (topics.length > 0) await deleteTopics(brokers, topics);
  });

  it('creates a topic with 4 partitions, each with a leader on the single broker', async () => {
    const topic = uniqueTopic('vcp-smoke-create');
    topics.push(topic);
    await createTopic(brokers, topic, { partitions: 4 });

    const admin = new Admin({ clientId: 'vcp-smoke', bootstrapBrokers: brokers, timeout: 5_000 });
    try {
      expect(await withTimeout(admin.listTopics(), 10_000, 'listTopics')).toContain(topic);
      const meta = await withTimeout(
        admin.metadata({ topics: [topic], forceUpdate: true }),
        10_000,
        'metadata',
      );
      const info = meta.topics.get(topic);
      expect(info?.partitionsCount).toBe(4);
      const leaders = new Set(info?.partitions.map((p) => p.leader));
      expect([...leaders]).toEqual([...meta.brokers.keys()]);
    } finally {
      await admin.close();
    }
  });

  it('an idempotent acks=all producer writes keyed messages that a consumer group reads back, in order per key, and commits', async () => {
    const topic = uniqueTopic('vcp-smoke-roundtrip');
    topics.push(topic);
    await createTopic(brokers, topic, { partitions: 4 });

    const keys = ['ord-1', 'ord-2', 'ord-3', 'ord-4', 'ord-5', 'ord-6'];
    const sent = keys.flatMap((key) => [0, 1].map((seq) => ({ key, value: `${key}#${seq}` })));

    const producer = new Producer({
      clientId: 'vcp-smoke-producer',
      bootstrapBrokers: brokers,
      serializers: stringSerializers,
      idempotent: true,
      acks: ProduceAcks.ALL,
      timeout: 5_000,
    });
    const partitionOfKey = new Map<string, number>();
    try {
      for (const message of sent) {
        const result = await withTimeout(
          producer.send({ messages: [{ topic, ...message }] }),
          10_000,
          `sending ${message.value}`,
        );
        const offset = result.offsets?.[0];
        expect(offset?.topic).toBe(topic);
        // The default partitioner hashes the key: both messages of a key land together.
        const known = partitionOfKey.get(message.key);
        if (known !== undefined) expect(offset?.partition).toBe(known);
        partitionOfKey.set(message.key, offset?.partition ?? -1);
      }
    } finally {
      await producer.close();
    }
    expect(new Set(partitionOfKey.values()).size).toBeGreaterThan(1);

    const groupId = uniqueTopic('vcp-smoke-group');
    const consumer = new Consumer({
      clientId: 'vcp-smoke-consumer',
      groupId,
      bootstrapBrokers: brokers,
      deserializers: stringDeserializers,
      timeout: 5_000,
      maxWaitTime: 500,
    });
    try {
      const stream = await withTimeout(
        consumer.consume({
          topics: [topic],
          mode: 'committed',
          fallbackMode: 'earliest', // a new group has no committed offsets: read from the start
          autocommit: false,
          sessionTimeout: 10_000,
          heartbeatInterval: 500,
        }),
        20_000,
        'joining the consumer group',
      );
      try {
        const received = await takeMessages(stream, sent.length, 20_000);
        expect(received.map((m) => m.value).sort()).toEqual(sent.map((m) => m.value).sort());
        for (const m of received) expect(m.partition).toBe(partitionOfKey.get(m.key));
        for (const key of keys) {
          expect(received.filter((m) => m.key === key).map((m) => m.value)).toEqual([`${key}#0`, `${key}#1`]);
        }
        for (const m of received) await withTimeout(Promise.resolve(m.commit()), 10_000, 'committing');
      } finally {
        await stream.close();
      }
    } finally {
      await consumer.close();
    }

    // The group's committed offsets, read back through the Admin API, cover every message.
    const admin = new Admin({ clientId: 'vcp-smoke', bootstrapBrokers: brokers, timeout: 5_000 });
    try {
      const [group] = await withTimeout(
        admin.listConsumerGroupOffsets({ groups: [groupId] }),
        10_000,
        'offsets',
      );
      const committed = group?.topics
        .find((t) => t.name === topic)
        ?.partitions.reduce((sum, p) => sum + (p.committedOffset > 0n ? p.committedOffset : 0n), 0n);
      expect(committed).toBe(BigInt(sent.length));
    } finally {
      await admin.close();
    }
  });
});
