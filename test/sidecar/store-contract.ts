/**
 * The `EventStore` contract as a reusable suite: every store (embedded file,
 * PostgreSQL, the in-memory reference below) must pass it.
 *
 *     runStoreContract('file store', async () => {
 *       const dir = await mkdtemp(...);
 *       return { store: createFileStore({ dir }), reopen: () => createFileStore({ dir }), cleanup: () => rm(dir, ...) };
 *     });
 *
 * `makeStore` returns a fresh, empty, not yet opened store; `reopen` (optional)
 * a new instance over the same data, for the "survives close and open" checks;
 * `cleanup` removes what the run created.
 */
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { buildEvent } from '../../src/core/builder.ts';
import { createFixedClock } from '../../src/core/clock.ts';
import { createPolicy } from '../../src/core/policy.ts';
import type { AnchorRecord } from '../../src/core/types.ts';
import { sealEvent } from '../../src/integrity/seal.ts';
import { EventHashList } from '../../src/sidecar/store/event-hash-list.ts';
import type { EventStore, StoredEvent, StoreState } from '../../src/sidecar/store/store.ts';

/** What `makeStore` hands the suite. */
export interface StoreUnderTest {
  store: EventStore;
  /** A new store instance over the same data (not yet opened). */
  reopen?: () => EventStore | Promise<EventStore>;
  cleanup: () => Promise<void>;
}

const policy = createPolicy({ policyId: 'com.example.tests:store-contract', tier: 'GOLD' });

/**
 * `n` sealed, valid events at indexes `start…start+n−1`, with unicode, nested
 * payloads and a decimal price, as the server would store them.
 */
export function makeStoredEvents(
  start: number,
  n: number,
  options: { warnings?: boolean } = {},
): StoredEvent[] {
  const clock = createFixedClock('1735084800000000000', 1_000_000 + start);
  const out: StoredEvent[] = [];
  for (let i = start; i < start + n; i++) {
    const draft = buildEvent(
      'ORD',
      {
        trade_data: {
          order_id: `ORD-${i}`,
          symbol: 'EURUSD',
          side: i % 2 ? 'SELL' : 'BUY',
          order_type: 'LIMIT',
          price: `1.${String(8500 + (i % 100)).padStart(4, '0')}`,
          quantity: '100000',
        },
        note: `é∑😀 "quoted" \\ line\nbreak \u0000 nul #${i}`,
      } as never,
      { policy, clock, venueId: 'XLON', accountId: `ACC-${i % 7}` },
    );
    const event = sealEvent(draft);
    event.security.merkle_index = i;
    const stored: StoredEvent = {
      index: i,
      eventId: event.header.event_id,
      eventHash: event.security.event_hash,
      event,
      receivedAt: new Date(Date.UTC(2025, 0, 1, 0, 0, 0, i)).toISOString(),
    };
    if (options.warnings && i % 2 === 0) {
      stored.warnings = [{ path: 'header.event_id', rule: 'uuidv7', message: `event ${i}: UUIDv4 accepted` }];
    }
    out.push(stored);
  }
  return out;
}

/** A signed-looking AnchorRecord for storage tests (the store does not check signatures). */
export function makeAnchorRecord(n: number, treeSize: number, proof = ''): AnchorRecord {
  return {
    anchor_id: `0193f1e2-0000-7000-8000-${String(n).padStart(12, '0')}`,
    merkle_root: createHash('sha256').update(`root ${n}`).digest('hex'),
    tree_size: treeSize,
    merkle_mode: 'rfc6962',
    event_count: 1,
    first_event_id: 'a',
    last_event_id: 'b',
    timestamp: String(1735084800000000000n + BigInt(n)),
    anchored_at: '2025-01-01T00:00:00.000000000Z',
    policy_id: 'com.example.tests:store-contract',
    signature: 'A'.repeat(86) + '==',
    sign_algo: 'ED25519',
    signing_key_id: '0'.repeat(32),
    anchor_target: { type: 'LOCAL_FILE', identifier: 'x', proof },
  };
}

async function collect(iter: AsyncIterable<StoredEvent>): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  for await (const e of iter) out.push(e);
  return out;
}

