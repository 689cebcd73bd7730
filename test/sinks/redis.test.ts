/**
 * RedisStreamSink against a real Redis (VCP_TEST_REDIS_URL, e.g.
 * redis://127.0.0.1:6379; skipped with a message when unset). Every test uses
 * its own stream key and deletes it.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEvent } from '../../src/core/builder.ts';
import { createPolicy } from '../../src/core/policy.ts';
import type { VcpEvent } from '../../src/core/types.ts';
import { uuidv7 } from '../../src/core/uuidv7.ts';
import { sealEvent } from '../../src/integrity/seal.ts';
import { SinkError } from '../../src/sinks/errors.ts';
import { RedisStreamSink } from '../../src/sinks/redis.ts';
import { redisUrl, skipReason } from '../helpers/env.ts';

const url = redisUrl();
if (!url) console.warn(skipReason('Redis', 'VCP_TEST_REDIS_URL', 'e.g. redis://127.0.0.1:6379'));

const policy = createPolicy({ policyId: 'local:test:redis-sink' });

function events(n: number, traceId = uuidv7()): VcpEvent[] {
  return Array.from({ length: n }, (_, i) =>
    sealEvent(
      buildEvent(
        i % 2 ? 'EXE' : 'ORD',
        { trade_data: { order_id: `O-${i}`, symbol: 'EURUSD', side: 'BUY', quantity: String(i + 1) } },
        { policy, traceId },
      ),
    ),
  );
}

describe('RedisStreamSink options', () => {
  it('refuses bad configuration with a clear error', () => {
    expect(() => new RedisStreamSink({ stream: 's' } as never)).toThrow(/url.*or \{ client \}/);
    expect(() => new RedisStreamSink({ url: 'redis://x:1', stream: '' })).toThrow(/stream/);
    expect(() => new RedisStreamSink({ url: 'redis://x:1', stream: 's', maxLen: 0 })).toThrow(/maxLen/);
    expect(() => new RedisStreamSink({ url: 'redis://x:1', stream: 's', maxLen: 1.5 })).toThrow(/maxLen/);
  });
});

describe.skipIf(!url)('RedisStreamSink (real Redis)', () => {
  let redis: Redis;
  const keys: string[] = [];
  const key = () => {
    const k = `vcp-test:sink:${process.pid}:${randomBytes(4).toString('hex')}`;
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

  it('appends one entry per event, in order, with event, event_id, event_type and trace_id fields', async () => {
    const stream = key();
    const sink = new RedisStreamSink({ url: url!, stream });
    const batch = events(5);
    await sink.write(batch);
    await sink.close();
    const entries = await redis.xrange(stream, '-', '+');
    expect(entries).toHaveLength(5);
    entries.forEach(([, flat], i) => {
      const fields = Object.fromEntries(
        Array.from({ length: flat.length / 2 }, (_, j) => [flat[2 * j], flat[2 * j + 1]]),
      );
      expect(Object.keys(fields)).toEqual(['event', 'event_id', 'event_type', 'trace_id']);
      expect(JSON.parse(fields.event!)).toEqual(batch[i]);
      expect(fields.event_id).toBe(batch[i]!.header.event_id);
      expect(fields.event_type).toBe(batch[i]!.header.event_type);
      expect(fields.trace_id).toBe(batch[i]!.header.trace_id);
    });
  });

  it('resolves only after Redis replied: the whole batch is in the stream when write resolves', async () => {
    const stream = key();
    const sink = new RedisStreamSink({ url: url!, stream });
    for (let i = 1; i <= 5; i++) {
      await sink.write(events(100));
      expect(await redis.xlen(stream)).toBe(100 * i);
    }
    await sink.close();
  });

  it('never trims unless maxLen is set; with maxLen it trims approximately (MAXLEN ~)', async () => {
    const plain = key();
    const trimmed = key();
    const a = new RedisStreamSink({ url: url!, stream: plain });
    const b = new RedisStreamSink({ url: url!, stream: trimmed, maxLen: 100 });
    for (let i = 0; i < 10; i++) {
      const batch = events(100);
      await a.write(batch);
      await b.write(batch);
    }
    await a.close();
    await b.close();
    expect(await redis.xlen(plain)).toBe(1000);
    const len = await redis.xlen(trimmed);
    expect(len).toBeGreaterThanOrEqual(100);
    expect(len).toBeLessThan(1000);
  });

  it('fails with a non-retryable SinkError when the key holds another type', async () => {
    const stream = key();
    await redis.set(stream, 'not a stream');
    const sink = new RedisStreamSink({ url: url!, stream });
    const error = await sink.write(events(2)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SinkError);
    expect(error).toMatchObject({ retryable: false });
    expect((error as Error).message).toMatch(/WRONGTYPE/);
    await sink.close();
  });

  it('uses a client it is given and leaves it open on close', async () => {
    const stream = key();
    const client = new Redis(url!);
    const sink = new RedisStreamSink({ client, stream });
    await sink.write(events(3));
    await sink.close();
    expect(await client.xlen(stream)).toBe(3);
    await expect(sink.write(events(1))).rejects.toMatchObject({ reason: 'closed' });
    client.disconnect();
  });

  it('a Redis that does not answer gives a retryable timeout error, not a hang', async () => {
    // A TCP listener that accepts and never replies.
    const net = await import('node:net');
    const silent = net.createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    const sink = new RedisStreamSink({ url: `redis://127.0.0.1:${port}`, stream: 's', timeoutMs: 300 });
    const error = await sink.write(events(1)).catch((e: unknown) => e);
    expect(error).toMatchObject({ retryable: true, reason: 'timeout' });
    await sink.close().catch(() => {});
    silent.close();
  });
});
