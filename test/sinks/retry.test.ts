import { describe, expect, it } from 'vitest';
import { VcpValidationError } from '../../src/core/errors.ts';
import { isRetryable, SinkError } from '../../src/sinks/errors.ts';
import { backoffDelay, withRetry } from '../../src/sinks/retry.ts';
import { ControlledSink, ControlledSyncSink, orderIds, sealedEvents } from './_helpers.ts';

describe('backoffDelay', () => {
  it('grows exponentially up to the cap, with full jitter inside [0, backoff]', () => {
    const none = { minDelayMs: 100, maxDelayMs: 1000, jitter: 'none' as const };
    expect([0, 1, 2, 3, 4, 10].map((a) => backoffDelay(a, none))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(backoffDelay(2, { ...none, jitter: 'full', random: () => 0.5 })).toBe(200);
    expect(backoffDelay(2, { ...none, jitter: 'equal', random: () => 0 })).toBe(200);
    expect(backoffDelay(2, { ...none, jitter: 'equal', random: () => 0.999 })).toBeCloseTo(399.8);
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(3, { minDelayMs: 100, maxDelayMs: 1000 });
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(800);
    }
    // A huge attempt number does not overflow into Infinity or NaN.
    expect(backoffDelay(10_000, none)).toBe(1000);
  });
});

describe('isRetryable', () => {
  it('trusts a SinkError, refuses validation errors, assumes other errors are transient', () => {
    expect(isRetryable(new SinkError('x', { retryable: false }))).toBe(false);
    expect(isRetryable(new SinkError('x', { retryable: true }))).toBe(true);
    expect(isRetryable(new VcpValidationError({ path: 'a', rule: 'r', message: 'm' }))).toBe(false);
    expect(isRetryable(Object.assign(new Error('ENOSPC'), { code: 'ENOSPC' }))).toBe(true);
  });
});

describe('withRetry', () => {
  it('retries retryable failures with backoff and delivers once', async () => {
    const inner = new ControlledSink();
    inner.failures = 3;
    const waits: number[] = [];
    const sink = withRetry(inner, {
      minDelayMs: 1,
      maxDelayMs: 4,
      jitter: 'none',
      onRetry: (_e, _a, d) => waits.push(d),
    });
    await sink.write(sealedEvents(2));
    expect(orderIds(inner.events)).toEqual(['O-0', 'O-1']);
    expect(inner.calls).toEqual([2, 2, 2, 2]);
    expect(waits).toEqual([1, 2, 4]);
    expect(sink.stats()).toEqual({ retries: 3, gaveUp: 0 });
  });

  it('gives up after `retries` and passes the last error on', async () => {
    const inner = new ControlledSink();
    inner.down = true;
    const sink = withRetry(inner, { retries: 2, minDelayMs: 1, maxDelayMs: 1 });
    await expect(sink.write(sealedEvents(1))).rejects.toMatchObject({ retryable: true });
    expect(inner.calls).toHaveLength(3);
    expect(sink.stats().gaveUp).toBe(1);
  });

  it('never retries events the downstream refuses', async () => {
    const inner = new ControlledSink();
    inner.refuse.add('O-0');
    const sink = withRetry(inner, { minDelayMs: 1 });
    await expect(sink.write(sealedEvents(1))).rejects.toMatchObject({ retryable: false, status: 400 });
    expect(inner.calls).toHaveLength(1);
  });

  it('waits at least as long as a Retry-After hint asks', async () => {
    const inner = new ControlledSink();
    inner.failures = 1;
    inner.failWith = () => new SinkError('busy', { retryable: true, status: 429, retryAfterMs: 30 });
    const waits: number[] = [];
    const sink = withRetry(inner, { minDelayMs: 1, maxDelayMs: 2, onRetry: (_e, _a, d) => waits.push(d) });
    await sink.write(sealedEvents(1));
    expect(waits).toEqual([30]);
  });

  it('close cuts a wait short, and writeSync passes through when the inner sink has it', async () => {
    const inner = new ControlledSink();
    inner.down = true;
    const sink = withRetry(inner, { minDelayMs: 60_000, maxDelayMs: 60_000, jitter: 'none' });
    const pending = sink.write(sealedEvents(1));
    await new Promise((r) => setTimeout(r, 5));
    await sink.close();
    await expect(pending).rejects.toThrow(/closed while waiting/);
    expect(sink.writeSync).toBeUndefined();
    const syncInner = new ControlledSyncSink();
    withRetry(syncInner).writeSync!(sealedEvents(1));
    expect(syncInner.events).toHaveLength(1);
  });
});
