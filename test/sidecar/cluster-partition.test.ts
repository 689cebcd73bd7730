/**
 * Cluster mode without a broker: the `--ingest kafka://…` URL, one record →
 * events (the checks of POST /vcp/log, `security.partition` stamped), and
 * the partition worker on a real file store — offsets committed only after
 * the events are durable, bad records refused without stalling, re-deliveries
 * and stale records skipped, per-partition anchors and proofs, the hand-over
 * of a partition's store lock, and a store failure that stops the partition.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { VcpEvent } from '../../src/core/types.ts';
import { verifyAnchorSignature } from '../../src/integrity/anchor-record.ts';
import { sidecarOrigin } from '../../src/integrity/export-meta.ts';
import { verifyInclusion } from '../../src/integrity/merkle/index.ts';
import { sealEvent } from '../../src/integrity/seal.ts';
import { generateSigningKey } from '../../src/integrity/sign.ts';
import { createAnchoringFactory } from '../../src/sidecar/anchor/server-adapter.ts';
import { parseKafkaIngestUrl } from '../../src/sidecar/cluster/ingest-url.ts';
import { type Lease, OWNER_FILE, tryAcquireLease } from '../../src/sidecar/cluster/partition-lease.ts';
import { defaultPartitionStore, partitionDir } from '../../src/sidecar/cluster/partition-store.ts';
import {
  type PartitionRecord,
  PartitionWorker,
  type PartitionWorkerOptions,
} from '../../src/sidecar/cluster/partition-worker.ts';
import { prepareRecord } from '../../src/sidecar/cluster/record-ingest.ts';
import { resolveSidecarConfig, type SidecarConfig } from '../../src/sidecar/config.ts';
import { FileEventStore } from '../../src/sidecar/store/file-store.ts';
import type { EventStore } from '../../src/sidecar/store/store.ts';
import { verifyRecords } from '../../src/verify/index.ts';
import { postgresUrl, skipReason } from '../helpers/env.ts';
import { tempDir, testConfig, v11Event } from './helpers.ts';

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function folder(): string {
  const t = tempDir('vcp-cluster-unit-');
  cleanups.push(t.cleanup);
  return t.dir;
}

const LIMITS = { strict: false, maxBatchEvents: 100, maxEventBytes: 128 * 1024 };

function sealed(n: number): VcpEvent {
  return sealEvent(v11Event(n));
}

function value(x: unknown): Buffer {
  return Buffer.from(typeof x === 'string' ? x : JSON.stringify(x));
}

describe('--ingest kafka:// URL', () => {
  it('reads brokers, topic and group, with defaults for the rest', () => {
    const k = parseKafkaIngestUrl('kafka://127.0.0.1:19092,kafka-2:9092/vcp.events?group=vcp-sidecars');
    expect(k).toMatchObject({
      brokers: ['127.0.0.1:19092', 'kafka-2:9092'],
      topic: 'vcp.events',
      groupId: 'vcp-sidecars',
      clientId: 'vcp-sidecar',
      startFrom: 'earliest',
      sessionTimeoutMs: 10_000,
      heartbeatIntervalMs: 1000,
      maxWaitMs: 500,
    });
    const t = parseKafkaIngestUrl(
      'kafka://[::1]:9092/t?group=g&client_id=c&start=latest&session_timeout=30s&heartbeat_interval=2000&max_wait=1s',
    );
    expect(t).toMatchObject({
      brokers: ['[::1]:9092'],
      groupId: 'g',
      clientId: 'c',
      startFrom: 'latest',
      sessionTimeoutMs: 30_000,
      heartbeatIntervalMs: 2000,
      maxWaitMs: 1000,
    });
    expect(parseKafkaIngestUrl('kafka://h:1/t').groupId).toBe('vcp-sidecars');
  });

  it('refuses what it cannot honour, naming the part', () => {
    const bad: [string, RegExp][] = [
      ['kafka://h:1', /--ingest must be http or kafka:/],
      ['kafka://h/t', /not host:port/],
      ['kafka://user:secret@h:1/t', /credentials/],
      ['kafka://h:1/bad topic', /not a Kafka topic name/],
      ['kafka://h:1/t?grup=x', /unknown parameter "grup"/],
      ['kafka://h:1/t?start=middle', /start must be earliest or latest/],
      ['kafka://h:1/t?session_timeout=6s&heartbeat_interval=3s', /at most a third/],
      ['kafka://h:1/t?session_timeout=soon', /duration/],
      ['kafka://h:1/t?session_timeout=500ms', /at least 1s/],
      ['kafka://h:1/t?group=', /group must be/],
    ];
    for (const [url, message] of bad) expect(() => parseKafkaIngestUrl(url), url).toThrow(message);
  });

  it('is the sidecar option --ingest / VCP_SIDECAR_INGEST; http (the default) means POST /vcp/log', () => {
    expect(resolveSidecarConfig({}, {}, '/').ingest).toBeUndefined();
    expect(resolveSidecarConfig({ ingest: 'http' }, {}, '/').ingest).toBeUndefined();
    const c = resolveSidecarConfig(
      {},
      { VCP_SIDECAR_INGEST: 'kafka://127.0.0.1:19092/vcp.events?group=g1' },
      '/',
    );
    expect(c.ingest?.topic).toBe('vcp.events');
    expect(c.ingest?.groupId).toBe('g1');
    expect(() => resolveSidecarConfig({ ingest: 'redis://x' }, {}, '/')).toThrow(
      /--ingest must be http or kafka/,
    );
  });
});

describe('a record of the events topic', () => {
  it('becomes the events POST /vcp/log would store, stamped with its partition (EventHash unchanged)', () => {
    const e = sealed(1);
    const forged = { ...e, security: { ...e.security, partition: 7, merkle_index: 99, merkle_root: 'ff' } };
    const out = prepareRecord(value(forged), 3, LIMITS);
    expect(out.ok).toBe(true);
    if (!out.ok) return;
    expect(out.batch).toBe(false);
    const [p] = out.events;
    expect(p!.eventHash).toBe(e.security.event_hash);
    expect(p!.event.security.partition).toBe(3);
    expect(p!.event.security.merkle_index).toBeUndefined();
    expect(p!.event.security.merkle_root).toBeUndefined();
    // An array of events is a batch, as over HTTP.
    const batch = prepareRecord(value([sealed(2), sealed(3)]), 0, LIMITS);
    expect(batch.ok && batch.events.map((x) => x.event.security.partition)).toEqual([0, 0]);
  });

  it('is refused with a reason and the first problem — never an exception — when it is not a good event', () => {
    const e = sealed(4);
    const cases: [Buffer | null, string, RegExp][] = [
      [null, 'empty', /no value/],
      [Buffer.alloc(0), 'empty', /no value/],
      [value('{"header":'), 'validation', /json/],
      [Buffer.from([0xff, 0xfe, 0x00]), 'validation', /utf8/],
      [value('{"a":1,"a":2}'), 'validation', /duplicate-key/],
      [value('{"__proto__":{"x":1}}'), 'validation', /__proto__/],
      [value(`${'['.repeat(5000)}${']'.repeat(5000)}`), 'validation', /depth|non-empty|json/],
      [value({ ...e, security: { ...e.security, event_hash: 'ab'.repeat(32) } }), 'validation', /event-hash/],
      [value({ ...e, header: { ...e.header, event_id: 'not-a-uuid' } }), 'validation', /event_id/],
      [value(Array.from({ length: 101 }, (_, i) => sealed(100 + i))), 'payload_too_large', /at most 100/],
    ];
    for (const [v, reason, message] of cases) {
      const out = prepareRecord(v, 1, LIMITS);
      expect(out.ok, String(v).slice(0, 40)).toBe(false);
      if (out.ok) continue;
      expect(out.reason).toBe(reason);
      expect(out.message).toMatch(message);
    }
  });
});

/** A partition's records and the offsets the worker committed. */
class Feed {
  readonly commits: bigint[] = [];
  readonly violations: string[] = [];
  readonly ids = new Map<bigint, string[]>();
  worker!: PartitionWorker;

