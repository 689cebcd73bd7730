/**
 * Uint32Column (src/core/uint32-column.ts): the chunked column behind the
 * sidecar's index, the id tables and the verifier's leaf columns, against a
 * plain array: entries on each side of chunk edges, several widths, and
 * indexes far apart that must not share storage.
 */
import { describe, expect, it } from 'vitest';
import { Uint32Column } from '../../src/core/uint32-column.ts';
import { prng } from '../helpers/prng.ts';

const CHUNK = 4096; // entries per chunk, as in the source

describe('Uint32Column', () => {
  it('keeps every value of every entry across 5 chunk edges, widths 1, 3, 4 and 8, as a plain array does', () => {
    for (const width of [1, 3, 4, 8]) {
      const next = prng(0xc01 + width);
      const col = new Uint32Column(width);
      const n = 5 * CHUNK + 17;
      const ref: number[] = [];
      for (let i = 0; i < n; i++) {
        const chunk = col.chunk(i);
        const at = col.at(i);
        expect(at + width).toBeLessThanOrEqual(chunk.length);
        for (let w = 0; w < width; w++) {
          const v = next() < 0.1 ? 0xffff_ffff : Math.floor(next() * 2 ** 32);
          chunk[at + w] = v;
          ref.push(v);
        }
      }
      // Read back in a shuffled order: nothing was overwritten by a neighbour.
      const wrong: string[] = [];
      for (let r = 0; r < n; r++) {
        const i = (r * 7919) % n;
        const chunk = col.chunk(i);
        for (let w = 0; w < width; w++)
          if (chunk[col.at(i) + w] !== ref[i * width + w]) wrong.push(`width ${width} entry ${i} word ${w}`);
      }
      expect(wrong.slice(0, 5)).toEqual([]);
      // Entries on each side of an edge live in different chunks, at the end and the start of them.
      for (const edge of [CHUNK, 2 * CHUNK, 5 * CHUNK]) {
        expect(col.chunk(edge - 1)).not.toBe(col.chunk(edge));
        expect(col.chunk(edge - 1)).toBe(col.chunk(edge - CHUNK));
        expect(col.at(edge - 1)).toBe((CHUNK - 1) * width);
        expect(col.at(edge)).toBe(0);
      }
    }
  });

  it('entries 2^31 and more apart, written in any order, keep their own values', () => {
    const col = new Uint32Column(2);
    const idx = [0, 4095, 4096, 2 ** 31 - 1, 2 ** 31, 2 ** 31 + 4096, 2 ** 32 - 1];
    for (const [n, i] of [...idx].reverse().entries()) col.chunk(i).set([n + 1, i >>> 0], col.at(i));
    for (const [n, i] of [...idx].reverse().entries())
      expect([...col.chunk(i).subarray(col.at(i), col.at(i) + 2)], `entry ${i}`).toEqual([n + 1, i >>> 0]);
  });
});
