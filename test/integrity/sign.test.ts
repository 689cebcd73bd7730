import * as nodeCrypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { ED25519_TORSION_SUBGROUP, ed25519 } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import { VcpValidationError } from '../../src/core/errors.ts';
import {
  exportPrivateKey,
  generateKeyPair,
  isStrictPoint,
  keyId,
  loadPrivateKey,
} from '../../src/integrity/keys.ts';
import {
  createSigner,
  decodeSignatureB64,
  generateSigningKey,
  SIGN_ALGO,
  signEd25519,
  verifyEd25519,
  verifySignature,
} from '../../src/integrity/sign.ts';

const ED = join(import.meta.dirname, '../vectors/data/ed25519');
const readJson = <T>(name: string): T => JSON.parse(readFileSync(join(ED, name), 'utf8')) as T;
const h = (s: string) => Buffer.from(s, 'hex');

// ---------------------------------------------------------------------------
// Standard vectors

describe('RFC 8032 §7.1 test vectors', () => {
  const { vectors } = readJson<{
    vectors: { name: string; secret: string; public: string; message: string; signature: string }[];
  }>('rfc8032_section7_1_ed25519.json');

  it('has the five published vectors', () => {
    expect(vectors.map((v) => v.name)).toEqual(['TEST 1', 'TEST 2', 'TEST 3', 'TEST 1024', 'TEST SHA(abc)']);
  });

  for (const v of vectors) {
    it(`${v.name}: derives the public key, re-signs byte-identically, verifies, rejects a changed message`, () => {
      const key = loadPrivateKey(v.secret);
      expect(createSigner(key).exportPublicKey('hex')).toBe(v.public);
      expect(signEd25519(h(v.message), key).toString('hex')).toBe(v.signature);
      expect(verifyEd25519(h(v.message), h(v.signature), h(v.public))).toBe(true);
      const changed = Buffer.concat([h(v.message), Buffer.from([0])]);
      expect(verifyEd25519(changed, h(v.signature), h(v.public))).toBe(false);
    });
  }
});

describe('Wycheproof ed25519_test.json', () => {
  interface WTest {
    tcId: number;
    comment: string;
    msg: string;
    sig: string;
    result: 'valid' | 'invalid' | 'acceptable';
  }
  interface WGroup {
    publicKey: { pk: string };
    publicKeyPem: string;
    publicKeyJwk: { kty: string; crv: string; x: string };
    tests: WTest[];
  }
  const w = readJson<{ numberOfTests: number; testGroups: WGroup[] }>('wycheproof_ed25519_test.json');
  const all = w.testGroups.flatMap((g) => g.tests.map((t) => ({ g, t })));

  it('has 151 tests, 88 valid and 63 invalid, none "acceptable" (so no policy choice is needed)', () => {
    expect(all.length).toBe(w.numberOfTests);
    expect(all.length).toBe(151);
    expect(all.filter(({ t }) => t.result === 'valid').length).toBe(88);
    expect(all.filter(({ t }) => t.result === 'invalid').length).toBe(63);
  });

  it('verifyEd25519 agrees with the expected result on 151/151', () => {
    const disagree = all
      .filter(({ g, t }) => verifyEd25519(h(t.msg), h(t.sig), h(g.publicKey.pk)) !== (t.result === 'valid'))
      .map(({ t }) => `${t.tcId} ${t.comment}`);
    expect(disagree).toEqual([]);
  });

  it('verifySignature (base64, PEM / JWK keys) agrees on every test whose message is 32 bytes', () => {
    let checked = 0;
    for (const { g, t } of all) {
      const msg = h(t.msg);
      if (msg.length !== 32) continue;
      const b64 = h(t.sig).toString('base64');
      for (const key of [g.publicKeyPem, g.publicKeyJwk, g.publicKey.pk]) {
        expect(verifySignature(t.msg, b64, key), `tcId ${t.tcId}`).toBe(t.result === 'valid');
      }
      checked++;
    }
    expect(checked).toBe(3); // tcIds with a 32-byte message: one valid, one invalid, one valid
  });
});