/** Runs the contract against stores made by `makeStore`. */
export function runStoreContract(name: string, makeStore: () => Promise<StoreUnderTest>): void {
  describe(`EventStore contract: ${name}`, () => {
    let current: StoreUnderTest | undefined;
    const extra: EventStore[] = [];

    afterEach(async () => {
      for (const s of extra.splice(0)) await s.close().catch(() => undefined);
      await current?.store.close().catch(() => undefined);
      await current?.cleanup();
      current = undefined;
    });

    const open = async (): Promise<{ store: EventStore; state: StoreState; t: StoreUnderTest }> => {
      current = await makeStore();
      const state = await current.store.open();
      return { store: current.store, state, t: current };
    };

    it('opens empty: size 0, no leaves, no anchors', async () => {
      const { store, state } = await open();
      expect(state).toMatchObject({ size: 0, anchors: [] });
      expect([...state.leaves]).toEqual([]);
      expect(typeof store.name).toBe('string');
      expect(await store.getByIndex(0)).toBeUndefined();
      expect(await store.getById('nope')).toBeUndefined();
      expect(await store.anchors()).toEqual([]);
    });

    it('returns appended events by id and by index, exactly as given', async () => {
      const { store } = await open();
      const events = makeStoredEvents(0, 5, { warnings: true });
      await store.append(events.slice(0, 2));
      await store.append(events.slice(2));
      for (const e of events) {
        expect(await store.getById(e.eventId)).toEqual(e);
        expect(await store.getByIndex(e.index)).toEqual(e);
      }
      // Key order survives (export and hashing tools may rely on the stored text).
      const back = await store.getByIndex(3);
      expect(JSON.stringify(back?.event)).toBe(JSON.stringify(events[3]!.event));
      expect(await store.getByIndex(5)).toBeUndefined();
    });

    it('hostile lookups give undefined, not errors', async () => {
      const { store } = await open();
      await store.append(makeStoredEvents(0, 1));
      for (const index of [-1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 2, 2 ** 64]) {
        expect(await store.getByIndex(index)).toBeUndefined();
      }
      for (const id of [
        '',
        '__proto__',
        "' OR 1=1 --",
        '\u0000',
        '\ud800',
        'x'.repeat(10_000),
        42 as never,
      ]) {
        expect(await store.getById(id)).toBeUndefined();
      }
    });

    it('scans ranges in index order, clipped to what exists', async () => {
      const { store } = await open();
      const events = makeStoredEvents(0, 30);
      await store.append(events);
      const ids = async (from: number, to: number) =>
        (await collect(store.scan(from, to))).map((e) => e.index);
      expect(await ids(0, 30)).toEqual(events.map((e) => e.index));
      expect(await ids(5, 8)).toEqual([5, 6, 7]);
      expect(await ids(25, 100)).toEqual([25, 26, 27, 28, 29]);
      expect(await ids(8, 8)).toEqual([]);
      expect(await ids(10, 5)).toEqual([]);
      expect(await ids(30, 40)).toEqual([]);
      expect(await collect(store.scan(2, 4))).toEqual(events.slice(2, 4));
    });

    it('streams a long scan in order (more rows than one page)', async () => {
      const { store } = await open();
      const events = makeStoredEvents(0, 2500);
      for (let i = 0; i < events.length; i += 500) await store.append(events.slice(i, i + 500));
      let expected = 0;
      for await (const e of store.scan(0, 2500)) {
        expect(e.index).toBe(expected);
        expect(e.eventId).toBe(events[expected]!.eventId);
        expected++;
      }
      expect(expected).toBe(2500);
    });

    it('refuses a batch that does not continue the log, storing nothing of it', async () => {
      const { store } = await open();
      const events = makeStoredEvents(0, 6);
      await store.append(events.slice(0, 2));
      await expect(store.append(events.slice(3, 5))).rejects.toThrow(/index|continue/i); // gap
      const other = makeStoredEvents(0, 2).map((e) => ({ ...e, eventId: `${e.eventId}-x` }));
      await expect(store.append(other)).rejects.toThrow(); // other events at stored indexes
      const nonContiguous = [events[2]!, events[4]!];
      await expect(store.append(nonContiguous)).rejects.toThrow();
      expect(await store.getByIndex(2)).toBeUndefined();
      expect(await store.getById(events[4]!.eventId)).toBeUndefined();
      await store.append(events.slice(2));
      expect((await collect(store.scan(0, 10))).length).toBe(6);
    });

    it('refuses a batch repeating a stored event_id, storing nothing of it', async () => {
      const { store } = await open();
      const events = makeStoredEvents(0, 3);
      await store.append(events.slice(0, 2));
      const dup = { ...events[2]!, eventId: events[0]!.eventId };
      await expect(store.append([dup])).rejects.toThrow();
      expect(await store.getByIndex(2)).toBeUndefined();
      await store.append([events[2]!]);
      expect(await store.getByIndex(2)).toEqual(events[2]);
    });

    it('keeps anchor records in order and replaces one by anchor_id', async () => {
      const { store } = await open();
      const a = makeAnchorRecord(1, 3);
      const b = makeAnchorRecord(2, 7);
      await store.putAnchor(a);
      await store.putAnchor(b);
      const a2 = {
        ...a,
        anchor_targets: [{ type: 'TSA' as const, identifier: 'https://tsa', proof: 'MIIx' }],
      };
      await store.putAnchor(a2);
      expect(await store.anchors()).toEqual([a2, b]);
    });

    it('gives back the same state after close and reopen', async () => {
      const { store, t } = await open();
      if (!t.reopen) return;
      const events = makeStoredEvents(0, 12, { warnings: true });
      await store.append(events.slice(0, 7));
      await store.append(events.slice(7));
      const a = makeAnchorRecord(1, 7);
      const b = makeAnchorRecord(2, 12);
      await store.putAnchor(a);
      await store.putAnchor(b);
      await store.putAnchor({
        ...a,
        anchor_target: { type: 'TSA', identifier: 'https://tsa', proof: 'MIIy' },
      });
      await store.close();
      const again = await t.reopen();
      extra.push(again);
      const state = await again.open();
      expect(state.size).toBe(12);
      expect([...state.leaves]).toEqual(events.map((e) => e.eventHash));
      expect(state.anchors.map((r) => r.anchor_id)).toEqual([a.anchor_id, b.anchor_id]);
      expect(state.anchors[0]!.anchor_target.proof).toBe('MIIy');
      expect(await again.getById(events[9]!.eventId)).toEqual(events[9]);
      await again.append(makeStoredEvents(12, 1));
      expect((await again.getByIndex(12))?.index).toBe(12);
    });
  });
}

