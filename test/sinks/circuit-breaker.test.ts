import { describe, expect, it } from 'vitest';
import { type CircuitState, withCircuitBreaker } from '../../src/sinks/circuit-breaker.ts';
import { ControlledSink, sealedEvents } from './_helpers.ts';

function setup(threshold = 3, resetMs = 1000) {
  const inner = new ControlledSink();
  let now = 0;
  const changes: [CircuitState, CircuitState][] = [];
  const sink = withCircuitBreaker(inner, {
    failureThreshold: threshold,
    resetTimeoutMs: resetMs,
    now: () => now,
    onStateChange: (s, p) => changes.push([s, p]),
  });
  return { inner, sink, changes, advance: (ms: number) => (now += ms) };
}

describe('withCircuitBreaker', () => {
  it('opens after N consecutive failures and then refuses at once without calling the downstream', async () => {
    const { inner, sink } = setup(3);
    inner.down = true;
    for (let i = 0; i < 3; i++) await expect(sink.write(sealedEvents(1))).rejects.toThrow('down');
    expect(sink.state).toBe('open');
    const err = await sink.write(sealedEvents(1)).catch((e: unknown) => e);
    expect(err).toMatchObject({ retryable: true, reason: 'circuit_open', retryAfterMs: 1000 });
    expect(inner.calls).toHaveLength(3);
    expect(sink.stats()).toMatchObject({ opened: 1, shortCircuited: 1 });
  });

  it('a success in between resets the count', async () => {
    const { inner, sink } = setup(3);
    inner.failures = 2;
    await expect(sink.write(sealedEvents(1))).rejects.toThrow();
    await expect(sink.write(sealedEvents(1))).rejects.toThrow();
    await sink.write(sealedEvents(1));
    inner.failures = 2;
    await expect(sink.write(sealedEvents(1))).rejects.toThrow();
    await expect(sink.write(sealedEvents(1))).rejects.toThrow();
    expect(sink.state).toBe('closed');
  });

  it('half-opens after the reset timeout: one probe; success closes, failure reopens', async () => {
    const { inner, sink, changes, advance } = setup(2, 1000);
    inner.down = true;
    await expect(sink.write(sealedEvents(1))).rejects.toThrow();
    await expect(sink.write(sealedEvents(1))).rejects.toThrow();
    advance(999);
    await expect(sink.write(sealedEvents(1))).rejects.toMatchObject({ reason: 'circuit_open' });
    advance(1);
    expect(sink.state).toBe('half-open');
    await expect(sink.write(sealedEvents(1))).rejects.toThrow('down'); // the probe went through and failed
    expect(sink.state).toBe('open');
    advance(1000);
    inner.down = false;
    inner.hold();
    const probe = sink.write(sealedEvents(1));
    // While the probe is out, other writes are still refused.
    await expect(sink.write(sealedEvents(1))).rejects.toMatchObject({ reason: 'circuit_open' });
    inner.release();
    await probe;
    expect(sink.state).toBe('closed');
    expect(changes).toEqual([
      ['open', 'closed'],
      ['half-open', 'open'],
      ['open', 'half-open'],
      ['half-open', 'open'],
      ['closed', 'half-open'],
    ]);
  });

  it('refused events (a 400) do not count against the downstream', async () => {
    const { inner, sink } = setup(1);
    inner.refuse.add('O-0');
    await expect(sink.write(sealedEvents(1))).rejects.toMatchObject({ retryable: false });
    await expect(sink.write(sealedEvents(1))).rejects.toMatchObject({ retryable: false });
    expect(sink.state).toBe('closed');
  });
});
