import { describe, expect, it } from 'vitest';
import {
  EVENT_MAX_KEYS_PER_OBJECT,
  mayBreakStructure,
  structureIssue,
} from '../../src/integrity/event-shape.ts';
import { MAX_JSON_DEPTH, parseJsonStrict } from '../../src/integrity/strict-json.ts';

/** `depth` objects nested in one another around a string (one container per level). */
function nested(depth: number): unknown {
  let v: unknown = 'x';
  for (let d = 0; d < depth; d++) v = d % 3 === 2 ? [v] : { n: v };
  return v;
}

/** The verdict the strict parser gives the same value's text, placed at `level` of an event line. */
function parserRefuses(value: unknown, level: number): boolean {
  try {
    parseJsonStrict(JSON.stringify(value), {
      maxDepth: MAX_JSON_DEPTH - level + 1,
      maxKeysPerObject: EVENT_MAX_KEYS_PER_OBJECT,
    });
    return false;
  } catch {
    return true;
  }
}

/** As the embedded store and the sealer's policy check ask: the text's bound first, then the walk. */
function check(value: unknown, level: number, path = 'payload') {
  return mayBreakStructure(JSON.stringify(value), level) ? structureIssue(value, path, level) : undefined;
}

describe('structureIssue: the limits the sidecar and vcp verify apply, on objects', () => {
  it('allows nesting to level 64 and refuses level 65, counting arrays, naming the path', () => {
    // A payload is level 2: 63 containers reach level 64.
    expect(check(nested(63), 2)).toBeUndefined();
    const issue = check(nested(64), 2);
    expect(issue?.rule).toBe('depth');
    expect(issue?.path).toMatch(/^payload\.n/);
    expect(issue?.path).toContain('[0]');
    // The whole event is level 1.
    expect(check({ payload: nested(63) }, 1, '')).toBeUndefined();
    expect(check({ payload: nested(64) }, 1, '')?.path).toMatch(/^payload\./);
  });

  it('allows 1 000 keys in one object and refuses 1 001', () => {
    const wide = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 1]));
    expect(check({ a: wide(EVENT_MAX_KEYS_PER_OBJECT) }, 2)).toBeUndefined();
    expect(check({ a: wide(EVENT_MAX_KEYS_PER_OBJECT + 1) }, 2)).toMatchObject({
      path: 'payload.a',
      rule: 'max-keys',
    });
  });

  it('is not fooled by braces inside strings (they only make it walk)', () => {
    const value = { note: '{'.repeat(500), deep: nested(40) };
    expect(check(value, 2)).toBeUndefined();
    expect(check({ note: '[[[[', deep: nested(64) }, 2)?.rule).toBe('depth');
  });

  it('agrees with the strict parser on 600 random shapes near the limits', () => {
    let s = 7;
    const rand = (n: number) => {
      s = (s * 1103515245 + 12345) >>> 0;
      return (s >>> 8) % n;
    };
    let refused = 0;
    for (let t = 0; t < 600; t++) {
      const level = 1 + rand(3);
      const depth = 55 + rand(15);
      let v: unknown = nested(depth);
      // Siblings and wide objects beside the deep chain.
      const width = rand(4) === 0 ? 990 + rand(20) : rand(5);
      const wrapper: Record<string, unknown> = { chain: v };
      for (let i = 0; i < width; i++) wrapper[`w${i}`] = rand(2) ? i : { x: [i] };
      v = wrapper;
      const ours = check(v, level) !== undefined;
      expect(ours, `shape ${t}: depth ${depth}, width ${width}, level ${level}`).toBe(
        parserRefuses(v, level),
      );
      if (ours) refused++;
    }
    // Both verdicts occur often enough to mean something.
    expect(refused).toBeGreaterThan(120);
    expect(refused).toBeLessThan(480);
  });
});
