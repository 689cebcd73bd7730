/**
 * The HTTP sink against the real sidecar (in-process, file store, loopback):
 * every answer here is the sidecar's own, for the refusals a batch can meet
 * (400 naming items, 409 conflict, 413 batch/body/event, 503, 405, 401) and
 * for the recorder → sink → sidecar path with one bad event among good ones.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { draftEvent } from '../../src/core/builder.ts';
import type { VcpEvent } from '../../src/core/types.ts';
import { sealEvent } from '../../src/integrity/seal.ts';
import { createRecorder } from '../../src/recorder/recorder.ts';
import { withCircuitBreaker } from '../../src/sinks/circuit-breaker.ts';
import { type DeadLetterHeader, SinkRejectionError } from '../../src/sinks/dead-letter.ts';
import { SinkError } from '../../src/sinks/errors.ts';
import { createHttpSink, HttpSink } from '../../src/sinks/http.ts';
import { withRetry } from '../../src/sinks/retry.ts';
import type { SpoolSink } from '../../src/sinks/spool.ts';
import { orderIds, policy, readJsonl, sealedEvents, tempDir } from './_helpers.ts';
import { perTestSidecars } from './_real-sidecar.ts';

const { closers, sidecar } = perTestSidecars();
function track<T extends { close(): Promise<void> }>(sink: T): T {
  closers.push(() => sink.close().catch(() => {}));
  return sink;
}
function folder(): string {
  const t = tempDir('vcp-http-dl-');
  closers.push(t.cleanup);
  return t.dir;
}
/** Warnings a sink gave, by code. */
function warnings(): { list: { message: string; code: string }[]; on: (m: string, c: string) => void } {
  const list: { message: string; code: string }[] = [];
  return { list, on: (message, code) => list.push({ message, code }) };
}
/** Lines of the dead-letter files in `dir`: [header lines, events]. */
function deadLetters(
  dir: string,
  prefix = 'vcp-dead-letter-',
): {
  headers: DeadLetterHeader[];
  events: VcpEvent[];
} {
  const lines = fs
    .readdirSync(dir)
    .filter((n) => n.startsWith(prefix))
    .sort()
    .flatMap((f) => readJsonl(path.join(dir, f)) as unknown[]);
  const headers = lines.filter((l) => (l as { vcp_dead_letter?: unknown }).vcp_dead_letter);
  return {
    headers: headers.map((h) => (h as { vcp_dead_letter: DeadLetterHeader }).vcp_dead_letter),
    events: lines.filter((l) => !headers.includes(l)) as VcpEvent[],
  };
}
/** A sealed event whose event_id was changed after sealing (what a buggy or hostile producer sends). */
function withBadId(e: VcpEvent, id: string): VcpEvent {
  return { ...e, header: { ...e.header, event_id: id } };
}