describe('ed25519.cr.yp.to / SUPERCOP sign.input (1024 vectors)', () => {
  const lines = readFileSync(join(ED, 'cr.yp.to_sign.input.txt'), 'utf8').trim().split('\n');

  it('has 1024 lines', () => {
    expect(lines.length).toBe(1024);
  });

  it('loads each 64-byte secret (seed ‖ pk), re-signs identically, verifies; a flipped message bit fails', () => {
    const failures: number[] = [];
    lines.forEach((line, i) => {
      const [sk64, pk, msgHex, sigAndMsg] = line.split(':') as [string, string, string, string];
      const sig = sigAndMsg.slice(0, 128);
      expect(sigAndMsg.slice(128)).toBe(msgHex); // the format appends the message to the signature
      const key = loadPrivateKey(sk64);
      const msg = h(msgHex);
      const ok =
        createSigner(key).exportPublicKey('hex') === pk &&
        signEd25519(msg, key).toString('hex') === sig &&
        verifyEd25519(msg, h(sig), h(pk));
      const flipped = Buffer.from(msg.length ? msg : [0]);
      flipped[0]! ^= 1;
      if (!ok || verifyEd25519(flipped, h(sig), h(pk))) failures.push(i);
    });
    expect(failures).toEqual([]);
  });
});

// ---------------------------------------------------------------------------
// Edge cases where verifiers differ: pin our policy

describe('"Taming the many EdDSAs" (eprint 2020/1244) edge cases: strict policy accepts case 3 only', () => {
  const cases = readJson<{ message: string; pub_key: string; signature: string }[]>(
    'edge-cases_eprint-2020-1244.json',
  );

  // Why each case is refused. Node 22 (OpenSSL 3.0) alone accepts 0, 1, 2, 3, 11;
  // Node 24 (OpenSSL 3.5) alone accepts only 3. Our own checks run first, so the
  // verdict is the same on both: small-order A or R and non-canonical encodings
  // are refused before OpenSSL sees them; 4 and 5 hold only under the
  // cofactored equation (RFC 8032 §5.1.7 allows either; we use cofactorless,
  // which is what OpenSSL computes).
  const reason: Record<number, string> = {
    0: 'small-order A (and R), S = 0',
    1: 'small-order A',
    2: 'small-order R',
    3: 'accepted: ordinary valid signature with mixed-order A and R',
    4: 'valid only under the cofactored equation',
    5: 'valid only under the cofactored equation (8h reduced)',
    6: 'S ≥ L (malleated)',
    7: 'S ≥ 2^253',
    8: 'non-canonical R (y = p − 1 with sign bit set, small order)',
    9: 'non-canonical R',
    10: 'non-canonical, small-order A',
    11: 'non-canonical, small-order A (the cofactored check would pass)',
  };

  it('has 12 cases', () => {
    expect(cases.length).toBe(12);
  });

  it('accepts exactly {3}', () => {
    const accepted = cases
      .map((c, i) => (verifyEd25519(h(c.message), h(c.signature), h(c.pub_key)) ? i : -1))
      .filter((i) => i >= 0);
    expect(accepted, JSON.stringify(reason)).toEqual([3]);
  });

  it('refuses cases 0, 1, 10, 11 at the public key and 0, 2, 8, 9 at R, whatever OpenSSL would say', () => {
    const weakA = cases.map((c, i) => (isStrictPoint(h(c.pub_key)) ? -1 : i)).filter((i) => i >= 0);
    const weakR = cases
      .map((c, i) => (isStrictPoint(h(c.signature).subarray(0, 32)) ? -1 : i))
      .filter((i) => i >= 0);
    expect(weakA).toEqual([0, 1, 10, 11]);
    expect(weakR).toEqual([0, 2, 8, 9]);
  });

  it('the cofactored-only cases 4 and 5 are real signatures (noble, cofactored, accepts them) that we refuse', () => {
    for (const i of [4, 5]) {
      const c = cases[i]!;
      expect(ed25519.verify(h(c.signature), h(c.message), h(c.pub_key), { zip215: false })).toBe(true);
      expect(verifyEd25519(h(c.message), h(c.signature), h(c.pub_key))).toBe(false);
    }
  });
});

