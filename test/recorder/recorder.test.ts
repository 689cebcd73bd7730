import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { currentStore, runWithTrace } from '../../src/context/trace-store.ts';
import { draftEvent } from '../../src/core/builder.ts';
import type { VcpClock } from '../../src/core/clock.ts';
import { createFixedClock } from '../../src/core/clock.ts';
import { VcpConfigError } from '../../src/core/errors.ts';
import type { VcpEvent, VcpPayload } from '../../src/core/types.ts';
import { isUuidV7 } from '../../src/core/uuidv7.ts';
import { validateEvent } from '../../src/core/validate.ts';
import { computeEventHash } from '../../src/integrity/event-hash.ts';
import { generateSigningKey, verifySignature } from '../../src/integrity/sign.ts';
import { createRecorder, type RecorderErrorInfo, type RecorderOptions } from '../../src/recorder/recorder.ts';
import { createTestRecorder } from '../../src/recorder/test-recorder.ts';
import { FileSink } from '../../src/sinks/file.ts';
import { MemorySink } from '../../src/sinks/memory.ts';
import { verifyRecords } from '../../src/verify/index.ts';
import { ControlledSink, orderIds, readJsonl, sealedEvents, tempDir } from '../sinks/_helpers.ts';

const order = (i: number | string): VcpPayload => ({
  trade_data: {
    order_id: `O-${i}`,
    symbol: 'EURUSD',
    side: 'BUY',
    order_type: 'LIMIT',
    price: '1.0850',
    quantity: '100000',
  },
});

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
function dir(): string {
  const t = tempDir('vcp-rec-');
  cleanups.push(t.cleanup);
  return t.dir;
}
/** A recorder on a controlled sink, reporting problems into a list instead of process warnings. */
function onControlled(options: Partial<RecorderOptions> = {}) {
  const sink = new ControlledSink();
  const problems: RecorderErrorInfo[] = [];
  const recorder = createRecorder({
    policyId: 'local:test:recorder',
    sink,
    exitHooks: false,
    onError: (_e, info) => problems.push(info),
    retry: { minDelayMs: 1, maxDelayMs: 5 },
    ...options,
  });
  cleanups.push(() => recorder.close().catch(() => {}));
  return { recorder, sink, problems };
}
const errors = (events: readonly VcpEvent[]) => events.filter((e) => e.header.event_type === 'ERR_SYSTEM');

describe('createTestRecorder, as in the issue', () => {
  it('one record → one sealed ORD event with header, payload and security.event_hash', async () => {
    const { recorder, sink } = createTestRecorder();
    const id = recorder.record('ORD', order(1));
    expect(sink.events).toHaveLength(0); // sealing is off the caller's path
    await recorder.flush();
    expect(sink.events).toHaveLength(1);
    const e = sink.events[0]!;
    expect(e.header).toMatchObject({
      event_id: id,
      event_type: 'ORD',
      event_type_code: 2,
      vcp_version: '1.1',
      symbol: 'EURUSD',
    });
    expect(isUuidV7(e.header.event_id)).toBe(true);
    expect(e.payload).toEqual(order(1));
    expect(e.security.event_hash).toBe(computeEventHash(e));
    expect(e.policy_identification).toMatchObject({
      policy_id: 'local:test:recorder',
      conformance_tier: 'SILVER',
    });
    expect(recorder.stats()).toMatchObject({ recorded: 1, sealed: 1, written: 1, queued: 0 });
  });

  it('deterministic: the same events and hashes on every run', async () => {
    const run = async () => {
      const { recorder, sink } = createTestRecorder({ deterministic: true, chain: true });
      for (let i = 0; i < 3; i++) recorder.record('ORD', order(i));
      await recorder.flush();
      return sink.events.map((e) => [e.header.event_id, e.header.timestamp_iso, e.security.event_hash]);
    };
    const a = await run();
    expect(await run()).toEqual(a);
    expect(a[0]![1]).toBe('2024-12-25T00:00:00.000Z');
    expect(new Set(a.map((x) => x[0])).size).toBe(3);
  });
});

