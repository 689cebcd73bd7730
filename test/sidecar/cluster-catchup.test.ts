/**
 * The race a lock used to settle: with a data folder per member, nothing
 * orders the previous owner's last commit and the new owner's look at the
 * committed offset. The new owner may rebuild up to an older committed
 * offset while the group's stream then starts at a newer one. The worker
 * sees that on the first record and replays the difference from the topic
 * before taking it, so the tree has no hole; if the topic no longer holds
 * the difference, it refuses the partition instead.
 *
 * Real broker and topic; the committed offset the worker reads is the
 * older one the broker gave before the previous owner's last commit, and
 * the records are pushed as the group's stream would deliver them from the
 * newer one.
 */
import { afterAll, afterEach, expect, it } from 'vitest';
import type { VcpEvent } from '../../src/core/types.ts';
import { sealEvent } from '../../src/integrity/seal.ts';
import { generateSigningKey } from '../../src/integrity/sign.ts';
import { createAnchoringFactory } from '../../src/sidecar/anchor/server-adapter.ts';
import { parseKafkaIngestUrl } from '../../src/sidecar/cluster/ingest-url.ts';
import { defaultPartitionStore } from '../../src/sidecar/cluster/partition-store.ts';
import {
  type PartitionHistory,
  type PartitionRecord,
  PartitionWorker,
} from '../../src/sidecar/cluster/partition-worker.ts';
import { type RangeRecord, readPartitionRange } from '../../src/sidecar/cluster/topic-reader.ts';
import { KafkaSink } from '../../src/sinks/kafka.ts';
import { createTopic, deleteTopics, describeKafka, uniqueTopic } from '../helpers/kafka.ts';
import { tempDir, testConfig, v11Event } from './helpers.ts';

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const signer = generateSigningKey();

describeKafka(
  'partition worker: records the group committed while the partition was being taken',
  (brokers) => {
    const topics: string[] = [];
    afterAll(async () => {
      if (topics.length) await deleteTopics(brokers, topics).catch(() => {});
    });

    /** A one-partition topic holding 300 single-event records; returns its records as the topic has them. */
    const filledTopic = async () => {
      const topic = uniqueTopic('vcp-catchup');
      topics.push(topic);
      await createTopic(brokers, topic, { partitions: 1 });
      const sink = new KafkaSink({ brokers, topic, timeoutMs: 20_000 });
      const events: VcpEvent[] = Array.from({ length: 300 }, (_, i) => sealEvent(v11Event(i)));
      await sink.write(events);
      await sink.close();
      const ingest = parseKafkaIngestUrl(`kafka://${brokers.join(',')}/${topic}?group=g-${topic}`);
      const records: RangeRecord[] = [];
      await readPartitionRange({
        ingest,
        partition: 0,
        from: 0n,
        to: 300n,
        onRecords: async (r) => void records.push(...r),
      });
      expect(records.map((r) => r.offset)).toEqual(Array.from({ length: 300 }, (_, i) => BigInt(i)));
      return { topic, ingest, records };
    };

    const worker = (ingest: ReturnType<typeof parseKafkaIngestUrl>, staleCommitted: bigint) => {
      const t = tempDir('vcp-catchup-');
      cleanups.push(t.cleanup);
      const config = testConfig(t.dir);
      const logs: string[] = [];
      const commits: bigint[] = [];
      const history: PartitionHistory = {
        topic: ingest.topic,
        startFrom: 'earliest',
        // What the broker said before the previous owner's last commit reached it.
        start: async () => ({ committed: staleCommitted, earliest: 0n }),
        read: (partition, from, to, onRecords, stopped) =>
          readPartitionRange({ ingest, partition, from, to, onRecords, stopped }),
      };
      const w = new PartitionWorker({
        partition: 0,
        generation: 1,
        config,
        signer,
        anchoring: createAnchoringFactory({}),
        openStore: (p) => defaultPartitionStore(config, p),
        history,
        log: (l) => logs.push(l),
        onFailed: (e) => logs.push(`FAILED ${e}`),
      });
      cleanups.push(() => w.close());
      const record = (r: RangeRecord): PartitionRecord => ({
        offset: r.offset,
        value: r.value,
        generation: 1,
        commit: async () => void commits.push(r.offset + 1n),
      });
      return { w, logs, commits, record };
    };

    it('replays the records between the committed offset it read and the first one the stream brings; the tree has no hole', async () => {
      const { ingest, records } = await filledTopic();
      const { w, logs, commits, record } = worker(ingest, 100n);
      // The group's stream starts at 200: the previous owner committed 100–199 meanwhile.
      for (const r of records.slice(200)) w.push(record(r));
      await w.open();
      for (let i = 0; i < 300 && !(w.state === 'active' && w.committedOffset === 300n); i++)
        await new Promise((r) => setTimeout(r, 20));
      expect(w.state, logs.join('\n')).toBe('active');
      expect(w.committedOffset).toBe(300n);
      const ctx = w.ctx!;
      expect(ctx.tree.size).toBe(300);
      const stored: string[] = [];
      for await (const s of ctx.store.scan(0, 300)) stored.push(s.eventId);
      expect(stored).toEqual(
        records.map((r) => (JSON.parse(r.value!.toString()) as VcpEvent).header.event_id),
      );
      // Only the records the stream brought were committed, never a lower offset.
      expect(Math.min(...commits.map(Number))).toBeGreaterThan(200);
      expect(logs.join('\n')).toMatch(
        /partition 0: rebuilt from the topic: 100 records replayed, 0 → 100 events/,
      );
      expect(logs.join('\n')).toMatch(
        /partition 0: the group's records start at offset 200 but this store holds records before offset 100 only/,
      );
      expect(logs.join('\n')).toMatch(
        /partition 0: caught up from the topic: offsets 100–199, 100 → 200 events/,
      );
    }, 30_000);

    it('refuses the partition when the topic no longer holds the difference: no tree, nothing committed', async () => {
      const { topic, ingest, records } = await filledTopic();
      const { Admin } = await import('@platformatic/kafka');
      const admin = new Admin({ clientId: 'vcp-catchup-admin', bootstrapBrokers: brokers });
      const { w, logs, commits, record } = worker(ingest, 100n);
      try {
        // Rebuild 0–99 first, then retention takes 0–149 before the catch-up runs.
        await w.open();
        expect(w.state).toBe('active');
        await admin.deleteRecords({
          topics: [{ name: topic, partitions: [{ partition: 0, offset: 150n }] }],
        });
        for (const r of records.slice(200)) w.push(record(r));
        for (let i = 0; i < 300 && w.state !== 'refused'; i++) await new Promise((r) => setTimeout(r, 20));
        expect(w.state, logs.join('\n')).toBe('refused');
        expect(w.ctx).toBeUndefined();
        expect(commits).toEqual([]);
        expect(w.refusal).toMatchObject({ committedOffset: '200', localOffset: '100' });
        expect(logs.join('\n')).toMatch(
          /ERROR partition 0 REFUSED: catching up offsets 100–199 from the topic failed: .*no longer in the topic \(it starts at 150/,
        );
      } finally {
        await admin.close();
      }
    }, 30_000);
  },
);
