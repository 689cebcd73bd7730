import { describe, expect, it } from 'vitest';
import { VcpValidationError } from '../../src/core/errors.ts';
import { parseJsonStrict } from '../../src/integrity/strict-json.ts';
import { parseStrictJson } from '../reference/strict-json-reference.ts';
import { v11Event } from '../sidecar/helpers.ts';

/** What a parser says about a text: the value, or the rule (and path) it refused with. */
function verdict(f: () => unknown): { ok: true; value: unknown } | { ok: false; rule: string; path: string } {
  try {
    return { ok: true, value: f() };
  } catch (e) {
    if (e instanceof VcpValidationError) return { ok: false, rule: e.rule, path: e.path };
    throw e;
  }
}

const event = JSON.stringify(v11Event());
const CORPUS: string[] = [
  event,
  `[${event},${event}]`,
  JSON.stringify(v11Event(), null, 2),
  '{"a":1,"b":{"a":2}}',
  '{"a":1,"a":2}',
  '{"a":1,"\\u0061":2}',
  '{"x":{"y":[{"k":1,"k":1}]}}',
  '[{"a":1},{"b":1,"b":2}]',
  '{"q\\"":1,"q\\"":2}',
  '{"s":"\\\\","s2":"\\\\\\"","t":"a\\"b"}',
  '{"s":"\\\\","s":"x"}',
  '{"k":"\\"},{\\"k\\":","k2":1}',
  '[1, "two", null, true, {"a":[1,2]}, [3], -4.5e3 ]',
  '  [ ]  ',
  '"just a string"',
  '42',
  '{}',
  `{${Array.from({ length: 40 }, (_, i) => `"k${i}":${i}`).join(',')},"k39":0}`,
  `{${Array.from({ length: 40 }, (_, i) => `"k${i}":${i}`).join(',')}}`,
  `${'['.repeat(64)}${']'.repeat(64)}`,
  `${'['.repeat(65)}${']'.repeat(65)}`,
  `${'{"a":'.repeat(70)}1${'}'.repeat(70)}`,
  '{"a":1,}',
  '{"a": NaN}',
  '{"__proto__":1,"__proto__":2}',
  '{"__proto__":{"x":1},"y":2}',
  '{"\\ud800":1}',
  '{"😀":1,"\\ud83d\\ude00":2}',
  // Number rules, forbidden keys, limits.
  '{"ref_no":12345678901234567890}',
  '{"a":[1,2,{"b":[0.10000000000000000001]}]}',
  '{"a":9007199254740991,"b":-9007199254740991,"c":9007199254740992}',
  '{"a":1.5,"b":-0.25,"c":1e300,"d":1E-5,"e":2.0,"f":-0,"g":0.1e1}',
  '{"a":1e400}',
  '{"a":1e-400}',
  '[1.0000000000000002, 0.30000000000000004, 123456789012345.67]',
  '{"x":{"__proto__":{"polluted":true}}}',
  '{"constructor":{"prototype":{"p":1}}}',
  '{"constructor":{"x":{"prototype":1}},"prototype":2}',
  '[{"constructor":1},{"prototype":{}}]',
  '{"\\u005f_proto__":1}',
  '{"a":1,"a":2,"b":12345678901234567890}',
  '{"b":12345678901234567890,"a":1,"a":2}',
];

describe('parseJsonStrict (the ingest scanner)', () => {
  it('gives the same verdict as parseStrictJson on every corpus text', () => {
    for (const text of CORPUS) {
      const ref = verdict(() => parseStrictJson(text));
      const got = verdict(() => parseJsonStrict(text).value);
      expect(got.ok, text.slice(0, 80)).toBe(ref.ok);
      if (ref.ok && got.ok) expect(got.value).toEqual(ref.value);
      if (!ref.ok && !got.ok) {
        expect(got.rule, text.slice(0, 80)).toBe(ref.rule);
        expect(got.path, text.slice(0, 80)).toBe(ref.path);
      }
    }
  });

  it('names the batch item holding a duplicate key', () => {
    const e = verdict(() => parseJsonStrict('[{"a":1},{"b":{"c":1,"c":2}}]'));
    expect(e).toMatchObject({ ok: false, rule: 'duplicate-key', path: '[1].b.c' });
  });

  it('reports where each element of a top-level array lies, scalars and nested containers included', () => {
    for (const text of [
      '[1, "two", null, true, {"a":[1,2]}, [3], -4.5e3 ]',
      `[${event} ,\n ${event}]`,
      '[ "a,b]" , {"x":"]"} ]',
    ]) {
      const { value, elements } = parseJsonStrict(text);
      const items = value as unknown[];
      expect(elements).toHaveLength(items.length);
      elements!.forEach(([s, e], k) => {
        expect(JSON.parse(text.slice(s, e))).toEqual(items[k]);
        expect(text.slice(s, e)).toBe(text.slice(s, e).trim());
      });
    }
    expect(parseJsonStrict(event).elements).toBeUndefined();
  });

  it('agrees with parseStrictJson on random mutations of an event (dropped, doubled and renamed keys)', () => {
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const keys = [...event.matchAll(/"([a-z_]+)":/g)].map((m) => m[0]);
    for (let round = 0; round < 300; round++) {
      let text = event;
      const k = keys[rnd(keys.length)]!;
      const at = text.indexOf(k);
      const mode = rnd(3);
      if (mode === 0) text = `${text.slice(0, at)}${k}"dup",${text.slice(at)}`;
      else if (mode === 1) text = text.replace(keys[rnd(keys.length)]!, k);
      else text = text.replace(k, `"${k.slice(1, -2)}\\u005f":`);
      const ref = verdict(() => parseStrictJson(text));
      const got = verdict(() => parseJsonStrict(text).value);
      expect(got.ok, text).toBe(ref.ok);
      if (!got.ok && !ref.ok) expect([got.rule, got.path]).toEqual([ref.rule, ref.path]);
    }
  });
});
