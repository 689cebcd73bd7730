/**
 * A sink's destination has its own size limit (a sidecar's `--max-event`, 128 KiB by default; an
 * embedded store's `max-event`), smaller than the recorder's default (1 MiB). An event between the
 * two used to be sealed, refused there and dead-lettered: missing from the log, with the next
 * event's `prev_hash` pointing at it, so `vcp verify` called the sidecar's own export INVALID
 * (chain-gap). Recorders and taps now seal nothing larger than the sink takes.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openEmbeddedStore } from '../../src/adapters/embedded-store.ts';
import type { TapMessage } from '../../src/adapters/message-mapping.ts';
import { TapRunner } from '../../src/adapters/tap-runner.ts';
import { VcpConfigError } from '../../src/core/errors.ts';
import { createPolicy } from '../../src/core/policy.ts';
import type { VcpEvent } from '../../src/core/types.ts';
import { createRecorder } from '../../src/recorder/index.ts';
import { resolveSidecarConfig } from '../../src/sidecar/config.ts';
import { FanoutSink } from '../../src/sinks/fanout.ts';
import { createHttpSink, HttpSink } from '../../src/sinks/http.ts';
import { KafkaSink } from '../../src/sinks/kafka.ts';
import { MemorySink } from '../../src/sinks/memory.ts';
import { serializeEvent } from '../../src/sinks/serialize.ts';
import { SIDECAR_MAX_EVENT_BYTES, type Sink } from '../../src/sinks/sink.ts';
import { runVcp } from '../helpers/cli.ts';
import { tempDir } from '../sidecar/helpers.ts';
import { startRealSidecar } from '../sinks/_real-sidecar.ts';

const policy = createPolicy({ policyId: 'com.example.trading:limits', tier: 'GOLD' });
const order = (id: string, note = '') => ({
  trade_data: { order_id: id, symbol: 'EURUSD', side: 'BUY', quantity: '1', price: '1.1', note },
});
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A MemorySink whose destination takes events of at most `limit` bytes. */
function limitedSink(limit: number): MemorySink & { maxEventBytes: number } {
  return Object.assign(new MemorySink(), { maxEventBytes: limit });
}

describe('a recorder writing to a sidecar with the default limits', () => {
  it('turns an event over the sidecar’s --max-event into ERR_SYSTEM: the export keeps an unbroken chain', async () => {
    const sc = await startRealSidecar();
    cleanups.push(() => sc.dispose());
    const deadLetters = join(sc.dataDir, 'dead-letters');
    const warnings: string[] = [];
    const sink = createHttpSink({
      url: sc.url,
      deadLetterDir: deadLetters,
      onWarning: (m) => warnings.push(m),
    });
    const rec = createRecorder({ sink, policy, chain: true, onError: () => {} });
    rec.record('ORD', order('A'));
    rec.record('ORD', order('B', 'x'.repeat(200_000))); // ~200 KB: under 1 MiB, over 128 KiB
    rec.record('ORD', order('C'));
    await rec.close();

    const stored = await sc.stored();
    expect(stored.map((e) => e.header.event_type)).toEqual(['ORD', 'ERR_SYSTEM', 'ORD']);
    const err = stored[1]!.payload as { error_details: { error_message: string } };
    expect(err.error_details.error_message).toMatch(/131072/);
    expect(warnings).toEqual([]); // nothing refused, nothing dead-lettered
    for (let i = 1; i < stored.length; i++)
      expect(stored[i]!.security.prev_hash).toBe(stored[i - 1]!.security.event_hash);

    writeFileSync(join(sc.dataDir, 'export.jsonl'), await (await fetch(`${sc.url}/vcp/export`)).text());
    const r = await runVcp(sc.dataDir, 'verify', 'export.jsonl');
    expect(r.out).not.toMatch(/chain-gap/);
    expect(r.out).toMatch(/chain\s+3 \/ 0 \/ 0 \/ 0/);
    expect(r.out).not.toMatch(/verdict\s+INVALID/);
  }, 30_000);
});

describe('the recorder’s size limit and the sink’s', () => {
  it('defaults to the smaller of 1 MiB and the sink’s limit, counting the line the sink writes', async () => {
    const sink = limitedSink(8192);
    const rec = createRecorder({ sink, policy, onError: () => {} });
    rec.record('ORD', order('fits', 'x'.repeat(6000)));
    rec.record('ORD', order('over', 'x'.repeat(8200)));
    await rec.close();
    expect(sink.events.map((e) => e.header.event_type)).toEqual(['ORD', 'ERR_SYSTEM']);
    for (const e of sink.events) expect(Buffer.byteLength(serializeEvent(e))).toBeLessThanOrEqual(8192);
    expect(JSON.stringify(sink.events[1]!.payload)).toMatch(/max-size|8192/);

    const plain = new MemorySink(); // no limit of its own: 1 MiB, as before
    const r2 = createRecorder({ sink: plain, policy, onError: () => {} });
    r2.record('ORD', order('big', 'x'.repeat(500_000)));
    await r2.close();
    expect(plain.events.map((e) => e.header.event_type)).toEqual(['ORD']);
  });

  it('refuses maxEventBytes over the sink’s limit, naming both and the fix', () => {
    const sink = createHttpSink({ url: 'http://127.0.0.1:9' });
    cleanups.push(() => sink.close());
    const make = () => createRecorder({ sink, policy, maxEventBytes: 1024 * 1024 });
    expect(make).toThrow(VcpConfigError);
    expect(make).toThrow(/maxEventBytes 1048576 is more than the sink .*131072.*--max-event/);
    // At or under the sink's limit it is taken as given.
    expect(() => createRecorder({ sink: limitedSink(65536), policy, maxEventBytes: 65536 })).not.toThrow();
  });

  it('refuses a sink whose limit leaves no room for the ERR_SYSTEM event', () => {
    expect(() => createRecorder({ sink: limitedSink(2048), policy })).toThrow(
      /at most 2048 bytes.*at least 4096/,
    );
  });
});

