/**
 * Delivery rules shared by both taps: retry while the sink is down (the log
 * upstream is the buffer), stop on a refusal, give up on a hard stop even if
 * the sink never answers.
 */
import { describe, expect, it } from 'vitest';
import type { TapMessage } from '../../src/adapters/message-mapping.ts';
import { TapDeliveryError, TapRunner } from '../../src/adapters/tap-runner.ts';
import { VcpConfigError } from '../../src/core/errors.ts';
import type { VcpEvent } from '../../src/core/types.ts';
import { SinkError } from '../../src/sinks/errors.ts';
import { MemorySink } from '../../src/sinks/memory.ts';
import type { Sink } from '../../src/sinks/sink.ts';

function message(offset: number): TapMessage {
  return {
    transport: 'kafka',
    topic: 'orders',
    partition: 0,
    offset: String(offset),
    key: undefined,
    value: Buffer.from(JSON.stringify({ order_id: `O${offset}`, symbol: 'EURUSD', side: 'BUY' })),
    fields: undefined,
    rawFields: undefined,
    headers: {},
    timestamp: 1735084800000 + offset,
  };
}

/** A sink that fails its first `failures` writes with `error`, then stores. */
class FlakySink implements Sink {
  readonly name = 'flaky';
  readonly stored = new MemorySink();
  readonly failures: number;
  readonly error: () => unknown;
  attempts = 0;
  constructor(failures: number, error: () => unknown) {
    this.failures = failures;
    this.error = error;
  }
  async write(events: readonly VcpEvent[]): Promise<void> {
    this.attempts++;
    if (this.attempts <= this.failures) throw this.error();
    await this.stored.write(events);
  }
  async close(): Promise<void> {}
}

const fast = { retryMinDelayMs: 1, retryMaxDelayMs: 5 };

describe('TapRunner.deliver', () => {
  it('retries a sink that is down until it acknowledges, counting the retries', async () => {
    const sink = new FlakySink(4, () => new SinkError('sidecar down', { retryable: true }));
    const seen: number[] = [];
    const r = new TapRunner(
      { sink, policyId: 'local:t:t', ...fast, onSinkError: (_e, attempt) => seen.push(attempt) },
      'vcp-tap-test',
    );
    const { events } = r.toEvents([message(1), message(2)]);
    expect(await r.deliver(events)).toBe(true);
    expect(sink.stored.events).toHaveLength(2);
    expect(r.stats).toMatchObject({ sinkRetries: 4, events: 2, batches: 1 });
    expect(seen).toEqual([1, 2, 3, 4]);
  });

  it('stops with TapDeliveryError when the sink refuses the events (retrying cannot help)', async () => {
    const sink = new FlakySink(
      1,
      () => new SinkError('HTTP 409 conflict', { retryable: false, status: 409 }),
    );
    const r = new TapRunner({ sink, policyId: 'local:t:t', ...fast }, 'vcp-tap-test');
    const { events } = r.toEvents([message(1)]);
    const error = await r.deliver(events).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TapDeliveryError);
    expect((error as Error).message).toMatch(/refused 1 event\(s\); stopping without committing them.*409/);
    expect(sink.attempts).toBe(1);
  });

  it('abandon() ends delivery even when the sink never answers', async () => {
    const hung: Sink = { name: 'hung', write: () => new Promise(() => {}), close: async () => {} };
    const r = new TapRunner({ sink: hung, policyId: 'local:t:t' }, 'vcp-tap-test');
    const { events } = r.toEvents([message(1)]);
    const pending = r.deliver(events);
    r.abandon();
    expect(await pending).toBe(false);
    expect(r.stats.events).toBe(0);
  });

  it('abandon() cuts a backoff wait short', async () => {
    const sink = new FlakySink(1_000_000, () => new SinkError('down', { retryable: true }));
    const r = new TapRunner(
      { sink, policyId: 'local:t:t', retryMinDelayMs: 60_000, retryMaxDelayMs: 60_000 },
      'vcp-tap-test',
    );
    const pending = r.deliver(r.toEvents([message(1)]).events);
    await new Promise((resolve) => setTimeout(resolve, 20));
    r.abandon();
    expect(await pending).toBe(false);
  });

  it('refuses to start without a sink or a policy', () => {
    expect(() => new TapRunner({ policyId: 'local:t:t' } as never, 'vcp-tap-test')).toThrow(VcpConfigError);
    expect(() => new TapRunner({ sink: new MemorySink() }, 'vcp-tap-test')).toThrow(/policyId/);
    expect(() => new TapRunner({ sink: new MemorySink(), policyId: 'not a policy' }, 'vcp-tap-test')).toThrow(
      /policy_id/,
    );
  });
});

describe('TapRunner configuration', () => {
  it('refuses a clock status or hash algorithm no event could carry, before the first message', () => {
    const make = (extra: Record<string, unknown>) => () =>
      new TapRunner({ sink: new MemorySink(), policyId: 'local:t:t', ...extra }, 'vcp-tap-test');
    expect(make({ clockSyncStatus: 'BOGUS' })).toThrow(
      /vcp-tap-test: clockSyncStatus must be one of PTP_LOCKED/,
    );
    expect(make({ hashAlgo: 'MD5' })).toThrow(/vcp-tap-test: hashAlgo must be one of SHA256/);
    expect(make({ clockSyncStatus: 'NTP_SYNCED', hashAlgo: 'SHA3_256' })).not.toThrow();
  });

  it('refuses a policy the sidecar would refuse in every event, before the first message', () => {
    const policy = { policy_id: 'com.example:algo' } as never; // no conformance_tier
    expect(() => new TapRunner({ sink: new MemorySink(), policy }, 'vcp-tap-test')).toThrow(
      /vcp-tap-test: the policy cannot be recorded: policy_identification.conformance_tier \[enum\]/,
    );
  });
});
