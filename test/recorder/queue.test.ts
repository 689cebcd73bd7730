import { describe, expect, it } from 'vitest';
import { RingQueue } from '../../src/recorder/queue.ts';

describe('RingQueue', () => {
  it('is FIFO across wrap-around and growth', () => {
    const q = new RingQueue<number>(16);
    for (let i = 0; i < 10; i++) q.push(i);
    expect(q.take(7)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    for (let i = 10; i < 50; i++) q.push(i); // wraps, then grows
    expect(q.length).toBe(43);
    expect(q.shift()).toBe(7);
    expect(q.drain()).toEqual(Array.from({ length: 42 }, (_, i) => i + 8));
    expect(q.shift()).toBeUndefined();
    expect(q.take(5)).toEqual([]);
  });

  it('agrees with an array model over random pushes and shifts', () => {
    const q = new RingQueue<number>(1);
    const model: number[] = [];
    let seed = 12345;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x80000000;
    };
    let next = 0;
    for (let step = 0; step < 20_000; step++) {
      const r = rnd();
      if (r < 0.55) {
        q.push(next);
        model.push(next++);
      } else if (r < 0.9) {
        expect(q.shift()).toBe(model.shift());
      } else {
        const n = Math.floor(rnd() * 40);
        expect(q.take(n)).toEqual(model.splice(0, n));
      }
      expect(q.length).toBe(model.length);
    }
  });
});
