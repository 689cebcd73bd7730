/**
 * The verifier's per-leaf line and id columns (src/verify/leaf-columns.ts):
 * every id comes back exactly as it was read, whatever its shape.
 */
import { describe, expect, it } from 'vitest';
import { IdColumn, LineColumn } from '../../src/verify/leaf-columns.ts';
import { Segment } from '../../src/verify/segment.ts';
import { prng } from '../helpers/prng.ts';

describe('IdColumn and LineColumn', () => {
  it('give back 9 000 ids and lines exactly, across chunks: UUIDs, upper-case UUIDs, other strings and none', () => {
    const ids = new IdColumn();
    const lines = new LineColumn();
    const want: (string | undefined)[] = [];
    for (let i = 0; i < 9000; i++) {
      const u = crypto.randomUUID();
      const id = i % 10 === 1 ? u.toUpperCase() : i % 10 === 2 ? `order-${i}` : i % 10 === 3 ? undefined : u;
      want.push(id);
      ids.push(id);
      lines.push(2 * i + 1);
    }
    ids.push('00000000-0000-0000-0000-000000000000');
    want.push('00000000-0000-0000-0000-000000000000');
    lines.push(0xffff_ffff);
    expect(ids.length).toBe(9001);
    for (let i = 0; i < 9000; i++) {
      expect(ids.at(i)).toBe(want[i]);
      expect(lines.at(i)).toBe(2 * i + 1);
    }
    expect(ids.at(9000)).toBe(want[9000]);
    expect(lines.at(9000)).toBe(0xffff_ffff);
    for (const outside of [-1, 9001, 1.5, Number.NaN]) {
      expect(ids.at(outside)).toBeUndefined();
      expect(lines.at(outside)).toBeUndefined();
    }
  });
});

describe('Segment.describeLeaves (what findings say about leaves)', () => {
  it('names the input lines of a range, and the event id of a single leaf', () => {
    const seg = new Segment(undefined, undefined, 'rfc6962', 0);
    const ids = [crypto.randomUUID(), 'not-a-uuid', crypto.randomUUID().toUpperCase()];
    for (const [i, id] of ids.entries()) seg.addLeaf('ab'.repeat(32), {}, { line: 10 + i, event_id: id });
    expect(seg.describeLeaves(0, 1)).toBe(`leaf 0 (line 10), event ${ids[0]}`);
    expect(seg.describeLeaves(1, 2)).toBe('leaf 1 (line 11), event not-a-uuid');
    expect(seg.describeLeaves(2, 3)).toBe(`leaf 2 (line 12), event ${ids[2]}`);
    expect(seg.describeLeaves(0, 3)).toBe('leaves 0..2 (lines 10–12)');
    expect(seg.describeLeaves(3, 5)).toBe('leaves 3..4');
  });
});

describe('IdColumn and LineColumn, adversarial', () => {
  it('near-UUIDs (one upper-case or non-hex character, a moved dash, lookalike digits) come back exactly, across chunks', () => {
    const next = prng(0x1dc0);
    const swap = (s: string, at: number, ch: string) => s.slice(0, at) + ch + s.slice(at + 1);
    const odd = ['A', 'F', 'g', '-', '+', ' ', '\u0660', '\u0161', '\uff10', '\u2010', '\ud800'];
    const ids = new IdColumn();
    const lines = new LineColumn();
    const want: (string | undefined)[] = [];
    for (let i = 0; i < 3 * 4096 + 5; i++) {
      const u = crypto.randomUUID();
      const r = next();
      const at = Math.floor(next() * 36);
      const id =
        r < 0.5
          ? u
          : r < 0.8
            ? swap(u, at, odd[Math.floor(next() * odd.length)]!)
            : r < 0.85
              ? ''
              : r < 0.9
                ? `${u} `
                : r < 0.95
                  ? '00000000-0000-0000-0000-000000000000'
                  : 'ffffffff-ffff-ffff-ffff-ffffffffffff';
      want.push(id);
      ids.push(id);
      lines.push(i % 5 === 0 ? 0 : i);
    }
    const wrong: string[] = [];
    for (let i = 0; i < want.length; i++) {
      if (ids.at(i) !== want[i])
        wrong.push(`id ${i}: ${JSON.stringify(ids.at(i))} ≠ ${JSON.stringify(want[i])}`);
      if (lines.at(i) !== (i % 5 === 0 ? 0 : i)) wrong.push(`line ${i}: ${lines.at(i)}`);
    }
    expect(wrong.slice(0, 5)).toEqual([]);
    expect(ids.at(want.length)).toBeUndefined();
    expect(lines.at(want.length)).toBeUndefined();
  });
});
