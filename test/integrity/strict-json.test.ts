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

  it('keeps __proto__ as data and does not change prototypes', () => {
    const v = parseStrictJsonObject('{"__proto__":{"polluted":true},"ok":1}');
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.keys(v)).toEqual(['__proto__', 'ok']);
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
