/**
 * Events our sealer marked reach the embedded store as objects, and the store takes their header and
 * payload from the texts the sealer hashed (integrity/sealed-mark.ts) instead of the objects. Its
 * verdict and stored line must be the sidecar's for the same events sent over HTTP (the line a sink
 * writes), whatever the sealer was told to check and whatever code did to the objects afterwards.
 */
import { describe, expect, it } from 'vitest';
import { draftEvent } from '../../src/core/builder.ts';
import { createPolicy } from '../../src/core/policy.ts';
import type { DraftEvent, VcpEvent } from '../../src/core/types.ts';
import { createHashChain } from '../../src/integrity/chain.ts';
import { createSealer } from '../../src/recorder/sealer.ts';
import { HttpError } from '../../src/sidecar/http.ts';
import { parseLogBody, prepareEvents } from '../../src/sidecar/ingest.ts';
import { eventLine, serializeEvent } from '../../src/sinks/serialize.ts';

const options = { strict: false, maxBatchEvents: 10_000, maxEventBytes: 128 * 1024 };
const policy = createPolicy({ policyId: 'com.example.trading:sealed', tier: 'GOLD' });

type Outcome = { ok: true; lines: string[] } | { ok: false; issues: string[] };

function outcome(run: () => { raw: string }[]): Outcome {
  try {
    return { ok: true, lines: run().map((e) => e.raw) };
  } catch (e) {
    if (!(e instanceof HttpError)) throw e;
    const errors = (e.extra.errors ?? []) as { path: string; rule: string }[];
    return { ok: false, issues: errors.map((x) => `${x.path} [${x.rule}]`) };
  }
}

/** As the embedded store prepares a write (src/adapters/embedded-store.ts). */
const viaStore = (events: VcpEvent[]) =>
  outcome(() =>
    prepareEvents(
      {
        items: events,
        raws: [],
        batch: true,
        lineFromCanonical: (k, h, p) => eventLine(events[k]!, h, p, true),
      },
      options,
    ),
  );

/** As the sidecar prepares the HTTP sink's body of the same events. */
const viaHttp = (events: VcpEvent[]) =>
  outcome(() =>
    prepareEvents(
      parseLogBody(Buffer.from(`[${events.map(serializeEvent).join(',')}]`), 'json', options),
      options,
    ),
  );

const order = (id: string) => ({
  trade_data: { order_id: id, symbol: 'EURUSD', side: 'BUY', quantity: '1', price: '1.1' },
});
const seal = (
  draft: DraftEvent,
  validate: boolean | 'own-draft' = 'own-draft',
  chain?: ReturnType<typeof createHashChain>,
) => {
  const r = createSealer({ validate, ...(chain ? { chain } : {}) }).seal(draft);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.event;
};

describe('the embedded store and the sidecar agree on sealed events', () => {
  it('stores the same lines for events sealed with and without a chain', () => {
    const chain = createHashChain();
    const events = [0, 1, 2].map((i) =>
      seal(draftEvent('ORD', order(`O${i}`), { policy }), 'own-draft', chain),
    );
    const store = viaStore(events);
    expect(store.ok).toBe(true);
    expect(store).toEqual(viaHttp(events));
  });

  it('refuses what a sealer that checked nothing sealed, as the sidecar does', () => {
    const draft = draftEvent('ORD', order('O1'), { policy });
    const bad = { ...draft, header: { ...draft.header, timestamp_iso: 'yesterday' } } as DraftEvent;
    (bad.payload.trade_data as Record<string, unknown>).price = 1.5; // a JS number: not a decimal string
    const events = [seal(bad, false)];
    const store = viaStore(events);
    expect(store.ok).toBe(false);
    expect(store).toEqual(viaHttp(events));
    expect(JSON.stringify(store)).toMatch(/timestamp_iso/);
    expect(JSON.stringify(store)).toMatch(/price/);
  });

  it('refuses a header whose clock status or precision the sidecar refuses, as the sidecar does', () => {
    const draft = draftEvent('ORD', order('O1'), { policy });
    const bad = {
      ...draft,
      header: { ...draft.header, clock_sync_status: 'BOGUS', timestamp_precision: 'MICRO' },
    } as unknown as DraftEvent;
    const events = [seal(bad, 'own-draft')]; // own-draft trusts these header fields
    const store = viaStore(events);
    expect(store.ok).toBe(false);
    expect(store).toEqual(viaHttp(events));
    expect(JSON.stringify(store)).toMatch(/clock_sync_status/);
  });

  it('stores what was sealed when the objects change afterwards, as every sink writes it', () => {
    const draft = draftEvent('ORD', { ...order('O1'), note: 'prototype' } as never, { policy });
    const e = seal(draft);
    const sealedLine = serializeEvent(e);
    (e.payload.trade_data as Record<string, unknown>).price = 99; // would be refused (a JS number)
    (e.payload as { constructor: unknown }).constructor = { prototype: {} }; // would be a forbidden key
    (e.header as unknown as Record<string, unknown>).event_id = 'not-a-uuid';
    const store = viaStore([e]);
    expect(store).toEqual({ ok: true, lines: [sealedLine] });
    expect(store).toEqual(viaHttp([e]));
  });

  it('checks a changed security block in full: a changed algorithm or hash is refused, as the sidecar does', () => {
    const a = seal(draftEvent('ORD', order('O1'), { policy }));
    (a.security as unknown as Record<string, unknown>).hash_algo = 'SHA3_256';
    const b = seal(draftEvent('ORD', order('O2'), { policy }));
    b.security.event_hash = '0'.repeat(64);
    for (const e of [a, b]) {
      const store = viaStore([e]);
      expect(store.ok).toBe(false);
      expect(store).toEqual(viaHttp([e]));
    }
  });
});
