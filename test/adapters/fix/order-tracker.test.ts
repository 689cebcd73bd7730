import { describe, expect, it } from 'vitest';
import { createOrderTracker } from '../../../src/adapters/fix/order-tracker.ts';

describe('order tracker: one trace per order', () => {
  it('ties a replace chain and the broker OrderID to the first ClOrdID', () => {
    const t = createOrderTracker();
    const o = t.open('C|B', { clOrdId: 'A' }, 'trace-1');
    expect(o.orderKey).toBe('A');
    t.link(o, 'C|B', { clOrdId: 'A', orderId: 'X-9' });
    // Replace A → B, then B → C.
    expect(t.find('C|B', { clOrdId: 'B', origClOrdId: 'A' })).toBe(o);
    t.link(o, 'C|B', { clOrdId: 'B', origClOrdId: 'A' });
    expect(t.find('C|B', { clOrdId: 'C', origClOrdId: 'B' })).toBe(o);
    t.link(o, 'C|B', { clOrdId: 'C', origClOrdId: 'B' });
    // Reports naming any of them, or only the OrderID, find the same order.
    for (const ids of [
      { clOrdId: 'C' },
      { clOrdId: 'A' },
      { orderId: 'X-9' },
      { clOrdId: 'unknown', orderId: 'X-9' },
    ]) {
      expect(t.find('C|B', ids)?.traceId).toBe('trace-1');
    }
  });

  it('scopes ids by session: the same ClOrdID from another client is another order', () => {
    const t = createOrderTracker();
    t.open('C1|B', { clOrdId: '1' }, 't1');
    expect(t.find('C2|B', { clOrdId: '1' })).toBeUndefined();
    // OrderIDs and ClOrdIDs live in separate key spaces.
    expect(t.find('C1|B', { orderId: '1' })).toBeUndefined();
  });

  it('keeps memory bounded: recently touched live orders stay, old untouched ones go; finished ones in their own LRU', () => {
    const t = createOrderTracker({ maxActive: 100, maxFinished: 10 });
    const keep = t.open('s', { clOrdId: 'keep' }, 'tk');
    for (let i = 0; i < 10_000; i++) {
      t.open('s', { clOrdId: `o${i}` }, `t${i}`);
      if (i % 50 === 0) expect(t.find('s', { clOrdId: 'keep' })).toBe(keep); // touched now and then
    }
    const st = t.stats();
    expect(st.active).toBeLessThanOrEqual(200);
    expect(st.active + st.evictedActive).toBe(10_001);
    expect(t.find('s', { clOrdId: 'keep' })).toBe(keep);
    expect(t.find('s', { clOrdId: 'o9999' })?.traceId).toBe('t9999'); // the newest 100 are always kept
    expect(t.find('s', { clOrdId: 'o9900' })?.traceId).toBe('t9900');
    expect(t.find('s', { clOrdId: 'o0' })).toBeUndefined(); // dropped, and its ids with it

    for (let i = 9900; i < 10_000; i++) t.finish(t.find('s', { clOrdId: `o${i}` })!);
    expect(t.stats().finished).toBeLessThanOrEqual(20);
    expect(t.find('s', { clOrdId: 'o9999' })?.finished).toBe(true); // a late report still finds it
    expect(t.find('s', { clOrdId: 'o9900' })).toBeUndefined();
    expect(t.stats().evictedFinished).toBeGreaterThanOrEqual(80);
  });

  it('a long replace chain keeps only its newest ids', () => {
    const t = createOrderTracker({ maxKeysPerOrder: 4 });
    const o = t.open('s', { clOrdId: 'id0' }, 't');
    for (let i = 1; i < 100; i++) t.link(o, 's', { clOrdId: `id${i}`, origClOrdId: `id${i - 1}` });
    expect(o.keys.length).toBe(4);
    expect(t.find('s', { clOrdId: 'id99' })).toBe(o);
    expect(t.find('s', { clOrdId: 'id0' })).toBeUndefined();
  });
});