describe('recording', () => {
  it('keeps capture order across many batches, and the chain links them', async () => {
    const { recorder, sink } = createTestRecorder({ chain: true, batchSize: 7 });
    for (let i = 0; i < 100; i++) recorder.record('ORD', order(i));
    await recorder.flush();
    expect(orderIds(sink.events)).toEqual(Array.from({ length: 100 }, (_, i) => `O-${i}`));
    for (let i = 1; i < 100; i++) {
      expect(sink.events[i]!.security.prev_hash).toBe(sink.events[i - 1]!.security.event_hash);
    }
    const report = await verifyRecords(sink.events);
    expect(report.verdict).not.toBe('INVALID');
    expect(report.checks.chain.passed).toBe(100);
  });

  it('takes the trace from the context, sets lastEventId there, and honours per-call options', async () => {
    const { recorder, sink } = createTestRecorder({ venueId: 'XLON', accountId: 'ACC-1' });
    const trace = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';
    let id: string | undefined;
    let last: string | undefined;
    runWithTrace(trace, () => {
      id = recorder.record('ORD', order(1));
      last = currentStore()?.lastEventId;
    });
    const explicit = '01900000-0000-7000-8000-000000000001';
    recorder.record(
      'ACK',
      { trade_data: { order_id: 'O-1' } },
      { traceId: trace, venueId: 'XPAR', symbol: 'GBPUSD', operatorId: 'desk-7', eventId: explicit },
    );
    const outside = recorder.record('HBT', {});
    await recorder.flush();
    const [a, b, c] = sink.events;
    expect(last).toBe(id);
    expect(a!.header).toMatchObject({
      trace_id: trace,
      venue_id: 'XLON',
      account_id: 'ACC-1',
      symbol: 'EURUSD',
    });
    expect(b!.header).toMatchObject({
      event_id: explicit,
      trace_id: trace,
      venue_id: 'XPAR',
      symbol: 'GBPUSD',
      operator_id: 'desk-7',
    });
    expect(c!.header.trace_id).toBe(outside); // no trace: the event is its own trace
  });

  it('signs every event when given a signer', async () => {
    const signer = generateSigningKey();
    const { recorder, sink } = createTestRecorder({ signer });
    recorder.record('ORD', order(1));
    await recorder.flush();
    const s = sink.events[0]!.security;
    expect(s).toMatchObject({ sign_algo: 'ED25519', signing_key_id: signer.keyId });
    expect(verifySignature(s.event_hash, s.signature, signer.publicKey)).toBe(true);
  });

  it("numbers: 'convert' accepts JS numbers in trade data as decimal strings", async () => {
    const { recorder, sink } = createTestRecorder({ numbers: 'convert' });
    recorder.record('ORD', { trade_data: { order_id: 'x', price: 1.085, quantity: 100000 } } as never);
    await recorder.flush();
    expect(sink.events[0]!.payload.trade_data).toMatchObject({ price: '1.085', quantity: '100000' });
  });
});

