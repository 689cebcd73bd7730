/**
 * The sidecar cluster on a real Kafka broker, end to end: two `vcp sidecar
 * --ingest kafka://…` processes in one consumer group share a 4-partition
 * topic that a producer (KafkaSink, key = trace id) fills continuously with
 * the events of many traces. One sidecar is killed with SIGKILL mid-stream;
 * the survivor takes its partitions over (the group rebalances once the
 * broker drops the dead member; the survivor takes the dead owner's store
 * locks). When the producer is done and the group's lag is 0, every
 * partition's export verifies with `vcp verify`, every produced event_id is
 * stored exactly once across the partitions, and nothing else is.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Consumer } from '@platformatic/kafka';
import { afterAll, expect, it } from 'vitest';
import { verifyCommand } from '../../src/cli/verify-command.ts';
import { buildEvent } from '../../src/core/builder.ts';
import { createPolicy } from '../../src/core/policy.ts';
import type { VcpEvent } from '../../src/core/types.ts';
import { uuidv7 } from '../../src/core/uuidv7.ts';
import { sealEvent } from '../../src/integrity/seal.ts';
import { KafkaSink } from '../../src/sinks/kafka.ts';
import { createTopic, deleteTopics, describeKafka, uniqueTopic } from '../helpers/kafka.ts';
import { type ChildSidecar, startChild, tempDir } from './helpers.ts';

const PARTITIONS = 4;
const TRACES = 400;
const policy = createPolicy({ policyId: 'com.example.trading:cluster-test', tier: 'SILVER' });

/** The n-th event of a trace: ORD, ACK, then executions. */
function traceEvent(traceId: string, n: number, order: number): VcpEvent {
  const type = n === 0 ? 'ORD' : n === 1 ? 'ACK' : 'EXE';
  const trade =
    type === 'EXE'
      ? {
          order_id: `O-${order}`,
          symbol: 'EURUSD',
          side: 'BUY',
          execution_price: '1.0851',
          executed_qty: '1000',
        }
      : {
          order_id: `O-${order}`,
          symbol: 'EURUSD',
          side: 'BUY',
          order_type: 'LIMIT',
          price: '1.0850',
          quantity: '100000',
        };
  return sealEvent(
    buildEvent(type, { trade_data: trade } as never, {
      policy,
      traceId,
      venueId: 'XLON',
      accountId: 'ACC-7',
      symbol: 'EURUSD',
    }),
  );
}

interface Health {
  status: string;
  owned: number[];
  partitions: { partition: number; state: string; tree_size?: number; last_anchor?: unknown }[];
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
    await new Promise((r) => setTimeout(r, 200));
  }
}

