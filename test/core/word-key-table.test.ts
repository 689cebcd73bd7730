/**
 * The typed-array hash tables behind the sidecar's id index and the
 * verifier's duplicate-id and hash-chain checks (src/core/word-key-table.ts),
 * against plain Maps: same answers through many growths, keys that differ in
 * one word only, exact or case-insensitive ids, whole 256-bit hashes.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hexToWords, UuidTable, WordKeyTable } from '../../src/core/word-key-table.ts';
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