describe('invalid and hostile input: record() never throws', () => {
  it('a JS number in trade_data becomes ERR_SYSTEM naming the field and rule, correlated to the refused id', async () => {
    const { recorder, sink } = createTestRecorder({ chain: true, onError: () => {} });
    recorder.record('ORD', order(0));
    const bad = recorder.record('ORD', { trade_data: { order_id: 'O-1', price: 1.085 } } as never);
    recorder.record('ORD', order(2));
    await recorder.flush();
    expect(sink.events.map((e) => e.header.event_type)).toEqual(['ORD', 'ERR_SYSTEM', 'ORD']);
    const err = sink.events[1]!;
    expect(err.payload.error_details).toMatchObject({
      error_code: 'VCP_INVALID_EVENT',
      severity: 'CRITICAL',
      affected_component: 'vcp-recorder',
      correlated_event_id: bad,
      rejected_event_type: 'ORD',
      issues: [{ path: 'payload.trade_data.price', rule: 'decimal-string' }],
    });
    expect(err.payload.error_details!.error_message).toMatch(
      /payload\.trade_data\.price: financial values must be strings/,
    );
    // It keeps the refused event's place in time.
    expect(BigInt(err.header.timestamp_int)).toBeLessThanOrEqual(
      BigInt(sink.events[2]!.header.timestamp_int),
    );
    expect(err.header.trace_id).toBe(bad);
    expect(recorder.stats()).toMatchObject({ recorded: 3, invalid: 1, sealed: 3, written: 3 });
    // The log stays whole: the replacement is chained in the refused event's place.
    expect((await verifyRecords(sink.events)).verdict).not.toBe('INVALID');
  });

  it('cycles, BigInt, functions, NaN, prototype tricks, huge strings, throwing getters and proxies', async () => {
    const problems: string[] = [];
    const { recorder, sink } = createTestRecorder({
      maxEventBytes: 64 * 1024,
      onError: (_e, i) => problems.push(i.kind),
    });
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.me = cyclic;
    const getter = {};
    Object.defineProperty(getter, 'trade_data', {
      enumerable: true,
      get: () => {
        throw new Error('getter boom');
      },
    });
    const proxy = new Proxy(
      {},
      {
        get() {
          throw new Error('proxy boom');
        },
        ownKeys() {
          throw new Error('keys boom');
        },
      },
    );
    const hostile: [string, unknown][] = [
      ['cycle', { trade_data: { order_id: 'x' }, extra: cyclic }],
      ['bigint', { trade_data: { order_id: 'x' }, n: 10n }],
      ['function', { trade_data: { order_id: 'x' }, f: () => 1 }],
      ['nan', { trade_data: { order_id: 'x' }, ratio: Number.NaN }],
      ['proto-literal', { trade_data: { __proto__: { price: '1' }, order_id: 'x' } }],
      ['huge', { trade_data: { order_id: 'x' }, blob: 'x'.repeat(200_000) }],
      ['getter', getter],
      ['proxy', proxy],
      ['null', null],
      ['string', 'not an object'],
      ['bad-type', { trade_data: { order_id: 'x' } }],
    ];
    const ids: (string | undefined)[] = [];
    for (const [name, payload] of hostile) {
      const type = name === 'bad-type' ? ('NOPE' as never) : 'ORD';
      expect(() => ids.push(recorder.record(type, payload as VcpPayload))).not.toThrow();
    }
    await recorder.flush();
    expect(ids.every((id) => typeof id === 'string')).toBe(true);
    expect(sink.events).toHaveLength(hostile.length);
    expect(sink.events.every((e) => e.header.event_type === 'ERR_SYSTEM')).toBe(true);
    const messages = sink.events.map((e) => String(e.payload.error_details?.error_message));
    expect(messages[0]).toMatch(/payload\.extra\.me: circular reference/);
    expect(messages[1]).toMatch(/payload\.n.*BigInt/i);
    expect(messages[2]).toMatch(/payload\.f.*function/i);
    expect(messages[3]).toMatch(/payload\.ratio.*NaN/);
    expect(messages[4]).toMatch(/payload\.trade_data/);
    expect(messages[5]).toMatch(/bytes as a JSON line .*; the limit is 65536 \[max-size\]/);
    expect(messages[6]).toMatch(/getter boom/);
    expect(messages[7]).toMatch(/boom/);
    expect(messages[10]).toMatch(/NOPE.*not a VCP event type/);
    expect(recorder.stats().invalid + recorder.stats().internalErrors).toBe(hostile.length);
    // Every replacement is itself a sound, verifiable event.
    const report = await verifyRecords(sink.events);
    expect(report.checks.event_hash.invalid).toBe(0);
    expect(report.checks.schema.invalid).toBe(0);
    expect(problems.length).toBeGreaterThan(0);
  });

  it('a "__proto__" key parsed from JSON is refused (rule forbidden-key): ERR_SYSTEM instead, nothing thrown, no prototype touched', async () => {
    const { recorder, sink } = createTestRecorder({ onError: () => {} });
    const payload = JSON.parse('{"trade_data":{"order_id":"x"},"meta":{"__proto__":{"polluted":"yes"}}}');
    const id = recorder.record('ORD', payload);
    await recorder.flush();
    const e = sink.events[0]!;
    expect(e.header.event_type).toBe('ERR_SYSTEM');
    expect(e.payload.error_details).toMatchObject({
      error_code: 'VCP_INVALID_EVENT',
      correlated_event_id: id,
      issues: [expect.objectContaining({ path: 'payload.meta.__proto__', rule: 'forbidden-key' })],
    });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(computeEventHash(e)).toBe(e.security.event_hash);
    expect(recorder.stats()).toMatchObject({ invalid: 1, sealed: 1 });
  });

  it('a broken clock or id generator does not break trading: counted and captured', async () => {
    let fail = false;
    const good = createFixedClock();
    const clock: VcpClock = {
      clockSyncStatus: 'BEST_EFFORT',
      now: (p) => {
        if (fail) throw new Error('clock exploded');
        return good.now(p);
      },
    };
    let idFails = false;
    let n = 0;
    const newId = () => {
      if (idFails) throw new Error('ids exhausted');
      return `01900000-0000-7000-8000-${String(++n).padStart(12, '0')}`;
    };
    const { recorder, sink } = createTestRecorder({ clock, newId, onError: () => {} });
    fail = true;
    const a = recorder.record('ORD', order(1));
    fail = false;
    idFails = true;
    const b = recorder.record('ORD', order(2));
    idFails = false;
    recorder.record('ORD', order(3));
    await recorder.flush();
    expect(typeof a).toBe('string');
    expect(typeof b).toBe('string');
    expect(sink.events.map((e) => e.header.event_type)).toEqual(['ERR_SYSTEM', 'ERR_SYSTEM', 'ORD']);
    expect(sink.events[0]!.payload.error_details).toMatchObject({ error_code: 'VCP_CAPTURE_FAILED' });
    expect(sink.events[0]!.payload.error_details!.error_message).toMatch(
      /could not capture a ORD event: Error: clock exploded/,
    );
    expect(sink.events[1]!.payload.error_details!.error_message).toMatch(/ids exhausted/);
    expect(recorder.stats().internalErrors).toBe(2);
  });
});

