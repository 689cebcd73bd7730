/**
 * The anchoring service with a real Merkle tree, the in-memory reference
 * store, and real targets (local file, TSA on loopback behind a TCP relay
 * that can be cut and restored). Covers batch closing, never anchoring an
 * empty batch twice, coverage of events, the local copy kept before any
 * target answers, retries with backoff while a target is down, re-queuing
 * after a restart, the scheduler, lag, and shutdown.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { VcpConfigError } from '../../src/core/errors.ts';
import type { AnchorRecord, AnchorTarget } from '../../src/core/types.ts';
import { verifyAnchorSignature } from '../../src/integrity/anchor-record.ts';
import { MerkleTree } from '../../src/integrity/merkle/tree.ts';
import { generateSigningKey } from '../../src/integrity/sign.ts';
import {
  type AnchorService,
  type AnchorServiceEvent,
  type AnchorServiceOptions,
  createAnchorService,
  findCoveringAnchor,
} from '../../src/sidecar/anchor/anchor-service.ts';
import { createLocalFileTarget } from '../../src/sidecar/anchor/file-target.ts';
import { createScheduler } from '../../src/sidecar/anchor/scheduler.ts';
import type { AnchorTargetDriver } from '../../src/sidecar/anchor/target.ts';
import { createTsaTarget } from '../../src/sidecar/anchor/tsa-target.ts';
import { startTestTsa, type TestTsa } from '../fixtures/tsa.ts';
import { holdPort } from '../helpers/ports.ts';
import { createMemoryStore, makeStoredEvents } from './store-contract.ts';

const signer = generateSigningKey();
const FAST_RETRY = { initialMs: 20, maxMs: 200, factor: 2, jitter: 0 };

/** Waits for `cond`, polling; fails naming `what` if it never holds. */
async function until(cond: () => boolean, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A TCP relay on a fixed loopback port in front of the TSA: `cut()` makes it refuse connections, `restore()` listens again. */
async function relay(
  to: TestTsa,
): Promise<{ url: string; cut: () => Promise<void>; restore: () => Promise<void> }> {
  const target = new URL(to.url);
  let server: Server | undefined;
  const sockets = new Set<Socket>();
  let port = 0;
  const listen = async () => {
    server = createServer((client) => {
      const upstream = connect(Number(target.port), target.hostname);
      sockets.add(client).add(upstream);
      client.pipe(upstream).pipe(client);
      const drop = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
    });
    await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  };
  await listen();
  return {
    url: `http://127.0.0.1:${port}${target.pathname}`,
    async cut() {
      for (const s of sockets) s.destroy();
      sockets.clear();
      await new Promise<void>((resolve) => server!.close(() => resolve()));
      // Refused meanwhile, and no other process is given the port before restore() listens again.
      await holdPort(port);
    },
    restore: listen,
  };
}

/** A log being filled: store + tree kept in step, as the server does. */
function makeLog() {
  const store = createMemoryStore();
  const tree = new MerkleTree();
  return {
    store,
    tree,
    async ingest(n: number) {
      const batch = makeStoredEvents(tree.size, n);
      await store.append(batch);
      for (const e of batch) tree.append(e.eventHash);
      return batch;
    },
  };
}

describe('anchorNow', () => {
  let dir: string;
  let services: AnchorService[] = [];
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vcp-anchor-svc-'));
  });
  afterEach(async () => {
    for (const s of services) await s.stop();
    services = [];
    await rm(dir, { recursive: true, force: true });
  });
  const service = (opts: Partial<AnchorServiceOptions> & Pick<AnchorServiceOptions, 'store' | 'tree'>) => {
    const s = createAnchorService({
      signer,
      policyId: 'com.example.tests:anchor-service',
      tier: 'GOLD',
      targets: [createLocalFileTarget({ dataDir: dir })],
      retry: FAST_RETRY,
      ...opts,
    });
    services.push(s);
    return s;
  };

  it('with nothing logged: no record, unchanged', async () => {
    const log = makeLog();
    expect(await service(log).anchorNow()).toEqual({ record: null, unchanged: true, failed: [] });
    expect(log.store.records).toEqual([]);
  });

  it('closes the batch: a signed record over the whole tree, describing the new events', async () => {
    const log = makeLog();
    const s = service(log);
    const batch = await log.ingest(5);
    const { record, unchanged, failed } = await s.anchorNow();
    expect(unchanged).toBe(false);
    expect(failed).toEqual([]);
    expect(record).toMatchObject({
      merkle_root: log.tree.root(),
      tree_size: 5,
      merkle_mode: 'rfc6962',
      event_count: 5,
      first_index: 0,
      first_event_id: batch[0]!.eventId,
      last_event_id: batch[4]!.eventId,
      policy_id: 'com.example.tests:anchor-service',
      signing_key_id: signer.keyId,
    });
    expect(record!.prev_anchor_id).toBeUndefined();
    expect(verifyAnchorSignature(record, signer.publicKey)).toBe(true);
    expect(record!.anchor_target).toMatchObject({
      type: 'LOCAL_FILE',
      proof: expect.stringMatching(/^not-external:/),
    });
    expect(log.store.records).toEqual([record]);
  });

  it('never anchors an empty batch twice; the next batch links to the previous record', async () => {
    const log = makeLog();
    const s = service(log);
    await log.ingest(3);
    const first = (await s.anchorNow()).record!;
    expect(await s.anchorNow()).toEqual({ record: first, unchanged: true, failed: [] });
    expect(log.store.records).toHaveLength(1);
    const more = await log.ingest(4);
    const second = (await s.anchorNow()).record!;
    expect(second).toMatchObject({
      tree_size: 7,
      event_count: 4,
      first_index: 3,
      first_event_id: more[0]!.eventId,
      last_event_id: more[3]!.eventId,
      prev_anchor_id: first.anchor_id,
      merkle_root: log.tree.root(),
    });
    expect(log.store.records.map((r) => r.anchor_id)).toEqual([first.anchor_id, second.anchor_id]);
  });

  it('two calls at once make one record', async () => {
    const log = makeLog();
    const s = service(log);
    await log.ingest(2);
    const [a, b] = await Promise.all([s.anchorNow(), s.anchorNow()]);
    expect([a.unchanged, b.unchanged].sort()).toEqual([false, true]);
    expect(a.record).toEqual(b.record);
    expect(log.store.records).toHaveLength(1);
  });

  it('event i is covered by the first record with tree_size > i', async () => {
    const log = makeLog();
    const s = service(log);
    await log.ingest(5);
    const a = (await s.anchorNow()).record!;
    await log.ingest(3);
    const b = (await s.anchorNow()).record!;
    await log.ingest(1);
    const covering = [0, 4, 5, 7, 8].map((i) => s.anchorFor(i)?.anchor_id);
    expect(covering).toEqual([a.anchor_id, a.anchor_id, b.anchor_id, b.anchor_id, undefined]);
    expect(findCoveringAnchor([a, b], -1)).toBeUndefined();
    expect(findCoveringAnchor([a, b], 1.5)).toBeUndefined();
    expect(findCoveringAnchor([], 0)).toBeUndefined();
    expect(s.anchors().map((r) => r.anchor_id)).toEqual([a.anchor_id, b.anchor_id]);
  });

  it('stores the record before contacting any target', async () => {
    const log = makeLog();
    const seenInStore: (AnchorRecord | undefined)[] = [];
    const probe: AnchorTargetDriver = {
      type: 'DATABASE',
      identifier: 'probe',
      external: true,
      async anchor(record): Promise<AnchorTarget> {
        seenInStore.push(log.store.records.find((r) => r.anchor_id === record.anchor_id));
        return { type: 'DATABASE', identifier: 'probe', proof: 'p1' };
      },
    };
    const s = service({ ...log, targets: [probe] });
    await log.ingest(1);
    const { record } = await s.anchorNow();
    expect(seenInStore).toHaveLength(1);
    expect(seenInStore[0]).toMatchObject({ anchor_id: record!.anchor_id, anchor_target: { proof: '' } });
    expect(log.store.records[0]!.anchor_targets).toEqual([
      { type: 'DATABASE', identifier: 'probe', proof: 'p1' },
    ]);
  });

  it('a target answering without a usable proof counts as failed', async () => {
    const log = makeLog();
    const junk: AnchorTargetDriver = {
      type: 'TSA',
      identifier: 'junk',
      external: true,
      anchor: async () => ({ type: 'TSA', identifier: 'junk', proof: '' }),
    };
    const s = service({ ...log, targets: [junk] });
    await log.ingest(1);
    const { failed } = await s.anchorNow();
    expect(failed).toEqual([
      { type: 'TSA', identifier: 'junk', reason: expect.stringMatching(/no usable proof/) },
    ]);
  });

  it('refuses to anchor when the tree is behind the last record (events lost)', async () => {
    const log = makeLog();
    await log.ingest(3);
    await service(log).anchorNow();
    const s = service({ ...log, tree: new MerkleTree(), anchors: log.store.records });
    await expect(s.anchorNow()).rejects.toThrow(/events were lost/);
  });

  it('refuses bad configuration', () => {
    const log = makeLog();
    const base = { ...log, signer, policyId: 'p', tier: 'GOLD' as const, targets: [] };
    expect(() => createAnchorService({ ...base, tier: 'BRONZE' as never })).toThrow(VcpConfigError);
    expect(() => createAnchorService({ ...base, policyId: '' })).toThrow(/policyId/);
    expect(() => createAnchorService({ ...base, intervalMs: 0 })).toThrow(/intervalMs/);
    expect(() => createAnchorService({ ...base, retry: { factor: 0.5 } })).toThrow(/factor/);
    const file = createLocalFileTarget({ dataDir: '/tmp/x' });
    expect(() =>
      createAnchorService({ ...base, targets: [file, createLocalFileTarget({ dataDir: '/tmp/x' })] }),
    ).toThrow(/configured twice/);
  });
});