describe('HttpSink against the real sidecar: one bad item never takes good ones with it', () => {
  it('400 naming one item of 100: 99 arrive, the 1 is dead-lettered with its reason, counted, one warning', async () => {
    const s = await sidecar();
    const dl = folder();
    const w = warnings();
    const told: string[][] = [];
    const sink = track(
      new HttpSink({
        url: s.url,
        deadLetterDir: dl,
        onWarning: w.on,
        onRejected: (ev) => told.push(orderIds(ev)),
      }),
    );
    const events = sealedEvents(100);
    events[57] = withBadId(events[57]!, '../../etc/passwd');
    const err = await sink.write(events).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(SinkRejectionError);
    const rej = err as SinkRejectionError;
    expect(rej.retryable).toBe(false);
    expect(rej.delivered).toBe(99);
    expect(orderIds(rej.refused)).toEqual(['O-57']);
    expect(rej.refusals[0]!.reasons).toContainEqual(
      expect.objectContaining({ path: 'header.event_id', rule: 'uuid' }),
    );
    const stored = await s.stored();
    expect(stored).toHaveLength(99);
    expect(orderIds(stored)).toEqual(orderIds(events).filter((id) => id !== 'O-57'));
    expect(sink.stats()).toMatchObject({
      requests: 2, // the refused batch, then the 99 again
      acknowledged: 99,
      rejected: 1,
      deadLettered: 1,
      rejections: 1,
    });
    // One warning for the incident, naming the count, the field and the file.
    expect(w.list).toHaveLength(1);
    expect(w.list[0]!.code).toBe('VCP_DEAD_LETTER');
    expect(w.list[0]!.message).toMatch(/refused 1 of 100 event\(s\).*header\.event_id.*uuid.*99 delivered/);
    expect(w.list[0]!.message).toContain(rej.keptIn!);
    expect(told).toEqual([['O-57']]);
    // The dead letter: the event exactly as sent, and why.
    const { headers, events: dead } = deadLetters(dl);
    expect(dead).toEqual([JSON.parse(JSON.stringify(events[57]))]);
    expect(headers).toEqual([
      expect.objectContaining({
        version: 1,
        count: 1,
        sink: sink.name,
        reasons: expect.arrayContaining([
          expect.objectContaining({ event_id: '../../etc/passwd', status: 400, rule: 'uuid' }),
        ]),
      }),
    ]);
  });

  it('several bad items, over several requests: each named one is set aside, every good one arrives once', async () => {
    const s = await sidecar();
    const sink = track(new HttpSink({ url: s.url, maxBatchEvents: 16, onWarning: () => {} }));
    const events = sealedEvents(50);
    for (const i of [0, 15, 16, 49]) events[i] = withBadId(events[i]!, `bad-${i}`);
    // A tampered payload: the sidecar's hash check names it (rule event-hash).
    events[30] = {
      ...events[30]!,
      payload: { ...events[30]!.payload, trade_data: { order_id: 'O-30', price: '9.99' } },
    };
    const err = (await sink.write(events).catch((e: unknown) => e)) as SinkRejectionError;
    expect(orderIds(err.refused)).toEqual(['O-0', 'O-15', 'O-16', 'O-30', 'O-49']);
    expect(err.refusals[3]!.reasons).toEqual([expect.objectContaining({ rule: 'event-hash' })]);
    expect(err.delivered).toBe(45);
    const stored = await s.stored();
    expect(orderIds(stored)).toEqual(
      orderIds(events).filter((id) => !err.refused.some((r) => orderIds([r])[0] === id)),
    );
    expect(new Set(stored.map((e) => e.header.event_id)).size).toBe(45);
  });

  it('409: an event_id already stored with other content is dead-lettered as a conflict; the rest arrive', async () => {
    const s = await sidecar();
    const dl = folder();
    const sink = track(new HttpSink({ url: s.url, deadLetterDir: dl, onWarning: () => {} }));
    const first = sealedEvents(3);
    await sink.write(first);
    // Same id as O-1, other content (a reused id, or a forged copy).
    const draft = draftEvent(
      'ORD',
      { trade_data: { order_id: 'O-1-forged', price: '2.0000', quantity: '1' } },
      { policy, venueId: 'XLON', accountId: 'ACC-1', newId: () => first[1]!.header.event_id },
    );
    const forged = sealEvent(draft);
    const batch = [...sealedEvents(2, 10), forged, ...sealedEvents(2, 20)];
    const err = (await sink.write(batch).catch((e: unknown) => e)) as SinkRejectionError;
    expect(err).toBeInstanceOf(SinkRejectionError);
    expect(err.status).toBe(409);
    expect(orderIds(err.refused)).toEqual(['O-1-forged']);
    expect(err.refusals[0]!.reasons).toEqual([
      expect.objectContaining({ path: 'header.event_id', rule: 'conflict' }),
    ]);
    expect(orderIds(await s.stored())).toEqual(['O-0', 'O-1', 'O-2', 'O-10', 'O-11', 'O-20', 'O-21']);
    expect(deadLetters(dl).headers[0]!.reasons[0]).toMatchObject({ status: 409, rule: 'conflict' });
  });

  it('the same events again (same content) are duplicates, acknowledged: replay is idempotent', async () => {
    const s = await sidecar();
    const sink = track(new HttpSink({ url: s.url }));
    const events = sealedEvents(10);
    await sink.write(events);
    await sink.write(events);
    expect(sink.stats()).toMatchObject({ acknowledged: 20, duplicates: 10, rejected: 0 });
    expect(await s.stored()).toHaveLength(10);
  });

  it('413 for the batch (--max-batch 8): halves until the sidecar takes it, every event once, in order', async () => {
    const s = await sidecar({ 'max-batch': '8' });
    const sink = track(new HttpSink({ url: s.url }));
    await sink.write(sealedEvents(30));
    expect(orderIds(await s.stored())).toEqual(orderIds(sealedEvents(30)));
    expect(sink.stats()).toMatchObject({ acknowledged: 30, rejected: 0 });
    expect(sink.stats().requests).toBeGreaterThan(4);
  });

  it('413 for the body (--max-body 4KiB): halves until each body fits', async () => {
    const s = await sidecar({ 'max-body': '4KiB' });
    const sink = track(new HttpSink({ url: s.url }));
    await sink.write(sealedEvents(20));
    expect(orderIds(await s.stored())).toEqual(orderIds(sealedEvents(20)));
    expect(sink.stats().requests).toBeGreaterThan(4);
    expect(sink.stats()).toMatchObject({ acknowledged: 20, rejected: 0 });
  });

  it('413 for one event (--max-event 1KiB): that event is dead-lettered (max-size), the others arrive', async () => {
    const s = await sidecar({ 'max-event': '1KiB' });
    const sink = track(new HttpSink({ url: s.url, onWarning: () => {} }));
    const events = sealedEvents(6);
    const big = sealEvent(
      draftEvent(
        'ORD',
        { trade_data: { order_id: 'O-big', price: '1.0', quantity: '1', note: 'x'.repeat(2000) } },
        { policy, venueId: 'XLON', accountId: 'ACC-1' },
      ),
    );
    events.splice(3, 0, big);
    const err = (await sink.write(events).catch((e: unknown) => e)) as SinkRejectionError;
    expect(orderIds(err.refused)).toEqual(['O-big']);
    expect(err.refusals[0]!.reasons[0]).toMatchObject({ rule: 'max-size' });
    expect(orderIds(await s.stored())).toEqual(['O-0', 'O-1', 'O-2', 'O-3', 'O-4', 'O-5']);
  });

  it('413 for the body with one event larger than the body limit: that event is dead-lettered, the others arrive', async () => {
    const s = await sidecar({ 'max-body': '4KiB' });
    const sink = track(new HttpSink({ url: s.url, onWarning: () => {} }));
    const big = sealEvent(
      draftEvent(
        'ORD',
        { trade_data: { order_id: 'O-big', price: '1.0', quantity: '1', note: 'x'.repeat(6000) } },
        { policy, venueId: 'XLON', accountId: 'ACC-1' },
      ),
    );
    const events = [...sealedEvents(3), big, ...sealedEvents(3, 3)];
    const err = (await sink.write(events).catch((e: unknown) => e)) as SinkRejectionError;
    expect(orderIds(err.refused)).toEqual(['O-big']);
    expect(err.refusals[0]!.reasons[0]).toMatchObject({ rule: 'payload_too_large' });
    expect(orderIds(await s.stored())).toEqual(['O-0', 'O-1', 'O-2', 'O-3', 'O-4', 'O-5']);
  });

  it('the same event_id twice in one batch (a caller reusing an id): the second is dead-lettered, the first stored', async () => {
    const s = await sidecar();
    const recorder = createRecorder({
      policy,
      sink: createHttpSink({ url: s.url, onWarning: () => {} }),
      exitHooks: false,
      batchSize: 10,
      onError: () => {},
    });
    const id = '0190f3a2-7c1e-7b3d-9a4f-2c8e5d6b1a09';
    for (let i = 0; i < 10; i++) {
      recorder.record(
        'ORD',
        { trade_data: { order_id: `O-${i}`, price: '1.0850', quantity: '100000' } },
        i === 3 || i === 6 ? { eventId: id } : undefined,
      );
    }
    await recorder.close();
    const stored = await s.stored();
    expect(orderIds(stored)).toEqual(['O-0', 'O-1', 'O-2', 'O-3', 'O-4', 'O-5', 'O-7', 'O-8', 'O-9']);
    expect(recorder.stats()).toMatchObject({ written: 9, rejected: 1 });
  });

  it('503 while the store fails: retryable with Retry-After, withRetry waits that long and delivers', async () => {
    const s = await sidecar();
    const raw = track(new HttpSink({ url: s.url }));
    s.store.failAppends = 1;
    const e503 = await raw.write(sealedEvents(2)).catch((e: unknown) => e);
    expect(e503).toMatchObject({ retryable: true, status: 503, retryAfterMs: 1000 });
    expect((e503 as Error).message).toContain('storage_unavailable');
    expect(await s.stored()).toHaveLength(0);

    s.store.failAppends = 1;
    const delays: number[] = [];
    const sink = withRetry(raw, { minDelayMs: 1, maxDelayMs: 5, onRetry: (_e, _a, d) => delays.push(d) });
    await sink.write(sealedEvents(3));
    expect(delays).toHaveLength(1);
    expect(delays[0]).toBeGreaterThanOrEqual(1000); // the sidecar's Retry-After, not the 5 ms backoff
    expect(orderIds(await s.stored())).toEqual(['O-0', 'O-1', 'O-2']);
  });

  it('503 while the sidecar shuts down: retryable with Retry-After', async () => {
    const s = await sidecar();
    const sink = track(new HttpSink({ url: s.url }));
    s.sidecar.context.shuttingDown = true;
    const err = await sink.write(sealedEvents(1)).catch((e: unknown) => e);
    expect(err).toMatchObject({ retryable: true, status: 503, retryAfterMs: 1000 });
    expect((err as Error).message).toContain('shutting_down');
  });

  it('405 (the URL names another endpoint): retryable, events kept, one warning per incident', async () => {
    const s = await sidecar();
    const w = warnings();
    const sink = track(new HttpSink({ url: `${s.url}/health`, onWarning: w.on }));
    for (let i = 0; i < 3; i++) {
      const err = await sink.write(sealedEvents(2)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SinkError);
      expect(err).not.toBeInstanceOf(SinkRejectionError);
      expect(err).toMatchObject({ retryable: true, status: 405 });
    }
    expect(w.list).toHaveLength(1);
    expect(w.list[0]!.message).toMatch(/HTTP 405 method_not_allowed.*POST \/vcp\/log.*not dropped/);
    expect(sink.stats()).toMatchObject({ rejected: 0, failures: 3 });
  });

  it('401 (wrong token): retryable, the events are good and the configuration is not', async () => {
    const s = await sidecar({ token: 'right-token-0123456789' });
    const w = warnings();
    const sink = track(new HttpSink({ url: s.url, token: 'wrong', onWarning: w.on }));
    const err = await sink.write(sealedEvents(1)).catch((e: unknown) => e);
    expect(err).toMatchObject({ retryable: true, status: 401 });
    expect(w.list[0]!.message).toMatch(/check the token/);
    expect(w.list[0]!.message).not.toContain('wrong');
  });
});

