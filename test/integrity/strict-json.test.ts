import { describe, expect, it } from 'vitest';
import { VcpValidationError } from '../../src/core/errors.ts';
import { parseExport } from '../../src/integrity/export-format.ts';
import { parseStrictJson, parseStrictJsonObject } from '../../src/integrity/strict-json.ts';

function issue(fn: () => unknown) {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(VcpValidationError);
    return (e as VcpValidationError).issues[0]!;
  }
  throw new Error('expected a VcpValidationError');
}

describe('parseStrictJson', () => {
  it('parses what JSON.parse parses', () => {
    const text = '{"a":[1,{"b":"c\\"}"}],"d":{"e":null},"f":"{\\"g\\":1}"}';
    expect(parseStrictJson(text)).toEqual(JSON.parse(text));
  });

  it('refuses duplicate keys, which JSON.parse silently resolves to the last one', () => {
    const i = issue(() => parseStrictJson('{"header":{"event_type":"ORD","event_type":"CXL"}}'));
    expect(i.rule).toBe('duplicate-key');
    expect(i.path).toBe('header.event_type');
  });

  it('sees through escapes: "a" and "\\u0061" are the same key', () => {
    expect(issue(() => parseStrictJson('{"a":1,"\\u0061":2}')).rule).toBe('duplicate-key');
  });

  it('allows the same key in sibling objects and in arrays of objects', () => {
    expect(() => parseStrictJson('[{"a":1},{"a":2}]')).not.toThrow();
    expect(() => parseStrictJson('{"x":{"a":1},"y":{"a":2},"a":3}')).not.toThrow();
  });

  it('refuses __proto__ anywhere and constructor.prototype (prototype pollution), naming the path', () => {
    const a = issue(() => parseStrictJsonObject('{"ok":1,"payload":{"__proto__":{"polluted":true}}}'));
    expect([a.rule, a.path]).toEqual(['forbidden-key', 'payload.__proto__']);
    // Escaped spellings are the same key.
    expect(issue(() => parseStrictJson('{"\\u005f_proto__":1}')).rule).toBe('forbidden-key');
    const b = issue(() => parseStrictJson('[{"a":{"constructor":{"prototype":{"x":1}}}}]'));
    expect([b.rule, b.path]).toEqual(['forbidden-key', '[0].a.constructor.prototype']);
    // "constructor" and "prototype" on their own are ordinary keys (as in Fastify's default).
    expect(parseStrictJson('{"constructor":"x","prototype":{"constructor":1}}')).toEqual({
      constructor: 'x',
      prototype: { constructor: 1 },
    });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses numbers a double cannot hold exactly, advising a decimal string', () => {
    const a = issue(() => parseStrictJson('{"payload":{"ref_no":12345678901234567890}}'));
    expect([a.rule, a.path]).toEqual(['number-precision', 'payload.ref_no']);
    expect(a.message).toMatch(/12345678901234567000/);
    expect(a.message).toMatch(/decimal string/);
    const b = issue(() => parseStrictJson('{"q":[1,2,0.10000000000000000001]}'));
    expect([b.rule, b.path]).toEqual(['number-precision', 'q[2]']);
    for (const t of [
      '9007199254740992',
      '-9007199254740993',
      '1e400',
      '-1e400',
      '1e-400',
      '0.30000000000000000001',
    ])
      expect(issue(() => parseStrictJson(`{"n":${t}}`)).rule, t).toBe('number-precision');
    // What a double holds exactly passes, in any spelling, unless canonical form is asked for.
    for (const t of [
      '9007199254740991',
      '-9007199254740991',
      '0.1',
      '1.50',
      '2.0',
      '1E2',
      '-0',
      '1.5e300',
      '5e-324',
    ])
      expect(parseStrictJson(`{"n":${t}}`), t).toEqual({ n: Number(t) });
  });

  it('with canonicalNumbers, refuses number text that is not its RFC 8785 form', () => {
    for (const t of ['2.0', '1e0', '1E2', '-0', '0.10', '1e21', '0.0000001', '1.0e-7']) {
      const i = issue(() => parseStrictJson(`{"a":{"n":${t}}}`, { canonicalNumbers: true }));
      expect([i.rule, i.path], t).toEqual(['number-form', 'a.n']);
    }
    // Precision comes first: this one is not held exactly at all.
    expect(issue(() => parseStrictJson('[12345678901234567001]', { canonicalNumbers: true })).rule).toBe(
      'number-precision',
    );
    for (const t of ['2', '0', '-1.5', '1e+21', '1e-7', '0.000001', '123456789', '9007199254740991'])
      expect(parseStrictJson(`[${t}]`, { canonicalNumbers: true }), t).toEqual([Number(t)]);
  });

  it('states its limits: depth, keys per object and in all, string length, root array items', () => {
    expect(issue(() => parseStrictJson('{"a":[[1]]}', { maxDepth: 2 })).rule).toBe('depth');
    const k = issue(() => parseStrictJson('{"x":{"a":1,"b":2,"c":3}}', { maxKeysPerObject: 2 }));
    expect([k.rule, k.path]).toEqual(['max-keys', 'x']);
    expect(issue(() => parseStrictJson('[{"a":1},{"b":1},{"c":1}]', { maxKeys: 2 })).rule).toBe('max-keys');
    const s = issue(() => parseStrictJson('{"a":{"s":"abcdef"}}', { maxStringLength: 5 }));
    expect([s.rule, s.path]).toEqual(['max-string-length', 'a']);
    expect(issue(() => parseStrictJson('[1,2,3]', { maxItems: 2 })).rule).toBe('max-items');
    expect(parseStrictJson('[1,2]', { maxItems: 2 })).toEqual([1, 2]);
  });

  it('refuses over-limit text before building it: a 4-million-deep array, a million keys', () => {
    // These texts are malformed too (never closed): only a scan that stops at the limit answers "depth"/"max-keys".
    expect(issue(() => parseStrictJson('['.repeat(4_000_000))).rule).toBe('depth');
    const keys = Array.from({ length: 20_000 }, (_, i) => `"k${i}":1`).join(',');
    expect(issue(() => parseStrictJson(`{${keys}`)).rule).toBe('max-keys');
  });

  it('refuses malformed JSON, excessive depth and non-object roots where an object is needed', () => {
    expect(issue(() => parseStrictJson('{"a":')).rule).toBe('json');
    expect(issue(() => parseStrictJson('NaN')).rule).toBe('json');
    expect(issue(() => parseStrictJson('['.repeat(100) + ']'.repeat(100))).rule).toBe('depth');
    expect(issue(() => parseStrictJsonObject('[1]')).rule).toBe('object');
  });
});

describe('parseExport', () => {
  it('sorts lines into events, anchors and metadata and keeps unreadable lines in place', () => {
    const text = [
      '{"vcp_export":{"format":"vcp-export","version":1}}',
      '{"header":{"event_id":"a"},"payload":{}}',
      'not json',
      '',
      '{"anchor_record":{"merkle_root":"00","tree_size":1}}',
      '{"Header":{"EventID":"b"}}',
      '{"merkle_root":"11","tree_size":2}',
    ].join('\n');
    const p = parseExport(text);
    expect(p.meta).toHaveLength(1);
    expect(p.events).toHaveLength(3);
    expect(p.eventLines).toEqual([2, 3, 6]);
    expect(p.anchors).toEqual([
      { merkle_root: '00', tree_size: 1 },
      { merkle_root: '11', tree_size: 2 },
    ]);
    expect(p.errors).toEqual([{ line: 3, message: expect.stringMatching(/malformed JSON/) }]);
  });
});
