/**
 * The conformance guide's HCH-003 (v1.0 hash) against `computeEventHashVariant('vcp-1.0-sdk')`:
 * the expected values are the guide's own Python functions run by CPython over the guide's
 * example events (fixtures/guide-v1.0, DERIVED), with the event's prev_hash (genesis zeros
 * appended) and without it (nothing appended).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { HashAlgo } from '../../src/core/enums.ts';
import { computeEventHash, computeEventHashVariant, GENESIS_HASH } from '../../src/integrity/event-hash.ts';

const DIR = join(import.meta.dirname, 'fixtures/guide-v1.0');
interface Expected {
  event_id: string;
  hash_algo: HashAlgo;
  prev_hash: string;
  hch003_with_prev_hash: string;
  hch003_without_prev_hash: string;
  published_event_hash: string;
}
const expected = JSON.parse(readFileSync(join(DIR, 'hch003-expected.json'), 'utf8')) as Record<
  string,
  Expected[]
> & { sha3_256: Expected & { header: unknown; payload: unknown } };
const events = (file: string) =>
  readFileSync(join(DIR, file), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map(
      (l) =>
        JSON.parse(l) as {
          header: { event_id: string };
          payload: unknown;
          security: Record<string, string>;
        },
    );

describe('HCH-003 (v1.0 hash) on the guide’s example events', () => {
  for (const file of ['payload-blocks.jsonl', 'collections.jsonl'] as const) {
    it(`${file}: every event, with its prev_hash and without one`, () => {
      const list = events(file);
      const want = expected[file]!;
      expect(list).toHaveLength(want.length);
      expect(list.length).toBeGreaterThan(6);
      list.forEach((e, i) => {
        const w = want[i]!;
        expect(e.header.event_id).toBe(w.event_id);
        const parts = { header: e.header, payload: e.payload };
        const algo = w.hash_algo;
        expect(computeEventHashVariant('vcp-1.0-sdk', parts, { algo, prevHash: e.security.prev_hash })).toBe(
          w.hch003_with_prev_hash,
        );
        expect(computeEventHashVariant('vcp-1.0-sdk', parts, { algo })).toBe(w.hch003_without_prev_hash);
      });
    });
  }

  it('genesis appends the 64 zeros (the guide passes security.prev_hash through), unlike v1.1', () => {
    const [first] = events('payload-blocks.jsonl');
    const parts = { header: first!.header, payload: first!.payload };
    expect(first!.security.prev_hash).toBe(GENESIS_HASH);
    const withZeros = computeEventHashVariant('vcp-1.0-sdk', parts, { prevHash: GENESIS_HASH });
    const absent = computeEventHashVariant('vcp-1.0-sdk', parts);
    expect(withZeros).not.toBe(absent);
    // v1.1 drops the genesis value: with and without it hash the same.
    expect(computeEventHash(parts, { prevHash: GENESIS_HASH })).toBe(computeEventHash(parts));
  });

  it('refuses a malformed prev_hash or an unknown algorithm, naming the field', () => {
    const parts = { header: { a: 1 }, payload: {} };
    for (const prevHash of ['', 'zz', 'AB'.repeat(32), `${GENESIS_HASH}0`]) {
      expect(() => computeEventHashVariant('vcp-1.0-sdk', parts, { prevHash })).toThrow(
        /prevHash must be 64 lowercase hex/,
      );
    }
    expect(() => computeEventHashVariant('vcp-1.0-sdk', parts, { algo: 'MD5' as never })).toThrow(
      /algo: unsupported/,
    );
  });

  it('SHA3_256 takes the 0x01 prefix byte', () => {
    const c = expected.sha3_256;
    const parts = { header: c.header, payload: c.payload };
    expect(computeEventHashVariant('vcp-1.0-sdk', parts, { algo: 'SHA3_256', prevHash: c.prev_hash })).toBe(
      c.hch003_with_prev_hash,
    );
    expect(computeEventHashVariant('vcp-1.0-sdk', parts, { algo: 'SHA3_256' })).toBe(
      c.hch003_without_prev_hash,
    );
  });

  it('a one-character edit to any part changes the hash (HCH-020 on the guide’s data)', () => {
    const [e] = events('collections.jsonl');
    const base = computeEventHashVariant(
      'vcp-1.0-sdk',
      { header: e!.header, payload: e!.payload },
      { prevHash: e!.security.prev_hash },
    );
    const edited = { ...e!.header, symbol: 'TAMPERED' };
    expect(
      computeEventHashVariant(
        'vcp-1.0-sdk',
        { header: edited, payload: e!.payload },
        { prevHash: e!.security.prev_hash },
      ),
    ).not.toBe(base);
    expect(
      computeEventHashVariant(
        'vcp-1.0-sdk',
        { header: e!.header, payload: e!.payload },
        { prevHash: `1${GENESIS_HASH.slice(1)}` },
      ),
    ).not.toBe(base);
  });

  it('the guide’s published event_hash values are placeholders: none passes its own HCH-003', () => {
    const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
    const all = [...expected['payload-blocks.jsonl']!, ...expected['collections.jsonl']!];
    for (const w of all) {
      expect(w.published_event_hash).not.toBe(w.hch003_with_prev_hash);
      expect(w.published_event_hash).not.toBe(w.hch003_without_prev_hash);
    }
    const published = new Set(all.map((w) => w.published_event_hash));
    for (const word of ['', 'hello', 'The quick brown fox jumps over the lazy dog', 'test']) {
      expect(published.has(sha256(word))).toBe(true);
    }
  });
});
