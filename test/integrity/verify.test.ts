import { describe, expect, it } from 'vitest';
import { buildEvent } from '../../src/core/builder.ts';
import { createPolicy } from '../../src/core/policy.ts';
import type { AnchorRecord, VcpEvent } from '../../src/core/types.ts';
import { uuidv7 } from '../../src/core/uuidv7.ts';
import {
  anchorRecordHash,
  createAnchorRecord,
  verifyAnchorSignature,
} from '../../src/integrity/anchor-record.ts';
import { createHashChain } from '../../src/integrity/chain.ts';
import { computeEventHash, computeEventHashVariant } from '../../src/integrity/event-hash.ts';
import { MerkleTree } from '../../src/integrity/merkle/index.ts';
import { sealEvent } from '../../src/integrity/seal.ts';
import { generateSigningKey, type Signer } from '../../src/integrity/sign.ts';
import { verifyEvents } from '../../src/integrity/verify.ts';

const policy = createPolicy({ policyId: 'com.example.trading:verify-test', tier: 'GOLD', hashChain: true });

/** A sealed, chained, signed and anchored export of `n` events (anchors every `anchorEvery`). */
function makeExport(
  n: number,
  opts: { anchorEvery?: number; signer?: Signer; mode?: 'rfc6962' | 'vcp-dup' } = {},
) {
  const signer = opts.signer ?? generateSigningKey();
  const chain = createHashChain();
  const tree = new MerkleTree({ mode: opts.mode ?? 'rfc6962' });
  const events: VcpEvent[] = [];
  const anchors: AnchorRecord[] = [];
  const traceId = uuidv7();
  const every = opts.anchorEvery ?? n;
  let last = 0;
  for (let i = 0; i < n; i++) {
    const type = (['SIG', 'ORD', 'ACK', 'EXE'] as const)[i % 4]!;
    const payload =
      type === 'SIG' ? {} : { trade_data: { order_id: `O-${i}`, price: '1.0850', quantity: '100' } };
    const e = sealEvent(
      buildEvent(type, payload, { policy, traceId, venueId: 'XLON', accountId: 'A', symbol: 'EURUSD' }),
      { signer, chain },
    );
    e.security.merkle_index = tree.append(e.security.event_hash);
    events.push(e);
    if ((i + 1) % every === 0 || i === n - 1) {
      const a = createAnchorRecord(
        {
          merkle_root: tree.root(),
          tree_size: tree.size,
          merkle_mode: tree.mode,
          event_count: tree.size - last,
          first_event_id: events[last]!.header.event_id,
          last_event_id: e.header.event_id,
          first_index: last,
          policy_id: policy.policy_id,
          prev_anchor_id: anchors.at(-1)?.anchor_id,
        },
        { signer },
      );
      for (let k = last; k < tree.size; k++) {
        events[k]!.security.merkle_root = a.merkle_root;
        events[k]!.security.anchor_reference = a.anchor_id;
      }
      anchors.push(a);
      last = tree.size;
    }
  }
  return { events, anchors, signer };
}

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v));

describe('verifyEvents on an honest export', () => {
  it('passes every check, with keys and anchors', () => {
    const { events, anchors, signer } = makeExport(40, { anchorEvery: 16 });
    const r = verifyEvents(clone(events), {
      publicKeys: [signer.exportPublicKey('pem')],
      anchors: clone(anchors),
      requireSignatures: true,
    });
    expect(r.ok).toBe(true);
    expect(r.totals).toEqual({
      events: 40,
      valid: 40,
      invalid: 0,
      withWarnings: 0,
      anchors: 3,
      anchorsValid: 3,
    });
    for (const c of Object.values(r.checks)) expect(c.fail + c.warn + c.skip).toBe(0);
    expect(r.trees).toEqual([{ partition: 0, size: 40, root: anchors[2]!.merkle_root, mode: 'rfc6962' }]);
    expect(r.events).toEqual([]); // only failing/warning events are kept by default
  });

  it('works in vcp-dup mode when the anchors say so', () => {
    const { events, anchors, signer } = makeExport(7, { mode: 'vcp-dup' });
    expect(verifyEvents(events, { publicKeys: [signer.publicKey], anchors }).ok).toBe(true);
  });

  it('without keys, says signatures were not checked but does not fail', () => {
    const { events, anchors } = makeExport(4);
    const r = verifyEvents(events, { anchors });
    expect(r.ok).toBe(true);
    expect(r.checks.signature.skip).toBe(4);
    expect(r.notes.join()).toMatch(/signatures are not checked/);
  });
});

