import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openEmbeddedStore } from '../../src/adapters/embedded-store.ts';
import { createDefaultMapping, type TapMessage } from '../../src/adapters/message-mapping.ts';
import { TapRunner } from '../../src/adapters/tap-runner.ts';
import type { VcpEvent } from '../../src/core/types.ts';
import { canonicalize } from '../../src/integrity/canonical.ts';
import { computeEventHash } from '../../src/integrity/event-hash.ts';
import { MerkleTree } from '../../src/integrity/merkle/index.ts';
import { SinkError } from '../../src/sinks/errors.ts';
import { MemorySink } from '../../src/sinks/memory.ts';
import { serializeEvent } from '../../src/sinks/serialize.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'vcp-embedded-'));
  dirs.push(d);
  return join(d, 'store');
}

const quiet = { log: () => {} };

/** n events exactly as the Kafka tap makes them (sealed by its runner, canonical text attached). */
function tapEvents(n: number, from = 0): VcpEvent[] {
  const runner = new TapRunner(
    {
      sink: new MemorySink(),
      policyId: 'local:test:embedded',
      mapping: createDefaultMapping({ topics: { orders: 'orders' } }),
    },
    'vcp-tap-test',
  );
  const messages: TapMessage[] = [];
  for (let i = from; i < from + n; i++) {
    messages.push({
      transport: 'kafka',
      topic: 'orders',
      partition: 0,
      offset: String(i),
      key: Buffer.from(`ORD-${i}`),
      value: Buffer.from(
        `{"order_id":"ORD-${i}","symbol":"EURUSD","side":"BUY","price":"1.0850","quantity":"${i + 1}"}`,
      ),
      fields: undefined,
      rawFields: undefined,
      headers: Object.create(null),
      timestamp: 1_750_000_000_000 + i,
    });
  }
  return runner.toEvents(messages).events;
}