describe('with a real TSA', () => {
  let tsa: TestTsa;
  let dir: string;
  let services: AnchorService[] = [];
  beforeAll(async () => {
    tsa = await startTestTsa({ keyType: 'ec' });
  });
  afterAll(() => tsa?.close());
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vcp-anchor-tsa-'));
  });
  afterEach(async () => {
    for (const s of services) await s.stop();
    services = [];
    await rm(dir, { recursive: true, force: true });
  });
  const service = (
    opts: Partial<AnchorServiceOptions> & Pick<AnchorServiceOptions, 'store' | 'tree' | 'targets'>,
  ) => {
    const s = createAnchorService({
      signer,
      policyId: 'com.example.tests:tsa',
      tier: 'PLATINUM',
      retry: FAST_RETRY,
      ...opts,
    });
    services.push(s);
    return s;
  };

  it('anchors to every target; anchor_target is the first external one; every proof verifies', async () => {
    const log = makeLog();
    const file = createLocalFileTarget({ dataDir: dir });
    const tsaTarget = createTsaTarget({ url: tsa.url, caCertPem: tsa.caCertPem });
    const s = service({ ...log, targets: [file, tsaTarget] });
    await log.ingest(10);
    const { record } = await s.anchorNow();
    expect(record!.anchor_targets!.map((t) => t.type)).toEqual(['LOCAL_FILE', 'TSA']);
    expect(record!.anchor_target).toMatchObject({ type: 'TSA', identifier: tsa.url });
    expect(await s.verifyRecord(record!)).toEqual([
      {
        type: 'LOCAL_FILE',
        identifier: file.identifier,
        ok: true,
        reason: expect.stringMatching(/not an external/),
      },
      { type: 'TSA', identifier: tsa.url, ok: true },
    ]);
    expect(log.store.records[0]).toEqual(record);
    expect(s.status()).toMatchObject({
      pending: [],
      lagMs: 0,
      lagLimitMs: 600_000,
      targets: [
        { type: 'LOCAL_FILE', external: false, note: expect.stringMatching(/not an external anchor/) },
        { type: 'TSA', external: true },
      ],
    });
  });

  it('a TSA answering 503 for a while: queued, retried with backoff, proof lands in the stored record', async () => {
    const log = makeLog();
    const events: AnchorServiceEvent[] = [];
    const s = service({
      ...log,
      targets: [createTsaTarget({ url: tsa.url, caCertPem: tsa.caCertPem })],
      onEvent: (e) => events.push(e),
    });
    tsa.failNext(3);
    await log.ingest(4);
    const { record, failed } = await s.anchorNow();
    expect(failed).toEqual([{ type: 'TSA', identifier: tsa.url, reason: expect.stringMatching(/HTTP 503/) }]);
    // The local copy exists, without the TSA proof yet.
    expect(log.store.records).toHaveLength(1);
    expect(log.store.records[0]!.anchor_targets).toBeUndefined();
    expect(s.status().pending).toEqual([
      expect.objectContaining({
        type: 'TSA',
        records: 1,
        failures: 1,
        lastError: expect.stringMatching(/503/),
      }),
    ]);
    await until(() => log.store.records[0]!.anchor_targets?.length === 1, 'the TSA proof');
    expect(log.store.records[0]!.anchor_target).toMatchObject({ type: 'TSA' });
    const failures = events.filter((e) => e.type === 'target-failed');
    expect(failures).toHaveLength(3);
    // Exponential: each announced wait is twice the one before (jitter 0).
    expect(failures.map((e) => (e as { retryInMs: number }).retryInMs)).toEqual([20, 40, 80]);
    expect(events.at(-1)).toMatchObject({
      type: 'target-ok',
      retry: true,
      anchorId: record!.anchor_id,
      attempt: 4,
    });
    expect(s.status().pending).toEqual([]);
    expect(s.status().lagMs).toBe(0);
    expect((await s.verifyRecord(log.store.records[0]!))[0]!.ok).toBe(true);
  });

  it('TSA unreachable then back: records queue up, lag grows, then every record gets its token, oldest first', async () => {
    const log = makeLog();
    const link = await relay(tsa);
    let nowMs = Date.now();
    const order: string[] = [];
    const s = service({
      ...log,
      targets: [createTsaTarget({ url: link.url, caCertPem: tsa.caCertPem, timeoutMs: 2_000 })],
      retry: { initialMs: 50, maxMs: 100, factor: 2, jitter: 0.5 },
      now: () => nowMs,
      onEvent: (e) => {
        if (e.type === 'target-ok') order.push(e.anchorId);
      },
    });
    await log.ingest(2);
    await s.anchorNow(); // fine
    expect(s.status().lagMs).toBe(0);
    await link.cut();
    await log.ingest(3);
    const r2 = (await s.anchorNow()).record!;
    await log.ingest(1);
    const r3 = (await s.anchorNow()).record!;
    const status = s.status();
    expect(status.pending).toEqual([
      expect.objectContaining({ records: 2, lastError: expect.stringMatching(/unavailable/) }),
    ]);
    // Waiting since the last complete anchor (r1).
    const r1Ms = Number(BigInt(log.store.records[0]!.timestamp) / 1_000_000n);
    nowMs += 60_000;
    expect(s.status().lagMs).toBe(nowMs - r1Ms);
    expect(log.store.records.map((r) => r.anchor_targets?.length ?? 0)).toEqual([1, 0, 0]);
    await link.restore();
    await until(() => s.status().pending.length === 0, 'the queue to drain');
    expect(log.store.records.map((r) => r.anchor_targets?.length ?? 0)).toEqual([1, 1, 1]);
    expect(order.slice(-2)).toEqual([r2.anchor_id, r3.anchor_id]);
    expect(s.status().lagMs).toBe(0);
    await link.cut();
  });

  it('after a restart, records lacking a target proof are retried', async () => {
    const log = makeLog();
    const link = await relay(tsa);
    await link.cut();
    const target = () => createTsaTarget({ url: link.url, caCertPem: tsa.caCertPem, timeoutMs: 2_000 });
    const a = service({
      ...log,
      targets: [target()],
      retry: { initialMs: 60_000, maxMs: 60_000, factor: 2, jitter: 0 },
    });
    await a.start();
    await log.ingest(3);
    expect((await a.anchorNow()).failed).toHaveLength(1);
    await log.ingest(2);
    expect((await a.anchorNow()).failed).toHaveLength(1);
    await a.stop();
    expect(log.store.records.every((r) => !r.anchor_targets)).toBe(true);

    await link.restore();
    const state = await log.store.open();
    const requestsBefore = tsa.requests;
    const b = service({ ...log, anchors: state.anchors, targets: [target()] });
    await b.start();
    await until(
      () => log.store.records.every((r) => r.anchor_targets?.length === 1),
      'both records to get tokens',
    );
    expect(tsa.requests - requestsBefore).toBe(2);
    for (const r of log.store.records) expect((await b.verifyRecord(r))[0]!.ok).toBe(true);
    await link.cut();
  });

  it('after a restart, at most maxBacklog records per target are re-queued (newest first kept)', async () => {
    const log = makeLog();
    const down: AnchorTargetDriver = {
      type: 'TSA',
      identifier: 'down',
      external: true,
      anchor: async () => {
        throw new Error('down');
      },
    };
    const a = service({ ...log, targets: [down] });
    for (let i = 0; i < 5; i++) {
      await log.ingest(1);
      await a.anchorNow();
    }
    await a.stop();
    const events: AnchorServiceEvent[] = [];
    const b = service({ ...log, targets: [down], maxBacklog: 2, onEvent: (e) => events.push(e) });
    await b.start();
    expect(events[0]).toEqual({
      type: 'backlog-capped',
      target: { type: 'TSA', identifier: 'down' },
      skipped: 3,
    });
    await until(() => b.status().pending[0]?.failures === 1, 'the first retry');
    expect(b.status().pending[0]!.records).toBe(2);
  });
});

