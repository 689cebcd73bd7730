/**
 * The typed-array hash tables behind the sidecar's id index and the
 * verifier's duplicate-id and hash-chain checks (src/core/word-key-table.ts),
 * against plain Maps: same answers through many growths, keys that differ in
 * one word only, exact or case-insensitive ids, whole 256-bit hashes.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  hexToWords,
  UuidTable,
  uuidToWords,
  WordKeyTable,
  wordsToUuid,
} from '../../src/core/word-key-table.ts';
import { prng } from '../helpers/prng.ts';

const sha = (i: number) => createHash('sha256').update(`h${i}`).digest('hex');

describe('UuidTable (the id index)', () => {
  it('agrees with a Map on 50 000 ids through several growths, case-insensitively, non-UUID ids included', () => {
    const table = new UuidTable();
    const ref = new Map<string, number>();
    for (let i = 0; i < 50_000; i++) {
      const id = i % 1000 === 7 ? `not-a-uuid-${i}` : crypto.randomUUID();
      table.set(id, i);
      ref.set(id.toLowerCase(), i);
    }
    expect(table.size).toBe(ref.size);
    for (const [id, i] of ref) {
      expect(table.get(id)).toBe(i);
      expect(table.get(id.toUpperCase())).toBe(i);
    }
    for (let i = 0; i < 1000; i++) expect(table.get(crypto.randomUUID())).toBeUndefined();
    // UUIDv7s made in one millisecond share their leading bits; they must still spread.
    const v7 = new UuidTable();
    const ids = Array.from(
      { length: 5000 },
      (_, i) => `01a21260-b704-7e29-8b5b-${i.toString(16).padStart(12, '0')}`,
    );
    for (const [i, id] of ids.entries()) v7.set(id, i);
    for (const [i, id] of ids.entries()) expect(v7.get(id)).toBe(i);
    // An id set again moves to its new index and is counted once.
    v7.set(ids[10]!.toUpperCase(), 5000);
    v7.set(ids[10]!, 5000);
    expect(v7.get(ids[10]!)).toBe(5000);
    expect(v7.size).toBe(5000);
    expect(v7.get(ids[11]!)).toBe(11);
  });
});

describe('UuidTable with exact ids (the verifier)', () => {
  it('compares ids as strings: an upper-case copy is another id, and non-UUIDs keep their case', () => {
    const t = new UuidTable({ caseInsensitive: false });
    const id = crypto.randomUUID();
    t.set(id, 1);
    expect(t.get(id)).toBe(1);
    expect(t.get(id.toUpperCase())).toBeUndefined();
    t.set(id.toUpperCase(), 2);
    expect(t.get(id)).toBe(1);
    expect(t.get(id.toUpperCase())).toBe(2);
    t.set('Not-A-UUID', 3);
    expect(t.get('not-a-uuid')).toBeUndefined();
    expect(t.get('Not-A-UUID')).toBe(3);
    expect(t.size).toBe(3);
  });
});

describe('getOrSet (a duplicate check and a first sighting in one probe)', () => {
  it('returns the held value and leaves it, or adds the key and returns undefined: UUID keys and Map ids alike', () => {
    const t = new UuidTable({ caseInsensitive: false });
    const id = crypto.randomUUID();
    expect(t.getOrSet(id, 7)).toBeUndefined();
    expect(t.getOrSet(id, 9)).toBe(7);
    expect(t.get(id)).toBe(7);
    expect(t.getOrSet('order-1', 3)).toBeUndefined();
    expect(t.getOrSet('order-1', 4)).toBe(3);
    expect(t.getOrSet('ORDER-1', 5)).toBeUndefined();
    expect(t.size).toBe(3);
    const w = new WordKeyTable(2);
    for (let i = 0; i < 5000; i++) expect(w.getOrSet([i, i ^ 0x5555], i)).toBeUndefined();
    for (let i = 0; i < 5000; i++) expect(w.getOrSet([i, i ^ 0x5555], -1)).toBe(i);
    expect(w.size).toBe(5000);
  });
});

describe('WordKeyTable', () => {
  it('agrees with a Map on 40 000 random 3-word keys, including keys one word apart, and overwrites in place', () => {
    const next = prng(0x7ab1e);
    const t = new WordKeyTable(3);
    const ref = new Map<string, number>();
    const keys: number[][] = [];
    for (let i = 0; i < 20_000; i++) {
      const k = [Math.floor(next() * 2 ** 32), Math.floor(next() * 2 ** 32), Math.floor(next() * 2 ** 32)];
      keys.push(k, [k[0]!, k[1]!, (k[2]! + 1) >>> 0]);
    }
    for (const [i, k] of keys.entries()) {
      t.set(k, i);
      ref.set(k.join(','), i);
    }
    for (const [i, k] of keys.entries())
      if (i % 7 === 0) {
        t.set(k, i + 1_000_000);
        ref.set(k.join(','), i + 1_000_000);
      }
    expect(t.size).toBe(ref.size);
    for (const k of keys) expect(t.get(k)).toBe(ref.get(k.join(',')));
    for (let i = 0; i < 2000; i++) expect(t.get([i, i, i])).toBe(ref.get([i, i, i].join(',')));
    expect(() => new WordKeyTable(0)).toThrow(RangeError);
  });
});

describe('SHA-256 hashes as 8-word keys (the chain check)', () => {
  it('keys on all 256 bits: hashes that share 224 of them are different entries', () => {
    const t = new WordKeyTable(8);
    const key = new Uint32Array(8);
    const put = (hex: string, v: number) => {
      expect(hexToWords(hex, key)).toBe(true);
      t.set(key, v);
    };
    const ref = new Map<string, number>();
    for (let i = 0; i < 30_000; i++) {
      const h = sha(i);
      const twin =
        h.slice(0, 56) + ((Number.parseInt(h.slice(56), 16) ^ 1) >>> 0).toString(16).padStart(8, '0');
      put(h, 2 * i);
      put(twin, 2 * i + 1);
      ref.set(h, 2 * i);
      ref.set(twin, 2 * i + 1);
    }
    expect(t.size).toBe(ref.size);
    for (const [h, v] of ref) {
      hexToWords(h, key);
      expect(t.get(key)).toBe(v);
    }
    hexToWords(sha(-1), key);
    expect(t.get(key)).toBeUndefined();
  });

  it('hexToWords takes exactly 8 × words lowercase hex digits, and decodes them big-endian', () => {
    const key = new Uint32Array(8);
    const h = sha(1);
    expect(hexToWords(h, key)).toBe(true);
    expect(Buffer.from(h, 'hex').readUInt32BE(28)).toBe(key[7]);
    expect(hexToWords(h.toUpperCase(), key)).toBe(false);
    expect(hexToWords(h.slice(1), key)).toBe(false);
    expect(hexToWords(`${h}0`, key)).toBe(false);
    expect(hexToWords(`${h.slice(0, 63)}g`, key)).toBe(false);
    expect(hexToWords(`${h.slice(0, 63)}\u0660`, key)).toBe(false); // an Arabic-Indic zero is not a digit here
    expect(hexToWords('f'.repeat(64), key)).toBe(true);
    expect([...key]).toEqual(Array(8).fill(0xffffffff));
  });
});

describe('UUIDs as 4-word keys', () => {
  it('only the 8-4-4-4-12 shape is a key: dashes elsewhere, a missing digit or a non-hex digit go to the Map', () => {
    const t = new UuidTable({ caseInsensitive: false });
    const id = '01a21260-b704-7e29-8b5b-0123456789ab';
    const odd = [
      '01a21260b-704-7e29-8b5b-0123456789ab',
      '01a21260-b704-7e29-8b5b-0123456789a',
      '01a21260-b704-7e29-8b5b-0123456789ag',
    ];
    t.set(id, 1);
    for (const [i, o] of odd.entries()) t.set(o, 10 + i);
    expect(t.get(id)).toBe(1);
    for (const [i, o] of odd.entries()) expect(t.get(o)).toBe(10 + i);
    expect(t.size).toBe(4);
  });
});

// ---------------------------------------------------------------------------
// Adversarial review (growth, probing, encodings), against naive references.
// ---------------------------------------------------------------------------

/**
 * The table's hash (hashWords in src/core/word-key-table.ts), copied here only to build keys that crowd
 * one shard and one home slot. Should the table's hash change, the tests that use it still check
 * correctness, only without the crowding.
 */
