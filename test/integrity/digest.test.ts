import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VcpValidationError } from '../../src/core/errors.ts';
import {
  _digestNoble,
  assertHashAlgo,
  DEFAULT_HASH_ALGO,
  digest,
  digestHex,
  HASH_ALGOS,
  type HashAlgo,
  isHashAlgo,
} from '../../src/integrity/digest.ts';
import { prng } from '../helpers/prng.ts';

const VECTORS = join(import.meta.dirname, '../vectors/data');

interface FipsVector {
  msgUtf8?: string;
  msgRepeat?: { char: string; count: number };
  want: string;
}
const fips = JSON.parse(readFileSync(join(VECTORS, 'sha256/fips180_sha256.json'), 'utf8')) as {
  vectors: FipsVector[];
};

function randomBytes(rand: () => number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(rand() * 256);
  return out;
}

/** Random text mixing ASCII, 2/3-byte UTF-8, astral pairs and, sometimes, lone surrogates. */
function randomText(rand: () => number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) {
    const r = rand();
    if (r < 0.6) s += String.fromCharCode(0x20 + Math.floor(rand() * 95));
    else if (r < 0.75) s += String.fromCharCode(0xa0 + Math.floor(rand() * 0x700));
    else if (r < 0.88) s += String.fromCharCode(0x3000 + Math.floor(rand() * 0x5000));
    else if (r < 0.97) s += String.fromCodePoint(0x1f300 + Math.floor(rand() * 0x300));
    else s += String.fromCharCode(0xd800 + Math.floor(rand() * 0x800)); // lone surrogate
  }
  return s;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('HASH_ALGOS', () => {
  it('lists the three spec v1.1 HashAlgo values, SHA256 (the default) first', () => {
    expect(HASH_ALGOS).toEqual(['SHA256', 'SHA3_256', 'BLAKE3']);
    expect(DEFAULT_HASH_ALGO).toBe('SHA256');
  });

  it('isHashAlgo accepts exactly those spellings', () => {
    for (const a of HASH_ALGOS) expect(isHashAlgo(a)).toBe(true);
    for (const a of ['sha256', 'SHA-256', 'SHA3-256', 'blake3', 'SHA3_512', '', null, undefined, 1, {}]) {
      expect(isHashAlgo(a)).toBe(false);
    }
  });
});

describe('SHA256: FIPS 180 vectors', () => {
  for (const v of fips.vectors) {
    const msg = v.msgUtf8 ?? v.msgRepeat!.char.repeat(v.msgRepeat!.count);
    const label =
      v.msgUtf8 !== undefined ? JSON.stringify(v.msgUtf8.slice(0, 20)) : `${v.msgRepeat!.count} × 'a'`;
    it(`${label} (node:crypto as string and bytes, and noble)`, () => {
      expect(digestHex('SHA256', msg)).toBe(v.want);
      expect(digestHex('SHA256', Buffer.from(msg, 'utf8'))).toBe(v.want);
      expect(digest('SHA256', msg).toString('hex')).toBe(v.want);
      expect(hex(_digestNoble('SHA256', msg))).toBe(v.want);
    });
  }
});

