import { describe, expect, it } from 'vitest';
import { draftEvent } from '../../src/core/builder.ts';
import { createFixedClock } from '../../src/core/clock.ts';
import { createPolicy } from '../../src/core/policy.ts';
import type { DraftEvent, VcpPayload } from '../../src/core/types.ts';
import { createHashChain } from '../../src/integrity/chain.ts';
import { sealEvent } from '../../src/integrity/seal.ts';
import { generateSigningKey, verifySignature } from '../../src/integrity/sign.ts';
import { createSealer } from '../../src/recorder/sealer.ts';
import { serializeEvent } from '../../src/sinks/serialize.ts';

const policy = createPolicy({ policyId: 'local:test:sealer', hashChain: true });
const clock = createFixedClock();
const draft = (payload: VcpPayload, hashAlgo: 'SHA256' | 'BLAKE3' | 'SHA3_256' = 'SHA256'): DraftEvent =>
  draftEvent('ORD', payload, { policy, clock, hashAlgo, venueId: 'XLON' });
const order = (i: number) => ({
  trade_data: { order_id: `O-${i}`, symbol: 'EURUSD', side: 'BUY', price: '1.0850', quantity: '100000' },
  note: 'ünïcødé ✓ 𝄞',
});

describe('createSealer', () => {
  it('gives exactly what sealEvent gives (hash, chain, signature), for each hash algorithm', () => {
    const signer = generateSigningKey();
    for (const algo of ['SHA256', 'SHA3_256', 'BLAKE3'] as const) {
      const fast = createSealer({ signer, chain: createHashChain() });
      const refChain = createHashChain();
      for (let i = 0; i < 5; i++) {
        const d = draft(order(i), algo);
        const r = fast.seal(d);
        expect(r.ok).toBe(true);
        const ref = sealEvent(d, { signer, chain: refChain });
        expect(r.ok && r.event).toEqual(ref);
        if (r.ok)
          expect(
            verifySignature(r.event.security.event_hash, r.event.security.signature, signer.publicKey),
          ).toBe(true);
      }
    }
  });

  it('sinks write the bytes that were hashed, even if the caller changes its payload afterwards', () => {
    const payload = order(1);
    const r = createSealer().seal(draft(payload));
    if (!r.ok) throw new Error('expected ok');
    payload.trade_data.price = '9.9999';
    const line = JSON.parse(serializeEvent(r.event));
    expect(line.payload.trade_data.price).toBe('1.0850');
    expect(Object.keys(line)).toEqual(['header', 'payload', 'security', 'policy_identification']);
    expect(line.security).toEqual(r.event.security);
    expect(line.policy_identification).toEqual(policy);
  });

  it('refuses what cannot be canonical JSON, naming the field, and does not advance the chain', () => {
    const chain = createHashChain();
    const sealer = createSealer({ chain });
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const cases: [VcpPayload, string, string][] = [
      [{ trade_data: { order_id: 'x' }, extra: cyclic }, 'payload.extra', 'canonical-json'],
      [{ trade_data: { order_id: 'x' }, big: 10n } as never, 'payload.big', 'canonical-json'],
      [{ trade_data: { order_id: 'x' }, fn: () => 1 } as never, 'payload.fn', 'canonical-json'],
      [{ trade_data: { order_id: 'x' }, ratio: Number.NaN }, 'payload.ratio', 'canonical-json'],
      [{ trade_data: { order_id: 'x' }, s: 'a\ud800b' }, 'payload.s', 'canonical-json'],
      [
        { trade_data: { order_id: 'x', price: 1.085 } } as never,
        'payload.trade_data.price',
        'decimal-string',
      ],
      [{ trade_data: { order_id: 'x' }, when: new Date(0) } as never, 'payload.when', 'canonical-json'],
    ];
    for (const [payload, path, rule] of cases) {
      const r = sealer.seal(draft(payload));
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.issues[0]).toMatchObject({ path: expect.stringContaining(path), rule });
    }
    expect(chain.length).toBe(0);
    expect(sealer.seal(draft(order(0))).ok).toBe(true);
    expect(chain.length).toBe(1);
  });

  it('refuses events whose line (header, payload, security, policy) is over maxEventBytes, in UTF-8 bytes', () => {
    const note = '€'.repeat(600); // 1 800 bytes, 600 UTF-16 units
    const sealed = createSealer().seal(draft({ note }));
    if (!sealed.ok) throw new Error('refused');
    // Exactly the line a sink writes.
    const line = Buffer.byteLength(serializeEvent(sealed.event));
    expect(createSealer({ maxEventBytes: line }).seal(draft({ note })).ok).toBe(true);
    const r = createSealer({ maxEventBytes: line - 1 }).seal(draft({ note }));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.issues[0]).toMatchObject({ path: 'payload', rule: 'max-size' });
      expect(r.issues[0]!.message).toContain(`takes ${line} bytes`);
    }
    // Signed on this thread: the signature is in the line it counts.
    const key = generateSigningKey();
    const signed = createSealer({ signer: key }).seal(draft({ note }));
    if (!signed.ok) throw new Error('refused');
    const signedLine = Buffer.byteLength(serializeEvent(signed.event));
    expect(signedLine).toBeGreaterThan(line + 100);
    expect(createSealer({ signer: key, maxEventBytes: signedLine }).seal(draft({ note })).ok).toBe(true);
    expect(createSealer({ signer: key, maxEventBytes: signedLine - 1 }).seal(draft({ note })).ok).toBe(false);
    // Fields a batch signer adds later are counted when announced.
    expect(createSealer({ maxEventBytes: line + 150, laterBytes: 150 }).seal(draft({ note })).ok).toBe(true);
    expect(createSealer({ maxEventBytes: line + 149, laterBytes: 150 }).seal(draft({ note })).ok).toBe(false);
    // A small event under a small limit (the sidecar accepts --max-event down to 1 KiB).
    const tiny = createSealer().seal(draft({}));
    if (!tiny.ok) throw new Error('refused');
    const tinyLine = Buffer.byteLength(serializeEvent(tiny.event));
    expect(tinyLine).toBeLessThan(1024);
    expect(createSealer({ maxEventBytes: 1024 }).seal(draft({})).ok).toBe(true);
  });

  it('refuses a policy that cannot be written, or that holds keys, shapes or values the sidecar and vcp verify refuse', () => {
    const base = draft({});
    const withPolicy = (policy: unknown) => ({ ...base, policy_identification: policy }) as DraftEvent;
    let deep: unknown = { leaf: 1 };
    for (let i = 0; i < 70; i++) deep = { n: deep };
    const cases: [unknown, string, string][] = [
      [{ ...base.policy_identification, x: 1n }, 'policy_identification', 'readable'],
      [1n, 'policy_identification', 'readable'],
      [
        { ...base.policy_identification, ...JSON.parse('{"__proto__":{"polluted":1}}') },
        'policy_identification.__proto__',
        'forbidden-key',
      ],
      [{ ...base.policy_identification, extra: deep }, 'policy_identification.extra', 'depth'],
      // What validateEvent (the sidecar, vcp verify) refuses in a policy: every event would be refused.
      [{ policy_id: 'com.example:x' }, 'policy_identification.conformance_tier', 'enum'],
      [
        { ...base.policy_identification, policy_id: undefined },
        'policy_identification.policy_id',
        'required',
      ],
      ['GOLD', 'policy_identification', 'object'],
      // Judged from the text sinks write, as the sidecar reads it, not from the object.
      [{ ...base.policy_identification, toJSON: () => ({}) }, 'policy_identification.policy_id', 'required'],
      [
        Object.defineProperty({ ...base.policy_identification }, 'policy_id', {
          value: 'com.example:x',
          enumerable: false,
        }),
        'policy_identification.policy_id',
        'required',
      ],
      [
        { ...base.policy_identification, registration_policy: { issuer: 'x\ud800' } },
        'policy_identification.registration_policy.issuer',
        'unicode',
      ],
    ];
    for (const [policy, path, rule] of cases) {
      const r = createSealer({ validate: false }).seal(withPolicy(policy));
      expect(r.ok, rule).toBe(false);
      if (!r.ok) {
        expect(r.issues[0]!.rule).toBe(rule);
        expect(r.issues[0]!.path.startsWith(path)).toBe(true);
      }
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('reports a payload getter that throws as unreadable', () => {
    const trap = { trade_data: { order_id: 'x' } } as Record<string, unknown>;
    Object.defineProperty(trap, 'boom', {
      enumerable: true,
      get: () => {
        throw new Error('nope');
      },
    });
    const r = createSealer().seal(draft(trap as VcpPayload));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues[0]).toMatchObject({ rule: 'readable' });
  });

  it('validate: false skips the schema rules but still refuses what cannot be hashed', () => {
    const sealer = createSealer({ validate: false });
    expect(sealer.seal(draft({ trade_data: { order_id: 'x', price: 1.085 } } as never)).ok).toBe(true);
    const r = sealer.seal(draft({ ratio: Number.NaN }));
    expect(r.ok).toBe(false);
  });

  it("numbers: 'convert' turns JS numbers in trade data into decimal strings", () => {
    const r = createSealer({ numbers: 'convert' }).seal(
      draft({ trade_data: { order_id: 'x', price: 1.085, quantity: 100000 } } as never),
    );
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.event.payload.trade_data).toMatchObject({ price: '1.085', quantity: '100000' });
  });
});
