/**
 * The Redis Streams tap against a real Redis (VCP_TEST_REDIS_URL; skipped
 * with a message when unset): consumer groups, XACK only after the sink
 * acknowledged, a dead consumer's pending entries reclaimed by another, and
 * deterministic ids so a reclaimed entry is the same event.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisTap } from '../../src/adapters/redis-tap.ts';
import { sourceEventId, traceIdFromKey } from '../../src/adapters/source-ids.ts';
import { TapDeliveryError } from '../../src/adapters/tap-runner.ts';
import type { VcpEvent } from '../../src/core/types.ts';
import { validateEvent } from '../../src/core/validate.ts';
import { SinkError } from '../../src/sinks/errors.ts';
import { MemorySink } from '../../src/sinks/memory.ts';
import type { Sink } from '../../src/sinks/sink.ts';
import { redisUrl, skipReason } from '../helpers/env.ts';

const url = redisUrl();
if (!url) console.warn(skipReason('Redis', 'VCP_TEST_REDIS_URL', 'e.g. redis://127.0.0.1:6379'));

const policyId = 'local:test:redis-tap';

async function waitUntil(what: string, ms: number, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function entryOf(e: VcpEvent): string {
  return (e.payload.source_message as { entry_id: string }).entry_id;
}

/** A sink whose writes wait for `open()`; `hang` keeps them waiting forever. */
class GatedSink implements Sink {
  readonly name = 'gated';
  readonly inner = new MemorySink();
  calls = 0;
  #gate: Promise<void>;
  #open!: () => void;
  constructor() {
    this.#gate = new Promise((r) => {
      this.#open = r;
    });
  }
  open(): void {
    this.#open();
  }
  async write(events: readonly VcpEvent[]): Promise<void> {
    this.calls++;
    await this.#gate;
    await this.inner.write(events);
  }
  async close(): Promise<void> {}
}