describeKafka('sidecar cluster on Kafka (two processes, SIGKILL)', (brokers) => {
  const topics: string[] = [];
  afterAll(async () => {
    if (topics.length) await deleteTopics(brokers, topics).catch(() => {});
  });

  it('the survivor takes over the killed member’s partitions; nothing lost or duplicated; every partition’s export verifies', async () => {
    const topic = uniqueTopic('vcp-cluster');
    topics.push(topic);
    const group = `g-${topic}`;
    await createTopic(brokers, topic, { partitions: PARTITIONS });
    const t = tempDir('vcp-cluster-');
    const ingest = `kafka://${brokers.join(',')}/${topic}?group=${group}&session_timeout=6s&heartbeat_interval=500ms`;
    const args = ['--port', '0', '--data-dir', t.dir, '--ingest', ingest, '--anchor-interval', '2s'];
    const children: ChildSidecar[] = [];
    const sink = new KafkaSink({ brokers, topic, clientId: 'vcp-cluster-test-producer' });
    const lagReader = new Consumer({
      groupId: group,
      clientId: 'vcp-cluster-test-lag',
      bootstrapBrokers: brokers,
    });
    try {
      // 1. Two members; wait until each owns two open partitions.
      const a = await startChild(args);
      children.push(a);
      const b = await startChild(args);
      children.push(b);
      expect(a.info.mode).toBe('cluster');
      await until('both members own two open partitions', 20_000, async () => {
        const [ha, hb] = await Promise.all([health(a), health(b)]);
        const open = (h: Health) => h.partitions.filter((p) => p.state === 'active').map((p) => p.partition);
        const all = [...open(ha), ...open(hb)].sort();
        return open(ha).length === 2 && open(hb).length === 2 && all.join() === '0,1,2,3' ? true : undefined;
      });
      const victimPartitions = (await health(a)).owned;

      // 2. A producer sends the events of many traces, continuously.
      const produced = new Set<string>();
      const traces = Array.from({ length: TRACES }, () => ({ id: uuidv7(), n: 0 }));
      let stop = false;
      let order = 0;
      const t0 = Date.now();
      const producer = (async () => {
        while (!stop) {
          const batch: VcpEvent[] = [];
          for (let k = 0; k < 200; k++) {
            const tr = traces[Math.floor(Math.random() * traces.length)]!;
            batch.push(traceEvent(tr.id, tr.n++, order++));
          }
          // A batch the broker did not acknowledge is sent again as it is (same event ids).
          for (let attempt = 0; ; attempt++) {
            try {
              await sink.write(batch);
              break;
            } catch (e) {
              if (attempt >= 5) throw e;
            }
          }
          for (const e of batch) produced.add(e.header.event_id);
          await new Promise((r) => setTimeout(r, 10));
        }
      })();

      // 3. Mid-stream, once it has stored events and anchored some (every 2 s), kill one member outright.
      await until('the victim has stored and anchored events', 20_000, async () => {
        const h = await health(a);
        return h.partitions.some((p) => (p.tree_size ?? 0) > 500) && h.partitions.some((p) => p.last_anchor)
          ? true
          : undefined;
      });
      const killedAt = Date.now();
      const producedBeforeKill = produced.size;
      a.proc.kill('SIGKILL');
      expect((await a.exited).signal).toBe('SIGKILL');

      // 4. Keep producing while the group notices and the survivor takes over.
      await until('the survivor owns every partition', 30_000, async () => {
        const h = await health(b);
        return h.owned.length === PARTITIONS && h.partitions.every((p) => p.state === 'active')
          ? true
          : undefined;
      });
      await new Promise((r) => setTimeout(r, 1000));
      stop = true;
      await producer;
      await sink.close();
      const produceMs = Date.now() - t0;

      // 5. Caught up: the group's committed offsets reach the end of every partition (read from the broker).
      await until('consumer lag 0', 30_000, async () => {
        const [high, committed] = await Promise.all([
          lagReader.listOffsets({ topics: [topic] }),
          lagReader.listCommittedOffsets({
            topics: [{ topic, partitions: Array.from({ length: PARTITIONS }, (_, i) => i) }],
          }),
        ]);
        const h = high.get(topic)!;
        const c = committed.get(topic)!;
        return h.every((end, p) => c[p] === end) ? true : undefined;
      });
      const caughtUpMs = Date.now() - t0;

      // 6. Anchor every partition, export each, and let the auditor's tool check it.
      const anchored = await fetch(`${b.url}/vcp/anchor`, { method: 'POST' });
      expect(anchored.status).toBeLessThan(300);
      const seen = new Map<string, number>();
      let anchorsBeforeKill = 0;
      for (let p = 0; p < PARTITIONS; p++) {
        const text = await (await fetch(`${b.url}/vcp/export?partition=${p}`)).text();
        const lines = text
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l));
        expect(lines[0].vcp_export.partition).toBe(p);
        const events = lines.filter((l) => l.header);
        const anchors = lines.filter((l) => l.anchor_record).map((l) => l.anchor_record);
        expect(events.length).toBeGreaterThan(0);
        expect(events.map((e) => e.security.merkle_index)).toEqual([...events.keys()]);
        for (const e of events) {
          expect(e.security.partition).toBe(p);
          const id = e.header.event_id as string;
          expect(seen.has(id), `event ${id} stored in partitions ${seen.get(id)} and ${p}`).toBe(false);
          seen.set(id, p);
        }
        expect(anchors.length).toBeGreaterThan(0);
        for (const r of anchors) expect(r.partition).toBe(p);
        expect(anchors.at(-1).tree_size).toBe(events.length);
        if (victimPartitions.includes(p))
          anchorsBeforeKill += anchors.filter((r) => Date.parse(r.anchored_at) < killedAt).length;

        const file = join(t.dir, `export-p${p}.jsonl`);
        writeFileSync(file, text);
        const out: string[] = [];
        const code = await verifyCommand(
          [file, '--pubkey', join(t.dir, 'signing.pub'), '--insecure-allow-local-anchors'],
          {
            out: (s) => out.push(s),
            err: (s) => out.push(s),
            errIsTty: false,
            env: {},
            cwd: t.dir,
          },
        );
        expect(code, `partition ${p}: ${out.join('')}`).toBe(0);
      }
      // Exactly the produced events, each once.
      expect(seen.size).toBe(produced.size);
      for (const id of produced) expect(seen.has(id), `produced event ${id} is missing`).toBe(true);
      // The killed member's anchors survived the hand-over and verify with the rest.
      expect(anchorsBeforeKill).toBeGreaterThan(0);
      // The survivor reopened the killed member's stores (taking over their locks), not empty ones.
      const takeovers = [...b.stderr().matchAll(/partition (\d+): open, store \S+ \((\d+) events/g)]
        .filter((m) => victimPartitions.includes(Number(m[1])))
        .map((m) => Number(m[2]));
      expect(takeovers.length).toBe(victimPartitions.length);
      expect(takeovers.every((n) => n > 0)).toBe(true);

      b.proc.kill('SIGTERM');
      expect((await b.exited).code).toBe(0);
      console.log(
        `cluster test: ${produced.size} events over ${TRACES} traces (${producedBeforeKill} before the kill), ` +
          `produced in ${produceMs} ms, all committed after ${caughtUpMs} ms ` +
          `(${Math.round((produced.size * 1000) / caughtUpMs)} events/s end to end, including the ~6 s failover); ` +
          `partitions ${victimPartitions.join(', ')} taken over with ${takeovers.join(', ')} events stored by the killed member`,
      );
    } finally {
      for (const c of children)
        if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
      await sink.close().catch(() => {});
      await lagReader.close().catch(() => {});
      t.cleanup();
    }
  }, 90_000);
});