describe('openEmbeddedStore: a tap writing into a file store in-process', () => {
  it('stores every event durably, in a tree a reopened store rebuilds to the same root', async () => {
    const dir = tmp();
    const events = tapEvents(300);
    const sink = await openEmbeddedStore({ dataDir: dir, ...quiet });
    await sink.write(events.slice(0, 120));
    await sink.write(events.slice(120));
    const tree = sink.log.ctx.tree;
    expect(tree.size).toBe(300);
    const expected = MerkleTree.fromLeaves(events.map((e) => e.security.event_hash));
    expect(tree.root()).toBe(expected.root());
    await sink.close();

    // Reopened (as `vcp sidecar --data-dir` would): the same events, the same root.
    const again = await openEmbeddedStore({ dataDir: dir, ...quiet });
    expect(again.log.ctx.tree.size).toBe(300);
    expect(again.log.ctx.tree.root()).toBe(expected.root());
    const stored = await again.log.ctx.store.getByIndex(17);
    expect(stored?.eventId).toBe(events[17]!.header.event_id);
    expect(computeEventHash(stored!.event)).toBe(events[17]!.security.event_hash);
    await again.close();
  });

  it('stores a replayed batch once (same ids, same hashes: duplicates)', async () => {
    const sink = await openEmbeddedStore({ dataDir: tmp(), ...quiet });
    const events = tapEvents(50);
    await sink.write(events);
    await sink.write(events); // the tap read them again after a crash
    await sink.write(tapEvents(10, 50));
    expect(sink.log.ctx.tree.size).toBe(60);
    await sink.close();
  });

  it('checks each event it did not see sealed as the sidecar does: a copy with a changed payload is refused, nothing is stored', async () => {
    const sink = await openEmbeddedStore({ dataDir: tmp(), ...quiet });
    const events = tapEvents(5);
    // A copy carries no sealer's mark: it is checked in full, and its hash no longer matches.
    const copy = structuredClone(events[3]!);
    (copy.payload.trade_data as Record<string, unknown>).quantity = '999999';
    events[3] = copy;
    const err = await sink.write(events).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SinkError);
    expect((err as SinkError).retryable).toBe(false);
    expect((err as Error).message).toMatch(/\[3\]\.security\.event_hash/);
    expect((err as Error).message).toMatch(/event-hash/);
    expect(sink.log.ctx.tree.size).toBe(0);
    await sink.close();
  });

  it('stores what the sealer hashed, as every sink writes it, when the objects change after sealing', async () => {
    const sink = await openEmbeddedStore({ dataDir: tmp(), ...quiet });
    const events = tapEvents(4);
    const sealedLine = serializeEvent(events[2]!); // what a FileSink or the HTTP sink writes
    // Code in the process changes a sealed event's objects before the store gets it.
    (events[2]!.payload.trade_data as Record<string, unknown>).quantity = '999999';
    (events[2]!.header as unknown as Record<string, unknown>).symbol = 'GBPUSD';
    expect(serializeEvent(events[2]!)).toBe(sealedLine);
    await sink.write(events);
    expect(sink.log.ctx.tree.size).toBe(4);
    await sink.close();

    const again = await openEmbeddedStore({ dataDir: sink.config.dataDir, ...quiet });
    const stored = await again.log.ctx.store.getByIndex(2);
    expect(JSON.stringify(stored!.event)).not.toMatch(/GBPUSD|999999/);
    expect(canonicalize(stored!.event.header)).toBe(canonicalize(JSON.parse(sealedLine).header));
    expect(computeEventHash(stored!.event)).toBe(events[2]!.security.event_hash);
    expect(again.log.ctx.tree.root()).toBe(
      MerkleTree.fromLeaves(events.map((e) => e.security.event_hash)).root(),
    );
    await again.close();
  });

  it('trusts no text attached to an event by other code: a copy with text under the old symbol is checked in full', async () => {
    const sink = await openEmbeddedStore({ dataDir: tmp(), ...quiet });
    const events = tapEvents(4);
    const original = events[2]!;
    const forged = { ...original } as VcpEvent;
    Object.defineProperty(forged, Symbol.for('vcp-instrument.canonical-text'), {
      value: [canonicalize({ ...original.header, symbol: 'GBPUSD' }), canonicalize(original.payload)],
    });
    expect(serializeEvent(forged)).not.toContain('"GBPUSD"'); // no sink writes it either
    await sink.write([events[0]!, events[1]!, forged, events[3]!]);
    expect(sink.log.ctx.tree.size).toBe(4);
    await sink.close();
    const again = await openEmbeddedStore({ dataDir: sink.config.dataDir, ...quiet });
    const stored = await again.log.ctx.store.getByIndex(2);
    expect(JSON.stringify(stored!.event)).not.toContain('GBPUSD');
    expect(computeEventHash(stored!.event)).toBe(original.security.event_hash);
    await again.close();
  });

  it('checks a sealed event whose security block was changed in full: a changed hash or chain link is refused', async () => {
    const sink = await openEmbeddedStore({ dataDir: tmp(), ...quiet });
    const a = tapEvents(3);
    a[1]!.security.event_hash = '0'.repeat(64);
    await expect(sink.write(a)).rejects.toThrow(/\[1\]\.security\.event_hash.*event-hash/);
    const b = tapEvents(3, 10);
    b[2]!.security.prev_hash = b[1]!.security.event_hash; // a link the sealer did not hash
    await expect(sink.write(b)).rejects.toThrow(/\[2\]\.security\.event_hash.*event-hash/);
    const c = tapEvents(3, 20);
    (c[0]!.security as unknown as Record<string, unknown>).hash_algo = 'SHA3_256';
    await expect(sink.write(c)).rejects.toThrow(/\[0\]\.security\.hash_algo/);
    expect(sink.log.ctx.tree.size).toBe(0);
    await sink.close();
  });

  it('refuses __proto__ and constructor.prototype keys the strict parser would refuse in a body, naming each path', async () => {
    const sink = await openEmbeddedStore({ dataDir: tmp(), ...quiet });
    const base = tapEvents(4);
    // Hand-built events with correct hashes: the keys are own properties, as JSON.parse makes them.
    const withKey = (
      e: VcpEvent,
      member: 'payload' | 'security' | 'policy_identification',
      json: string,
    ): VcpEvent => {
      const copy = JSON.parse(JSON.stringify(e)) as VcpEvent;
      (copy as unknown as Record<string, unknown>)[member] = JSON.parse(
        JSON.stringify(copy[member]).replace('{', `{${json},`),
      );
      copy.security.event_hash = computeEventHash(copy, { prevHash: copy.security.prev_hash });
      return copy;
    };
    const hostile = [
      withKey(base[0]!, 'payload', '"__proto__":{"polluted":1}'),
      withKey(base[1]!, 'security', '"__proto__":{"polluted":1}'),
      withKey(base[2]!, 'policy_identification', '"constructor":{"prototype":{"x":1}}'),
      base[3]!,
    ];
    expect(Object.hasOwn(hostile[0]!.payload, '__proto__')).toBe(true);
    const err = await sink.write(hostile).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SinkError);
    expect((err as SinkError).retryable).toBe(false);
    const message = (err as Error).message;
    expect(message).toContain('[0].payload.__proto__ [forbidden-key]');
    expect(message).toContain('[1].security.__proto__ [forbidden-key]');
    expect(message).toContain('[2].policy_identification.constructor.prototype [forbidden-key]');
    expect(sink.log.ctx.tree.size).toBe(0);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    await sink.close();
  });

  it('refuses nesting past 64 levels and objects of over 1 000 keys, which vcp verify or the sidecar would refuse', async () => {
    const sink = await openEmbeddedStore({ dataDir: tmp(), ...quiet });
    const base = tapEvents(3);
    const withMeta = (e: VcpEvent, meta: unknown): VcpEvent => {
      const copy = JSON.parse(JSON.stringify(e)) as VcpEvent;
      (copy.payload as Record<string, unknown>).meta = meta;
      copy.security.event_hash = computeEventHash(copy, { prevHash: copy.security.prev_hash });
      return copy;
    };
    const chain = (level: number): unknown => {
      let v: unknown = { leaf: 'x' };
      for (let l = level; l > 3; l--) v = { n: v };
      return v;
    };
    const wide = Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`k${i}`, 'v']));
    const err = await sink.write([withMeta(base[0]!, chain(65)), withMeta(base[1]!, wide), base[2]!]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SinkError);
    expect((err as Error).message).toMatch(/\[0\]\.payload\.meta(\.n)+ \[depth\]/);
    expect((err as Error).message).toContain('[1].payload.meta [max-keys]');
    expect(sink.log.ctx.tree.size).toBe(0);
    // Level 64 is what vcp verify reads: stored.
    await sink.write([withMeta(base[0]!, chain(64)), base[2]!]);
    expect(sink.log.ctx.tree.size).toBe(2);
    await sink.close();
  });

  it('refuses a second opener of the same folder while the first holds it (the store lock)', async () => {
    const dir = tmp();
    const sink = await openEmbeddedStore({ dataDir: dir, ...quiet });
    await expect(openEmbeddedStore({ dataDir: dir, ...quiet })).rejects.toThrow();
    await sink.close();
    const after = await openEmbeddedStore({ dataDir: dir, ...quiet });
    await after.close();
  });

  it('refuses writes after close, and a missing dataDir, with clear errors', async () => {
    const sink = await openEmbeddedStore({ dataDir: tmp(), ...quiet });
    await sink.close();
    await expect(sink.write(tapEvents(1))).rejects.toThrow(/closed/);
    await expect(openEmbeddedStore({ dataDir: '' })).rejects.toThrow(/dataDir/);
  });
});
