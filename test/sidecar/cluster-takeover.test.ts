/**
 * What a surviving member does with the partitions of a member killed with
 * SIGKILL, for each way of laying out the members' data, on a real broker
 * with two `vcp sidecar --ingest kafka://…` processes and 4 000 events:
 *
 * - one shared data folder: the survivor reopens the dead member's stores;
 * - a data folder per member over one PostgreSQL store: the same, through
 *   the shared tables;
 * - a data folder per member (the layout the docs call unsafe), the topic
 *   still holding every record: the survivor finds no state for partitions
 *   the group already committed and rebuilds them from the topic — the same
 *   tree, root for root, as the one the dead member anchored;
 * - a data folder per member, the topic's oldest records deleted: the
 *   survivor cannot rebuild, so it refuses those partitions loudly (error
 *   log naming partition, committed offset and data folder; `refused` on
 *   /health), serves no tree for them and commits none of their records.
 *
 * In every case no export silently misses an acknowledged event: each
 * served partition's export holds exactly the topic's records of that
 * partition and verifies, and while the dead member's partitions wait,
 * the survivor's /health says so (`unserved_partitions`, `degraded`).
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Admin, Consumer } from '@platformatic/kafka';
import pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import { verifyCommand } from '../../src/cli/verify-command.ts';
import type { VcpEvent } from '../../src/core/types.ts';
import { uuidv7 } from '../../src/core/uuidv7.ts';
import { MerkleTree } from '../../src/integrity/merkle/index.ts';
import { sealEvent } from '../../src/integrity/seal.ts';
import { parseKafkaIngestUrl } from '../../src/sidecar/cluster/ingest-url.ts';
import { readPartitionRange } from '../../src/sidecar/cluster/topic-reader.ts';
import { FileEventStore } from '../../src/sidecar/store/file-store.ts';
import { KafkaSink } from '../../src/sinks/kafka.ts';
import { postgresUrl } from '../helpers/env.ts';
import { createTopic, deleteTopics, describeKafka, uniqueTopic, withTimeout } from '../helpers/kafka.ts';
import { type ChildSidecar, startChild, tempDir, v11Event } from './helpers.ts';

const PARTITIONS = 4;
const pgUrl = postgresUrl();

/** One statement on the test server's maintenance connection (CREATE/DROP DATABASE). */
async function adminSql(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: pgUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
const EVENTS = 4000;

type Layout = 'shared' | 'separate' | 'separate-truncated' | 'separate-postgres';

interface PartitionHealth {
  partition: number;
  state: string;
  tree_size?: number;
  last_anchor?: unknown;
  refusal?: { reason: string; committedOffset: string; localOffset: string; store: string };
  rebuild?: { done: boolean; eventsAfter: number };
}
interface Health {
  status: string;
  owned: number[];
  partitions: PartitionHealth[];
  unserved_partitions: number[];
  group: {
    error?: string;
    lag: number;
    partitions: {
      partition: number;
      owner: string | null;
      committed: string | null;
      high_watermark: string;
      lag: number;
    }[];
    unserved: { partition: number; reason: string }[];
  };
}

async function health(child: ChildSidecar): Promise<Health> {
  return (await (await fetch(`${child.url}/health`)).json()) as Health;
}

/** Poll until `check` returns a value (not undefined), or fail naming `what`. */
async function until<T>(what: string, ms: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(`${what}: not reached within ${ms} ms${last ? ` (${last})` : ''}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

describeKafka('sidecar cluster: taking over a killed member’s partitions, per data layout', (brokers) => {
  const topics: string[] = [];
  afterAll(async () => {
    if (topics.length) await deleteTopics(brokers, topics).catch(() => {});
  });

  const run = async (layout: Layout) => {
    const topic = uniqueTopic(`vcp-takeover-${layout}`);
    topics.push(topic);
    const group = `g-${topic}`;
    await createTopic(brokers, topic, { partitions: PARTITIONS });
    const t = tempDir('vcp-takeover-');
    const dirA = layout === 'shared' ? t.dir : join(t.dir, 'a');
    const dirB = layout === 'shared' ? t.dir : join(t.dir, 'b');
    const ingestUrl = `kafka://${brokers.join(',')}/${topic}?group=${group}&session_timeout=6s&heartbeat_interval=500ms`;
    let database: string | undefined;
    if (layout === 'separate-postgres') {
      // A database of its own: the partition tables (vcp_p<N>_*) are named after the partition only.
      database = `vcp_takeover_${randomBytes(6).toString('hex')}`;
      await adminSql(`CREATE DATABASE ${database}`);
    }
    const store = database ? ['--store', pgUrl!.replace(/\/[^/?]*(\?|$)/, `/${database}$1`)] : [];
    const args = (dir: string) => [
      '--port',
      '0',
      '--data-dir',
      dir,
      '--ingest',
      ingestUrl,
      '--anchor-interval',
      '1s',
      ...store,
    ];
    const children: ChildSidecar[] = [];
    const sink = new KafkaSink({ brokers, topic, clientId: 'vcp-takeover-producer', timeoutMs: 20_000 });
    const admin = new Admin({ clientId: 'vcp-takeover-admin', bootstrapBrokers: brokers, timeout: 5000 });
    const groupReader = new Consumer({
      groupId: group,
      clientId: 'vcp-takeover-lag',
      bootstrapBrokers: brokers,
    });
    const committedOffsets = async () =>
      (
        await groupReader.listCommittedOffsets({
          topics: [{ topic, partitions: Array.from({ length: PARTITIONS }, (_, i) => i) }],
        })
      ).get(topic)!;
    const highWatermarks = async () => (await groupReader.listOffsets({ topics: [topic] })).get(topic)!;
    try {
      // 1. Two members, two open partitions each. In the per-member layouts B signs with A's key (as the docs require).
      const a = await startChild(args(dirA));
      children.push(a);
      const b = await startChild([
        ...args(dirB),
        ...(layout === 'shared' ? [] : ['--signing-key-file', join(dirA, 'signing.key')]),
      ]);
      children.push(b);
      await until('both members own two open partitions', 20_000, async () => {
        const [ha, hb] = await Promise.all([health(a), health(b)]);
        const open = (h: Health) => h.partitions.filter((p) => p.state === 'active').map((p) => p.partition);
        return open(ha).length === 2 && open(hb).length === 2 ? true : undefined;
      });
      const victim = (await health(a)).owned;

      // 2. Half the events; the victim stores, commits and anchors its share.
      const produced = new Set<string>();
      const traces = Array.from({ length: 200 }, () => uuidv7());
      let n = 0;
      const produce = async (count: number) => {
        for (let k = 0; k < count; k += 200) {
          const batch: VcpEvent[] = [];
          for (let i = 0; i < 200; i++, n++) {
            const draft = v11Event(n);
            draft.header.trace_id = traces[n % traces.length]!;
            batch.push(sealEvent(draft));
          }
          await withTimeout(sink.write(batch), 20_000, 'producing a batch');
          for (const e of batch) produced.add(e.header.event_id);
        }
      };
      await produce(EVENTS / 2);
      await until('the victim committed and anchored its partitions', 20_000, async () => {
        const [h, c, high] = await Promise.all([health(a), committedOffsets(), highWatermarks()]);
        const done = victim.every(
          (p) => c[p]! > 0n && c[p] === high[p] && h.partitions.find((x) => x.partition === p)?.last_anchor,
        );
        return done ? true : undefined;
      });
      const committedAtKill = await committedOffsets();
      if (layout === 'separate-truncated') {
        // Retention took the oldest records of the victim's partitions: they can no longer be replayed.
        await admin.deleteRecords({
          topics: [{ name: topic, partitions: victim.map((p) => ({ partition: p, offset: 1n })) }],
        });
      }

      // 3. Kill the victim outright and keep producing while the group notices.
      a.proc.kill('SIGKILL');
      expect((await a.exited).signal).toBe('SIGKILL');
      const killedAt = Date.now();
      const rest = produce(EVENTS / 2);

      // 4. Before the survivor has them, its /health names the victim's partitions as served by no live member.
      const waiting = await until(
        'the survivor reports the victim’s partitions as unserved',
        20_000,
        async () => {
          const h = await health(b);
          return victim.every((p) => h.unserved_partitions.includes(p)) ? h : undefined;
        },
      );
      expect(waiting.status).toBe('degraded');
      expect(waiting.group.partitions.map((p) => p.partition)).toEqual([0, 1, 2, 3]);
      await rest;
      const unservedAfterMs = Date.now() - killedAt;

      // 5. The survivor owns every partition; each is served again, or refused.
      const expectState = layout === 'separate-truncated' ? 'refused' : 'active';
      await until('the survivor owns every partition', 30_000, async () => {
        const h = await health(b);
        const ok =
          h.owned.length === PARTITIONS &&
          h.partitions.every((p) => p.state === (victim.includes(p.partition) ? expectState : 'active'));
        return ok ? true : undefined;
      });
      const served =
        layout === 'separate-truncated' ? [0, 1, 2, 3].filter((p) => !victim.includes(p)) : [0, 1, 2, 3];
      await until('every served partition is committed to its end', 30_000, async () => {
        const [c, high] = await Promise.all([committedOffsets(), highWatermarks()]);
        return served.every((p) => c[p] === high[p]) ? true : undefined;
      });
      const takenOverMs = Date.now() - killedAt;

      // 6. Each served partition's export verifies and holds exactly the topic's records of that partition.
      expect((await fetch(`${b.url}/vcp/anchor`, { method: 'POST' })).status).toBeLessThan(300);
      const ingest = parseKafkaIngestUrl(ingestUrl);
      const high = await highWatermarks();
      const exported = new Map<string, number>();
      for (const p of served) {
        const text = await (await fetch(`${b.url}/vcp/export?partition=${p}`)).text();
        const lines = text
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l));
        const events = lines.filter((l) => l.header);
        expect(events.map((e) => e.security.merkle_index)).toEqual([...events.keys()]);
        const inTopic: string[] = [];
        await readPartitionRange({
          ingest,
          partition: p,
          from: 0n,
          to: high[p]!,
          async onRecords(records) {
            for (const r of records)
              inTopic.push((JSON.parse(r.value!.toString()) as VcpEvent).header.event_id);
          },
        });
        expect(events.map((e) => e.header.event_id)).toEqual(inTopic);
        for (const e of events) {
          expect(exported.has(e.header.event_id), `${e.header.event_id} in two partitions`).toBe(false);
          exported.set(e.header.event_id, p);
        }
        const file = join(t.dir, `export-p${p}.jsonl`);
        writeFileSync(file, text);
        const out: string[] = [];
        const code = await verifyCommand(
          [file, '--pubkey', join(dirA, 'signing.pub'), '--insecure-allow-local-anchors'],
          { out: (s) => out.push(s), err: (s) => out.push(s), errIsTty: false, env: {}, cwd: t.dir },
        );
        expect(code, `partition ${p}: ${out.join('')}`).toBe(0);

        // A tree the survivor rebuilt is the one the victim anchored, root for root.
        if (victim.includes(p) && layout === 'separate') {
          const store = new FileEventStore({ dir: join(dirA, `p${p}`) });
          const state = await store.open();
          await store.close();
          expect(state.anchors.length).toBeGreaterThan(0);
          const tree = MerkleTree.fromLeaves(events.map((e) => e.security.event_hash as string));
          for (const anchor of state.anchors) expect(tree.root(anchor.tree_size)).toBe(anchor.merkle_root);
        }
      }
      const log = b.stderr();
      if (layout === 'separate-truncated') {
        // Refused, loudly, and never committed by the survivor: the victim's last commit stands.
        const after = await committedOffsets();
        const h = await health(b);
        for (const p of victim) {
          const ph = h.partitions.find((x) => x.partition === p)!;
          expect(ph.refusal?.committedOffset).toBe(String(committedAtKill[p]));
          expect(ph.refusal?.reason).toMatch(/no longer holds offsets 0–0/);
          expect(ph.tree_size).toBeUndefined();
          expect(after[p]).toBe(committedAtKill[p]);
          expect(high[p]!).toBeGreaterThan(after[p]!);
          expect(log).toMatch(
            new RegExp(
              `ERROR partition ${p} REFUSED: .*Committed offset ${committedAtKill[p]}, store file:\\S*, data dir ${join(dirB, `p${p}`)}`,
            ),
          );
          const res = await fetch(`${b.url}/vcp/export?partition=${p}`);
          expect(res.status).toBe(404);
          await res.text();
        }
        expect(h.status).toBe('degraded');
        expect([...h.unserved_partitions].sort()).toEqual([...victim].sort());
        // Every event of the served partitions is there; the rest are in refused, reported partitions.
        const missing = [...produced].filter((id) => !exported.has(id));
        expect(missing.length).toBeGreaterThan(0);
      } else {
        expect(exported.size).toBe(EVENTS);
        for (const id of produced) expect(exported.has(id), `produced event ${id} is missing`).toBe(true);
        // The group's last commits and lag settle a moment after the last event is stored: poll, then check it all.
        let h = await health(b);
        await until('a healthy member with no lag', 20_000, async () => {
          h = await health(b);
          return h.status === 'healthy' && h.group.lag === 0 ? h : undefined;
        }).catch(() => {});
        expect(h.status, JSON.stringify(h)).toBe('healthy');
        expect(h.unserved_partitions).toEqual([]);
        expect(h.group.lag).toBe(0);
        if (layout === 'separate') {
          for (const p of victim) expect(log).toMatch(new RegExp(`partition ${p}: rebuilt from the topic`));
        } else {
          expect(log).not.toMatch(/rebuil|REFUSED/);
        }
      }
      b.proc.kill('SIGTERM');
      expect((await b.exited).code).toBe(0);
      console.log(
        `takeover (${layout}): ${exported.size} of ${produced.size} events exported from served partitions; ` +
          `victim's partitions ${victim.join(', ')} reported unserved ${unservedAfterMs} ms after the kill, ` +
          `${layout === 'separate-truncated' ? 'refused' : 'served again'} and caught up ${takenOverMs} ms after it`,
      );
    } finally {
      for (const c of children)
        if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
      await sink.close().catch(() => {});
      await groupReader.close().catch(() => {});
      await admin.close().catch(() => {});
      if (database) await adminSql(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => {});
      t.cleanup();
    }
  };

  it(
    'one shared data folder: the survivor reopens the dead member’s stores; 4 000 of 4 000 exported',
    () => run('shared'),
    60_000,
  );
  it.skipIf(!pgUrl)(
    'a folder per member over one PostgreSQL store: the survivor continues the shared tables; 4 000 of 4 000 exported',
    () => run('separate-postgres'),
    60_000,
  );
  it(
    'a folder per member, topic complete: the survivor rebuilds the dead member’s partitions from the topic, the same trees',
    () => run('separate'),
    60_000,
  );
  it(
    'a folder per member, oldest records deleted: the survivor refuses those partitions loudly and commits none of their records',
    () => run('separate-truncated'),
    60_000,
  );
});