describe('HttpSink against the real sidecar: delivery', () => {
  it('accepts a full endpoint URL and splits writes over maxBatchEvents', async () => {
    const s = await sidecar();
    const sink = track(new HttpSink({ url: `${s.url}/vcp/log`, maxBatchEvents: 2 }));
    await sink.write(sealedEvents(5));
    expect(orderIds(await s.stored())).toEqual(['O-0', 'O-1', 'O-2', 'O-3', 'O-4']);
    expect(sink.stats()).toMatchObject({ requests: 3, acknowledged: 5 });
  });

  it('with a token: accepted, and the token shows in no name or JSON', async () => {
    const s = await sidecar({ token: 'sekret-token-0123456789' });
    const sink = track(new HttpSink({ url: s.url, token: 'sekret-token-0123456789' }));
    await sink.write(sealedEvents(3));
    expect(await s.stored()).toHaveLength(3);
    expect(`${sink.name} ${JSON.stringify(sink)}`).not.toContain('sekret');
  });

  it('429 when the ingest queue is full (slow disk): retryable with the Retry-After hint', async () => {
    const s = await sidecar({ 'max-batch': '4', 'max-queue': '4' });
    let open!: () => void;
    s.store.gate = new Promise((r) => {
      open = r;
    });
    const sink = track(new HttpSink({ url: s.url }));
    const first = sink.write(sealedEvents(4));
    // The first request's 4 events wait for the disk; one more does not fit the queue.
    let err: unknown;
    for (let i = 0; i < 100 && err === undefined; i++) {
      err = await sink.write(sealedEvents(1, 10)).then(
        () => undefined,
        (e: unknown) => e,
      );
      if (err === undefined) await new Promise((r) => setTimeout(r, 10));
    }
    expect(err).toMatchObject({ retryable: true, status: 429, retryAfterMs: 1000 });
    open();
    s.store.gate = undefined;
    await first;
    expect(orderIds(await s.stored()).slice(0, 4)).toEqual(['O-0', 'O-1', 'O-2', 'O-3']);
  });

  it('the circuit opens after N failures with the sidecar down, and closes once it is back', async () => {
    const s = await sidecar();
    await s.stop();
    const states: string[] = [];
    const sink = track(
      withCircuitBreaker(new HttpSink({ url: s.url, timeoutMs: 2000 }), {
        failureThreshold: 2,
        resetTimeoutMs: 100,
        onStateChange: (st) => states.push(st),
      }),
    );
    for (let i = 0; i < 2; i++)
      await expect(sink.write(sealedEvents(1))).rejects.toMatchObject({ reason: 'connection' });
    expect(sink.state).toBe('open');
    await expect(sink.write(sealedEvents(1))).rejects.toMatchObject({ reason: 'circuit_open' });
    await s.restart();
    await new Promise((r) => setTimeout(r, 120));
    expect(sink.state).toBe('half-open');
    await sink.write(sealedEvents(1, 7));
    expect(sink.state).toBe('closed');
    expect(states).toEqual(['open', 'half-open', 'closed']);
    expect(orderIds(await s.stored())).toEqual(['O-7']);
  });
});

