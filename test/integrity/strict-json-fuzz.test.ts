/**
 * Property and fuzz tests of the strict JSON parser (seeded, so a failure
 * reproduces): random valid documents parse to what JSON.parse gives, and
 * random byte-level mutations of them are either accepted with JSON.parse's
 * value or refused with a VcpValidationError, never anything else, with the
 * same verdict as the slow reference parser.
 */
import { describe, expect, it } from 'vitest';
import { VcpValidationError } from '../../src/core/errors.ts';
import { prescanJsonBytes } from '../../src/integrity/json-prescan.ts';
import { parseJsonStrict, parseStrictJson } from '../../src/integrity/strict-json.ts';
import { parseStrictJson as referenceParse } from '../reference/strict-json-reference.ts';

function rng(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    // xorshift32
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s % n;
  };
}

const KEY_PARTS = [
  'a',
  'id',
  'price',
  'x"y',
  'back\\slash',
  'é',
  '😀',
  '\u0001',
  'constructor',
  'prototype',
  '',
];
const STRINGS = [
  '',
  'EURUSD',
  '1.0850',
  'quote " inside',
  '\\',
  '\n\t',
  '\u2028',
  '😀',
  '{"not":"json"}',
  ']',
];

/** A random JSON value whose numbers a double holds exactly and whose keys are unique and allowed. */
function randomValue(r: (n: number) => number, depth: number): unknown {
  const kind = depth > 5 ? r(4) : r(7);
  switch (kind) {
    case 0:
      return STRINGS[r(STRINGS.length)];
    case 1: {
      const forms = [
        () => r(1000),
        () => -r(1_000_000_000),
        () => r(1_000_000) / 100,
        () => (r(2) ? 1 : -1) * r(1000) * 1e-7,
        () => 2 ** 53 - 1 - r(10),
        () => r(100) * 1e250,
        () => Math.fround(r(1000) / 7),
        () => 0.1 + 0.2,
      ];
      return forms[r(forms.length)]!();
    }
    case 2:
      return r(2) === 0;
    case 3:
      return null;
    case 4:
    case 5: {
      const o: Record<string, unknown> = {};
      const n = r(6);
      for (let k = 0; k < n; k++)
        o[KEY_PARTS[r(KEY_PARTS.length)]! + (r(3) ? '' : String(k))] = randomValue(r, depth + 1);
      // `constructor.prototype` is refused by design; keep the generator to accepted documents.
      if (o.constructor !== undefined && typeof o.constructor === 'object' && o.constructor !== null)
        delete (o.constructor as Record<string, unknown>).prototype;
      return o;
    }
    default:
      return Array.from({ length: r(5) }, () => randomValue(r, depth + 1));
  }
}

function verdict(f: () => unknown): { ok: true; value: unknown } | { ok: false; rule: string; path: string } {
  try {
    return { ok: true, value: f() };
  } catch (e) {
    if (e instanceof VcpValidationError) return { ok: false, rule: e.rule, path: e.path };
    throw e;
  }
}

const MUTATION_CHARS = [
  '"',
  '\\',
  '{',
  '}',
  '[',
  ']',
  ',',
  ':',
  '-',
  '0',
  '9',
  '.',
  'e',
  'E',
  '+',
  ' ',
  'a',
  '\u0000',
  'u',
];