describe('RedisTap options', () => {
  it('refuses bad configuration with a clear error, before connecting', () => {
    const base = {
      url: 'redis://127.0.0.1:1',
      streams: ['s'],
      groupId: 'g',
      sink: new MemorySink(),
      policyId,
    };
    expect(() => new RedisTap({ ...base, url: 'http://x' })).toThrow(/redis:\/\//);
    expect(() => new RedisTap({ ...base, streams: [] })).toThrow(/needs streams/);
    expect(() => new RedisTap({ ...base, groupId: '' })).toThrow(/groupId/);
    expect(() => new RedisTap({ ...base, startId: 'latest' })).toThrow(/startId/);
    expect(() => new RedisTap({ ...base, claimIdleMs: -1 })).toThrow(/claimIdleMs/);
  });
});

describe.skipIf(!url)('RedisTap (real Redis)', () => {
  let redis: Redis;
  const keys: string[] = [];
  const streamKey = () => {
    const k = `vcp-test:tap:${process.pid}:${randomBytes(4).toString('hex')}`;
    keys.push(k);
    return k;
  };
  beforeAll(() => {
    redis = new Redis(url!);
  });
  afterAll(async () => {
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  async function pending(stream: string, group: string): Promise<number> {
    return Number(((await redis.xpending(stream, group)) as unknown[])[0]);
  }

  it('two consumers: the dead one’s pending entries are reclaimed by the other; every entry is one event id', async () => {
    const stream = streamKey();
    const ids: string[] = [];
    const poison = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const order = `R-${i % 25}`;
      if (i % 31 === 5) {
        poison.add((await redis.xadd(stream, '*', 'event_type', 'NOT_A_TYPE', 'order_id', order)) as string);
      } else if (i % 31 === 11) {
        poison.add((await redis.xadd(stream, '*', 'event_type', 'ORD', 'price', '1,05')) as string);
      } else if (i % 31 === 17) {
        poison.add(
          (await redis.xadd(stream, '*', 'event_type', 'ORD', 'blob', Buffer.from([0xc3, 0x28]))) as string,
        );
      } else {
        ids.push(
          (await redis.xadd(
            stream,
            '*',
            'event_type',
            i % 3 ? 'EXE' : 'ORD',
            'order_id',
            order,
            'symbol',
            'USDJPY',
            'side',
            'SELL',
            'price',
            '151.250',
            'quantity',
            String(100 + i),
          )) as string,
        );
      }
    }
    const all = [...ids, ...poison];

    // Consumer A reads a batch and dies before its sink acknowledges anything.
    const hung = new GatedSink();
    const a = new RedisTap({
      url: url!,
      streams: [stream],
      groupId: 'g',
      consumer: 'A',
      batchSize: 50,
      maxInflight: 2,
      sink: hung,
      policyId,
    });
    await a.start();
    await waitUntil('A to read a batch', 10_000, () => hung.calls > 0);
    // Two batches at the sink (maxInflight 2) and one read ahead: three batches were pending when it died.
    await waitUntil('A to read ahead', 10_000, async () => (await pending(stream, 'g')) === 150);
    await a.abort();
    expect(await pending(stream, 'g')).toBe(150);

    // Consumer B takes the rest, and A's 150 once they have been idle for 300 ms.
    const sink = new MemorySink();
    const b = new RedisTap({
      url: url!,
      streams: [stream],
      groupId: 'g',
      consumer: 'B',
      batchSize: 40,
      claimIdleMs: 300,
      claimIntervalMs: 100,
      blockMs: 100,
      sink,
      policyId,
    });
    await b.start();
    await waitUntil('every entry acknowledged', 15_000, async () => {
      const seen = new Set(sink.events.map(entryOf));
      return all.every((id) => seen.has(id)) && (await pending(stream, 'g')) === 0;
    });
    expect(await b.lag()).toBe(0);
    expect(b.stats.reclaimed).toBeGreaterThanOrEqual(150);
    expect(await b.stop()).toBe(true);

    const byId = new Map<string, VcpEvent>();
    for (const e of sink.events) {
      const seen = byId.get(e.header.event_id);
      if (seen) expect(JSON.stringify(e)).toBe(JSON.stringify(seen));
      byId.set(e.header.event_id, e);
    }
    expect(byId.size).toBe(all.length);
    for (const e of byId.values()) {
      const entry = entryOf(e);
      expect(e.header.event_id).toBe(
        sourceEventId(
          { transport: 'redis', stream, partition: 0, position: entry },
          Number(entry.split('-')[0]),
        ),
      );
      expect(validateEvent(e).errors).toEqual([]);
      if (poison.has(entry)) expect(e.header.event_type).toBe('ERR_PARSE');
      else {
        expect(['ORD', 'EXE']).toContain(e.header.event_type);
        expect(e.header.trace_id).toBe(traceIdFromKey(e.payload.trade_data!.order_id!));
        expect(e.payload.trade_data?.price).toBe('151.250');
      }
    }
  });

  it('XACKs only after the sink acknowledged', async () => {
    const stream = streamKey();
    for (let i = 0; i < 10; i++) await redis.xadd(stream, '*', 'event_type', 'HBT', 'n', String(i));
    const sink = new GatedSink();
    const tap = new RedisTap({ url: url!, streams: [stream], groupId: 'g', consumer: 'c', sink, policyId });
    await tap.start();
    await waitUntil('the first write', 10_000, () => sink.calls > 0);
    await new Promise((r) => setTimeout(r, 200));
    expect(await pending(stream, 'g')).toBe(10);
    sink.open();
    await waitUntil('the XACKs', 10_000, async () => (await pending(stream, 'g')) === 0);
    expect(sink.inner.events).toHaveLength(10);
    expect(tap.stats.committed).toBe(10);
    await tap.stop();
  });

  it('two batches at the sink: a later batch the sink acknowledged is not XACKed while an earlier one is refused', async () => {
    const stream = streamKey();
    for (let i = 0; i < 20; i++) await redis.xadd(stream, '*', 'event_type', 'HBT', 'n', String(i));
    // The first write waits, then is refused for good; the second is acknowledged at once.
    let releaseFirst!: () => void;
    const firstHeld = new Promise<void>((r) => {
      releaseFirst = r;
    });
    const acknowledged: VcpEvent[] = [];
    let writes = 0;
    const sink: Sink = {
      name: 'first-refused',
      write: async (events) => {
        if (++writes === 1) {
          await firstHeld;
          throw new SinkError('HTTP 400 validation', { retryable: false, status: 400 });
        }
        acknowledged.push(...events);
      },
      close: async () => {},
    };
    const tap = new RedisTap({
      url: url!,
      streams: [stream],
      groupId: 'g',
      consumer: 'c',
      batchSize: 10,
      sink,
      policyId,
    });
    await tap.start();
    await waitUntil('the second batch at the sink', 10_000, () => acknowledged.length === 10);
    // Delivered, but behind an undelivered batch: not acknowledged to Redis.
    await new Promise((r) => setTimeout(r, 200));
    expect(await pending(stream, 'g')).toBe(20);
    releaseFirst();
    const error = await tap.done().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TapDeliveryError);
    await tap.stop().catch(() => {});
    expect(await pending(stream, 'g')).toBe(20);
    expect(tap.stats.committed).toBe(0);
  });

  it('a restart under the same consumer name first records what it had read but not acknowledged', async () => {
    const stream = streamKey();
    for (let i = 0; i < 30; i++) await redis.xadd(stream, '*', 'event_type', 'HBT', 'n', String(i));
    const hung = new GatedSink();
    const first = new RedisTap({
      url: url!,
      streams: [stream],
      groupId: 'g',
      consumer: 'same',
      batchSize: 30,
      sink: hung,
      policyId,
    });
    await first.start();
    await waitUntil('a read', 10_000, () => hung.calls > 0);
    await first.abort();
    expect(await pending(stream, 'g')).toBe(30);
    // No reclaiming here (claimIdleMs is long): the entries come back through the consumer's own PEL.
    const sink = new MemorySink();
    const again = new RedisTap({
      url: url!,
      streams: [stream],
      groupId: 'g',
      consumer: 'same',
      claimIdleMs: 600_000,
      sink,
      policyId,
    });
    await again.start();
    await waitUntil('the pending entries', 10_000, async () => (await pending(stream, 'g')) === 0);
    expect(new Set(sink.events.map((e) => e.header.event_id)).size).toBe(30);
    expect(again.stats.reclaimed).toBe(0);
    await again.stop();
  });

  it('an entry deleted while pending becomes an ERR_SYNC event naming it', async () => {
    const stream = streamKey();
    const keep = (await redis.xadd(stream, '*', 'event_type', 'HBT')) as string;
    const gone = (await redis.xadd(stream, '*', 'event_type', 'HBT')) as string;
    await redis.xgroup('CREATE', stream, 'g', '0');
    // A consumer that reads both and dies.
    await redis.xreadgroup('GROUP', 'g', 'dead', 'COUNT', 10, 'STREAMS', stream, '>');
    await redis.xdel(stream, gone);
    const sink = new MemorySink();
    const tap = new RedisTap({
      url: url!,
      streams: [stream],
      groupId: 'g',
      consumer: 'alive',
      claimIdleMs: 50,
      claimIntervalMs: 50,
      blockMs: 50,
      sink,
      policyId,
    });
    await new Promise((r) => setTimeout(r, 80));
    await tap.start();
    await sink.waitFor(2, 10_000);
    await waitUntil('nothing pending', 10_000, async () => (await pending(stream, 'g')) === 0);
    await tap.stop();
    const sync = sink.ofType('ERR_SYNC');
    expect(sync).toHaveLength(1);
    expect(entryOf(sync[0]!)).toBe(gone);
    expect((sync[0]!.payload.error_details as { error_code: string }).error_code).toBe('ENTRY_DELETED');
    expect(sink.ofType('HBT').map(entryOf)).toEqual([keep]);
  });

  it('stop() returns promptly from a blocking read', async () => {
    const stream = streamKey();
    const tap = new RedisTap({
      url: url!,
      streams: [stream],
      groupId: 'g',
      blockMs: 60_000,
      claimIntervalMs: 60_000,
      sink: new MemorySink(),
      policyId,
    });
    await tap.start();
    await new Promise((r) => setTimeout(r, 100));
    const stopped = tap.stop();
    const outcome = await Promise.race([
      stopped,
      new Promise((r) => setTimeout(() => r('still blocked'), 5000)),
    ]);
    expect(outcome).toBe(true);
  });
});
