/**
 * Backoff for anchor targets that are down: exponential, capped, with
 * bounded jitter, and configuration errors named clearly.
 */
import { describe, expect, it } from 'vitest';
import { VcpConfigError } from '../../src/core/errors.ts';
import { backoffDelay, DEFAULT_RETRY, resolveRetryPolicy } from '../../src/sidecar/anchor/retry.ts';

describe('backoffDelay', () => {
  const policy = resolveRetryPolicy({ initialMs: 100, maxMs: 1_000, factor: 2, jitter: 0 });

  it('doubles from the initial delay up to the cap', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, policy))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('jitter only shortens the delay, by at most its fraction', () => {
    const jittery = resolveRetryPolicy({ initialMs: 1_000, maxMs: 1_000, jitter: 0.2 });
    expect(backoffDelay(1, jittery, () => 0)).toBe(1000);
    expect(backoffDelay(1, jittery, () => 0.5)).toBe(900);
    expect(backoffDelay(1, jittery, () => 0.999999)).toBe(800);
    // A broken random source cannot push it outside the range.
    expect(backoffDelay(1, jittery, () => 7)).toBe(800);
    expect(backoffDelay(1, jittery, () => -1)).toBe(1000);
  });

  it('stays finite and capped for absurd attempt numbers', () => {
    for (const n of [0, -5, 1.7, 1e6, Number.MAX_SAFE_INTEGER, Number.POSITIVE_INFINITY]) {
      const d = backoffDelay(n, policy);
      expect(Number.isFinite(d)).toBe(true);
      expect(d).toBeGreaterThanOrEqual(1);
      expect(d).toBeLessThanOrEqual(1000);
    }
  });
});

describe('resolveRetryPolicy', () => {
  it('fills in defaults: 1 s doubling to 5 min with 20 % jitter', () => {
    expect(resolveRetryPolicy()).toEqual({ initialMs: 1000, maxMs: 300_000, factor: 2, jitter: 0.2 });
    expect(resolveRetryPolicy({ initialMs: 5 })).toEqual({ ...DEFAULT_RETRY, initialMs: 5 });
  });

  it('refuses nonsense with a VcpConfigError naming the field', () => {
    const bad: [object, RegExp][] = [
      [{ initialMs: 0 }, /initialMs/],
      [{ initialMs: Number.NaN }, /initialMs/],
      [{ maxMs: -1 }, /maxMs/],
      [{ initialMs: 10, maxMs: 5 }, /maxMs must be at least/],
      [{ factor: 0.5 }, /factor/],
      [{ jitter: 1.5 }, /jitter/],
      [{ jitter: Number.NaN }, /jitter/],
      [{ factor: '2' }, /factor/],
    ];
    for (const [p, re] of bad) {
      expect(() => resolveRetryPolicy(p as never)).toThrow(VcpConfigError);
      expect(() => resolveRetryPolicy(p as never)).toThrow(re);
    }
  });
});