describe('strict JSON, properties', () => {
  it('parses random valid documents (compact and indented) exactly as JSON.parse does', () => {
    const r = rng(20261206);
    for (let round = 0; round < 2000; round++) {
      const v = randomValue(r, 0);
      for (const text of [JSON.stringify(v), JSON.stringify(v, null, round % 2 ? 2 : '\t')]) {
        const got = verdict(() => parseStrictJson(text));
        expect(got, text.slice(0, 200)).toEqual({ ok: true, value: JSON.parse(text) });
        // The elements of a root array slice back to the items.
        if (Array.isArray(v)) {
          const { elements } = parseJsonStrict(text);
          expect(elements!.map(([s, e]) => JSON.parse(text.slice(s, e)))).toEqual(JSON.parse(text));
        }
      }
    }
  });

  it('answers random mutations with a value equal to JSON.parse or a VcpValidationError, as the reference does', () => {
    const r = rng(7);
    let refused = 0;
    for (let round = 0; round < 4000; round++) {
      let text = JSON.stringify(randomValue(r, 0));
      const edits = 1 + r(3);
      for (let k = 0; k < edits; k++) {
        const at = r(text.length + 1);
        const ch = MUTATION_CHARS[r(MUTATION_CHARS.length)]!;
        const op = r(3);
        if (op === 0) text = text.slice(0, at) + ch + text.slice(at);
        else if (op === 1) text = text.slice(0, at) + text.slice(at + 1);
        else text = text.slice(0, at) + ch + text.slice(at + 1);
      }
      for (const options of [{}, { canonicalNumbers: true, maxDepth: 4, maxKeysPerObject: 3 }]) {
        const got = verdict(() => parseStrictJson(text, options)); // throws (fails the test) on anything else
        const ref = verdict(() => referenceParse(text, options));
        let plain: { ok: boolean };
        try {
          JSON.parse(text);
          plain = { ok: true };
        } catch {
          plain = { ok: false };
        }
        expect(got.ok, text).toBe(ref.ok);
        if (got.ok) expect(got.value).toEqual(JSON.parse(text));
        if (!plain.ok) expect(got.ok, text).toBe(false);
        // Well-formed but refused: the same rule and path as the reference.
        if (plain.ok && !got.ok && !ref.ok) expect([got.rule, got.path], text).toEqual([ref.rule, ref.path]);
        if (!got.ok) refused++;
      }
    }
    expect(refused).toBeGreaterThan(1000);
  });

  it('refuses every random document with one key written twice, as the reference does', () => {
    // The quick scan only counts keys (a repeat shows as fewer keys after JSON.parse): aim at that count
    // with escapes, fractions and nesting around the repeated key.
    const r = rng(424242);
    let planted = 0;
    for (let round = 0; round < 3000; round++) {
      let target = -1;
      let objects = 0;
      const write = (v: unknown): string => {
        if (Array.isArray(v)) return `[${v.map(write).join(',')}]`;
        if (v === null || typeof v !== 'object') return JSON.stringify(v);
        const members = Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}:${write(x)}`);
        if (objects++ === target && members.length > 0) {
          const again = members[r(members.length)]!;
          members.splice(
            r(members.length + 1),
            0,
            again.slice(0, again.indexOf(':') + 1) + write(randomValue(r, 5)),
          );
          planted++;
        }
        return `{${members.join(',')}}`;
      };
      const v = { root: randomValue(r, 0), n: r(2) ? 0.25 : 'x\\"y' };
      write(v);
      target = r(objects);
      objects = 0;
      const text = write(v);
      if (!text.includes('":') || JSON.stringify(JSON.parse(text)) === text) continue;
      const got = verdict(() => parseStrictJson(text));
      expect(got, text).toEqual(verdict(() => referenceParse(text)));
      expect(got.ok, text).toBe(false);
    }
    expect(planted).toBeGreaterThan(1500);
  });

  it('the byte prescan refuses only what the parser refuses, and names the same limit and path', () => {
    const r = rng(99);
    const limits = { maxDepth: 4, maxKeysPerObject: 3, maxKeys: 12, maxItems: 3, maxStringLength: 1_000_000 };
    let limited = 0;
    for (let round = 0; round < 4000; round++) {
      let text = JSON.stringify(randomValue(r, 0), null, round % 3 === 0 ? 1 : undefined);
      if (round % 2) {
        const at = r(text.length + 1);
        text = text.slice(0, at) + MUTATION_CHARS[r(MUTATION_CHARS.length)]! + text.slice(at + 1);
      }
      const full = verdict(() => parseJsonStrict(text, limits));
      const pre = verdict(() => prescanJsonBytes(Buffer.from(text), limits));
      if (!pre.ok) expect(full.ok, text).toBe(false);
      if (!full.ok && ['depth', 'max-keys', 'max-items'].includes(full.rule)) {
        limited++;
        expect(pre, text).toEqual({ ok: false, rule: full.rule, path: full.path });
      }
    }
    expect(limited).toBeGreaterThan(200);
    // String length counts bytes: 3 characters of 2 bytes each are 6 bytes.
    expect(
      verdict(() => prescanJsonBytes(Buffer.from('{"a":{"s":"ééé"}}'), { ...limits, maxStringLength: 5 })),
    ).toEqual({
      ok: false,
      rule: 'max-string-length',
      path: 'a',
    });
  });
});
