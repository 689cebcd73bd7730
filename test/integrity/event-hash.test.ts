import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildEvent } from '../../src/core/builder.ts';
import { createFixedClock } from '../../src/core/clock.ts';
import { VcpCanonicalizationError, VcpValidationError } from '../../src/core/errors.ts';
import { createPolicy } from '../../src/core/policy.ts';
import { createUuidV7Generator } from '../../src/core/uuidv7.ts';
import { canonicalize } from '../../src/integrity/canonical.ts';
import { createHashChain } from '../../src/integrity/chain.ts';
import { _digestNoble } from '../../src/integrity/digest.ts';
import {
  computeEventHash,
  computeEventHashVariant,
  GENESIS_HASH,
  pythonJsonDumpsSorted,
} from '../../src/integrity/event-hash.ts';
import { sealEvent } from '../../src/integrity/seal.ts';
import { generateSigningKey, verifySignature } from '../../src/integrity/sign.ts';

const sha256 = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

const header = {
  event_id: '0193f1e2-7b3a-7c4d-8e5f-0a1b2c3d4e5f',
  trace_id: '0193f1e2-7b3a-7c4d-8e5f-0a1b2c3d4e60',
  timestamp_int: '1735084800123456789',
  timestamp_iso: '2024-12-25T00:00:00.123456789Z',
  event_type: 'ORD',
  event_type_code: 2,
  timestamp_precision: 'NANOSECOND',
  clock_sync_status: 'NTP_SYNCED',
  hash_algo: 'SHA256',
  venue_id: 'XLON',
  symbol: 'EURUSD',
  account_id: 'ACC-1',
  vcp_version: '1.1',
};
const payload = {
  trade_data: { order_id: 'ORD-1', side: 'BUY', price: '1.0850', quantity: '100000', note: 'ünïcødé €' },
};

describe('computeEventHash (spec v1.1 §6.1)', () => {
  it('is SHA-256 over JCS(header) ‖ JCS(payload), lowercase hex', () => {
    const expected = sha256(Buffer.from(canonicalize(header) + canonicalize(payload), 'utf8'));
    expect(computeEventHash({ header, payload })).toBe(expected);
    expect(computeEventHash({ header, payload })).toMatch(/^[0-9a-f]{64}$/);
  });

  it('does not depend on key order or on security / policy blocks', () => {
    const shuffled = Object.fromEntries(Object.entries(header).reverse());
    const withExtras = {
      header: shuffled,
      payload,
      security: { event_hash: 'x' },
      policy_identification: { policy_id: 'p' },
    };
    expect(computeEventHash(withExtras)).toBe(computeEventHash({ header, payload }));
  });

  it('appends prev_hash when chaining, except the genesis value', () => {
    const prev = 'ab'.repeat(32);
    const base = canonicalize(header) + canonicalize(payload);
    expect(computeEventHash({ header, payload }, { prevHash: prev })).toBe(sha256(base + prev));
    expect(computeEventHash({ header, payload }, { prevHash: GENESIS_HASH })).toBe(sha256(base));
  });

  it('SHA3_256 and BLAKE3 agree with @noble/hashes byte for byte', () => {
    const input = canonicalize(header) + canonicalize(payload);
    for (const algo of ['SHA3_256', 'BLAKE3'] as const) {
      expect(computeEventHash({ header, payload }, { algo })).toBe(
        Buffer.from(_digestNoble(algo, input)).toString('hex'),
      );
    }
  });

  it('refuses what cannot be hashed, with clear errors', () => {
    expect(() => computeEventHash({ header, payload: { x: Number.NaN } })).toThrow(VcpCanonicalizationError);
    expect(() => computeEventHash({ header, payload }, { prevHash: 'abc' })).toThrow(VcpValidationError);
    expect(() => computeEventHash({ header, payload }, { prevHash: 'AB'.repeat(32) })).toThrow(
      /lowercase hex/,
    );
    expect(() => computeEventHash({ header, payload }, { algo: 'MD5' as never })).toThrow(VcpValidationError);
    expect(() => computeEventHash(null as never)).toThrow(/header, payload/);
  });
});