describe('the bounded queue', () => {
  it("'drop-newest': refuses past max, counts, and writes an 'n events dropped' event once there is room", async () => {
    const { recorder, sink, problems } = onControlled({ queue: { max: 5 }, batchSize: 2 });
    sink.hold(); // the sink stalls
    const ids: (string | undefined)[] = [];
    const types = ['ORD', 'CXL'] as const;
    for (let i = 0; i < 5; i++) ids.push(recorder.record('ORD', order(i)));
    await new Promise((r) => setImmediate(r)); // the drain takes what it can; the sink holds it
    for (let i = 5; i < 16; i++) ids.push(recorder.record(types[i % 2]!, order(i)));
    // The queue took a few more, then refused the rest; every refusal is counted.
    const accepted = ids.indexOf(undefined);
    expect(accepted).toBeGreaterThan(5);
    expect(ids.slice(accepted).every((x) => x === undefined)).toBe(true);
    const dropped = ids.length - accepted;
    expect(recorder.stats().dropped).toBe(dropped);
    expect(problems.some((p) => p.kind === 'dropped')).toBe(true);
    sink.release();
    await recorder.flush();
    const delivered = sink.events.filter((e) => e.header.event_type !== 'ERR_SYSTEM');
    expect(orderIds(delivered)).toEqual(Array.from({ length: accepted }, (_, i) => `O-${i}`));
    const report = errors(sink.events);
    expect(report).toHaveLength(1);
    const byType: Record<string, string> = {};
    for (let i = accepted; i < 16; i++)
      byType[types[i % 2]!] = String(Number(byType[types[i % 2]!] ?? 0) + 1);
    expect(report[0]!.payload.error_details).toMatchObject({
      error_code: 'VCP_EVENTS_DROPPED',
      severity: 'CRITICAL',
      dropped_count: String(dropped),
      dropped_by_type: byType,
    });
    expect(report[0]!.payload.error_details!.error_message).toMatch(
      new RegExp(
        `${dropped} event\\(s\\) dropped: the recorder queue was full \\(queue.max 5, policy drop-newest\\)`,
      ),
    );
    // The report sits in the log right after the events queued before the hole.
    expect(sink.events.at(-1)!.header.event_type).toBe('ERR_SYSTEM');
  });

  it("'drop-oldest': drops the oldest queued events and names them in the report", async () => {
    const { recorder, sink } = onControlled({ queue: { max: 3, whenFull: 'drop-oldest' }, batchSize: 1 });
    sink.hold();
    recorder.record('ORD', order(0));
    await new Promise((r) => setImmediate(r)); // O-0 is with the sink
    const ids = [1, 2, 3, 4, 5].map((i) => recorder.record('ORD', order(i)));
    expect(ids.every((x) => typeof x === 'string')).toBe(true);
    sink.release();
    await recorder.flush();
    const ords = sink.events.filter((e) => e.header.event_type === 'ORD');
    expect(orderIds(ords)).toEqual(['O-0', 'O-3', 'O-4', 'O-5']);
    const report = errors(sink.events)[0]!;
    expect(report.payload.error_details).toMatchObject({
      dropped_count: '2',
      first_dropped_event_id: ids[0],
      last_dropped_event_id: ids[1],
    });
    expect(recorder.stats()).toMatchObject({ dropped: 2, recorded: 6 });
  });

  it("'block': never drops below hardMax; backpressure() resolves when the queue has room", async () => {
    const { recorder, sink } = onControlled({
      queue: { max: 4, whenFull: 'block', hardMax: 10 },
      batchSize: 2,
    });
    sink.hold();
    for (let i = 0; i < 10; i++) expect(recorder.record('ORD', order(i))).toBeDefined();
    expect(recorder.record('ORD', order(10))).toBeUndefined(); // past hardMax: dropped, counted
    let released = false;
    const waiting = recorder.backpressure().then(() => {
      released = true;
    });
    await new Promise((r) => setTimeout(r, 10));
    expect(released).toBe(false);
    sink.release();
    await waiting;
    expect(recorder.stats().queued).toBeLessThanOrEqual(4 + 4);
    await recorder.flush();
    expect(orderIds(sink.events.filter((e) => e.header.event_type === 'ORD'))).toEqual(
      Array.from({ length: 10 }, (_, i) => `O-${i}`),
    );
    expect(recorder.stats().dropped).toBe(1);
    await expect(recorder.backpressure()).resolves.toBeUndefined();
  });

  it('an async producer awaiting backpressure() loses nothing and memory stays bounded', async () => {
    const { recorder, sink } = onControlled({ queue: { max: 50, whenFull: 'block' }, batchSize: 16 });
    let maxQueued = 0;
    for (let i = 0; i < 2000; i++) {
      recorder.record('ORD', order(i));
      maxQueued = Math.max(maxQueued, recorder.stats().queued);
      if (i % 10 === 0) await recorder.backpressure();
    }
    await recorder.flush();
    expect(sink.events).toHaveLength(2000);
    expect(recorder.stats().dropped).toBe(0);
    expect(maxQueued).toBeLessThanOrEqual(50 + 10 + 32);
  });
});

