import { describe, expect, it } from 'vitest';
import { GenerationalCache } from '../../../src/adapters/_lru.ts';

/** Obviously-right reference: the set of the `max` most recently used keys. */
function recent(ops: number[], max: number): Set<number> {
  const order: number[] = [];
  for (const k of ops) {
    const i = order.indexOf(k);
    if (i !== -1) order.splice(i, 1);
    order.push(k);
  }
  return new Set(order.slice(-max));
}

describe('GenerationalCache', () => {
  it('always keeps the max most recently used keys, holds at most 2 × max, reports every eviction', () => {
    let seed = 3;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed >>> 16;
    };
    for (const max of [1, 2, 5, 17]) {
      const evicted: number[] = [];
      const c = new GenerationalCache<number, number>(max, (k) => evicted.push(k));
      const ops: number[] = [];
      for (let i = 0; i < 800; i++) {
        const k = rand() % (max * 4);
        ops.push(k);
        if (c.get(k) === undefined) c.set(k, k * 10);
        expect(c.size).toBeLessThanOrEqual(2 * max);
        for (const r of recent(ops, max)) expect(c.has(r)).toBe(true);
      }
      const held = new Set(ops.filter((k) => c.has(k)));
      expect(new Set([...held, ...evicted]).size).toBe(new Set(ops).size);
    }
  });

  it('get, set, has, delete', () => {
    const c = new GenerationalCache<string, number>(2);
    c.set('a', 1);
    c.set('a', 2);
    expect(c.get('a')).toBe(2);
    expect(c.delete('a')).toBe(true);
    expect(c.has('a')).toBe(false);
    expect(c.get('nope')).toBeUndefined();
  });
});