describe('verifyEvents names what is wrong', () => {
  it('a changed price: event_hash fails for that event only, in plain words', () => {
    const { events, anchors, signer } = makeExport(8);
    const bad = clone(events);
    bad[5]!.payload.trade_data!.price = '1.0851';
    const r = verifyEvents(bad, { publicKeys: [signer.publicKey], anchors });
    expect(r.ok).toBe(false);
    expect(r.totals.invalid).toBe(1);
    const e = r.events.find((x) => !x.ok)!;
    expect(e.index).toBe(5);
    expect(e.event_id).toBe(events[5]!.header.event_id);
    expect(e.checks.event_hash.reason).toMatch(/changed after sealing/);
  });

  it('a re-hashed forgery (content and hash changed, signature not): signature and root fail, chain breaks', () => {
    const { events, anchors, signer } = makeExport(8);
    const bad = clone(events);
    bad[3]!.payload.trade_data!.quantity = '999';
    bad[3]!.security.event_hash = computeEventHash(bad[3]!, { prevHash: bad[3]!.security.prev_hash });
    const r = verifyEvents(bad, { publicKeys: [signer.publicKey], anchors });
    expect(r.ok).toBe(false);
    const e = r.events.find((x) => x.index === 3)!;
    expect(e.checks.event_hash.status).toBe('pass');
    expect(e.checks.signature.status).toBe('fail');
    expect(r.anchors[0]!.root.reason).toMatch(/altered, removed or inserted/);
    // The next event links to the original hash, which is gone now.
    expect(r.gaps.some((g) => g.indexes.includes(4))).toBe(true);
  });

  it('a removed event: chain gap, merkle index gap and anchor coverage, each named', () => {
    const { events, anchors, signer } = makeExport(10);
    const bad = clone(events).filter((_, i) => i !== 6);
    const r = verifyEvents(bad, { publicKeys: [signer.publicKey], anchors });
    expect(r.ok).toBe(false);
    const messages = r.gaps.map((g) => g.message).join('\n');
    expect(messages).toMatch(/merkle indexes 6\.\.6 are missing/);
    expect(messages).toMatch(new RegExp(`${events[7]!.header.event_id}.*missing`));
  });

  it('swapped events: reorderings named by position', () => {
    const { events, anchors } = makeExport(6);
    const bad = clone(events);
    [bad[2], bad[3]] = [bad[3]!, bad[2]!];
    const r = verifyEvents(bad, { anchors });
    expect(r.ok).toBe(false);
    expect(r.reorderings.map((x) => x.kind)).toContain('reordering');
    expect(r.reorderings.some((x) => /merkle_index 2, after merkle_index 3/.test(x.message))).toBe(true);
  });

  it('a duplicated event and a fork', () => {
    const { events, anchors } = makeExport(4);
    const dup = [...clone(events), clone(events[1]!)];
    const r = verifyEvents(dup, { anchors });
    expect(r.duplicates[0]!.message).toMatch(/appears at positions 1 and 4/);
    expect(r.forks).toHaveLength(1);
  });

  it('an untrusted key and a bad anchor signature', () => {
    const { events, anchors } = makeExport(4);
    const stranger = generateSigningKey();
    const r = verifyEvents(events, { publicKeys: [stranger.publicKey], anchors });
    expect(r.events[0]!.checks.signature.reason).toMatch(/not among the trusted public keys/);
    expect(r.anchors[0]!.signature.status).toBe('fail');
  });

  it('a truncated export: the anchor covers events that are not there', () => {
    const { events, anchors } = makeExport(12);
    const r = verifyEvents(events.slice(0, 9), { anchors });
    expect(r.anchors[0]!.coverage.reason).toMatch(/events 9\.\.11 are missing/);
    expect(r.ok).toBe(false);
  });

  it('unanchored events warn, and fail under strict', () => {
    const { events } = makeExport(3);
    expect(verifyEvents(events).checks.merkle_inclusion.warn).toBe(3);
    expect(verifyEvents(events).ok).toBe(true);
    expect(verifyEvents(events, { strict: true }).ok).toBe(false);
  });

  it('points at the hashing convention an honest foreign export used', () => {
    const { events } = makeExport(1);
    const e = clone(events[0]!);
    delete e.security.prev_hash;
    e.security.event_hash = computeEventHashVariant('guide-sidecar', e);
    const r = verifyEvents([e]);
    expect(r.events[0]!.checks.event_hash.reason).toMatch(/guide-sidecar/);
    expect(verifyEvents([e], { hashVariant: 'guide-sidecar' }).checks.event_hash.pass).toBe(1);
  });

  it('never throws on garbage', () => {
    const junk = [
      null,
      1,
      'x',
      [],
      {},
      { header: 5 },
      { header: {}, payload: { x: Number.NaN } },
      { security: { event_hash: 'zz' } },
    ];
    const r = verifyEvents(junk, {
      anchors: [null, { merkle_root: 1 }, 'x'] as unknown[],
      publicKeys: ['nonsense'],
    });
    expect(r.ok).toBe(false);
    expect(r.totals.invalid).toBe(junk.length);
    expect(r.notes.length).toBeGreaterThan(1);
  });
});