describe('sink failures', () => {
  it('retries a failing sink with backoff and delivers everything in order', async () => {
    const { recorder, sink, problems } = onControlled({ batchSize: 4 });
    sink.failures = 3;
    for (let i = 0; i < 10; i++) recorder.record('ORD', order(i));
    await recorder.flush();
    expect(orderIds(sink.events)).toEqual(Array.from({ length: 10 }, (_, i) => `O-${i}`));
    expect(recorder.stats()).toMatchObject({ sinkErrors: 3, written: 10 });
    expect(problems.filter((p) => p.kind === 'sink')).toHaveLength(3);
  });

  it('events the sink refuses are not retried: counted and kept in the spool directory', async () => {
    const spoolDir = dir();
    const { recorder, sink } = onControlled({ batchSize: 1, spoolDir });
    sink.refuse.add('O-1');
    for (let i = 0; i < 3; i++) recorder.record('ORD', order(i));
    await recorder.flush();
    expect(orderIds(sink.events)).toEqual(['O-0', 'O-2']);
    expect(recorder.stats()).toMatchObject({ rejected: 1, written: 2 });
    const kept = fs.readdirSync(spoolDir).filter((n) => n.startsWith('vcp-rejected-'));
    expect(orderIds(kept.flatMap((f) => readJsonl(path.join(spoolDir, f))))).toEqual(['O-1']);
  });

  it('flush({ timeoutMs }) says what is pending instead of hanging', async () => {
    const { recorder, sink } = onControlled();
    sink.down = true;
    recorder.record('ORD', order(1));
    await expect(recorder.flush({ timeoutMs: 30 })).rejects.toThrow(
      /flush timed out after 30 ms: 1 events still pending for controlled/,
    );
    sink.down = false;
    await recorder.flush();
    expect(sink.events).toHaveLength(1);
  });
});

