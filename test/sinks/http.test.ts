import { afterEach, describe, expect, it } from 'vitest';
import { VcpConfigError } from '../../src/core/errors.ts';
import { createRecorder } from '../../src/recorder/recorder.ts';
import { withCircuitBreaker } from '../../src/sinks/circuit-breaker.ts';
import { SinkError } from '../../src/sinks/errors.ts';
import { batchKey, createHttpSink, type HttpRejection, HttpSink } from '../../src/sinks/http.ts';
import { withRetry } from '../../src/sinks/retry.ts';
import { SpoolSink } from '../../src/sinks/spool.ts';
import { orderIds, policy, sealedEvents, tempDir } from './_helpers.ts';
import { SidecarStub } from './_sidecar-stub.ts';

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});
async function sidecar(): Promise<SidecarStub> {
  const s = new SidecarStub();
  await s.start();
  closers.push(() => s.stop());
  return s;
}
function track<T extends { close(): Promise<void> }>(sink: T): T {
  closers.push(() => sink.close().catch(() => {}));
  return sink;
}

describe('HttpSink against a real HTTP server', () => {
  it('posts batches as a JSON array with a bearer token and a per-batch Idempotency-Key', async () => {
    const s = await sidecar();
    s.token = 'sekret-token';
    const sink = track(new HttpSink({ url: s.url, token: 'sekret-token' }));
    const events = sealedEvents(3);
    await sink.write(events);
    expect(orderIds(s.stored)).toEqual(['O-0', 'O-1', 'O-2']);
    expect(s.stored[0]).toEqual(JSON.parse(JSON.stringify(events[0])));
    expect(s.requests[0]).toMatchObject({
      count: 3,
      authorization: 'Bearer sekret-token',
      contentType: 'application/json',
      idempotencyKey: batchKey(events),
      status: 201,
    });
    // The same batch again: the same key, and the sidecar's duplicates are counted.
    await sink.write(events);
    expect(s.requests[1]!.idempotencyKey).toBe(s.requests[0]!.idempotencyKey);
    expect(sink.stats()).toMatchObject({ requests: 2, acknowledged: 6, duplicates: 3, rejected: 0 });
    expect(s.stored).toHaveLength(3);
    // The token never shows in logs.
    expect(JSON.stringify(sink)).not.toContain('sekret');
    expect(sink.name).not.toContain('sekret');
  });

  it('accepts a full endpoint URL, and splits batches over maxBatchEvents', async () => {
    const s = await sidecar();
    const sink = track(new HttpSink({ url: `${s.url}/vcp/log`, maxBatchEvents: 2 }));
    await sink.write(sealedEvents(5));
    expect(s.requests.map((r) => r.count)).toEqual([2, 2, 1]);
    expect(orderIds(s.stored)).toEqual(['O-0', 'O-1', 'O-2', 'O-3', 'O-4']);
  });

  it('503 and dropped connections are retryable; withRetry delivers once the server recovers', async () => {
    const s = await sidecar();
    const raw = track(new HttpSink({ url: s.url }));
    s.failNext = 1;
    const e503 = await raw.write(sealedEvents(1)).catch((e: unknown) => e);
    expect(e503).toMatchObject({ retryable: true, status: 503, reason: 'http_503' });
    s.failNext = 1;
    s.failMode = 'drop';
    const eDrop = await raw.write(sealedEvents(1)).catch((e: unknown) => e);
    expect(eDrop).toMatchObject({ retryable: true, reason: 'connection' });

    s.failMode = '503';
    s.failNext = 2;
    const retries: number[] = [];
    const sink = withRetry(raw, { minDelayMs: 5, maxDelayMs: 20, onRetry: (_e, a) => retries.push(a) });
    await sink.write(sealedEvents(3, 10));
    expect(retries).toEqual([1, 2]);
    expect(orderIds(s.stored)).toEqual(['O-10', 'O-11', 'O-12']);
  });

  it('429 carries the Retry-After hint', async () => {
    const s = await sidecar();
    s.failNext = 1;
    s.failMode = '429';
    const err = await track(new HttpSink({ url: s.url }))
      .write(sealedEvents(1))
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ retryable: true, status: 429, retryAfterMs: 1000 });
  });

  it('a 400 is not retried: the events are reported through onRejected and counted', async () => {
    const s = await sidecar();
    s.refuse.add('O-1');
    const rejected: [string[], HttpRejection][] = [];
    const raw = track(
      new HttpSink({ url: s.url, onRejected: (ev, info) => rejected.push([orderIds(ev), info]) }),
    );
    const sink = withRetry(raw, { minDelayMs: 1 });
    const err = await sink.write(sealedEvents(3)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SinkError);
    expect(err).toMatchObject({ retryable: false, status: 400 });
    expect((err as Error).message).toMatch(
      /refused 3 event\(s\) with HTTP 400 validation.*\[1\]\.payload\.trade_data\.price/,
    );
    expect(s.requests).toHaveLength(1);
    expect(rejected).toEqual([
      [
        ['O-0', 'O-1', 'O-2'],
        {
          status: 400,
          error: 'validation',
          message: 'invalid batch',
          errors: [
            { path: '[1].payload.trade_data.price', rule: 'decimal-string', message: 'refused by the test' },
          ],
        },
      ],
    ]);
    expect(raw.stats().rejected).toBe(3);
  });

  it('413 on a batch: halves it until the server takes it', async () => {
    const s = await sidecar();
    s.maxBatch = 2;
    const sink = track(new HttpSink({ url: s.url }));
    await sink.write(sealedEvents(5));
    expect(orderIds(s.stored)).toEqual(['O-0', 'O-1', 'O-2', 'O-3', 'O-4']);
    expect(s.requests.map((r) => [r.count, r.status])).toEqual([
      [5, 413],
      [2, 201],
      [3, 413],
      [1, 201],
      [2, 201],
    ]);
  });

  it('a wrong token (401) is retryable: the events are good, the configuration is not', async () => {
    const s = await sidecar();
    s.token = 'right';
    const err = await track(new HttpSink({ url: s.url, token: 'wrong' }))
      .write(sealedEvents(1))
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ retryable: true, status: 401 });
  });

  it('the circuit opens after N failures with the server down, and half-opens later', async () => {
    const s = await sidecar();
    const port = s.port;
    await s.stop();
    const states: string[] = [];
    const sink = track(
      withCircuitBreaker(new HttpSink({ url: `http://127.0.0.1:${port}`, timeoutMs: 2000 }), {
        failureThreshold: 2,
        resetTimeoutMs: 100,
        onStateChange: (st) => states.push(st),
      }),
    );
    for (let i = 0; i < 2; i++)
      await expect(sink.write(sealedEvents(1))).rejects.toMatchObject({ reason: 'connection' });
    expect(sink.state).toBe('open');
    await expect(sink.write(sealedEvents(1))).rejects.toMatchObject({ reason: 'circuit_open' });
    await s.start(port);
    await new Promise((r) => setTimeout(r, 120));
    expect(sink.state).toBe('half-open');
    await sink.write(sealedEvents(1, 7));
    expect(sink.state).toBe('closed');
    expect(states).toEqual(['open', 'half-open', 'closed']);
    expect(orderIds(s.stored)).toEqual(['O-7']);
  });

  it('spools while the sidecar is down and replays in order when it is back on the same port', async () => {
    const s = await sidecar();
    const port = s.port;
    const t = tempDir('vcp-http-spool-');
    closers.push(t.cleanup);
    const sink = track(
      createHttpSink({
        url: s.url,
        timeoutMs: 2000,
        spoolDir: t.dir,
        retry: { retries: 1, minDelayMs: 1, maxDelayMs: 5 },
        breaker: { failureThreshold: 2, resetTimeoutMs: 50 },
        spool: { replayIntervalMs: 20, batchSize: 7 },
      }),
    );
    expect(sink).toBeInstanceOf(SpoolSink);
    const spool = sink as SpoolSink;
    await sink.write(sealedEvents(5, 0));
    await s.stop();
    // Down: every write resolves (the events are on disk), in order.
    for (let i = 5; i < 30; i += 5) await sink.write(sealedEvents(5, i));
    expect(spool.spooledEvents()).toBe(25);
    await s.start(port);
    expect(await spool.drain(10_000)).toBe(true);
    await sink.write(sealedEvents(5, 30));
    expect(orderIds(s.stored)).toEqual(Array.from({ length: 35 }, (_, i) => `O-${i}`));
  });

  it('carries a recorder end to end: every event arrives once, in capture order', async () => {
    const s = await sidecar();
    const recorder = createRecorder({
      policy,
      sink: createHttpSink({ url: s.url }),
      exitHooks: false,
      batchSize: 16,
    });
    for (let i = 0; i < 100; i++) {
      recorder.record('ORD', { trade_data: { order_id: `O-${i}`, price: '1.0850', quantity: '100000' } });
    }
    await recorder.close();
    expect(orderIds(s.stored)).toEqual(Array.from({ length: 100 }, (_, i) => `O-${i}`));
    expect(recorder.stats()).toMatchObject({
      recorded: 100,
      sealed: 100,
      written: 100,
      dropped: 0,
      sinkErrors: 0,
    });
  });

  it('refuses a bad configuration', () => {
    expect(() => new HttpSink({ url: 'not a url' })).toThrow(VcpConfigError);
    expect(() => new HttpSink({ url: 'ftp://x' })).toThrow(/http: or https:/);
    expect(() => new HttpSink({ url: 'http://x', token: 'a\r\nX-Evil: 1' })).toThrow(/line breaks/);
  });
});