describe('scheduler', () => {
  it('runs when due, recomputes after each run, backs off on errors, and stops', async () => {
    let runs = 0;
    let failing = true;
    const errors: unknown[] = [];
    const sch = createScheduler({
      intervalMs: 20,
      dueAt: () => 0,
      run: async () => {
        runs++;
        if (failing && runs <= 2) throw new Error('store down');
      },
      onError: (e) => errors.push(e),
    });
    expect(sch.nextRunAt).toBeUndefined();
    sch.start();
    expect(sch.nextRunAt).toBeTypeOf('number');
    await until(() => runs >= 4, 'four runs');
    failing = false;
    expect(errors.map(String)).toEqual(['Error: store down', 'Error: store down']);
    await sch.stop();
    const after = runs;
    expect(sch.nextRunAt).toBeUndefined();
    await new Promise((r) => setTimeout(r, 60));
    expect(runs).toBe(after);
  });

  it('the service anchors on its interval, only when there is something new', async () => {
    const log = makeLog();
    const anchored: AnchorRecord[] = [];
    const s = createAnchorService({
      ...log,
      signer,
      policyId: 'com.example.tests:sched',
      tier: 'SILVER',
      intervalMs: 30,
      targets: [],
      onEvent: (e) => {
        if (e.type === 'anchored') anchored.push(e.record);
      },
    });
    expect(s.status()).toMatchObject({ running: false, intervalMs: 30, lagLimitMs: 30, nextAnchorAt: null });
    await s.start();
    expect(s.status().running).toBe(true);
    await log.ingest(3);
    await until(() => anchored.length === 1, 'the first scheduled anchor');
    await log.ingest(2);
    await until(() => anchored.length === 2, 'the second scheduled anchor');
    expect(anchored.map((r) => [r.tree_size, r.event_count])).toEqual([
      [3, 3],
      [5, 2],
    ]);
    expect(s.status().nextAnchorAt).not.toBeNull();
    await s.stop();
    expect(s.status()).toMatchObject({ running: false, nextAnchorAt: null });
    expect(log.store.records).toHaveLength(2);
  });

  it('stop({ finalAnchor: true }) anchors what is pending; the default tier interval applies', async () => {
    const log = makeLog();
    const s = createAnchorService({ ...log, signer, policyId: 'p', tier: 'SILVER', targets: [] });
    await s.start();
    expect(s.status().intervalMs).toBe(24 * 3_600_000);
    await log.ingest(2);
    expect(s.status()).toMatchObject({ pendingEvents: 2, treeSize: 2, anchoredSize: 0 });
    await s.stop({ finalAnchor: true });
    expect(log.store.records).toHaveLength(1);
    expect(s.status()).toMatchObject({
      pendingEvents: 0,
      anchoredSize: 2,
      lastAnchorAt: log.store.records[0]!.anchored_at,
    });
  });
});