describe('close', () => {
  it('drains, then closes the sink; later records are counted as dropped', async () => {
    const { recorder, sink } = onControlled();
    for (let i = 0; i < 5; i++) recorder.record('ORD', order(i));
    await recorder.close();
    expect(sink.events).toHaveLength(5);
    expect(sink.closed).toBe(true);
    expect(recorder.record('ORD', order(9))).toBeUndefined();
    expect(recorder.stats()).toMatchObject({ recorded: 6, dropped: 1, written: 5 });
    await recorder.close(); // idempotent
  });

  it('with a sink that never recovers, spools what is left after closeTimeoutMs and says so in stats', async () => {
    const spoolDir = dir();
    const { recorder, sink } = onControlled({ spoolDir, closeTimeoutMs: 50, batchSize: 2 });
    sink.down = true;
    for (let i = 0; i < 5; i++) recorder.record('ORD', order(i));
    await recorder.close();
    const files = fs.readdirSync(spoolDir).filter((n) => n.startsWith(`vcp-exit-${process.pid}-`));
    expect(files).toHaveLength(1);
    const spooled = readJsonl(path.join(spoolDir, files[0]!));
    expect(orderIds(spooled)).toEqual(['O-0', 'O-1', 'O-2', 'O-3', 'O-4']);
    expect(recorder.stats()).toMatchObject({ spooled: 5, written: 0, queued: 0 });
    for (const e of spooled) expect(computeEventHash(e)).toBe(e.security.event_hash);
  });

  it("replays an earlier run's exit spool first, then deletes it", async () => {
    const spoolDir = dir();
    const old = sealedEvents(3, 100);
    const file = path.join(spoolDir, 'vcp-exit-999999999-1700000000000.jsonl');
    fs.writeFileSync(file, old.map((e) => JSON.stringify(e) + '\n').join('') + '{"torn');
    const sink = new MemorySink();
    const recorder = createRecorder({ policyId: 'local:test:recorder', sink, spoolDir, exitHooks: false });
    recorder.record('ORD', order(1));
    await recorder.flush();
    expect(orderIds(sink.events)).toEqual(['O-100', 'O-101', 'O-102', 'O-1']);
    expect(fs.readdirSync(spoolDir)).toEqual([]);
    expect(recorder.stats()).toMatchObject({ replayed: 3, written: 1 });
    await recorder.close();
  });
});