describe('ZIP-215 vectors (small-order keys and non-canonical encodings)', () => {
  const cases =
    readJson<{ vk_bytes: string; sig_bytes: string; valid_legacy: boolean; valid_zip215: boolean }[]>(
      'zip215.json',
    );
  const msg = Buffer.from('Zcash'); // the message every ZIP-215 vector signs

  it('has 196 cases, all valid under ZIP-215 rules (noble zip215:true agrees, proving the message)', () => {
    expect(cases.length).toBe(196);
    for (const c of cases) {
      expect(c.valid_zip215).toBe(true);
      expect(ed25519.verify(h(c.sig_bytes), msg, h(c.vk_bytes), { zip215: true })).toBe(true);
    }
  });

  it('strict verification accepts none of them: every key is small-order or non-canonical', () => {
    expect(cases.filter((c) => verifyEd25519(msg, h(c.sig_bytes), h(c.vk_bytes))).length).toBe(0);
    expect(cases.filter((c) => isStrictPoint(h(c.vk_bytes))).length).toBe(0);
  });
});

describe('isStrictPoint (canonical, not small order)', () => {
  it('refuses all 8 torsion points, with either sign bit', () => {
    expect(ED25519_TORSION_SUBGROUP.length).toBe(8);
    for (const t of ED25519_TORSION_SUBGROUP) {
      const b = h(t);
      expect(isStrictPoint(b), t).toBe(false);
      b[31]! ^= 0x80;
      expect(isStrictPoint(b), `${t} sign-flipped`).toBe(false);
    }
  });

  it('refuses every non-canonical y (p … 2^255 − 1), with either sign bit', () => {
    for (let k = 0; k < 19; k++) {
      const b = Buffer.alloc(32, 0xff);
      b[0] = 0xed + k;
      b[31] = 0x7f;
      expect(isStrictPoint(b), `p + ${k}`).toBe(false);
      b[31] = 0xff;
      expect(isStrictPoint(b), `p + ${k} sign`).toBe(false);
    }
  });

  it('accepts p − 2 (the largest canonical y) when it is not small-order', () => {
    const b = Buffer.alloc(32, 0xff);
    b[0] = 0xeb;
    b[31] = 0x7f;
    expect(isStrictPoint(b)).toBe(true);
  });

  it('accepts 300 random real public keys (noble: not small order) and refuses wrong lengths', () => {
    for (let i = 0; i < 300; i++) {
      const pk = ed25519.getPublicKey(ed25519.utils.randomSecretKey());
      expect(ed25519.Point.fromBytes(pk).isSmallOrder()).toBe(false);
      expect(isStrictPoint(pk)).toBe(true);
    }
    expect(isStrictPoint(new Uint8Array(31))).toBe(false);
    expect(isStrictPoint(new Uint8Array(33))).toBe(false);
  });
});

// ---------------------------------------------------------------------------
// Signer