  record(offset: number, events: VcpEvent | VcpEvent[] | string | null, generation = 1): PartitionRecord {
    const off = BigInt(offset);
    const list =
      events === null || typeof events === 'string' ? [] : Array.isArray(events) ? events : [events];
    this.ids.set(
      off,
      list.map((e) => e.header.event_id),
    );
    return {
      offset: off,
      value: events === null ? null : typeof events === 'string' ? Buffer.from(events) : value(events),
      generation,
      commit: async () => {
        // Committing offset+1 says every record up to this one is done: their events must be durable now.
        const store = this.worker.ctx?.store;
        for (const [o, ids] of this.ids) {
          if (o > off) continue;
          for (const id of ids)
            if (!store || !(await store.getById(id)))
              this.violations.push(`offset ${off + 1n} committed before ${id} was stored`);
        }
        this.commits.push(off + 1n);
      },
    };
  }
}

function workerOptions(
  config: SidecarConfig,
  partition: number,
  extra: Partial<PartitionWorkerOptions> = {},
): PartitionWorkerOptions & { logs: string[]; failures: unknown[] } {
  const logs: string[] = [];
  const failures: unknown[] = [];
  return {
    partition,
    generation: 1,
    config,
    signer,
    anchoring: createAnchoringFactory({}),
    openStore: (p) => defaultPartitionStore(config, p),
    lockRetryMs: 20,
    log: (l) => logs.push(l),
    onFailed: (e) => failures.push(e),
    ...extra,
    logs,
    failures,
  };
}