describe('hash variants in circulation', () => {
  it('vcp-1.0-sdk prefixes the algorithm byte and appends prev_hash as given (genesis zeros too), nothing when absent', () => {
    const v10 = (text: string) => sha256(Buffer.concat([Buffer.from([0x00]), Buffer.from(text, 'utf8')]));
    const body = canonicalize(header) + canonicalize(payload);
    const genesis = computeEventHashVariant('vcp-1.0-sdk', { header, payload }, { prevHash: GENESIS_HASH });
    expect(genesis).toBe(v10(body + GENESIS_HASH));
    expect(computeEventHashVariant('vcp-1.0-sdk', { header, payload })).toBe(v10(body));
    expect(() => computeEventHashVariant('vcp-1.0-sdk', { header, payload }, { prevHash: 'zz' })).toThrow(
      /prevHash must be 64 lowercase hex/,
    );
  });

  it('guide-sidecar reproduces Python json.dumps(sort_keys=True, separators=(",",":"))', () => {
    // What CPython 3.11 prints for this value (ensure_ascii escapes, code-point key order, float repr).
    const value = { b: 1.5, a: ['é', '\u2028', 'x"y'], '\u{1F600}': 1e-7, c: 1e16, d: 100, e: true, f: null };
    expect(pythonJsonDumpsSorted(value)).toBe(
      '{"a":["\\u00e9","\\u2028","x\\"y"],"b":1.5,"c":1e+16,"d":100,"e":true,"f":null,"\\ud83d\\ude00":1e-07}',
    );
    const hash = computeEventHashVariant('guide-sidecar', { header, payload });
    expect(hash).toBe(sha256(pythonJsonDumpsSorted({ header, payload })));
  });
});

describe('sealEvent with a chain and a signer', () => {
  const policy = createPolicy({ policyId: 'com.example.trading:seal-test', tier: 'GOLD', hashChain: true });
  const clock = createFixedClock('1735084800000000000', 1000);
  const newId = createUuidV7Generator(
    () => 1735084800000,
    (b) => b.fill(1),
  );

  it('links each event to the previous one and signs the raw hash bytes', () => {
    const signer = generateSigningKey();
    const chain = createHashChain();
    const events = ['SIG', 'ORD', 'ACK', 'EXE'].map((t) =>
      sealEvent(buildEvent(t as 'ORD', t === 'SIG' ? {} : payload, { policy, clock, newId }), {
        signer,
        chain,
      }),
    );
    expect(events[0]!.security.prev_hash).toBe(GENESIS_HASH);
    for (let i = 1; i < events.length; i++) {
      expect(events[i]!.security.prev_hash).toBe(events[i - 1]!.security.event_hash);
      expect(events[i]!.security.event_hash).toBe(
        computeEventHash(events[i]!, { prevHash: events[i - 1]!.security.event_hash }),
      );
    }
    expect(chain.length).toBe(4);
    expect(chain.prev).toBe(events[3]!.security.event_hash);
    for (const e of events) {
      expect(e.security).toMatchObject({
        hash_algo: 'SHA256',
        sign_algo: 'ED25519',
        signing_key_id: signer.keyId,
      });
      expect(verifySignature(e.security.event_hash, e.security.signature, signer.publicKey)).toBe(true);
    }
  });

  it('without a chain or signer gives just the hash', () => {
    const e = sealEvent(buildEvent('ORD', payload, { policy, clock, newId }));
    expect(Object.keys(e.security).sort()).toEqual(['event_hash', 'hash_algo', 'version']);
  });

  it('a resumed chain continues from the last hash, and refuses garbage', () => {
    const last = 'cd'.repeat(32);
    const chain = createHashChain(last, 10);
    const e = sealEvent(buildEvent('ORD', payload, { policy, clock, newId }), { chain });
    expect(e.security.prev_hash).toBe(last);
    expect(chain.length).toBe(11);
    expect(() => createHashChain('nothex')).toThrow(VcpValidationError);
  });
});