describe('Signer', () => {
  // RFC 8032 TEST 1 key, so the golden values below are reproducible anywhere.
  const SEED = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60';
  const PUB = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a';
  const HASH = nodeCrypto.createHash('sha256').update('abc').digest('hex');

  it('keyId is the first 32 hex chars of SHA-256(raw public key) (wire format: pinned)', () => {
    const s = createSigner(SEED);
    expect(s.keyId).toBe(nodeCrypto.createHash('sha256').update(h(PUB)).digest('hex').slice(0, 32));
    expect(s.keyId).toBe('21fe31dfa154a261626bf854046fd227');
    expect(s.algorithm).toBe('ED25519');
    expect(SIGN_ALGO).toBe('ED25519');
  });

  it('signs the RAW 32 bytes of the hash, not its hex text; base64 with padding (pinned)', () => {
    const s = createSigner(SEED);
    const sig = s.sign(HASH);
    expect(sig).toBe(
      'CW9VadgH7orHsZE9pwzwqrM1wlj0uUyPIQ3RQel0OSfI0aazeIcqcslEbB915tx7Le+YvQwhS+ZwbUh5H1doCg==',
    );
    // An independent implementation produces the same deterministic signature.
    expect(Buffer.from(ed25519.sign(h(HASH), h(SEED))).toString('base64')).toBe(sig);
    expect(sig).toMatch(/^[A-Za-z0-9+/]{86}==$/);
    const sigBytes = Buffer.from(sig, 'base64');
    expect(nodeCrypto.verify(null, h(HASH), s.publicKey, sigBytes)).toBe(true);
    expect(nodeCrypto.verify(null, Buffer.from(HASH), s.publicKey, sigBytes)).toBe(false);
    expect(ed25519.verify(sigBytes, h(HASH), h(PUB))).toBe(true); // an independent implementation agrees
  });

  it('gives the same signature for hex (any case) and bytes input, and signBytes matches sign', () => {
    const s = createSigner(SEED);
    const sig = s.sign(HASH);
    expect(s.sign(HASH.toUpperCase())).toBe(sig);
    expect(s.sign(h(HASH))).toBe(sig);
    expect(s.sign(new Uint8Array(h(HASH)))).toBe(sig);
    expect(s.signBytes(HASH).toString('base64')).toBe(sig);
  });

  it('round trip: generateSigningKey → sign → verifySignature, with the key in every export form', () => {
    const s = generateSigningKey();
    const sig = s.sign(HASH);
    for (const key of [
      s.publicKey,
      s.exportPublicKey('pem'),
      s.exportPublicKey('hex'),
      s.exportPublicKey('jwk'),
    ]) {
      expect(verifySignature(HASH, sig, key)).toBe(true);
    }
    expect(verifySignature(HASH, sig, generateSigningKey().publicKey)).toBe(false);
    const other = nodeCrypto.createHash('sha256').update('abd').digest('hex');
    expect(verifySignature(other, sig, s.publicKey)).toBe(false);
  });

  it('createSigner accepts PEM, JWK, hex, raw bytes and KeyObject forms of one key: same keyId, same signature', () => {
    const pair = generateKeyPair();
    const forms = [
      pair.privateKey,
      exportPrivateKey(pair.privateKey, 'pem'),
      exportPrivateKey(pair.privateKey, 'jwk'),
      exportPrivateKey(pair.privateKey, 'hex'),
      h(exportPrivateKey(pair.privateKey, 'hex')),
    ];
    const sigs = new Set(forms.map((f) => createSigner(f).sign(HASH)));
    const ids = new Set(forms.map((f) => createSigner(f).keyId));
    expect(sigs.size).toBe(1);
    expect([...ids]).toEqual([pair.keyId]);
  });

  it('refuses to sign anything but 32 bytes / 64 hex chars (VcpValidationError path hash, rule hash32)', () => {
    const s = createSigner(SEED);
    const bad: unknown[] = [
      HASH.slice(0, 63),
      `${HASH}0`,
      `${HASH.slice(0, 62)}zz`,
      ` ${HASH}`,
      '',
      new Uint8Array(31),
      new Uint8Array(33),
      Buffer.from(HASH),
      null,
      undefined,
      42,
      {},
      [HASH],
    ];
    for (const b of bad) {
      for (const fn of [(x: unknown) => s.sign(x as string), (x: unknown) => s.signBytes(x as string)]) {
        let err: unknown;
        try {
          fn(b);
        } catch (e) {
          err = e;
        }
        expect(err, inspect(b)).toBeInstanceOf(VcpValidationError);
        expect((err as VcpValidationError).rule).toBe('hash32');
        expect((err as VcpValidationError).path).toBe('hash');
      }
    }
  });

  it('never shows the private key: JSON, util.inspect, enumerable properties', () => {
    const s = createSigner(SEED);
    const dB64 = h(SEED).toString('base64url');
    for (const text of [
      JSON.stringify(s),
      inspect(s, { depth: 5, showHidden: true }),
      String(Object.keys(s)),
    ]) {
      expect(text).not.toContain(SEED);
      expect(text).not.toContain(SEED.slice(0, 16));
      expect(text).not.toContain(dB64.slice(0, 16));
    }
    expect(JSON.parse(JSON.stringify(s))).toEqual({ algorithm: 'ED25519', keyId: s.keyId, publicKey: PUB });
  });

  it('signEd25519 signs messages of any length and refuses non-bytes', () => {
    const key = loadPrivateKey(SEED);
    const msg = Buffer.alloc(1000, 7);
    expect(verifyEd25519(msg, signEd25519(msg, key), h(PUB))).toBe(true);
    expect(() => signEd25519('text' as unknown as Uint8Array, key)).toThrow(VcpValidationError);
  });
});