describe("durability: 'sync'", () => {
  it('the event is in the file (fsynced) when record() returns', async () => {
    const file = path.join(dir(), 'vcp.jsonl');
    const sink = new FileSink({ path: file });
    const recorder = createRecorder({
      policyId: 'local:test:recorder',
      sink,
      durability: 'sync',
      exitHooks: false,
      chain: true,
    });
    cleanups.push(() => recorder.close());
    const id = recorder.record('ORD', order(1));
    expect(readJsonl(file).map((e) => e.header.event_id)).toEqual([id]);
    recorder.record('ORD', order(2));
    expect(orderIds(readJsonl(file))).toEqual(['O-1', 'O-2']);
    expect(recorder.stats()).toMatchObject({ written: 2, queued: 0 });
    const [a, b] = readJsonl(file);
    expect(b!.security.prev_hash).toBe(a!.security.event_hash);
  });

  it('needs a sink that can write synchronously', () => {
    expect(() =>
      createRecorder({
        policyId: 'local:test:recorder',
        sink: new ControlledSink(),
        durability: 'sync',
        exitHooks: false,
      }),
    ).toThrow(/durability 'sync' needs a sink that can write synchronously/);
  });
});

describe('configuration', () => {
  it('refuses bad options with a clear VcpConfigError (the only time it throws)', () => {
    const sink = new MemorySink();
    const base = { policyId: 'local:test:recorder', sink, exitHooks: false };
    expect(() => createRecorder({ ...base, sink: undefined as never })).toThrow(VcpConfigError);
    expect(() => createRecorder({ sink, exitHooks: false })).toThrow(/policy/);
    expect(() => createRecorder({ ...base, queue: { max: 0 } })).toThrow(/queue.max/);
    expect(() => createRecorder({ ...base, queue: { whenFull: 'wait' as never } })).toThrow(/whenFull/);
    expect(() => createRecorder({ ...base, batchSize: 1.5 })).toThrow(/batchSize/);
    expect(() => createRecorder({ ...base, policyId: 'not a policy' })).toThrow(/policy_id/);
    // Header values every event would carry, which the sidecar refuses.
    expect(() => createRecorder({ ...base, precision: 'MICRO' as never })).toThrow(
      /precision must be one of/,
    );
    expect(() => createRecorder({ ...base, hashAlgo: 'MD5' as never })).toThrow(/hashAlgo must be one of/);
    const clock = {
      clockSyncStatus: 'NTP',
      now: () => ({ timestamp_int: '1', timestamp_iso: 'x' }),
    } as never;
    expect(() => createRecorder({ ...base, clock })).toThrow(/clock.clockSyncStatus must be one of/);
    // A hand-made policy the sidecar refuses (no tier): every event would be refused there.
    const noTier = { policy_id: 'com.example:algo' } as never;
    expect(
      validateEvent(
        draftEvent('ORD', { trade_data: { order_id: 'x' } }, { policy: noTier, precision: 'MILLISECOND' }),
      ).errors,
    ).toContainEqual(expect.objectContaining({ path: 'policy_identification.conformance_tier' }));
    expect(() => createRecorder({ sink, exitHooks: false, policy: noTier })).toThrow(
      /the policy cannot be recorded: policy_identification.conformance_tier \[enum\]/,
    );
  });

  it('exit hooks: one shared listener pair, removed on close; no signal handlers unless asked', async () => {
    const before = {
      exit: process.listenerCount('exit'),
      beforeExit: process.listenerCount('beforeExit'),
      term: process.listenerCount('SIGTERM'),
    };
    const a = createRecorder({ policyId: 'local:test:recorder', sink: new MemorySink() });
    const b = createRecorder({ policyId: 'local:test:recorder', sink: new MemorySink() });
    expect(process.listenerCount('exit')).toBe(before.exit + 1);
    expect(process.listenerCount('beforeExit')).toBe(before.beforeExit + 1);
    expect(process.listenerCount('SIGTERM')).toBe(before.term);
    const c = createRecorder({
      policyId: 'local:test:recorder',
      sink: new MemorySink(),
      handleSignals: true,
    });
    expect(process.listenerCount('SIGTERM')).toBe(before.term + 1);
    await Promise.all([a.close(), b.close(), c.close()]);
    expect(process.listenerCount('exit')).toBe(before.exit);
    expect(process.listenerCount('SIGTERM')).toBe(before.term);
  });
});