describe('SHA3_256 and BLAKE3 known answers', () => {
  // SHA3-256: FIPS 202 examples (NIST CSRC). BLAKE3: the reference implementation's test_vectors.json (input length 0) and the README's "abc".
  const known: [HashAlgo, string, string][] = [
    ['SHA3_256', '', 'a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a'],
    ['SHA3_256', 'abc', '3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532'],
    ['BLAKE3', '', 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262'],
    ['BLAKE3', 'abc', '6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85'],
  ];
  for (const [algo, msg, want] of known) {
    it(`${algo}(${JSON.stringify(msg)})`, () => {
      expect(digestHex(algo, msg)).toBe(want);
      expect(digest(algo, new TextEncoder().encode(msg)).toString('hex')).toBe(want);
      expect(hex(_digestNoble(algo, msg))).toBe(want);
    });
  }
});

describe('node:crypto and @noble/hashes agree byte for byte', () => {
  const lengths = [
    ...Array.from({ length: 300 }, (_, i) => i),
    511,
    512,
    513,
    1000,
    1024,
    4095,
    4096,
    65_537,
  ];

  for (const algo of ['SHA256', 'SHA3_256'] as const) {
    it(`${algo}: random bytes of ${lengths.length} lengths (0..299, block edges, 64 KiB + 1)`, () => {
      const rand = prng(algo === 'SHA256' ? 1 : 2);
      for (const n of lengths) {
        const data = randomBytes(rand, n);
        const want = hex(_digestNoble(algo, data));
        expect(digestHex(algo, data), `length ${n}`).toBe(want);
        expect(digest(algo, data).toString('hex'), `length ${n}`).toBe(want);
      }
    });

    it(`${algo}: random Unicode strings (astral, lone surrogates) hash as their UTF-8 bytes`, () => {
      const rand = prng(algo === 'SHA256' ? 3 : 4);
      for (let n = 0; n < 400; n += 1 + Math.floor(rand() * 7)) {
        const s = randomText(rand, n);
        const want = hex(_digestNoble(algo, s));
        expect(digestHex(algo, s), `length ${n}`).toBe(want);
        expect(digest(algo, s).toString('hex')).toBe(want);
        expect(digestHex(algo, new TextEncoder().encode(s))).toBe(want);
      }
    });
  }
});

describe('input handling', () => {
  it('hashes strings as UTF-8: "é" equals its two bytes, a lone surrogate equals U+FFFD', () => {
    for (const algo of HASH_ALGOS) {
      expect(digestHex(algo, 'é')).toBe(digestHex(algo, new Uint8Array([0xc3, 0xa9])));
      expect(digestHex(algo, '\ud800')).toBe(digestHex(algo, '\ufffd'));
      expect(digestHex(algo, 'a\udc00b')).toBe(
        digestHex(algo, new Uint8Array([0x61, 0xef, 0xbf, 0xbd, 0x62])),
      );
    }
  });

  it('hashes only the viewed bytes of a Uint8Array that is a window on a larger buffer', () => {
    const big = Buffer.from('xxxxHELLOyyyy');
    const view = new Uint8Array(big.buffer, big.byteOffset + 4, 5);
    for (const algo of HASH_ALGOS) {
      expect(digestHex(algo, view)).toBe(digestHex(algo, 'HELLO'));
      expect(hex(_digestNoble(algo, view))).toBe(digestHex(algo, 'HELLO'));
    }
  });

  it('returns a 32-byte Buffer and 64 lowercase hex characters for every algorithm', () => {
    for (const algo of HASH_ALGOS) {
      const d = digest(algo, 'x');
      expect(Buffer.isBuffer(d)).toBe(true);
      expect(d.length).toBe(32);
      expect(digestHex(algo, 'x')).toMatch(/^[0-9a-f]{64}$/);
      expect(digestHex(algo, 'x')).toBe(d.toString('hex'));
    }
  });

  it('gives different digests for different algorithms on the same input', () => {
    const seen = new Set(HASH_ALGOS.map((a) => digestHex(a, 'order')));
    expect(seen.size).toBe(3);
  });
});

describe('errors', () => {
  const badAlgos: unknown[] = [
    'sha256',
    'SHA-256',
    'SHA3_512',
    'MD5',
    '',
    null,
    undefined,
    42,
    {},
    ['SHA256'],
  ];

  it.each(badAlgos.map((a) => [a]))(
    'unknown algorithm %j → VcpValidationError naming the allowed values',
    (algo) => {
      for (const fn of [digest, digestHex, _digestNoble]) {
        let err: unknown;
        try {
          fn(algo as HashAlgo, 'x');
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(VcpValidationError);
        const v = err as VcpValidationError;
        expect(v.path).toBe('algo');
        expect(v.rule).toBe('hash-algo');
        expect(v.message).toContain('SHA256, SHA3_256, BLAKE3');
      }
    },
  );

  it('does not echo a long bogus algorithm name', () => {
    const long = 'A'.repeat(10_000);
    expect(() => digestHex(long as HashAlgo, 'x')).toThrow(/a long string/);
  });

  it('assertHashAlgo reports the caller’s field path', () => {
    expect(() => assertHashAlgo('sha1', 'header.hash_algo')).toThrow(VcpValidationError);
    try {
      assertHashAlgo('sha1', 'header.hash_algo');
    } catch (e) {
      expect((e as VcpValidationError).path).toBe('header.hash_algo');
    }
    expect(() => assertHashAlgo('BLAKE3')).not.toThrow();
  });

  const badData: unknown[] = [
    null,
    undefined,
    42,
    Number.NaN,
    10n,
    true,
    {},
    [1, 2, 3],
    new ArrayBuffer(4),
    new Uint16Array(2),
    Symbol('x'),
    () => 1,
  ];
  it.each(badData.map((d) => [d]))('data %s → VcpValidationError (path data, rule bytes)', (data) => {
    for (const algo of HASH_ALGOS) {
      for (const fn of [digest, digestHex, _digestNoble]) {
        let err: unknown;
        try {
          fn(algo, data as string);
        } catch (e) {
          err = e;
        }
        expect(err, `${algo} ${fn.name}`).toBeInstanceOf(VcpValidationError);
        expect((err as VcpValidationError).rule).toBe('bytes');
        expect((err as VcpValidationError).path).toBe('data');
      }
    }
  });
});