describe('PascalCase events from other producers', () => {
  it('are read through the compatibility view and hashed as written', () => {
    const Header = {
      EventID: '0193f1e2-7b3a-7c4d-8e5f-0a1b2c3d4e5f',
      TraceID: '0193f1e2-7b3a-7c4d-8e5f-0a1b2c3d4e60',
      Timestamp: '1735084800123000000',
      TimestampISO: '2024-12-25T00:00:00.123Z',
      EventType: 'ORD',
      EventTypeCode: 2,
      TimestampPrecision: 'MILLISECOND',
      ClockSyncStatus: 'NTP_SYNCED',
      HashAlgo: 'SHA256',
    };
    const Payload = { TradeData: { OrderID: 'X', Price: '1.5' } };
    const event = {
      Header,
      Payload,
      Security: { EventHash: computeEventHash({ header: Header, payload: Payload }) },
    };
    const r = verifyEvents([event], { keepPassing: true });
    const e = r.events[0]!;
    expect(e.event_id).toBe(Header.EventID);
    expect(e.checks.event_hash.status).toBe('pass');
    expect(e.checks.timestamp.status).toBe('pass');
    expect(e.checks.schema.status).toBe('warn');
  });
});

describe('anchor records', () => {
  it('sign the root and hash without their target proofs', () => {
    const signer = generateSigningKey();
    const a = createAnchorRecord(
      {
        merkle_root: 'ab'.repeat(32),
        tree_size: 3,
        merkle_mode: 'rfc6962',
        event_count: 3,
        first_event_id: 'a',
        last_event_id: 'c',
        policy_id: 'p:q',
      },
      { signer },
    );
    expect(verifyAnchorSignature(a, signer.publicKey)).toBe(true);
    expect(verifyAnchorSignature({ ...a, merkle_root: 'cd'.repeat(32) }, signer.publicKey)).toBe(false);
    expect(verifyAnchorSignature(null, signer.publicKey)).toBe(false);
    const h = anchorRecordHash(a);
    expect(anchorRecordHash({ ...a, anchor_target: { type: 'TSA', identifier: 'x', proof: 'y' } })).toBe(h);
    expect(anchorRecordHash({ ...a, tree_size: 4 })).not.toBe(h);
    expect(() => createAnchorRecord({ merkle_root: 'zz' } as never, { signer })).toThrow(/64 lowercase hex/);
  });
});
