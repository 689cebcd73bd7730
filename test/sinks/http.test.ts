/**
 * HttpSink cases the real sidecar cannot produce, against a small hand-written
 * server (_sidecar-stub.ts): the request headers it sends (the sidecar does
 * not echo them), a connection cut mid-request, and refusal bodies worded
 * other than the sidecar's (no item named, items beyond the batch, an HTML
 * page from a proxy). Everything the sidecar can answer itself is tested
 * against the real one in http-sidecar.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { VcpConfigError } from '../../src/core/errors.ts';
import { SinkRejectionError } from '../../src/sinks/dead-letter.ts';
import { batchKey, HttpSink } from '../../src/sinks/http.ts';
import { withRetry } from '../../src/sinks/retry.ts';
import { orderIds, sealedEvents } from './_helpers.ts';
import { SidecarStub } from './_sidecar-stub.ts';

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});
async function stub(): Promise<SidecarStub> {
  const s = new SidecarStub();
  await s.start();
  closers.push(() => s.stop());
  return s;
}
function track<T extends { close(): Promise<void> }>(sink: T): T {
  closers.push(() => sink.close().catch(() => {}));
  return sink;
}

describe('HttpSink: what only a hand-written server can show', () => {
  it('sends a JSON array with the bearer token and a per-batch Idempotency-Key (the same batch, the same key)', async () => {
    const s = await stub();
    s.token = 'sekret-token';
    const sink = track(new HttpSink({ url: s.url, token: 'sekret-token' }));
    const events = sealedEvents(3);
    await sink.write(events);
    await sink.write(events);
    expect(s.requests[0]).toMatchObject({
      count: 3,
      authorization: 'Bearer sekret-token',
      contentType: 'application/json',
      idempotencyKey: batchKey(events),
      status: 201,
    });
    expect(s.requests[1]!.idempotencyKey).toBe(s.requests[0]!.idempotencyKey);
    expect(batchKey(sealedEvents(3, 1))).not.toBe(batchKey(events));
    // The token never shows in logs.
    expect(JSON.stringify(sink)).not.toContain('sekret');
    expect(sink.name).not.toContain('sekret');
  });

  it('reuses encoding buffers across requests without mixing bodies (concurrent writes, sizes, a 503 between)', async () => {
    const s = await stub();
    const sink = track(new HttpSink({ url: s.url, connections: 2 }));
    const sent: string[] = [];
    let start = 0;
    for (let round = 0; round < 6; round++) {
      // Three writes at once over two connections, of different sizes (a larger body, then smaller ones).
      const batches = [40 - round * 5, 7, 25].map((n) => {
        const events = sealedEvents(n, start);
        start += n;
        return events;
      });
      if (round === 2) s.failNext = 1; // one request answered 503: its buffer is not reused
      const results = await Promise.allSettled(batches.map((b) => sink.write(b)));
      for (let i = 0; i < batches.length; i++) {
        if (results[i]!.status === 'rejected') await sink.write(batches[i]!);
        for (const e of batches[i]!) sent.push(JSON.stringify(e));
      }
    }
    expect(s.stored.map((e) => JSON.stringify(e)).sort()).toEqual([...sent].sort());
    expect(s.requests.filter((r) => r.status === 503)).toHaveLength(1);
  });

  it('a connection cut mid-request is retryable; withRetry delivers once the server answers', async () => {
    const s = await stub();
    const raw = track(new HttpSink({ url: s.url }));
    s.failMode = 'drop';
    s.failNext = 1;
    const err = await raw.write(sealedEvents(1)).catch((e: unknown) => e);
    expect(err).toMatchObject({ retryable: true, reason: 'connection' });
    s.failNext = 2;
    const retries: number[] = [];
    await withRetry(raw, { minDelayMs: 1, maxDelayMs: 5, onRetry: (_e, a) => retries.push(a) }).write(
      sealedEvents(3, 10),
    );
    expect(retries).toEqual([1, 2]);
    expect(orderIds(s.stored)).toEqual(['O-10', 'O-11', 'O-12']);
  });

  for (const style of ['no-paths', 'out-of-range', 'not-json'] as const) {
    it(`a refusal that names no usable item (${style}): halves until the refused events are isolated`, async () => {
      const s = await stub();
      s.refusalStyle = style;
      s.refuse.add('O-2').add('O-9');
      const seen: string[][] = [];
      const sink = track(
        new HttpSink({ url: s.url, onWarning: () => {}, onRejected: (ev) => seen.push(orderIds(ev)) }),
      );
      const err = (await sink.write(sealedEvents(12)).catch((e: unknown) => e)) as SinkRejectionError;
      expect(err).toBeInstanceOf(SinkRejectionError);
      expect(orderIds(err.refused)).toEqual(['O-2', 'O-9']);
      expect(err.delivered).toBe(10);
      expect(orderIds(s.stored)).toEqual(
        orderIds(sealedEvents(12)).filter((id) => id !== 'O-2' && id !== 'O-9'),
      );
      expect(seen).toEqual([['O-2', 'O-9']]);
      expect(sink.stats()).toMatchObject({ rejected: 2, rejections: 1, acknowledged: 10 });
      // Each refused event carries a reason even when the server gave none per item.
      for (const r of err.refusals) expect(r.reasons.length).toBeGreaterThan(0);
    });
  }

  it('refuses a bad configuration', () => {
    expect(() => new HttpSink({ url: 'not a url' })).toThrow(VcpConfigError);
    expect(() => new HttpSink({ url: 'ftp://x' })).toThrow(/http: or https:/);
    expect(() => new HttpSink({ url: 'http://x', token: 'a\r\nX-Evil: 1' })).toThrow(/line breaks/);
  });
});
