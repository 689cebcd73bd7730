/**
 * The quick scan of parseJsonStrict clears clean text without keeping key
 * names (it counts keys, and compares the count with the parsed values);
 * these cases aim at what it could miss. Each verdict must be the slow
 * reference parser's, with the same rule and path.
 */
import { describe, expect, it } from 'vitest';
import { VcpValidationError } from '../../src/core/errors.ts';
import { parseJsonStrict } from '../../src/integrity/strict-json.ts';
import { parseStrictJson as referenceParse } from '../reference/strict-json-reference.ts';

function verdict(f: () => unknown): unknown {
  try {
    return { ok: f() };
  } catch (e) {
    if (!(e instanceof VcpValidationError)) throw e;
    return { rule: e.rule, path: e.path };
  }
}

const cases: [string, string][] = [
  ['duplicate deep in an array of objects', '[{"a":[{"x":1},{"y":2,"y":3}]},{"b":1}]'],
  ['duplicate in the last batch item', '[{"a":1},{"a":1,"b":{"c":1,"c":1}}]'],
  ['escaped twin of a key', '{"a":1,"\\u0061":2}'],
  ['escaped key alone (no duplicate)', '{"\\u0061":1,"b":2}'],
  ['integer-like keys (enumerated first by JavaScript)', '{"b":{"x":1},"2":{"y":1,"y":2},"1":3}'],
  ['integer-like keys, no duplicate', '{"b":{"x":1},"2":{"y":1},"1":3}'],
  ['integer-like twins', '{"1":1,"01":2,"1":3}'],
  ['__proto__ as a key', '[{"a":1},{"__proto__":{"x":1}}]'],
  ['__proto__ as a value only', '{"k":"__proto__","prototype":"x"}'],
  ['constructor.prototype', '{"constructor":{"prototype":1}}'],
  ['prototype elsewhere', '{"x":{"prototype":1}}'],
  ['a key whose text holds an escaped quote', '{"a\\"b":1,"a\\"b":2}'],
  ['keys equal to values', '{"a":"a","b":"a"}'],
  ['empty objects and arrays', '[{},[],{"a":{}},[[{}]]]'],
  ['long number', '{"n":12345678901234567890}'],
  ['fraction', '{"n":1.5,"m":-0.25e3}'],
  ['malformed after a duplicate', '{"a":1,"a":2'],
  ['malformed with a stray brace', '{"a":{"b":1}}}'],
  ['an object nested in a key position of malformed text', '{ [ ] "x":1}'],
  // The scan finds a string's end with one search for its quote unless a backslash lies before it.
  ['a value ending in an escaped backslash, then a duplicate', '{"v":"a\\\\","a":1,"a":2}'],
  ['a value holding an escaped quote, then a duplicate', '{"v":"x\\"y","a":1,"a":2}'],
  ['a run of escaped backslashes and a quote', '{"v":"\\\\\\"","a":1,"a":{"b":1}}'],
  ['an escape in a value, then the escaped twin of a key', '{"a":"\\n","b":1,"\\u0062":2}'],
  ['an escape only in a later value', '{"a":1,"b":"\\t","a":2}'],
  ['__proto__ written with an escape', '{"x":"\\\\","\\u005f_proto__":{"y":1}}'],
  ['a backslash outside any string', '{"a":1,\\"b":2}'],
  ['a backslash in a key, none in values', '{"a\\\\b":1,"a\\\\b":2}'],
  // Fractions and exponents pass the quick scan when the number rules pass them.
  ['a duplicate after a fraction', '{"c":0.82,"a":1,"a":2}'],
  ['fractions and exponents, no duplicate', '{"c":0.82,"m":[1.5,-2.25e-3,1E2,1e400]}'],
  ['an integer past 2^53', '{"n":9007199254740993}'],
  ['an exponent out of range', '{"n":1e400}'],
  ['a malformed number', '{"n":1.2.3}'],
];