describe('recorder → HTTP sink → real sidecar', () => {
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
    expect(orderIds(await s.stored())).toEqual(Array.from({ length: 100 }, (_, i) => `O-${i}`));
    expect(recorder.stats()).toMatchObject({
      recorded: 100,
      sealed: 100,
      written: 100,
      dropped: 0,
      sinkErrors: 0,
    });
  });

  it("record(…, { eventId: '../../etc/passwd' }) among 100: the recorder refuses it (ERR_SYSTEM), all 100 arrive", async () => {
    const s = await sidecar();
    const problems: string[] = [];
    const recorder = createRecorder({
      policy,
      sink: createHttpSink({ url: s.url }),
      exitHooks: false,
      batchSize: 32,
      onError: (e, info) => problems.push(`${info.kind}: ${(e as Error).message}`),
    });
    let badId: string | undefined;
    for (let i = 0; i < 100; i++) {
      const id = recorder.record(
        'ORD',
        { trade_data: { order_id: `O-${i}`, price: '1.0850', quantity: '100000' } },
        i === 42 ? { eventId: '../../etc/passwd' } : undefined,
      );
      if (i === 42) badId = id;
    }
    await recorder.close();
    const stored = await s.stored();
    expect(stored).toHaveLength(100);
    const err = stored[42]!;
    expect(err.header.event_type).toBe('ERR_SYSTEM');
    expect(err.payload.error_details).toMatchObject({
      error_code: 'VCP_INVALID_EVENT',
      issues: [expect.objectContaining({ path: 'header.event_id', rule: 'uuid' })],
    });
    expect(badId).toBe('../../etc/passwd');
    expect(recorder.stats()).toMatchObject({ recorded: 100, invalid: 1, written: 100, rejected: 0 });
    expect(problems.filter((p) => p.startsWith('invalid'))).toHaveLength(1);
  });

  it('an event only a --strict sidecar refuses (trace id not a UUID): 99 of 100 arrive, 1 dead-lettered and counted', async () => {
    const s = await sidecar({ strict: true });
    const spoolDir = folder();
    const w = warnings();
    const recorder = createRecorder({
      policy,
      sink: createHttpSink({ url: s.url, spoolDir, onWarning: w.on }),
      exitHooks: false,
      batchSize: 100,
      spoolDir,
      venueId: 'XLON',
      accountId: 'ACC-1',
      symbol: 'EURUSD',
      onError: () => {},
    });
    for (let i = 0; i < 100; i++) {
      recorder.record(
        'ORD',
        { trade_data: { order_id: `O-${i}`, price: '1.0850', quantity: '100000' } },
        i === 7 ? { traceId: 'order-7-trace' } : undefined,
      );
    }
    await recorder.close();
    const stored = await s.stored();
    expect(stored).toHaveLength(99);
    expect(orderIds(stored)).not.toContain('O-7');
    expect(recorder.stats()).toMatchObject({ recorded: 100, written: 99, rejected: 1 });
    // Dead-lettered once, by the sink (the recorder does not keep a second copy).
    const { headers, events } = deadLetters(spoolDir);
    expect(orderIds(events)).toEqual(['O-7']);
    expect(headers[0]!.reasons[0]).toMatchObject({ path: 'header.trace_id', rule: 'uuid', status: 400 });
    expect(fs.readdirSync(spoolDir).filter((n) => n.startsWith('vcp-rejected-'))).toEqual([]);
    expect(w.list.filter((x) => x.code === 'VCP_DEAD_LETTER')).toHaveLength(1);
  });

  it('spools while the sidecar is down, says so, replays when it is back, and says that too', async () => {
    const s = await sidecar();
    const spoolDir = folder();
    const w = warnings();
    const sink = track(
      createHttpSink({
        url: s.url,
        timeoutMs: 2000,
        spoolDir,
        onWarning: w.on,
        retry: { retries: 1, minDelayMs: 1, maxDelayMs: 5 },
        breaker: { failureThreshold: 2, resetTimeoutMs: 50 },
        spool: { replayIntervalMs: 20, onWarning: w.on },
      }),
    ) as SpoolSink;
    await sink.write(sealedEvents(5, 0));
    await s.stop();
    for (let i = 5; i < 20; i += 5) await sink.write(sealedEvents(5, i));
    expect(sink.spooledEvents()).toBe(15);
    expect(w.list.filter((x) => x.code === 'VCP_SPOOL').map((x) => x.message)).toEqual([
      expect.stringMatching(/is unavailable .*spooling events to/),
    ]);
    await s.restart();
    expect(await sink.drain(10_000)).toBe(true);
    expect(w.list.filter((x) => x.code === 'VCP_SPOOL').map((x) => x.message)).toEqual([
      expect.stringMatching(/is unavailable/),
      expect.stringMatching(/is back; 15 spooled event\(s\) replayed/),
    ]);
    expect(orderIds(await s.stored())).toEqual(orderIds(sealedEvents(20)));
  });
});
