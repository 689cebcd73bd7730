/**
 * The file store's in-memory index (src/sidecar/store/file/event-index.ts):
 * its id table (a case-insensitive UuidTable) and its chunked location
 * columns, against a Map and plain arrays.
 */
import { describe, expect, it } from 'vitest';
import { wordsToUuid } from '../../src/core/word-key-table.ts';
import { EventIndex, type RecordLocation } from '../../src/sidecar/store/file/event-index.ts';
import { prng } from '../helpers/prng.ts';

describe('EventIndex', () => {
  it('10 000 events across chunk edges: every id finds its leaf (any case), every leaf its location (offsets past 4 GiB)', () => {
    const next = prng(0xe1d);
    const idx = new EventIndex();
    const ids: string[] = [];
    const byId = new Map<string, number>();
    const locs: RecordLocation[] = [];
    for (let i = 0; i < 10_000; i++) {
      const r = next();
      const id =
        r < 0.9
          ? wordsToUuid(Array.from({ length: 4 }, () => Math.floor(next() * 2 ** 32)))
          : r < 0.95
            ? `not-a-uuid-${i}-X`
            : (ids[Math.floor(next() * ids.length)] ?? 'first'); // an id seen before: the newer leaf wins
      const loc = {
        segment: Math.floor(next() * 2 ** 32),
        offset: Math.floor(next() * 2 ** 40),
        length: Math.floor(next() * 2 ** 32),
      };
      idx.push(next() < 0.5 ? id.toUpperCase() : id, loc.segment, loc.offset, loc.length);
      ids.push(id);
      byId.set(id.toLowerCase(), i);
      locs.push(loc);
    }
    expect(idx.size).toBe(10_000);
    const wrong: string[] = [];
    for (const id of ids) {
      for (const form of [id, id.toUpperCase(), id.toLowerCase()])
        if (idx.indexOf(form) !== byId.get(id.toLowerCase())) wrong.push(`indexOf ${form}`);
    }
    for (let i = 0; i < locs.length; i++)
      if (JSON.stringify(idx.locate(i)) !== JSON.stringify(locs[i])) wrong.push(`locate ${i}`);
    expect(wrong.slice(0, 5)).toEqual([]);
    expect(idx.indexOf(wordsToUuid([1, 2, 3, 4]))).toBeUndefined();
  });
});