function tableHash(key: ArrayLike<number>): number {
  let h = 0x9e3779b9;
  for (let w = 0; w < key.length; w++) {
    h = Math.imul(h ^ key[w]!, 0x85ebca6b);
    h ^= h >>> 15;
  }
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

const HEX_DIGITS = '0123456789abcdef';

describe('WordKeyTable against a Map (seeded, adversarial)', () => {
  it('agrees under a random mix of set, get and getOrSet, widths 1, 2, 4, 8, words 0 / 2^31 / 2^32−1 and value 0', () => {
    for (const width of [1, 2, 4, 8]) {
      const next = prng(0x5eed0 + width);
      const word = () => {
        const r = next();
        if (r < 0.05) return 0;
        if (r < 0.1) return 0xffff_ffff;
        if (r < 0.15) return 0x8000_0000;
        return Math.floor(next() * 2 ** 32);
      };
      const pool: Uint32Array[] = [];
      for (let i = 0; i < 12_000; i++) {
        const k = Uint32Array.from({ length: width }, word);
        pool.push(k);
        const twin = k.slice(); // one word apart
        twin[Math.floor(next() * width)]! ^= 1 << Math.floor(next() * 32);
        pool.push(twin);
      }
      const t = new WordKeyTable(width);
      const ref = new Map<string, number>();
      const wrong: string[] = [];
      for (let op = 0; op < 60_000; op++) {
        const key = pool[Math.floor(next() * pool.length)]!;
        const s = key.join(',');
        const value = next() < 0.1 ? 0 : Math.floor(next() * 2 ** 32);
        const r = next();
        if (r < 0.4) {
          t.set(key, value);
          ref.set(s, value);
        } else if (r < 0.8) {
          const held = ref.get(s);
          const got = t.getOrSet(key, value);
          if (got !== held) wrong.push(`op ${op} getOrSet ${s}: ${got} ≠ ${held}`);
          if (held === undefined) ref.set(s, value);
        } else {
          const got = t.get(key);
          if (got !== ref.get(s)) wrong.push(`op ${op} get ${s}: ${got} ≠ ${ref.get(s)}`);
        }
        if (t.size !== ref.size) wrong.push(`op ${op}: size ${t.size} ≠ ${ref.size}`);
        if (wrong.length > 5) break;
      }
      for (const key of pool) {
        const s = key.join(',');
        if (t.get(key) !== ref.get(s)) wrong.push(`final get ${s}: ${t.get(key)} ≠ ${ref.get(s)}`);
      }
      expect(wrong.slice(0, 5), `width ${width}`).toEqual([]);
      expect(t.size).toBe(ref.size);
    }
  });

  it('keys crowded into one shard and one home slot (probes wrap past the end) survive every growth of that shard', () => {
    // All keys hash to shard 63 and to home slot 15 mod 16: the last slot of the shard's first table,
    // then of every 16 slots, so each probe sequence runs far and the first wraps round to slot 0.
    const next = prng(0xc0ffee);
    const rand = () => Math.floor(next() * 2 ** 32);
    const crowd: Uint32Array[] = [];
    const absent: Uint32Array[] = [];
    while (crowd.length < 1200 || absent.length < 100) {
      const k = Uint32Array.of(rand(), rand(), rand(), rand());
      const h = tableHash(k);
      if (h >>> 26 === 63 && (h & 15) === 15) (crowd.length < 1200 ? crowd : absent).push(k);
    }
    const t = new WordKeyTable(4);
    const wrong: string[] = [];
    for (let i = 0; i < crowd.length; i++) {
      expect(t.getOrSet(crowd[i]!, i)).toBeUndefined();
      // After each insert (so across each growth of the shard), every key so far is found with its value.
      if (i < 64 || i % 37 === 0 || i === crowd.length - 1)
        for (let j = 0; j <= i; j++) if (t.get(crowd[j]!) !== j) wrong.push(`after ${i}: key ${j}`);
      if (wrong.length > 0) break;
    }
    expect(wrong.slice(0, 5)).toEqual([]);
    expect(t.size).toBe(crowd.length);
    // Keys of the same shard and home slot that were never set are not found (probing ends at an empty slot).
    for (const k of absent) expect(t.get(k)).toBeUndefined();
    // Setting again overwrites in place: nothing is added.
    for (let i = 0; i < crowd.length; i += 3) t.set(crowd[i]!, 0xffff_ffff);
    expect(t.size).toBe(crowd.length);
    for (let i = 0; i < crowd.length; i++) expect(t.get(crowd[i]!)).toBe(i % 3 === 0 ? 0xffff_ffff : i);
  });

  it('keys with the same 32-bit hash (kept in each slot) are told apart by their words, through every growth', () => {
    // The table mixes word by word with a bijection, so [w0, w1, …] and [w0′, w1 ⊕ a ⊕ a′, …] hash alike, where a
    // and a′ are the states after w0 and w0′: 300 keys of one hash, one shard, one probe run.
    const mix = (h: number, w: number) => {
      const m = Math.imul(h ^ w, 0x85ebca6b);
      return (m ^ (m >>> 15)) >>> 0;
    };
    const base = Uint32Array.of(0x01234567, 0x89abcdef, 7, 9);
    const a = mix(0x9e3779b9, base[0]!);
    const same: Uint32Array[] = [];
    for (let i = 1; same.length < 300; i++) {
      const other = mix(0x9e3779b9, i);
      same.push(Uint32Array.of(i, (base[1]! ^ a ^ other) >>> 0, base[2]!, base[3]!));
    }
    for (const k of same) expect(tableHash(k)).toBe(tableHash(base));
    const t = new WordKeyTable(4);
    for (let i = 0; i < same.length; i++) {
      expect(t.getOrSet(same[i]!, i)).toBeUndefined();
      expect(t.get(same[i]!)).toBe(i);
    }
    for (let i = 0; i < same.length; i++) expect(t.getOrSet(same[i]!, 9999)).toBe(i);
    expect(t.get(base)).toBeUndefined(); // same hash, never set
    expect(t.size).toBe(same.length);
  });

  it('words are unsigned 32-bit values: a signed (Int32) or out-of-range number names the key its Uint32 form names', () => {
    // Keys built with bitwise operators come out signed (0x80000000 | 0 is −2^31): they must not be
    // stored twice, nor missed by get.
    const t = new WordKeyTable(2);
    t.set([-1, 0x8000_0000 | 0], 1);
    expect(t.get([-1, -(2 ** 31)])).toBe(1);
    expect(t.get(Uint32Array.of(0xffff_ffff, 0x8000_0000))).toBe(1);
    t.set(Int32Array.of(-1, -(2 ** 31)), 2);
    expect(t.size).toBe(1);
    expect(t.getOrSet([2 ** 32 - 1, 2 ** 31], 3)).toBe(2);
    expect(t.getOrSet([2 ** 32 + 5, 7], 4)).toBeUndefined(); // stored as [5, 7], as a Uint32Array would hold it
    expect(t.get([5, 7])).toBe(4);
    expect(t.size).toBe(2);
    // Through growths too: 3 000 keys set signed, found unsigned, and set again unsigned without growing.
    const u = new WordKeyTable(1);
    for (let i = 0; i < 3000; i++) u.set([(0x8000_0000 + i * 7919) | 0], i);
    for (let i = 0; i < 3000; i++) expect(u.get([(0x8000_0000 + i * 7919) >>> 0])).toBe(i);
    for (let i = 0; i < 3000; i++) u.set(Uint32Array.of(0x8000_0000 + i * 7919), i);
    expect(u.size).toBe(3000);
  });
});

describe('hexToWords and uuidToWords refuse every character but their digits', () => {
  it('hexToWords: at 8 positions, of all 65 536 UTF-16 code units exactly 0-9 and a-f are taken, and decode right', () => {
    const key = new Uint32Array(8);
    const base = sha(7);
    const wrong: string[] = [];
    for (const pos of [0, 1, 7, 8, 31, 32, 56, 63]) {
      for (let c = 0; c < 0x1_0000; c++) {
        const ch = String.fromCharCode(c);
        const text = base.slice(0, pos) + ch + base.slice(pos + 1);
        const ok = hexToWords(text, key);
        if (ok !== HEX_DIGITS.includes(ch)) wrong.push(`U+${c.toString(16)} at ${pos}: ${ok}`);
        else if (ok && Buffer.from(text, 'hex').readUInt32BE(4 * (pos >> 3)) !== key[pos >> 3])
          wrong.push(`U+${c.toString(16)} at ${pos}: decoded ${key[pos >> 3]}`);
        if (wrong.length > 5) break;
      }
    }
    expect(wrong).toEqual([]);
    // Lookalikes and signs at every position; a word with its top bit set decodes non-negative.
    const odd = ['g', 'G', 'A', 'F', '-', '+', ' ', '\t', '\0', 'x', '\u0660', '\u0661', '\uff10', '\uff41'];
    for (let pos = 0; pos < 64; pos++)
      for (const ch of [...odd, '\u0130', '\u0161', '\u00e0', '\ud800'])
        expect(hexToWords(base.slice(0, pos) + ch + base.slice(pos + 1), key), `${ch} at ${pos}`).toBe(false);
    expect(hexToWords(`80000000${'0'.repeat(55)}1`, key)).toBe(true);
    expect([...key]).toEqual([0x8000_0000, 0, 0, 0, 0, 0, 0, 1]);
  });

  it('uuidToWords: of all code units, only a dash at 8/13/18/23 and a digit elsewhere (A-F only with anyCase)', () => {
    const key = new Uint32Array(4);
    const base = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
    const wrong: string[] = [];
    const expected = (pos: number, ch: string, anyCase: boolean) =>
      [8, 13, 18, 23].includes(pos)
        ? ch === '-'
        : HEX_DIGITS.includes(ch) || (anyCase && HEX_DIGITS.toUpperCase().includes(ch));
    const lookalikes = [
      '\u2010',
      '\u2011',
      '\u2212',
      '\ufe63',
      '\uff0d',
      '\u012d',
      '\u0130',
      '\u0161',
      '\u0660',
    ];
    for (let pos = 0; pos < 36; pos++) {
      const all = [0, 8, 9, 13, 23, 24, 35].includes(pos);
      const units = all
        ? Array.from({ length: 0x1_0000 }, (_, c) => String.fromCharCode(c))
        : [...'0123456789abcdefABCDEFgG-+_ x\0', ...lookalikes];
      for (const ch of units) {
        const text = base.slice(0, pos) + ch + base.slice(pos + 1);
        for (const anyCase of [false, true]) {
          const ok = uuidToWords(text, key, anyCase);
          if (ok !== expected(pos, ch, anyCase))
            wrong.push(`${JSON.stringify(ch)} at ${pos} (${anyCase}): ${ok}`);
          else if (ok) {
            const hex = text.replaceAll('-', '').toLowerCase();
            const want = [0, 1, 2, 3].map((w) => Number.parseInt(hex.slice(8 * w, 8 * w + 8), 16));
            if ([...key].join() !== want.join())
              wrong.push(`${JSON.stringify(ch)} at ${pos}: decoded ${[...key]}`);
          }
        }
        if (wrong.length > 5) break;
      }
    }
    expect(wrong).toEqual([]);
    for (const text of [base.slice(1), `${base}0`, `${base.slice(0, 35)}`, '', base.replaceAll('-', '')])
      expect(uuidToWords(text, key, true)).toBe(false);
  });

  it('wordsToUuid and uuidToWords are inverse on 20 000 seeded keys (zeros, 2^31, 2^32−1 words); upper case only with anyCase', () => {
    const next = prng(0xd1ce);
    const word = () => {
      const r = next();
      return r < 0.1 ? 0 : r < 0.2 ? 0xffff_ffff : r < 0.3 ? 0x8000_0000 : Math.floor(next() * 2 ** 32);
    };
    const back = new Uint32Array(4);
    for (let i = 0; i < 20_000; i++) {
      const words = Uint32Array.of(word(), word(), word(), word());
      const id = wordsToUuid(words);
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(uuidToWords(id, back, false)).toBe(true);
      expect([...back]).toEqual([...words]);
      const upper = id.toUpperCase();
      if (upper !== id) expect(uuidToWords(upper, back, false)).toBe(false);
      expect(uuidToWords(upper, back, true)).toBe(true);
      expect([...back]).toEqual([...words]);
    }
    // wordsToUuid reads from an offset (as IdColumn does from a chunk).
    const chunk = Uint32Array.of(1, 2, 3, 4, 0xdeadbeef, 0, 0xffff_ffff, 0x10);
    expect(wordsToUuid(chunk, 4)).toBe('deadbeef-0000-0000-ffff-ffff00000010');
  });
});

describe('UuidTable against a Map (seeded, with near-UUIDs)', () => {
  /** Ids that differ from a UUID in case, in one character, in a dash, or that are no UUID at all. */
  function idPool(next: () => number): string[] {
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)]!;
    const uuid = () => wordsToUuid(Array.from({ length: 4 }, () => Math.floor(next() * 2 ** 32)));
    const flip = (s: string) => [...s].map((c) => (next() < 0.5 ? c.toUpperCase() : c)).join('');
    const swap = (s: string, ch: string) => {
      const at = Math.floor(next() * s.length);
      return s.slice(0, at) + ch + s.slice(at + 1);
    };
    const odd = ['g', 'G', '+', ' ', '-', '\u0660', '\u0161', '\u212a', '\u0130', 'K', 'k', 'İ', 'i'];
    const ids: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const u = uuid();
      ids.push(u, u.toUpperCase(), flip(u), swap(u, pick(odd)), swap(flip(u), pick(odd)));
      ids.push(u.slice(1), `${u}a`, u.replaceAll('-', ''), u.replace('-', '').concat('-'));
      const other = `order-${i}-${pick(odd)}`;
      ids.push(other, other.toUpperCase(), flip(other));
    }
    ids.push('', '\u212a', 'k', 'K', '\u0130', 'i\u0307', 'İ'.repeat(36));
    return ids;
  }

  for (const caseInsensitive of [true, false]) {
    it(`${caseInsensitive ? 'case-insensitive (the sidecar index): ids as their toLowerCase()' : 'exact (the verifier): ids as strings'}, under set, get and getOrSet`, () => {
      const next = prng(caseInsensitive ? 0x1d : 0x1e);
      const ids = idPool(next);
      const t = new UuidTable({ caseInsensitive });
      const ref = new Map<string, number>();
      const norm = (id: string) => (caseInsensitive ? id.toLowerCase() : id);
      const wrong: string[] = [];
      for (let op = 0; op < 80_000; op++) {
        const id = ids[Math.floor(next() * ids.length)]!;
        const value = Math.floor(next() * 2 ** 32);
        const r = next();
        if (r < 0.3) {
          t.set(id, value);
          ref.set(norm(id), value);
        } else if (r < 0.7) {
          const held = ref.get(norm(id));
          const got = t.getOrSet(id, value);
          if (got !== held) wrong.push(`getOrSet ${JSON.stringify(id)}: ${got} ≠ ${held}`);
          if (held === undefined) ref.set(norm(id), value);
        } else if (t.get(id) !== ref.get(norm(id)))
          wrong.push(`get ${JSON.stringify(id)}: ${t.get(id)} ≠ ${ref.get(norm(id))}`);
        if (t.size !== ref.size) wrong.push(`op ${op}: size ${t.size} ≠ ${ref.size}`);
        if (wrong.length > 5) break;
      }
      for (const id of ids) if (t.get(id) !== ref.get(norm(id))) wrong.push(`final ${JSON.stringify(id)}`);
      expect(wrong.slice(0, 5)).toEqual([]);
    });
  }
});
