/**
 * Rebuilding a partition from the topic, checked against the partition's
 * signed anchors kept where every member reads them (the PostgreSQL anchor
 * target's table), in-process on a real broker and a real PostgreSQL:
 *
 * - member A, with its own data folder, stores and anchors a partition (to
 *   its local file and to the shared table) and leaves; member B, with
 *   another folder, gets the partition, finds no state for offsets the
 *   group committed, replays them from the topic and finds every root A
 *   signed (a record under another key in the table is not A's claim and is
 *   ignored);
 * - when the table holds a root signed with the cluster's key that the
 *   replayed records do not give (the tree the anchors describe is not the
 *   topic's), B refuses the partition: no tree, nothing committed.
 */
import { randomBytes } from 'node:crypto';
import { Consumer } from '@platformatic/kafka';
import { afterAll, expect, it } from 'vitest';
import type { VcpEvent } from '../../src/core/types.ts';
import { uuidv7 } from '../../src/core/uuidv7.ts';
import { createAnchorRecord } from '../../src/integrity/anchor-record.ts';
import { sealEvent } from '../../src/integrity/seal.ts';
import { generateSigningKey, type Signer } from '../../src/integrity/sign.ts';
import { createPostgresAnchorTarget } from '../../src/sidecar/anchor/postgres-target.ts';
import { createAnchoringFactory } from '../../src/sidecar/anchor/server-adapter.ts';
import {
  type PartitionedSidecar,
  startPartitionedSidecar,
} from '../../src/sidecar/cluster/partitioned-sidecar.ts';
import { KafkaSink } from '../../src/sinks/kafka.ts';
import { postgresUrl, skipReason } from '../helpers/env.ts';
import { createTopic, deleteTopics, describeKafka, uniqueTopic } from '../helpers/kafka.ts';
import { tempDir, testConfig, v11Event } from './helpers.ts';

const pgUrl = postgresUrl();
if (!pgUrl) console.warn(skipReason('PostgreSQL', 'VCP_TEST_PG_URL'));
const EVENTS = 300;