const signer = generateSigningKey();

async function settled(worker: PartitionWorker, feed: Feed, lastOffset: number): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (worker.committedOffset === BigInt(lastOffset + 1) && worker.inflight === 0) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`worker did not commit up to ${lastOffset + 1} (commits ${feed.commits.join(',')})`);
}

describe('partition worker', () => {
  it('stores each record’s events stamped with the partition, commits only after they are durable, and skips re-deliveries', async () => {
    const config = testConfig(folder());
    const feed = new Feed();
    const o = workerOptions(config, 2);
    const w = new PartitionWorker(o);
    feed.worker = w;
    cleanups.push(() => w.close());
    // Records arrive while the store is still opening: they queue.
    const events = Array.from({ length: 60 }, (_, i) => sealed(i));
    for (let i = 0; i < 50; i++) w.push(feed.record(i, events[i]!));
    expect(w.state).toBe('opening');
    await w.open();
    expect(w.state).toBe('active');
    w.push(feed.record(50, events.slice(50, 60)));
    await settled(w, feed, 50);
    expect(feed.violations).toEqual([]);
    // Commits only move forward, ending after the last record.
    expect(feed.commits.at(-1)).toBe(51n);
    expect([...feed.commits].sort((a, b) => Number(a - b))).toEqual(feed.commits);

    const ctx = w.ctx!;
    expect(ctx.partition).toBe(2);
    expect(ctx.tree.size).toBe(60);
    const stored = [];
    for await (const s of ctx.store.scan(0, 60)) stored.push(s);
    expect(stored.map((s) => s.eventId)).toEqual(events.map((e) => e.header.event_id));
    for (const s of stored) {
      expect(s.event.security.partition).toBe(2);
      expect(s.event.security.merkle_index).toBe(s.index);
    }
    // The client rewinds to the committed offset after a rebalance: records already taken are skipped.
    for (let i = 40; i < 51; i++) w.push(feed.record(i, i < 50 ? events[i]! : events.slice(50, 60)));
    expect(w.counters.redelivered).toBe(11);
    expect(w.counters.records).toBe(51);
    expect(ctx.tree.size).toBe(60);
    expect(ctx.store.name).toBe(`file:${partitionDir(config.dataDir, 2)}`);
  });

  it('refuses bad records without stalling the partition, and commits past them', async () => {
    const config = testConfig(folder());
    const feed = new Feed();
    const w = new PartitionWorker(workerOptions(config, 0));
    feed.worker = w;
    cleanups.push(() => w.close());
    await w.open();
    const a = sealed(1);
    const b = sealed(2);
    const conflicting = { ...a, payload: { trade_data: { ...a.payload.trade_data, price: '9.9999' } } };
    delete (conflicting as { security?: unknown }).security;
    w.push(feed.record(0, a));
    w.push(feed.record(1, 'not json at all'));
    w.push(feed.record(2, null));
    w.push(feed.record(3, conflicting as VcpEvent)); // same event_id, other content
    w.push(feed.record(4, b));
    await settled(w, feed, 4);
    expect(feed.violations).toEqual([]);
    expect(Object.fromEntries(w.counters.refused)).toEqual({ validation: 1, empty: 1, conflict: 1 });
    expect(w.ctx!.tree.size).toBe(2);
    expect((await w.ctx!.store.getById(a.header.event_id))?.eventHash).toBe(a.security.event_hash);
  });

  it('keeps the events in flight within the commit queue’s limit when records carry whole batches', async () => {
    // Each record is a batch of 5 events; the queue takes at most 8 events at once.
    const config = testConfig(folder(), { 'max-batch': '5', 'max-queue': '8' });
    const feed = new Feed();
    const o = workerOptions(config, 0);
    const w = new PartitionWorker(o);
    feed.worker = w;
    cleanups.push(() => w.close());
    await w.open();
    const all: VcpEvent[] = [];
    for (let r = 0; r < 30; r++) {
      const batch = Array.from({ length: 5 }, (_, i) => sealed(r * 5 + i));
      all.push(...batch);
      w.push(feed.record(r, batch));
    }
    await settled(w, feed, 29);
    expect(o.failures).toEqual([]);
    expect(feed.violations).toEqual([]);
    expect(w.ctx!.tree.size).toBe(150);
    const stored = [];
    for await (const s of w.ctx!.store.scan(0, 150)) stored.push(s.eventId);
    expect(stored).toEqual(all.map((e) => e.header.event_id));
  });

  it('drops records fetched in an earlier group generation than its assignment', async () => {
    const config = testConfig(folder());
    const feed = new Feed();
    const w = new PartitionWorker({ ...workerOptions(config, 1), generation: 5 });
    feed.worker = w;
    cleanups.push(() => w.close());
    await w.open();
    // Buffered before the partition was revoked and assigned again: it must not jump ahead of the committed offset.
    w.push(feed.record(70, sealed(70), 4));
    w.push(feed.record(10, sealed(10), 5));
    await settled(w, feed, 10);
    expect(w.counters.dropped).toBe(1);
    expect(w.ctx!.tree.size).toBe(1);
    expect(feed.commits).toEqual([11n]);
  });

  it('anchors its own tree: records name the partition, proofs and the export verify per partition', async () => {
    const config = testConfig(folder());
    const feed = new Feed();
    const w = new PartitionWorker(workerOptions(config, 3));
    feed.worker = w;
    cleanups.push(() => w.close());
    await w.open();
    const events = Array.from({ length: 7 }, (_, i) => sealed(i));
    events.forEach((e, i) => {
      w.push(feed.record(i, e));
    });
    await settled(w, feed, 6);
    const ctx = w.ctx!;
    const out = await ctx.anchoring.anchorNow();
    const record = out!.record;
    expect(record.partition).toBe(3);
    expect(record.tree_size).toBe(7);
    expect(verifyAnchorSignature(record, signer.publicKey)).toBe(true);
    const stored = await ctx.store.getById(events[4]!.header.event_id);
    const proof = ctx.tree.tree.inclusionProof(stored!.index, record.tree_size);
    expect(
      verifyInclusion(stored!.eventHash, stored!.index, record.tree_size, proof, record.merkle_root),
    ).toBe(true);

    // The partition's events and anchors verify as one tree, partition 3.
    const meta = {
      vcp_export: {
        format: 'vcp-export',
        version: 2,
        origin: sidecarOrigin(signer.keyId, 3),
        merkle_mode: 'rfc6962',
        from: 0,
        partition: 3,
      },
    };
    const exported: unknown[] = [];
    for await (const s of ctx.store.scan(0, ctx.tree.size)) exported.push(s.event);
    const options = {
      anchors: [...ctx.tree.anchors],
      publicKeys: [signer.publicKey],
      allowLocalAnchors: true,
    };
    const report = await verifyRecords([meta, ...exported], options);
    expect(report.verdict).toBe('PROVEN');
    expect(report.logs).toMatchObject([
      { partition: 3, events: 7, root: record.merkle_root, merkle_mode: 'rfc6962' },
    ]);
    // The same events claimed for another partition do not verify against partition 3's anchor.
    const moved = exported.map((e) => ({
      ...(e as VcpEvent),
      security: { ...(e as VcpEvent).security, partition: 0 },
    }));
    expect((await verifyRecords([meta, ...moved], options)).verdict).toBe('INVALID');
  });

  it('hands its store over: the next owner waits for the lock, then finds every event (re-reads are duplicates)', async () => {
    const config = testConfig(folder());
    const feed1 = new Feed();
    const first = new PartitionWorker(workerOptions(config, 0));
    feed1.worker = first;
    await first.open();
    const events = Array.from({ length: 20 }, (_, i) => sealed(i));
    events.forEach((e, i) => {
      first.push(feed1.record(i, e));
    });
    await settled(first, feed1, 19);

    // The group gave the partition to another member while this one still holds it.
    const feed2 = new Feed();
    const o2 = workerOptions(config, 0, { generation: 2 });
    const second = new PartitionWorker(o2);
    feed2.worker = second;
    cleanups.push(() => second.close());
    const opened = second.open();
    // It reads from the last committed offset (here: from 10, as if the last commits were lost).
    for (let i = 10; i < 25; i++) second.push(feed2.record(i, i < 20 ? events[i]! : sealed(i), 2));
    // It finds the lock taken (polled for, not slept on: a fixed 150 ms was a guess at a loaded machine).
    for (let i = 0; i < 500 && second.waitingForLockSince === undefined; i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(second.waitingForLockSince).toBeTypeOf('number');
    expect(second.state).toBe('opening');
    await first.close({ reason: 'revocation' });
    expect(first.state).toBe('closed');
    await opened;
    expect(second.state).toBe('active');
    await settled(second, feed2, 24);
    expect(second.ctx!.tree.size).toBe(25);
    expect(second.ctx!.metrics.duplicates).toBe(10);
    expect(feed2.violations).toEqual([]);
    expect(o2.logs.some((l) => /waiting for the previous owner/.test(l))).toBe(true);
  });

  it('gives the partition up while still waiting for the lock, without ever opening the store', async () => {
    const config = testConfig(folder());
    const dir = partitionDir(config.dataDir, 1);
    const holder = new FileEventStore({ dir });
    await holder.open();
    cleanups.push(() => holder.close());
    const w = new PartitionWorker(workerOptions(config, 1));
    const opened = w.open();
    w.push(new Feed().record(0, sealed(0)));
    for (let i = 0; i < 500 && w.waitingForLockSince === undefined; i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(w.waitingForLockSince).toBeTypeOf('number'); // closed while waiting, as the title says
    await w.close();
    await opened;
    expect(w.state).toBe('closed');
    expect(w.counters.dropped).toBe(1);
    expect(holder.size).toBe(0);
  });

  it('stops the partition when the store fails: nothing after the failed write is committed', async () => {
    const config = testConfig(folder());
    let appends = 0;
    const failing = (inner: EventStore): EventStore => ({
      name: inner.name,
      open: () => inner.open(),
      close: () => inner.close(),
      getById: (id) => inner.getById(id),
      getByIndex: (i) => inner.getByIndex(i),
      scan: (f, t) => inner.scan(f, t),
      anchors: () => inner.anchors(),
      putAnchor: (r) => inner.putAnchor(r),
      append: (batch) => (++appends >= 2 ? Promise.reject(new Error('disk on fire')) : inner.append(batch)),
    });
    const feed = new Feed();
    const o = workerOptions(config, 0, {
      openStore: (p) => {
        const s = defaultPartitionStore(config, p);
        return { ...s, store: failing(s.store) };
      },
    });
    const w = new PartitionWorker(o);
    feed.worker = w;
    cleanups.push(() => w.close());
    await w.open();
    w.push(feed.record(0, sealed(0)));
    await settled(w, feed, 0);
    for (let i = 1; i < 5; i++) w.push(feed.record(i, sealed(i)));
    for (let i = 0; i < 100 && w.state !== 'failed'; i++) await new Promise((r) => setTimeout(r, 10));
    expect(w.state).toBe('failed');
    expect(o.failures).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 50));
    expect(feed.commits).toEqual([1n]);
    w.push(feed.record(5, sealed(5)));
    expect(w.counters.dropped).toBeGreaterThanOrEqual(1);
    await w.close();
    expect(w.state).toBe('failed');
  });
});

