/**
 * Profile driver (not part of `npm run bench`): one tap (Kafka or Redis) draining a backlog
 * into one sink, printing events/s and the CPU per event of this process (and of the sidecar
 * child for `SINK=http`). Fill first in another process so the profile holds only the tap:
 *
 *   TRANSPORT=kafka MODE=fill TOPIC=t node bench/_tap-profile.ts
 *   TRANSPORT=kafka MODE=tap TOPIC=t SINK=http node --cpu-prof --cpu-prof-dir=/tmp/p bench/_tap-profile.ts
 *
 * TRANSPORT kafka (VCP_TEST_KAFKA_BROKERS) | redis (VCP_TEST_REDIS_URL); SINK http | file |
 * embedded | memory | delay (a null sink answering DELAY_MS later, 15 by default); N messages
 * (default 50 000); MODE fill | tap | both (default); TAP_BATCH,
 * TAP_INFLIGHT, HTTP_BATCH override the tap's batch size, batches in flight and the HTTP sink's
 * request size; COMMIT_INTERVAL the Kafka tap's commitIntervalMs. A first, unreported pass into a null sink warms the JIT (WARM=0: none).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Admin, Producer } from '@platformatic/kafka';
import { Redis } from 'ioredis';
import { openEmbeddedStore } from '../src/adapters/embedded-store.ts';
import { KafkaTap } from '../src/adapters/kafka-tap.ts';
import { createDefaultMapping } from '../src/adapters/message-mapping.ts';
import { RedisTap } from '../src/adapters/redis-tap.ts';
import { disableAllocationSitePretenuring } from '../src/cli/gc-tuning.ts';
import { FileSink } from '../src/sinks/file.ts';
import { createHttpSink } from '../src/sinks/http.ts';
import type { Sink } from '../src/sinks/sink.ts';
import { orderValue, orderFields as redisFields } from './_tap-data.ts';
import { startSidecarChild } from './_tap-harness.ts';

// As `vcp tap` runs (the CLI turns pretenuring off for it, src/cli/gc-tuning.ts).
disableAllocationSitePretenuring();
const transport = process.env.TRANSPORT ?? 'kafka';
const sinkKind = process.env.SINK ?? 'http';
const mode = process.env.MODE ?? 'both';
const n = Number(process.env.N ?? 50_000);
const name = process.env.TOPIC ?? `vcp-prof-${process.pid}`;
const brokers = (process.env.VCP_TEST_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const url = process.env.VCP_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

async function fill(): Promise<void> {
  if (transport === 'kafka') {
    const admin = new Admin({ clientId: 'vcp-prof-admin', bootstrapBrokers: brokers });
    await admin.createTopics({ topics: [name], partitions: 4, replicas: 1 });
    await admin.close();
    await new Promise((r) => setTimeout(r, 1000));
    const producer = new Producer({ clientId: 'vcp-prof', bootstrapBrokers: brokers, compression: 'lz4' });
    for (let i = 0; i < n; i += 1000) {
      const messages = [];
      for (let j = i; j < Math.min(n, i + 1000); j++)
        messages.push({ topic: name, key: Buffer.from(`ORD-${j % 5000}`), value: orderValue(j) });
      await producer.send({ messages });
    }
    await producer.close();
  } else {
    const redis = new Redis(url);
    for (let i = 0; i < n; i += 1000) {
      const p = redis.pipeline();
      for (let j = i; j < Math.min(n, i + 1000); j++) p.xadd(name, '*', ...redisFields(j));
      await p.exec();
    }
    redis.disconnect();
  }
}

async function tap(warmUp: boolean): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'vcp-tprof-'));
  const kind = warmUp ? 'memory' : sinkKind;
  const sidecar = kind === 'http' ? await startSidecarChild() : undefined;
  let sink: Sink;
  const httpBatch = process.env.HTTP_BATCH ? Number(process.env.HTTP_BATCH) : undefined;
  if (kind === 'http')
    sink = createHttpSink({
      url: sidecar!.url,
      retry: { retries: 5 },
      breaker: false,
      maxBatchEvents: httpBatch,
    });
  else if (kind === 'file') sink = new FileSink({ path: join(dir, 'e.jsonl') });
  else if (kind === 'embedded') sink = await openEmbeddedStore({ dataDir: join(dir, 's'), log: () => {} });
  else if (kind === 'delay') {
    // A null sink that answers DELAY_MS later (default 15): the events live as long as a request's round trip.
    const delay = Number(process.env.DELAY_MS ?? 15);
    sink = { name: 'delay', write: () => new Promise((r) => setTimeout(r, delay)), close: async () => {} };
  } else sink = { name: 'null', write: async () => {}, close: async () => {} };
  // How the tap hands its events over: batches (sink writes) and their mean size.
  const inner = sink;
  let writes = 0;
  let written = 0;
  let acked = 0;
  let lastAckAt = 0;
  sink = {
    name: inner.name,
    write: async (events) => {
      writes++;
      written += events.length;
      await inner.write(events);
      acked += events.length;
      lastAckAt = performance.now();
    },
    close: () => inner.close(),
  };
  const policyId = 'local:prof:tap';
  const tapBatch = process.env.TAP_BATCH ? Number(process.env.TAP_BATCH) : undefined;
  const inflight = process.env.TAP_INFLIGHT ? Number(process.env.TAP_INFLIGHT) : undefined;
  const group = `g-${process.pid}-${Date.now().toString(36)}`;
  const t =
    transport === 'kafka'
      ? new KafkaTap({
          brokers,
          topics: [name],
          groupId: group,
          sink,
          policyId,
          mapping: createDefaultMapping({ topics: { [name]: 'orders' } }),
          maxBatch: tapBatch,
          maxInflight: inflight,
          commitIntervalMs: process.env.COMMIT_INTERVAL ? Number(process.env.COMMIT_INTERVAL) : undefined,
        })
      : new RedisTap({
          url,
          streams: [name],
          groupId: group,
          consumer: 'c',
          sink,
          policyId,
          batchSize: tapBatch,
          maxInflight: inflight,
        });
  const f0 = process.resourceUsage().minorPageFault;
  const c0 = process.cpuUsage();
  const s0 = sidecar?.cpuMs() ?? 0;
  const sf0 = sidecar?.pageFaults() ?? 0;
  const t0 = performance.now();
  await t.start();
  while (t.stats.committed < n) await new Promise((r) => setTimeout(r, 5));
  const cpu = process.cpuUsage(c0);
  const side = (sidecar?.cpuMs() ?? 0) - s0;
  const sideFaults = (sidecar?.pageFaults() ?? 0) - sf0;
  const ms = performance.now() - t0;
  if (!warmUp)
    console.log(
      `${transport} tap → ${sinkKind}: ${Math.round((n / ms) * 1000)} events/s, tap ${((cpu.user + cpu.system) / n).toFixed(1)} µs CPU/event` +
        (sidecar
          ? `, sidecar ${((side * 1000) / n).toFixed(1)} µs CPU/event, ${(sideFaults / n).toFixed(2)} page faults/event`
          : '') +
        `, ${((process.resourceUsage().minorPageFault - f0) / n).toFixed(2)} page faults/event` +
        `, ${writes} sink writes of ${(written / Math.max(1, writes)).toFixed(1)} events on average` +
        `; the sink acknowledged the last of ${acked} events at ${(lastAckAt - t0).toFixed(0)} ms, all committed at ${ms.toFixed(0)} ms`,
    );
  await t.stop();
  await sink.close();
  await sidecar?.stop();
  rmSync(dir, { recursive: true, force: true });
}

if (mode !== 'tap') await fill();
// A first pass into a null sink lets the JIT settle (as the bench's earlier rows do), unless WARM=0.
if (mode !== 'fill' && process.env.WARM !== '0') await tap(true);
if (mode !== 'fill') await tap(false);
if (mode !== 'fill' && process.env.KEEP !== '1') {
  if (transport === 'kafka') {
    const admin = new Admin({ clientId: 'vcp-prof-admin', bootstrapBrokers: brokers });
    await admin.deleteTopics({ topics: [name] }).catch(() => {});
    await admin.close();
  } else {
    const redis = new Redis(url);
    await redis.del(name);
    redis.disconnect();
  }
}
