import { describe, expect, it } from 'vitest';
import {
  _isUuidRe,
  createUuidV7Generator,
  isUuid,
  isUuidV7,
  uuidVersion,
  uuidv7,
  uuidv7Timestamp,
} from '../../src/core/uuidv7.ts';

/** RFC 9562 §4.1/§5.7 field extraction, straight from the bit layout. */
function fields(id: string) {
  const hex = id.replaceAll('-', '');
  const bytes = Buffer.from(hex, 'hex');
  return {
    ms: bytes.readUIntBE(0, 6),
    version: bytes[6]! >> 4,
    variant: bytes[8]! >> 6,
  };
}

describe('uuidv7', () => {
  it('has version 7, the RFC 9562 variant and the current Unix ms', () => {
    const before = Date.now();
    const id = uuidv7();
    const after = Date.now();
    const f = fields(id);
    expect(f.version).toBe(7);
    expect(f.variant).toBe(0b10);
    expect(f.ms).toBeGreaterThanOrEqual(before);
    expect(f.ms).toBeLessThanOrEqual(after + 1);
    expect(uuidv7Timestamp(id)).toBe(f.ms);
    expect(isUuidV7(id)).toBe(true);
    expect(uuidVersion(id)).toBe(7);
  });

  it('is strictly increasing for 100 000 ids made as fast as possible (many per millisecond)', () => {
    const ids = Array.from({ length: 100_000 }, () => uuidv7());
    let perMs = new Map<string, number>();
    for (let i = 1; i < ids.length; i++) {
      expect(ids[i]! > ids[i - 1]!).toBe(true);
    }
    for (const id of ids) perMs.set(id.slice(0, 13), (perMs.get(id.slice(0, 13)) ?? 0) + 1);
    // The test only means something if many ids shared a millisecond.
    expect(Math.max(...perMs.values())).toBeGreaterThan(100);
    expect(new Set(ids).size).toBe(ids.length);
    perMs = new Map();
  });

  it('stays increasing when the clock stands still or steps backwards', () => {
    let now = 1_735_084_800_000;
    const gen = createUuidV7Generator(() => now);
    const ids: string[] = [];
    for (let i = 0; i < 5000; i++) ids.push(gen()); // frozen clock
    now -= 10_000; // NTP step back by 10 s
    for (let i = 0; i < 100; i++) ids.push(gen());
    for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!).toBe(true);
    // Never jumps ahead of the last used millisecond without need.
    expect(uuidv7Timestamp(ids.at(-1)!)).toBeLessThanOrEqual(1_735_084_800_001);
  });

  it('keeps 200 000 ids of one frozen millisecond inside that millisecond (2^29 steps of headroom)', () => {
    const gen = createUuidV7Generator(
      () => 1_000,
      (b) => b.fill(0xff), // worst case: counter seeded at its top, largest random steps
    );
    const ids = Array.from({ length: 200_000 }, () => gen());
    for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!).toBe(true);
    expect(uuidv7Timestamp(ids.at(-1)!)).toBe(1_000);
    for (const id of ids.slice(-3)) expect(isUuidV7(id)).toBe(true);
  });

  it('is deterministic with fixed clock and random sources (for tests)', () => {
    const a = createUuidV7Generator(
      () => 1_735_084_800_000,
      (b) => b.fill(7),
    );
    const b = createUuidV7Generator(
      () => 1_735_084_800_000,
      (b) => b.fill(7),
    );
    expect([a(), a(), a()]).toEqual([b(), b(), b()]);
  });

  it('recognises UUIDs and rejects garbage', () => {
    expect(isUuid('550e8400-e29b-41d4-a716-446655440000')).toBe(true);
    expect(isUuidV7('550e8400-e29b-41d4-a716-446655440000')).toBe(false);
    expect(uuidVersion('550e8400-e29b-41d4-a716-446655440000')).toBe(4);
    for (const bad of ['', 'x', 42, null, undefined, '550e8400e29b41d4a716446655440000', '019abc-…']) {
      expect(isUuid(bad)).toBe(false);
      expect(isUuidV7(bad)).toBe(false);
    }
    expect(uuidv7Timestamp('550e8400-e29b-41d4-a716-446655440000')).toBeUndefined();
  });
});

describe('isUuid (table loop) agrees with the RegExp form', () => {
  it('on ids, near misses and random text', () => {
    const good = [uuidv7(), '00000000-0000-0000-0000-000000000000', 'FFFFFFFF-ffff-AbCd-8000-0123456789aB'];
    const cases: unknown[] = [...good, undefined, null, 7, {}, '', 'x'.repeat(36)];
    for (const g of good) {
      for (let i = 0; i < 36; i++) {
        for (const ch of ['-', 'g', 'G', '0', ' ', '\u0660', '\uff10', '\ud800', 'é']) {
          cases.push(g.slice(0, i) + ch + g.slice(i + 1));
        }
      }
      cases.push(`${g}0`, g.slice(1), `{${g.slice(1, 35)}}`, g.replaceAll('-', ''), `${g}\n`);
    }
    let accepted = 0;
    for (const c of cases) {
      expect(isUuid(c)).toBe(_isUuidRe(c));
      if (isUuid(c)) accepted++;
    }
    expect(accepted).toBeGreaterThan(100); // the swaps to other hex digits stay UUIDs
  });
});
