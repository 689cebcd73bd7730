/**
 * A cluster-mode sidecar in-process on a real Kafka broker: a KafkaSink
 * producer fills a 2-partition topic, the sidecar owns both partitions and
 * answers the HTTP queries per partition — events and inclusion proofs
 * naming their partition, anchors per partition, per-partition exports that
 * `vcp verify` accepts — refuses `POST /vcp/log` (events come from Kafka),
 * and on close commits everything and leaves the group.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { verifyCommand } from '../../src/cli/verify-command.ts';
import type { VcpEvent } from '../../src/core/types.ts';
import { uuidv7 } from '../../src/core/uuidv7.ts';
import { verifyAnchorSignature } from '../../src/integrity/anchor-record.ts';
import { verifyCheckpoint } from '../../src/integrity/checkpoint/index.ts';
import { exportPublicKey } from '../../src/integrity/keys.ts';
import { verifyInclusion } from '../../src/integrity/merkle/index.ts';
import { sealEvent } from '../../src/integrity/seal.ts';
import { createAnchoringFactory } from '../../src/sidecar/anchor/server-adapter.ts';
import { startPartitionedSidecar } from '../../src/sidecar/cluster/partitioned-sidecar.ts';
import { KafkaSink } from '../../src/sinks/kafka.ts';
import { createTopic, deleteTopics, describeKafka, uniqueTopic } from '../helpers/kafka.ts';
import { get, post, tempDir, testConfig, v11Event } from './helpers.ts';

describeKafka('sidecar cluster mode over HTTP (in-process, real broker)', (brokers) => {
  const topics: string[] = [];
  afterAll(async () => {
    if (topics.length) await deleteTopics(brokers, topics).catch(() => {});
  });

  it('serves events, proofs, anchors and exports per partition, and takes events from Kafka only', async () => {
    const topic = uniqueTopic('vcp-cluster-http');
    topics.push(topic);
    await createTopic(brokers, topic, { partitions: 2 });
    const t = tempDir('vcp-cluster-http-');
    const config = testConfig(t.dir, {
      ingest: `kafka://${brokers.join(',')}/${topic}?group=g-${topic}&session_timeout=6s&heartbeat_interval=500ms`,
    });
    const logs: string[] = [];
    const sidecar = await startPartitionedSidecar({
      config,
      anchoring: createAnchoringFactory({}),
      log: (l) => logs.push(l),
    });
    const sink = new KafkaSink({ brokers, topic });
    try {
      // 60 events over 20 traces: one trace's events share a partition (key = trace id). Fixed trace ids,
      // so both partitions surely get some (…0001 goes to partition 1, …0004 to 0); random ones all
      // landed on one partition 1 run in 2^19.
      const traces = Array.from(
        { length: 20 },
        (_, i) => `0195f1c2-0000-7000-8000-${String(i + 1).padStart(12, '0')}`,
      );
      const events: VcpEvent[] = [];
      for (let i = 0; i < 60; i++) {
        const draft = v11Event(i);
        draft.header.trace_id = traces[i % traces.length]!;
        events.push(sealEvent(draft));
      }
      await sink.write(events);
      await sink.close();
      for (let i = 0; ; i++) {
        const h = (await get(`${sidecar.url}/health`)).body;
        if (h.consumer_lag === 0 && h.partitions.every((p: { state: string }) => p.state === 'active')) break;
        if (i > 150) throw new Error(`not caught up: ${JSON.stringify(h)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const health = (await get(`${sidecar.url}/health`)).body;
      expect(health).toMatchObject({ status: 'healthy', mode: 'cluster', owned: [0, 1] });
      expect(health.ingest).toMatchObject({ topic, group: `g-${topic}` });
      expect(
        health.partitions
          .map((p: { tree_size: number }) => p.tree_size)
          .reduce((a: number, b: number) => a + b),
      ).toBe(60);

      // Every event of a trace is in the same partition.
      const partitionOf = new Map<string, number>();
      for (const e of events) {
        const got = await get(`${sidecar.url}/vcp/events/${e.header.event_id}`);
        expect(got.status).toBe(200);
        const p = got.body.security.partition as number;
        expect(partitionOf.get(e.header.trace_id) ?? p).toBe(p);
        partitionOf.set(e.header.trace_id, p);
        expect(got.body.security.event_hash).toBe(e.security.event_hash);
      }
      expect(new Set(partitionOf.values())).toEqual(new Set([0, 1]));

      // Each partition's newest checkpoint before its first anchor: signed on the spot over its tree.
      const origin = (p: number) => `vcp-instrument/sidecar/${sidecar.signer.keyId.slice(0, 16)}/p${p}`;
      for (const p of [0, 1]) {
        const cp = await get(`${sidecar.url}/vcp/checkpoint?partition=${p}`);
        expect(cp.status).toBe(200);
        expect(cp.body).toMatchObject({
          partition: p,
          origin: origin(p),
          tree_size: health.partitions[p].tree_size,
        });
        const v = verifyCheckpoint(cp.body.note, [sidecar.signer.publicKey]);
        expect(v.ok && v.checkpoint).toMatchObject({
          partition: p,
          origin: origin(p),
          rootHex: cp.body.root,
        });
      }
      expect((await get(`${sidecar.url}/vcp/checkpoint`)).status).toBe(400);
      expect((await get(`${sidecar.url}/vcp/checkpoint?partition=7`)).status).toBe(404);

      // Anchor both partitions: one record each, naming its partition.
      const anchored = await post(`${sidecar.url}/vcp/anchor`, '');
      expect(anchored.status).toBe(201);
      expect(anchored.body.anchors.map((a: { partition: number }) => a.partition)).toEqual([0, 1]);
      for (const a of anchored.body.anchors) {
        expect(verifyAnchorSignature(a, sidecar.signer.publicKey)).toBe(true);
        expect(a.tree_size).toBe(health.partitions[a.partition].tree_size);
        // Its checkpoint names the partition, and is now the partition's newest.
        const v = verifyCheckpoint(a.checkpoint, [sidecar.signer.publicKey]);
        expect(v.ok && v.checkpoint).toMatchObject({ partition: a.partition, treeSize: a.tree_size });
        expect((await get(`${sidecar.url}/vcp/checkpoint?partition=${a.partition}`)).body.note).toBe(
          a.checkpoint,
        );
      }
      expect((await post(`${sidecar.url}/vcp/anchor?partition=1`, '')).body.anchors[0]).toMatchObject({
        partition: 1,
        unchanged: true,
      });
      const list = (await get(`${sidecar.url}/vcp/anchors?partition=0`)).body.anchors;
      expect(list).toHaveLength(1);
      expect(list[0].partition).toBe(0);

      // An inclusion proof names the partition and verifies against that partition's anchored root.
      const e = events[7]!;
      const proof = (await get(`${sidecar.url}/vcp/events/${e.header.event_id}/proof`)).body;
      const anchor = anchored.body.anchors.find(
        (a: { partition: number }) => a.partition === proof.partition,
      );
      expect(proof).toMatchObject({
        anchored: true,
        anchor_id: anchor.anchor_id,
        merkle_root: anchor.merkle_root,
      });
      expect(
        verifyInclusion(
          proof.event_hash,
          proof.merkle_index,
          proof.tree_size,
          proof.proof,
          anchor.merkle_root,
        ),
      ).toBe(true);
      const consistency = await get(`${sidecar.url}/vcp/consistency?partition=${proof.partition}&from=1`);
      expect(consistency.body.partition).toBe(proof.partition);

      // Each partition exports on its own and verifies.
      writeFileSync(join(t.dir, 'signing.pub'), exportPublicKey(sidecar.signer.publicKey, 'pem'));
      for (const p of [0, 1]) {
        const res = await fetch(`${sidecar.url}/vcp/export?partition=${p}`);
        expect(res.status).toBe(200);
        const file = join(t.dir, `p${p}.jsonl`);
        const text = await res.text();
        writeFileSync(file, text);
        // The export ends with a checkpoint of this partition's tree over exactly its range.
        const last = JSON.parse(text.trim().split('\n').at(-1)!);
        const vc = verifyCheckpoint(last.vcp_checkpoint.note, [sidecar.signer.publicKey]);
        expect(vc.ok && vc.checkpoint).toMatchObject({
          partition: p,
          origin: origin(p),
          treeSize: health.partitions[p].tree_size,
        });
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
        expect(code, out.join('')).toBe(0);
        expect(out.join('')).toMatch(
          new RegExp(`\\(partition ${p}\\): leaves 0\\.\\.${health.partitions[p].tree_size - 1},`),
        );
      }

      // What a cluster member refuses.
      const logged = await post(`${sidecar.url}/vcp/log`, sealEvent(v11Event(99)));
      expect(logged.status).toBe(405);
      expect(logged.body).toMatchObject({ error: 'kafka_ingest', topic });
      expect((await get(`${sidecar.url}/vcp/export`)).status).toBe(400);
      const notHere = await get(`${sidecar.url}/vcp/export?partition=7`);
      expect(notHere.status).toBe(404);
      expect(notHere.body).toMatchObject({ error: 'partition_not_here', open: [0, 1] });
      expect((await get(`${sidecar.url}/vcp/events/${uuidv7()}`)).status).toBe(404);
      expect((await get(`${sidecar.url}/vcp/events/%ZZ`)).status).toBe(400);
      expect((await get(`${sidecar.url}/vcp/consistency?partition=0&from=x`)).status).toBe(400);

      const metrics = await (await fetch(`${sidecar.url}/metrics`)).text();
      expect(metrics).toMatch(/^vcp_cluster_partitions_owned 2$/m);
      expect(metrics).toMatch(/^vcp_tree_size\{partition="0"\} \d+$/m);
      expect(metrics).toMatch(/^vcp_events_ingested_total\{partition="1"\} \d+$/m);
      expect(metrics).toMatch(/^vcp_kafka_lag_records\{partition="0"\} 0$/m);
    } finally {
      await sink.close().catch(() => {});
      await sidecar.close();
      t.cleanup();
    }
    await sidecar.done();
    expect(logs.join('\n')).toMatch(
      /partition 0: closed \(exit\), \d+ events stored, committed up to offset \d+/,
    );
  }, 60_000);

  it('refuses to start, saying why, when the topic does not exist (it never creates one)', async () => {
    const t = tempDir('vcp-cluster-http-');
    try {
      const config = testConfig(t.dir, {
        ingest: `kafka://${brokers.join(',')}/${uniqueTopic('vcp-missing')}?group=g-missing`,
      });
      await expect(startPartitionedSidecar({ config, log: () => {} })).rejects.toThrow(
        /cannot consume topic vcp-missing-\S+ in group g-missing .*Unknown topic.*does the topic exist/,
      );
    } finally {
      t.cleanup();
    }
  }, 30_000);
});
