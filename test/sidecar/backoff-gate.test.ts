/** The reconnect backoff of network stores, on a fake clock (no timing in the assertions). */
import { describe, expect, it } from 'vitest';
import { BackoffGate } from '../../src/sidecar/store/backoff-gate.ts';
import { StoreUnavailableError } from '../../src/sidecar/store/store-unavailable.ts';

function gate(random = () => 1) {
  let now = 1_000_000;
  const lines: string[] = [];
  const g = new BackoffGate('test store', {
    baseMs: 100,
    maxMs: 1000,
    now: () => now,
    random,
    log: (l) => lines.push(l),
  });
  return { g, lines, advance: (ms: number) => (now += ms) };
}

describe('BackoffGate', () => {
  it('lets calls through while up; after a failure refuses them until the window ends, then lets one probe', () => {
    const { g, advance } = gate();
    expect(() => g.check()).not.toThrow();
    const e = g.down(new Error('connect ECONNREFUSED'), 'appending');
    expect(e).toBeInstanceOf(StoreUnavailableError);
    expect(e.message).toMatch(
      /test store unavailable while appending: connect ECONNREFUSED; next attempt in 100 ms/,
    );
    expect(e.retryAfterSeconds).toBe(1); // never 0: Retry-After: 0 would invite a busy loop
    expect(g.isDown).toBe(true);
    expect(() => g.check()).toThrow(StoreUnavailableError);
    advance(99);
    expect(() => g.check()).toThrow(/next attempt in 1 ms/);
    advance(1);
    expect(() => g.check()).not.toThrow();
  });

  it('doubles the window on every failed probe, up to maxMs, and says how long when it reconnects', () => {
    const { g, lines, advance } = gate();
    const windows: number[] = [];
    for (let i = 0; i < 6; i++) {
      const e = g.down(new Error('ECONNRESET'), 'reading');
      windows.push(Number(/next attempt in (\d+) ms/.exec(e.message)![1]));
      advance(windows.at(-1)!);
    }
    expect(windows).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(g.down(new Error('x'), 'reading').retryAfterSeconds).toBe(1);
    // Calls failing inside the same window (concurrent probes) do not widen it again.
    const before = g.down(new Error('y'), 'reading').retryAfterSeconds;
    expect(g.down(new Error('z'), 'reading').message).toMatch(/next attempt in 1000 ms/);
    expect(before).toBe(1);
    g.up();
    expect(g.isDown).toBe(false);
    expect(lines[0]).toMatch(
      /test store: connection lost while reading \(ECONNRESET\); retrying with backoff/,
    );
    expect(lines).toHaveLength(2); // one line when it went down, one when it came back: not one per failure
    expect(lines[1]).toMatch(/reconnected after 3\.5 s \(7 failed attempts\)/);
    g.up();
    expect(lines).toHaveLength(2);
  });

  it('jitters the window between half and all of it', () => {
    const low = gate(() => 0).g.down(new Error('x'), 'a');
    const high = gate(() => 0.999).g.down(new Error('x'), 'a');
    expect(low.message).toMatch(/next attempt in 50 ms/);
    expect(high.message).toMatch(/next attempt in 100 ms/);
  });

  it('Retry-After rounds up to whole seconds', () => {
    const { g } = gate();
    for (let i = 0; i < 5; i++) g.down(new Error('x'), 'a');
    expect(g.down(new Error('x'), 'a').retryAfterSeconds).toBe(1);
    const slow = new BackoffGate('s', { baseMs: 2500, maxMs: 5000, now: () => 0, random: () => 1 });
    expect(slow.down(new Error('x'), 'a').retryAfterSeconds).toBe(3);
  });
});