describe('parseJsonStrict quick scan', () => {
  for (const [name, text] of cases) {
    it(`gives the reference verdict: ${name}`, () => {
      const got = verdict(() => parseJsonStrict(text).value);
      const want = verdict(() => referenceParse(text));
      expect(got).toEqual(want);
    });
  }

  // The verifier's canonical-number mode also takes the quick scan: `-0` is the one short integer it must refuse.
  for (const text of [
    '{"n":-0}',
    '[{"a":1},{"n":[0,-0]}]',
    '{"n":-01}',
    '{"n":0,"m":-10,"k":-1}',
    '{"n":"-0"}',
    '{"n":0.82,"m":1.5}',
    '{"n":1.50}',
    '{"n":1E2}',
    '{"n":-0.0}',
    '{"n":1e-7,"m":[2.5]}',
  ]) {
    it(`gives the reference verdict with canonicalNumbers: ${text}`, () => {
      const got = verdict(() => parseJsonStrict(text, { canonicalNumbers: true }).value);
      const want = verdict(() => referenceParse(text, { canonicalNumbers: true }));
      expect(got).toEqual(want);
    });
  }

  it('still finds a duplicate when Object.prototype has an enumerable property', () => {
    // The quick count walks the values with for…in, which would count such a property once per object.
    const proto = Object.prototype as Record<string, unknown>;
    proto.polluted = 1;
    try {
      // One duplicate per object: counting the property once per object would balance each one out.
      for (const text of ['{"a":1,"a":2}', '[{"a":1,"a":2},{"b":{"c":1,"c":2},"b":3}]']) {
        expect(verdict(() => parseJsonStrict(text).value)).toEqual(verdict(() => referenceParse(text)));
        expect(verdict(() => parseJsonStrict(text).value)).toMatchObject({ rule: 'duplicate-key' });
      }
      expect(verdict(() => parseJsonStrict('{"a":1,"b":{"c":2}}').value)).toEqual({
        ok: { a: 1, b: { c: 2 } },
      });
    } finally {
      delete proto.polluted;
    }
  });

  // The verifier's lossless reader accepts numbers a double cannot hold (it keeps their text); duplicates still count.
  it('accepts inexact numbers with inexactNumbers, and still refuses a duplicate', () => {
    const inexact = (text: string) => verdict(() => parseJsonStrict(text, { inexactNumbers: true }).value);
    expect(inexact('{"n":9007199254740993,"m":0.1}')).toEqual({ ok: { n: 9007199254740992, m: 0.1 } });
    expect(inexact('{"n":1e400}')).toEqual({ ok: { n: Number.POSITIVE_INFINITY } });
    expect(inexact('{"n":1.5,"n":2}')).toEqual({ rule: 'duplicate-key', path: 'n' });
    expect(inexact('{"n":1.5,"m":{"k":1e400,"k":2}}')).toMatchObject({ rule: 'duplicate-key' });
  });

  it('names batch item boundaries as the full scan does', () => {
    const text = ' [ {"a":1} , 2 , "s" , [3] , {"b":{"c":[1,2]}} ] ';
    const { elements } = parseJsonStrict(text);
    expect(elements!.map(([s, e]) => text.slice(s, e))).toEqual([
      '{"a":1}',
      '2',
      '"s"',
      '[3]',
      '{"b":{"c":[1,2]}}',
    ]);
  });

  it('keeps the limits: keys per object, total keys, depth, string length, items', () => {
    const obj = `{${Array.from({ length: 5 }, (_, i) => `"k${i}":${i}`).join(',')}}`;
    expect(verdict(() => parseJsonStrict(obj, { maxKeysPerObject: 4 }))).toEqual({
      rule: 'max-keys',
      path: '',
    });
    expect(verdict(() => parseJsonStrict(`[${obj},${obj}]`, { maxKeys: 9 }))).toMatchObject({
      rule: 'max-keys',
    });
    expect(verdict(() => parseJsonStrict('[[[[1]]]]', { maxDepth: 3 }))).toMatchObject({ rule: 'depth' });
    expect(verdict(() => parseJsonStrict('{"a":"12345"}', { maxStringLength: 4 }))).toMatchObject({
      rule: 'max-string-length',
    });
    expect(verdict(() => parseJsonStrict('[1,2,3]', { maxItems: 2 }))).toMatchObject({ rule: 'max-items' });
  });
});