describe('sinks announce their destination’s limit', () => {
  it('an HTTP sink: the sidecar’s default --max-event unless told, through every wrapper', async () => {
    const sidecarDefault = resolveSidecarConfig({ port: '0', 'data-dir': '/tmp/x' }, {}, '/tmp/x').limits
      .maxEventBytes;
    expect(SIDECAR_MAX_EVENT_BYTES).toBe(sidecarDefault);
    const spool = tempDir('vcp-limit-spool-');
    cleanups.push(() => spool.cleanup());
    const plain = createHttpSink({ url: 'http://127.0.0.1:9' });
    const wrapped = createHttpSink({ url: 'http://127.0.0.1:9', maxEventBytes: 65536, spoolDir: spool.dir });
    cleanups.push(
      () => plain.close(),
      () => wrapped.close(),
    );
    expect(plain.maxEventBytes).toBe(131072);
    expect(wrapped.name).toMatch(/^spool\(breaker\(retry\(http:/);
    expect(wrapped.maxEventBytes).toBe(65536);
    for (const bad of [100, 1023, 4096.5, Number.NaN, '64KiB']) {
      expect(() => new HttpSink({ url: 'http://127.0.0.1:9', maxEventBytes: bad as number })).toThrow(
        /maxEventBytes must be the sidecar's --max-event/,
      );
    }
  });

  it('a Kafka sink: a cluster sidecar’s default --max-event unless told', () => {
    expect(new KafkaSink({ brokers: '127.0.0.1:9', topic: 'vcp.events' }).maxEventBytes).toBe(131072);
    expect(
      new KafkaSink({ brokers: '127.0.0.1:9', topic: 'vcp.events', maxEventBytes: 1 << 20 }).maxEventBytes,
    ).toBe(1 << 20);
    expect(() => new KafkaSink({ brokers: '127.0.0.1:9', topic: 't', maxEventBytes: 10 })).toThrow(
      /KafkaSink maxEventBytes must be the sidecar's --max-event/,
    );
  });

  it('a fanout takes the smallest limit of its sinks', () => {
    const f = new FanoutSink([new MemorySink(), limitedSink(50_000), limitedSink(20_000)]);
    expect(f.maxEventBytes).toBe(20_000);
    expect(new FanoutSink([new MemorySink()]).maxEventBytes).toBeUndefined();
  });

  it('an embedded store: its max-event; a recorder with a chain writing there keeps every link', async () => {
    const dir = tempDir('vcp-limit-store-');
    cleanups.push(() => dir.cleanup());
    const sink = await openEmbeddedStore({
      dataDir: join(dir.dir, 'store'),
      settings: { 'max-event': '16KiB' },
      log: () => {},
    });
    expect(sink.maxEventBytes).toBe(16 * 1024);
    const rec = createRecorder({ sink, policy, chain: true, onError: () => {} });
    rec.record('ORD', order('A'));
    rec.record('ORD', order('B', 'x'.repeat(20_000)));
    rec.record('ORD', order('C'));
    await rec.close(); // closes the store too
    const again = await openEmbeddedStore({ dataDir: join(dir.dir, 'store'), log: () => {} });
    try {
      expect(again.log.ctx.tree.size).toBe(3);
      const stored = await Promise.all([0, 1, 2].map((i) => again.log.ctx.store.getByIndex(i)));
      const events = stored.map((s) => s!.event);
      expect(events.map((e) => e.header.event_type)).toEqual(['ORD', 'ERR_SYSTEM', 'ORD']);
      for (let i = 1; i < 3; i++)
        expect(events[i]!.security.prev_hash).toBe(events[i - 1]!.security.event_hash);
    } finally {
      await again.close();
    }
  });
});

describe('a tap writing to a sink with a limit', () => {
  const message = (offset: number, bytes: number): TapMessage => ({
    transport: 'kafka',
    topic: 'orders',
    partition: 0,
    offset: String(offset),
    key: undefined,
    value: Buffer.from(
      JSON.stringify({ order_id: `O${offset}`, symbol: 'EURUSD', side: 'BUY', note: 'x'.repeat(bytes) }),
    ),
    fields: undefined,
    rawFields: undefined,
    headers: {},
    timestamp: 1735084800000 + offset,
  });

  it('records a message too large for the sink as ERR_PARSE instead of an event the sink would refuse', () => {
    const sink = limitedSink(16 * 1024);
    const runner = new TapRunner({ sink, policyId: 'local:t:limits' }, 'vcp-tap-test');
    const { events, parseErrors } = runner.toEvents([message(1, 100), message(2, 20_000), message(3, 100)]);
    expect(parseErrors).toBe(1);
    expect(events.map((e: VcpEvent) => e.header.event_type)).toEqual(['ORD', 'ERR_PARSE', 'ORD']);
    for (const e of events) expect(Buffer.byteLength(serializeEvent(e))).toBeLessThanOrEqual(16 * 1024);
    expect(JSON.stringify(events[1]!.payload)).toMatch(/16384/);
  });

  it('refuses a sink whose limit leaves no room for an ERR_PARSE event', () => {
    const tiny: Sink = limitedSink(1500);
    expect(() => new TapRunner({ sink: tiny, policyId: 'local:t:limits' }, 'vcp-tap-test')).toThrow(
      /at most 1500 bytes.*at least 4096/,
    );
  });
});