// ---------------------------------------------------------------------------
// verifySignature / verifyEd25519 never throw

describe('verification returns false (never throws) on malformed input', () => {
  const s = createSigner('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
  const HASH = nodeCrypto.createHash('sha256').update('order-1').digest('hex');
  const SIG = s.sign(HASH);
  const PUB = s.exportPublicKey('hex');

  const junk: unknown[] = [
    undefined,
    null,
    0,
    Number.NaN,
    1n,
    true,
    {},
    [],
    Symbol('x'),
    () => true,
    '',
    ' ',
    new Uint8Array(0),
    { toString: () => HASH },
    new Proxy(
      {},
      {
        get() {
          throw new Error('hostile getter');
        },
      },
    ),
  ];

  it('the well-formed triple verifies (baseline)', () => {
    expect(verifySignature(HASH, SIG, PUB)).toBe(true);
    expect(verifySignature(HASH.toUpperCase(), SIG, PUB)).toBe(true);
    expect(verifySignature(h(HASH), SIG, h(PUB))).toBe(true);
  });

  it('junk in any argument position → false', () => {
    for (const j of junk) {
      expect(verifySignature(j, SIG, PUB), `hash ${inspect(j)}`).toBe(false);
      expect(verifySignature(HASH, j, PUB), `sig ${inspect(j)}`).toBe(false);
      expect(verifySignature(HASH, SIG, j), `key ${inspect(j)}`).toBe(false);
      expect(verifyEd25519(j, Buffer.from(SIG, 'base64'), h(PUB)), `msg ${inspect(j)}`).toBe(false);
      expect(verifyEd25519(h(HASH), j, h(PUB)), `sig ${inspect(j)}`).toBe(false);
      expect(verifyEd25519(h(HASH), Buffer.from(SIG, 'base64'), j), `key ${inspect(j)}`).toBe(false);
    }
  });

  it('hash: wrong length, non-hex, whitespace, the hex text as bytes → false', () => {
    for (const bad of [
      HASH.slice(0, 62),
      `${HASH}00`,
      `${HASH.slice(0, 63)}g`,
      `${HASH}\n`,
      Buffer.from(HASH),
    ]) {
      expect(verifySignature(bad, SIG, PUB)).toBe(false);
    }
  });

  it('signature text: must be exactly 88 chars of canonical, padded, standard base64', () => {
    const raw = Buffer.from(SIG, 'base64');
    const variants = [
      SIG.slice(0, 86), // unpadded
      `${SIG}=`,
      `${SIG.slice(0, 87)}`,
      ` ${SIG.slice(1)}`,
      `${SIG.slice(0, 44)}\n${SIG.slice(44, 87)}`,
      raw.toString('hex'),
      raw as unknown as string, // bytes are not accepted where text is expected
    ];
    // The same bytes with a non-zero padding bit: Buffer would decode it to the
    // same signature, so without the canonical check one signature had 16 texts.
    const last = SIG[85]!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const bumped = alphabet[alphabet.indexOf(last) + 1]!;
    variants.push(`${SIG.slice(0, 85)}${bumped}==`);
    expect(Buffer.from(variants.at(-1)!, 'base64').equals(raw)).toBe(true);
    for (const v of variants) expect(verifySignature(HASH, v, PUB), JSON.stringify(v)).toBe(false);
    expect(decodeSignatureB64(SIG)?.equals(raw)).toBe(true);
    expect(decodeSignatureB64(`${SIG.slice(0, 85)}${bumped}==`)).toBeUndefined();
  });

  it('base64url text of a signature containing - or _ → false', () => {
    // Find a signature whose base64 has + or /, so the url-safe text differs.
    for (let i = 0; ; i++) {
      const hash = nodeCrypto.createHash('sha256').update(`m${i}`).digest('hex');
      const sig = s.sign(hash);
      if (!/[+/]/.test(sig)) continue;
      expect(verifySignature(hash, sig, PUB)).toBe(true);
      expect(verifySignature(hash, sig.replace(/\+/g, '-').replace(/\//g, '_'), PUB)).toBe(false);
      break;
    }
  });

  it('a malleated signature (S + L) and a flipped bit → false', () => {
    const raw = Buffer.from(SIG, 'base64');
    const L = (1n << 252n) + 27742317777372353535851937790883648493n;
    const S = BigInt(`0x${Buffer.from(raw.subarray(32)).reverse().toString('hex')}`);
    const sPlusL = Buffer.from((S + L).toString(16).padStart(64, '0'), 'hex').reverse();
    const malleated = Buffer.concat([raw.subarray(0, 32), sPlusL]);
    expect(verifySignature(HASH, malleated.toString('base64'), PUB)).toBe(false);
    expect(verifyEd25519(h(HASH), malleated, h(PUB))).toBe(false);
    for (const bit of [0, 255, 256, 511]) {
      const flipped = Buffer.from(raw);
      flipped[bit >> 3]! ^= 1 << (bit & 7);
      expect(verifySignature(HASH, flipped.toString('base64'), PUB), `bit ${bit}`).toBe(false);
    }
  });

  it('keys: wrong key, small-order key, RSA / X25519 / private KeyObjects, garbage text → false', () => {
    const rsa = nodeCrypto.generateKeyPairSync('rsa', { modulusLength: 1024 });
    const x = nodeCrypto.generateKeyPairSync('x25519');
    const keys: unknown[] = [
      generateSigningKey().exportPublicKey('hex'),
      ED25519_TORSION_SUBGROUP[1],
      PUB.slice(0, 62),
      `${PUB}00`,
      'zz'.repeat(32),
      '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----',
      rsa.publicKey,
      rsa.publicKey.export({ type: 'spki', format: 'pem' }),
      x.publicKey,
      loadPrivateKey('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60'),
      nodeCrypto.createSecretKey(Buffer.alloc(32)),
      { kty: 'OKP', crv: 'X25519', x: h(PUB).toString('base64url') },
      'x'.repeat(1_000_000),
      new Uint8Array(1_000_000),
    ];
    for (const k of keys) expect(verifySignature(HASH, SIG, k), inspect(k).slice(0, 80)).toBe(false);
  });

  it('verifyEd25519: wrong-length signature or key → false', () => {
    const raw = Buffer.from(SIG, 'base64');
    expect(verifyEd25519(h(HASH), raw, h(PUB))).toBe(true);
    expect(verifyEd25519(h(HASH), raw.subarray(0, 63), h(PUB))).toBe(false);
    expect(verifyEd25519(h(HASH), Buffer.concat([raw, Buffer.from([0])]), h(PUB))).toBe(false);
    expect(verifyEd25519(h(HASH), raw, h(PUB).subarray(0, 31))).toBe(false);
    expect(verifyEd25519(h(HASH), raw, Buffer.concat([h(PUB), Buffer.from([0])]))).toBe(false);
  });

  it('the key cache is keyed by content: reusing a mutated key buffer gives the right answer', () => {
    const other = generateSigningKey();
    const buf = Buffer.from(h(PUB));
    const raw = Buffer.from(SIG, 'base64');
    expect(verifyEd25519(h(HASH), raw, buf)).toBe(true);
    h(other.exportPublicKey('hex')).copy(buf);
    expect(verifyEd25519(h(HASH), raw, buf)).toBe(false);
    expect(verifyEd25519(h(HASH), Buffer.from(other.sign(HASH), 'base64'), buf)).toBe(true);
  });

  it('keyId and verify agree across hundreds of distinct keys (cache bound does not break results)', () => {
    for (let i = 0; i < 300; i++) {
      const k = generateSigningKey();
      const sig = k.sign(HASH);
      expect(verifySignature(HASH, sig, k.exportPublicKey('hex'))).toBe(true);
      expect(verifySignature(HASH, SIG, k.exportPublicKey('hex'))).toBe(false);
      expect(keyId(k.publicKey)).toBe(k.keyId);
    }
    expect(verifySignature(HASH, SIG, PUB)).toBe(true);
  });
});