/**
 * The in-memory reference store: obviously right, not durable (pass the same
 * `data` to a second instance to "reopen" it). Used to check
 * the contract suite itself and to test the anchor service without a database.
 */
export function createMemoryStore(
  data: { events: StoredEvent[]; records: AnchorRecord[] } = { events: [], records: [] },
  name = 'memory:test',
): EventStore & { events: StoredEvent[]; records: AnchorRecord[] } {
  // `data` may be shared by several instances: a "reopen" over the same contents.
  const { events, records } = data;
  const byId = new Map<string, StoredEvent>(events.map((e) => [e.eventId, e]));
  const clone = <T>(v: T): T => structuredClone(v);
  return {
    name,
    events,
    records,
    async open() {
      return {
        size: events.length,
        leaves: new EventHashList(events.map((e) => e.eventHash)),
        anchors: clone(records),
        recovery: [],
      };
    },
    async append(batch) {
      if (batch.length === 0) return;
      batch.forEach((e, i) => {
        if (e.index !== events.length + i)
          throw new Error(`batch does not continue the log at index ${events.length}`);
        if (byId.has(e.eventId) || batch.findIndex((x) => x.eventId === e.eventId) !== i) {
          throw new Error(`event_id ${e.eventId} already stored`);
        }
      });
      for (const e of batch) {
        const copy = clone(e);
        events.push(copy);
        byId.set(copy.eventId, copy);
      }
    },
    async getById(id) {
      const e = typeof id === 'string' ? byId.get(id) : undefined;
      return e ? clone(e) : undefined;
    },
    async getByIndex(index) {
      const e = Number.isSafeInteger(index) && index >= 0 ? events[index] : undefined;
      return e ? clone(e) : undefined;
    },
    async *scan(from, to) {
      for (let i = Math.max(0, from); i < Math.min(to, events.length); i++) yield clone(events[i]!);
    },
    async putAnchor(record) {
      const i = records.findIndex((r) => r.anchor_id === record.anchor_id);
      if (i === -1) records.push(clone(record));
      else records[i] = clone(record);
    },
    async anchors() {
      return clone(records);
    },
    async close() {},
  };
}
