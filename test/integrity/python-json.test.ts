import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  parseLossless,
  pythonDumps,
  SourceNumber,
  stringifyLossless,
} from '../../src/integrity/python-json.ts';

const vectors = JSON.parse(
  readFileSync(new URL('../vectors/data/python-json/dumps_vectors.json', import.meta.url), 'utf8'),
) as {
  cases: { input: string; default_sorted: string; compact_sorted_utf8: string; default_unsorted: string }[];
};

describe("Python's json.dumps, byte for byte (CPython outputs as vectors)", () => {
  for (const [i, c] of vectors.cases.entries()) {
    it(`case ${i}: default separators sorted, compact UTF-8 sorted, default unsorted`, () => {
      const v = parseLossless(c.input);
      expect(pythonDumps(v, { sortKeys: true })).toBe(c.default_sorted);
      expect(pythonDumps(v, { sortKeys: true, separators: [',', ':'], ensureAscii: false })).toBe(
        c.compact_sorted_utf8,
      );
      expect(pythonDumps(v)).toBe(c.default_unsorted);
    });
  }

  it('keeps number text through a lossless round trip (ints beyond 2^53, 1.0 vs 1)', () => {
    const text = '{"a":1763638705482204928,"b":1.0,"c":1}';
    const v = parseLossless(text) as Record<string, SourceNumber>;
    expect(v.a).toBeInstanceOf(SourceNumber);
    expect(v.b!.isInt).toBe(false);
    expect(v.c!.isInt).toBe(true);
    expect(stringifyLossless(v)).toBe(text);
  });
});