describe('partition folder lease (OWNER), for folders shared by several machines', () => {
  /** A pid that is not running here (above the kernel's pid_max). */
  const DEAD_PID = 4_194_305;

  function owner(dir: string, o: Record<string, unknown>): void {
    writeFileSync(join(dir, OWNER_FILE), `${JSON.stringify({ member: null, token: 't', beat: 0, ...o })}\n`);
  }

  it('is taken when free, names this process, and is removed on release', () => {
    const dir = folder();
    const lease = tryAcquireLease(dir, { host: 'node-a', member: 'm-1' }, {}) as Lease;
    expect('release' in lease).toBe(true);
    const held = JSON.parse(readFileSync(join(dir, OWNER_FILE), 'utf8'));
    expect(held).toMatchObject({ host: 'node-a', pid: process.pid, member: 'm-1' });
    lease.release();
    expect(existsSync(join(dir, OWNER_FILE))).toBe(false);
  });

  it('on this host: waits for a live holder, takes over from a killed one', () => {
    const dir = folder();
    owner(dir, { host: 'node-a', pid: process.ppid });
    const busy = tryAcquireLease(dir, { host: 'node-a' }, {});
    expect('busy' in busy && busy.busy).toMatch(new RegExp(`process ${process.ppid} on this host`));
    owner(dir, { host: 'node-a', pid: DEAD_PID });
    const lease = tryAcquireLease(dir, { host: 'node-a' }, {});
    expect('release' in lease).toBe(true);
    (lease as Lease).release();
  });

  it('from another host: waits while the holder beats, takes over once it stayed unchanged for staleMs, and drops its LOCK', async () => {
    const dir = folder();
    // The other host's LOCK names a pid that happens to be alive here: without the lease it would block forever.
    writeFileSync(join(dir, 'LOCK'), `${process.ppid}\n`);
    owner(dir, { host: 'node-b', pid: 77, beat: 1 });
    const watch = {};
    const options = { host: 'node-a', staleMs: 120 };
    expect('busy' in tryAcquireLease(dir, options, watch)).toBe(true);
    await new Promise((r) => setTimeout(r, 80));
    owner(dir, { host: 'node-b', pid: 77, beat: 2 }); // it beat: still alive
    await new Promise((r) => setTimeout(r, 80));
    const busy = tryAcquireLease(dir, options, watch);
    expect('busy' in busy && busy.busy).toMatch(/on host node-b holds it/);
    await new Promise((r) => setTimeout(r, 150));
    const lease = tryAcquireLease(dir, options, watch);
    expect('release' in lease).toBe(true);
    expect(existsSync(join(dir, 'LOCK'))).toBe(false);
    const store = new FileEventStore({ dir });
    await store.open();
    await store.close();
    (lease as Lease).release();
  });

  it('is kept beating by its holder', async () => {
    const dir = folder();
    const lease = tryAcquireLease(dir, { host: 'node-a', refreshMs: 20 }, {}) as Lease;
    const first = readFileSync(join(dir, OWNER_FILE), 'utf8');
    await new Promise((r) => setTimeout(r, 70));
    expect(readFileSync(join(dir, OWNER_FILE), 'utf8')).not.toBe(first);
    lease.release();
  });

  it('makes a worker wait for a live foreign holder instead of opening the store', async () => {
    const config = testConfig(folder());
    const dir = partitionDir(config.dataDir, 0);
    mkdirSync(dir, { recursive: true });
    owner(dir, { host: 'another-machine', pid: 1 });
    const o = workerOptions(config, 0, { lease: { staleMs: 60_000 } });
    const w = new PartitionWorker(o);
    const opened = w.open();
    await new Promise((r) => setTimeout(r, 100));
    expect(w.state).toBe('opening');
    expect(o.logs.join('\n')).toMatch(/waiting for the previous owner \(process 1 on host another-machine/);
    await w.close();
    await opened;
    expect(w.state).toBe('closed');
  });
});

const pgUrl = postgresUrl();
if (!pgUrl) console.warn(skipReason('cluster partitions on PostgreSQL', 'VCP_TEST_PG_URL'));

describe.skipIf(!pgUrl)('partition worker on the PostgreSQL store', () => {
  const schema = `vcp_cluster_${process.pid}_${randomBytes(4).toString('hex')}`;
  afterAll(async () => {
    const admin = new pg.Pool({ connectionString: pgUrl, max: 1 });
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
  });

  it('keeps partition N in tables vcp_p<N>_*; a stale second writer is refused instead of forking the log', async () => {
    const config = testConfig(folder(), { store: pgUrl! });
    const openStore = (p: number) => defaultPartitionStore(config, p, { schema });
    const feed1 = new Feed();
    const o1 = workerOptions(config, 5, { openStore });
    const first = new PartitionWorker(o1);
    feed1.worker = first;
    cleanups.push(() => first.close());
    await first.open();
    expect(first.ctx!.store.name).toMatch(new RegExp(`${schema}\\.vcp_p5_\\*$`));
    const events = Array.from({ length: 8 }, (_, i) => sealed(i));
    for (let i = 0; i < 5; i++) first.push(feed1.record(i, events[i]!));
    await settled(first, feed1, 4);
    expect(feed1.violations).toEqual([]);

    // A second member opens the same partition while the first still writes (a zombie owner).
    const feed2 = new Feed();
    const o2 = workerOptions(config, 5, { openStore, generation: 2 });
    const second = new PartitionWorker(o2);
    feed2.worker = second;
    cleanups.push(() => second.close());
    await second.open();
    expect(second.ctx!.tree.size).toBe(5);
    for (let i = 5; i < 8; i++) first.push(feed1.record(i, events[i]!));
    await settled(first, feed1, 7);
    second.push(feed2.record(8, sealed(8), 2));
    for (let i = 0; i < 200 && second.state !== 'failed'; i++) await new Promise((r) => setTimeout(r, 10));
    expect(second.state).toBe('failed');
    expect(feed2.commits).toEqual([]);

    // The log is the first writer's, contiguous, every event stamped with partition 5.
    const reader = defaultPartitionStore(config, 5, { schema }).store;
    const state = await reader.open();
    expect(state.size).toBe(8);
    const got = [];
    for await (const s of reader.scan(0, 8)) got.push(s);
    await reader.close();
    expect(got.map((s) => s.eventId)).toEqual(events.map((e) => e.header.event_id));
    expect(got.every((s) => s.event.security.partition === 5)).toBe(true);
  });
});