async function waitFor<T>(
  what: string,
  ms: number,
  check: () => T | undefined | Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describeKafka(
  'sidecar cluster: a partition rebuilt from the topic is checked against the shared signed anchors',
  (brokers) => {
    const topics: string[] = [];
    afterAll(async () => {
      if (topics.length) await deleteTopics(brokers, topics).catch(() => {});
    });

    /** A fills and anchors partition 0 in its own folder and leaves; returns what B needs. */
    const firstOwner = async (signer: Signer) => {
      const topic = uniqueTopic('vcp-rebuild');
      topics.push(topic);
      await createTopic(brokers, topic, { partitions: 1 });
      const t = tempDir('vcp-rebuild-');
      const policy = `com.example.test:rebuild-${randomBytes(4).toString('hex')}`;
      const flags = (dir: string) =>
        testConfig(dir, {
          ingest: `kafka://${brokers.join(',')}/${topic}?group=g-${topic}&session_timeout=6s&heartbeat_interval=500ms`,
          anchor: `file,${pgUrl}`,
          'policy-id': policy,
        });
      const logs: string[] = [];
      const start = (name: string, dir: string) => {
        const config = flags(dir);
        return startPartitionedSidecar({
          config,
          signer,
          anchoring: createAnchoringFactory({ targets: config.anchorTargets, tier: config.tier }),
          log: (l) => logs.push(`[${name}] ${l}`),
        });
      };
      const sink = new KafkaSink({ brokers, topic, timeoutMs: 20_000 });
      const trace = uuidv7();
      const batch: VcpEvent[] = Array.from({ length: EVENTS }, (_, i) => {
        const draft = v11Event(i);
        draft.header.trace_id = trace;
        return sealEvent(draft);
      });
      await sink.write(batch);
      await sink.close();
      const a = await start('A', `${t.dir}/a`);
      await waitFor('A stored every event', 20_000, () => {
        const p = a.partitions()[0];
        return p?.ctx && p.ctx.tree.size === EVENTS && p.committedOffset === BigInt(EVENTS)
          ? true
          : undefined;
      });
      const anchored = await a.partitions()[0]!.ctx!.anchoring.anchorNow();
      expect(anchored?.record.tree_size).toBe(EVENTS);
      await a.close();
      return { topic, t, policy, logs, start, root: anchored!.record.merkle_root };
    };

    const committedOf = async (topic: string) => {
      const c = new Consumer({
        groupId: `g-${topic}`,
        clientId: 'vcp-rebuild-lag',
        bootstrapBrokers: brokers,
      });
      try {
        return (await c.listCommittedOffsets({ topics: [{ topic, partitions: [0] }] })).get(topic)![0]!;
      } finally {
        await c.close();
      }
    };

    it.skipIf(!pgUrl)(
      'B replays the partition from offset 0 and reproduces every root A signed; a record under another key is ignored',
      async () => {
        const signer = generateSigningKey();
        const { topic, t, policy, logs, start, root } = await firstOwner(signer);
        let b: PartitionedSidecar | undefined;
        const target = createPostgresAnchorTarget({ connectionString: pgUrl! });
        try {
          // Someone else's claim about partition 0: same policy, another key, another root. Not ours to check.
          const stranger = generateSigningKey();
          await target.anchor(
            createAnchorRecord(
              {
                merkle_root: 'ab'.repeat(32),
                tree_size: EVENTS,
                merkle_mode: 'rfc6962',
                event_count: EVENTS,
                first_event_id: uuidv7(),
                last_event_id: uuidv7(),
                policy_id: policy,
                partition: 0,
              },
              { signer: stranger },
            ),
          );
          b = await start('B', `${t.dir}/b`);
          const p = await waitFor('B opened the partition', 20_000, () => {
            const s = b!.partitions()[0];
            return s?.state === 'active' && s.ctx ? s : undefined;
          });
          expect(p.ctx!.tree.size).toBe(EVENTS);
          expect(p.ctx!.tree.root(EVENTS)).toBe(root);
          const text = logs.join('\n');
          expect(text).toMatch(
            /\[B\] partition 0: the local store is empty, but the group already committed offset 300/,
          );
          expect(text).toMatch(
            /\[B\] partition 0: rebuilt from the topic: 300 records replayed, 0 → 300 events, checked against 1 signed anchor\b/,
          );
          const health = (await (await fetch(`${b.url}/health`)).json()) as {
            status: string;
            partitions: { rebuild: { done: boolean; anchorsChecked: number; replayed: number } }[];
          };
          expect(health.partitions[0]!.rebuild).toMatchObject({
            done: true,
            anchorsChecked: 1,
            replayed: EVENTS,
          });
          expect(health.status).toBe('healthy');
          expect(await committedOf(topic)).toBe(BigInt(EVENTS));
        } finally {
          await b?.close();
          await target.close();
          t.cleanup();
        }
      },
      60_000,
    );

    it.skipIf(!pgUrl)(
      'B refuses the partition when a root signed with the cluster’s key is not what the topic’s records give',
      async () => {
        const signer = generateSigningKey();
        const { topic, t, policy, logs, start } = await firstOwner(signer);
        let b: PartitionedSidecar | undefined;
        const target = createPostgresAnchorTarget({ connectionString: pgUrl! });
        try {
          // A tree the cluster signed that the topic does not give (the fork a member with an empty folder used to start).
          await target.anchor(
            createAnchorRecord(
              {
                merkle_root: 'cd'.repeat(32),
                tree_size: 120,
                merkle_mode: 'rfc6962',
                event_count: 120,
                first_event_id: uuidv7(),
                last_event_id: uuidv7(),
                policy_id: policy,
                partition: 0,
              },
              { signer },
            ),
          );
          b = await start('B', `${t.dir}/b`);
          const p = await waitFor('B refused the partition', 20_000, () => {
            const s = b!.partitions()[0];
            return s?.state === 'refused' ? s : undefined;
          });
          expect(p.ctx).toBeUndefined();
          const text = logs.join('\n');
          expect(text).toMatch(
            new RegExp(
              `\\[B\\] ERROR partition 0 REFUSED: the tree rebuilt from the topic does not reproduce 1 signed anchor\\(s\\) of the partition: anchor \\S+ signed root ${'cd'.repeat(32)} at tree size 120`,
            ),
          );
          const health = (await (await fetch(`${b.url}/health`)).json()) as {
            status: string;
            unserved_partitions: number[];
            partitions: { state: string; refusal: { committedOffset: string; store: string } }[];
          };
          expect(health.status).toBe('degraded');
          expect(health.unserved_partitions).toEqual([0]);
          expect(health.partitions[0]!.refusal).toMatchObject({ committedOffset: String(EVENTS) });
          // Nothing B did moved the group: A's commit stands.
          expect(await committedOf(topic)).toBe(BigInt(EVENTS));
          const res = await fetch(`${b.url}/vcp/export?partition=0`);
          expect(res.status).toBe(404);
          await res.text();
        } finally {
          await b?.close();
          await target.close();
          t.cleanup();
        }
      },
      60_000,
    );
  },
);
