/**
 * The Kafka tap against a real broker (`bash scripts/kafka.sh start`; skipped
 * with a message when VCP_TEST_KAFKA_BROKERS is unset): at-least-once with
 * deterministic ids across a crash, commits only after the sink acknowledged,
 * poison messages recorded and never stalling. The same tap as a process
 * (SIGKILL, SIGTERM) is tested in test/cli/tap.test.ts.
 */
import { tracingChannel } from 'node:diagnostics_channel';
import { Consumer, Producer } from '@platformatic/kafka';
import { afterAll, describe, expect, it } from 'vitest';
import { KafkaTap, type KafkaTapOptions } from '../../src/adapters/kafka-tap.ts';
import { createDefaultMapping } from '../../src/adapters/message-mapping.ts';
import { sourceEventId, traceIdFromKey } from '../../src/adapters/source-ids.ts';
import { TapDeliveryError } from '../../src/adapters/tap-runner.ts';
import { VcpConfigError } from '../../src/core/errors.ts';
import type { VcpEvent } from '../../src/core/types.ts';
import { validateEvent } from '../../src/core/validate.ts';
import { computeEventHash } from '../../src/integrity/event-hash.ts';
import { SinkError } from '../../src/sinks/errors.ts';
import { MemorySink } from '../../src/sinks/memory.ts';
import type { Sink } from '../../src/sinks/sink.ts';
import { createTopic, deleteTopics, describeKafka, uniqueTopic, withTimeout } from '../helpers/kafka.ts';

interface Sent {
  topic: string;
  partition: number;
  offset: bigint;
  value: string | Buffer;
  poison: boolean;
}

/** Produce messages (string or raw bytes) and learn where each one landed. */
async function produce(
  brokers: string[],
  messages: { topic: string; key: string; value: string | Buffer; poison?: boolean }[],
): Promise<Sent[]> {
  const producer = new Producer({
    clientId: 'vcp-test-producer',
    bootstrapBrokers: brokers,
    idempotent: true,
  });
  const sent: Sent[] = [];
  try {
    // One at a time, so each result names exactly one message's position.
    for (const m of messages) {
      const r = await withTimeout(
        producer.send({
          messages: [
            {
              topic: m.topic,
              key: Buffer.from(m.key),
              value: Buffer.isBuffer(m.value) ? m.value : Buffer.from(m.value),
            },
          ],
        }),
        10_000,
        'producing a test message',
      );
      const at = r.offsets![0]!;
      sent.push({
        topic: at.topic,
        partition: at.partition,
        offset: at.offset,
        value: m.value,
        poison: m.poison ?? false,
      });
    }
  } finally {
    await producer.close();
  }
  return sent;
}

/** Committed offsets of a group (`topic:partition` → next offset; -1 = none) and the high watermarks. */
async function offsets(
  brokers: string[],
  groupId: string,
  topics: string[],
): Promise<{ committed: Map<string, bigint>; end: Map<string, bigint> }> {
  const c = new Consumer({ clientId: 'vcp-test-offsets', groupId, bootstrapBrokers: brokers });
  try {
    const latest = await c.listOffsets({ topics });
    const committed = await c.listCommittedOffsets({
      topics: topics.map((topic) => ({ topic, partitions: (latest.get(topic) ?? []).map((_, i) => i) })),
    });
    const out = { committed: new Map<string, bigint>(), end: new Map<string, bigint>() };
    for (const t of topics) {
      for (const [p, o] of (latest.get(t) ?? []).entries()) out.end.set(`${t}:${p}`, o);
      for (const [p, o] of (committed.get(t) ?? []).entries()) out.committed.set(`${t}:${p}`, o);
    }
    return out;
  } finally {
    await c.close();
  }
}

async function waitUntil(what: string, ms: number, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function positionOf(e: VcpEvent): string {
  const s = e.payload.source_message as { topic: string; partition: number; offset: string };
  return `${s.topic}:${s.partition}:${s.offset}`;
}

/** A sink that waits for `open()` before acknowledging each write. */
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
  async write(events: readonly import('../../src/core/types.ts').VcpEvent[]): Promise<void> {
    this.calls++;
    await this.#gate;
    await this.inner.write(events);
  }
  async close(): Promise<void> {}
}

const policyId = 'local:test:kafka-tap';

describe('KafkaTap options', () => {
  it('refuses bad configuration with a clear error, before connecting', () => {
    const sink = new MemorySink();
    const base = { brokers: '127.0.0.1:1', topics: ['orders'], groupId: 'g', sink, policyId };
    expect(() => new KafkaTap({ ...base, topics: [] })).toThrow(/needs topics/);
    expect(() => new KafkaTap({ ...base, topics: ['a b'] })).toThrow(/not a Kafka topic name/);
    expect(() => new KafkaTap({ ...base, groupId: '' })).toThrow(/groupId/);
    expect(() => new KafkaTap({ ...base, maxBatch: 0 })).toThrow(VcpConfigError);
    expect(() => new KafkaTap({ ...base, startFrom: 'middle' as never })).toThrow(/earliest/);
  });
});

describeKafka('KafkaTap (real broker)', (brokers) => {
  const topics: string[] = [];
  afterAll(async () => {
    if (topics.length) await deleteTopics(brokers, topics);
  });

  /** A tap on one topic with the suite's brokers and policy, plus `more` options. */
  function tapOn(topic: string, groupId: string, sink: Sink, more: Partial<KafkaTapOptions> = {}): KafkaTap {
    return new KafkaTap({ brokers, topics: [topic], groupId, sink, policyId, ...more });
  }

  /** A new topic (deleted after the suite) holding `n` heartbeat messages, keyed `K0`, `K1`, … across its partitions. */
  async function heartbeatTopic(n: number, partitions: number): Promise<{ topic: string; sent: Sent[] }> {
    const topic = uniqueTopic('orders');
    topics.push(topic);
    await createTopic(brokers, topic, { partitions });
    const sent = await produce(
      brokers,
      Array.from({ length: n }, (_, i) => ({
        topic,
        key: `K${i}`,
        value: JSON.stringify({ event_type: 'HBT', seq: i }),
      })),
    );
    return { topic, sent };
  }

  async function guideTopics(): Promise<{ orders: string; executions: string; errors: string }> {
    const t = {
      orders: uniqueTopic('orders'),
      executions: uniqueTopic('executions'),
      errors: uniqueTopic('errors'),
    };
    topics.push(t.orders, t.executions, t.errors);
    await createTopic(brokers, t.orders, { partitions: 4 });
    await createTopic(brokers, t.executions, { partitions: 2 });
    await createTopic(brokers, t.errors, { partitions: 1 });
    return t;
  }

  it('a crash mid-stream loses nothing and duplicates nothing: every message is exactly one event id', async () => {
    const t = await guideTopics();
    const messages: { topic: string; key: string; value: string | Buffer; poison?: boolean }[] = [];
    for (let i = 0; i < 240; i++) {
      const orderId = `ORD-${i % 40}`;
      const kind = i % 6;
      if (i % 23 === 7) {
        const poisons = [
          '{"order_id":',
          '[1,2,3]',
          '{"order_id":"X","side":"BUY"}',
          Buffer.from([0xff, 0x00, 0x7b]),
        ];
        messages.push({ topic: t.orders, key: orderId, value: poisons[i % poisons.length]!, poison: true });
      } else if (kind < 3) {
        messages.push({
          topic: t.orders,
          key: orderId,
          value: JSON.stringify({
            order_id: orderId,
            symbol: 'EURUSD',
            side: 'BUY',
            type: 'LIMIT',
            price: 1.085,
            quantity: 1000 + i,
          }),
        });
      } else if (kind < 5) {
        messages.push({
          topic: t.executions,
          key: orderId,
          value: `{"order_id":"${orderId}","symbol":"EURUSD","side":"BUY","price":1.0850,"quantity":${500 + i}}`,
        });
      } else {
        messages.push({
          topic: t.errors,
          key: orderId,
          value: JSON.stringify({
            type: 'ERR_REJECT',
            code: 'R1',
            message: `rejected ${i}`,
            order_id: orderId,
          }),
        });
      }
    }
    const sent = await produce(brokers, messages);
    const poison = sent.filter((s) => s.poison);
    expect(poison.length).toBeGreaterThan(5);

    const groupId = uniqueTopic('vcp-tap-group');
    const mapping = createDefaultMapping({
      topics: { [t.orders]: 'orders', [t.executions]: 'executions', [t.errors]: 'errors' },
    });
    const all = new MemorySink();
    const common = {
      brokers,
      topics: [t.orders, t.executions, t.errors],
      groupId,
      mapping,
      policyId,
      maxBatch: 20,
    };

    // Run 1 crashes right after the sink acknowledged its 4th batch, before committing it.
    let writes = 0;
    let first: KafkaTap | undefined;
    const crashing: Sink = {
      name: 'crashing',
      async write(events) {
        await all.write(events);
        if (++writes === 4) void first!.abort();
      },
      close: async () => {},
    };
    first = new KafkaTap({ ...common, sink: crashing });
    await first.start();
    await withTimeout(first.done(), 30_000, 'the first tap to crash');
    const afterCrash = await offsets(brokers, groupId, common.topics);
    const committedBefore = [...afterCrash.committed.values()].reduce((a, o) => a + (o > 0n ? o : 0n), 0n);
    // It did commit some batches, but not everything it delivered.
    expect(all.events.length).toBeGreaterThan(Number(committedBefore));

    // Run 2 picks up from the committed offsets.
    const second = new KafkaTap({ ...common, sink: all });
    await second.start();
    const want = new Set(sent.map((s) => `${s.topic}:${s.partition}:${s.offset}`));
    await waitUntil('every message recorded', 30_000, () => {
      const seen = new Set(all.events.map(positionOf));
      return [...want].every((p) => seen.has(p));
    });
    await waitUntil('everything committed', 30_000, async () => {
      const { committed, end } = await offsets(brokers, groupId, common.topics);
      return [...end].every(([k, o]) => committed.get(k) === o);
    });
    expect(await second.stop()).toBe(true);
    expect(second.stats.commitErrors).toBe(0);

    // Exactly one event id per message; duplicates (the replayed uncommitted batch) are identical events.
    const byId = new Map<string, VcpEvent>();
    for (const e of all.events) {
      const seen = byId.get(e.header.event_id);
      if (seen) expect(JSON.stringify(e)).toBe(JSON.stringify(seen));
      else byId.set(e.header.event_id, e);
    }
    expect(byId.size).toBe(sent.length);
    expect(all.events.length).toBeGreaterThan(sent.length); // the crash really replayed something
    for (const s of sent) {
      const e = [...byId.values()].find((x) => positionOf(x) === `${s.topic}:${s.partition}:${s.offset}`)!;
      expect(e.header.event_id).toBe(
        sourceEventId(
          { transport: 'kafka', stream: s.topic, partition: s.partition, position: String(s.offset) },
          Number(e.header.timestamp_int.slice(0, -6)),
        ),
      );
      expect(validateEvent(e).errors).toEqual([]);
      expect(computeEventHash(e)).toBe(e.security.event_hash);
      if (s.poison) {
        expect(e.header.event_type).toBe('ERR_PARSE');
        const raw = (
          e.payload.error_details as unknown as { raw_message: { encoding: string; data: string } }
        ).raw_message;
        expect(Buffer.from(raw.data, raw.encoding === 'base64' ? 'base64' : 'utf8')).toEqual(
          Buffer.from(s.value),
        );
      } else {
        expect(['ORD', 'EXE', 'ERR_REJECT']).toContain(e.header.event_type);
      }
    }
    // One trace per order, across topics.
    for (const e of byId.values()) {
      const orderId = (e.payload.trade_data?.order_id ??
        (e.payload.error_details as { order_id?: string })?.order_id) as string | undefined;
      if (orderId && e.header.event_type !== 'ERR_PARSE')
        expect(e.header.trace_id).toBe(traceIdFromKey(orderId));
    }
  });

  it('commits offsets only after the sink acknowledged, and then all of them', async () => {
    const { topic, sent } = await heartbeatTopic(10, 2);
    const groupId = uniqueTopic('vcp-tap-group');
    const sink = new GatedSink();
    const tap = tapOn(topic, groupId, sink);
    await tap.start();
    await waitUntil('the first write', 20_000, () => sink.calls > 0);
    await new Promise((r) => setTimeout(r, 300));
    const held = await offsets(brokers, groupId, [topic]);
    expect([...held.committed.values()].every((o) => o === -1n)).toBe(true);
    sink.open();
    await waitUntil('all 10 committed', 20_000, async () => {
      const { committed, end } = await offsets(brokers, groupId, [topic]);
      return [...end].every(([k, o]) => committed.get(k) === o);
    });
    expect(sink.inner.events.map((e) => e.header.event_type)).toEqual(Array(sent.length).fill('HBT'));
    expect(await tap.lag()).toBe(0);
    await tap.stop();
  });

  it('commits acknowledged offsets together, at most once per commitIntervalMs, and everything at stop()', async () => {
    const { topic } = await heartbeatTopic(30, 1);
    const groupId = uniqueTopic('vcp-tap-group');
    // Every offset commit request this group's consumer sends (each one costs the broker a log append).
    let requests = 0;
    const commits = tracingChannel('plt:kafka:consumer:commits');
    const onCommit = {
      start: (ctx: { client?: { groupId?: string } }) => void (ctx.client?.groupId === groupId && requests++),
    };
    commits.subscribe(onCommit as never);
    try {
      const sink = new MemorySink();
      // Ten batches of three; an interval no test run reaches.
      const tap = tapOn(topic, groupId, sink, { maxBatch: 3, commitIntervalMs: 60_000 });
      await tap.start();
      await waitUntil('all 30 recorded', 20_000, () => sink.events.length === 30);
      await waitUntil('the first batch committed', 20_000, () => tap.stats.committed > 0);
      // The first batch (up to three messages: whatever had arrived) was committed at once; the batches after
      // it wait for the interval or for stop().
      const first = tap.stats.committed;
      expect(first).toBeLessThanOrEqual(3);
      expect((await offsets(brokers, groupId, [topic])).committed.get(`${topic}:0`)).toBe(BigInt(first));
      expect(await tap.stop()).toBe(true);
      expect(tap.stats.committed).toBe(30);
      expect((await offsets(brokers, groupId, [topic])).committed.get(`${topic}:0`)).toBe(30n);
      expect(requests).toBe(2);
    } finally {
      commits.unsubscribe(onCommit as never);
    }
  });

  it('keeps retrying while the sink is down and catches up when it returns', async () => {
    const { topic } = await heartbeatTopic(1, 1);
    const stored = new MemorySink();
    let attempts = 0;
    const sink: Sink = {
      name: 'down-then-up',
      async write(events) {
        if (++attempts <= 3) throw new SinkError('sidecar down', { retryable: true });
        await stored.write(events);
      },
      close: async () => {},
    };
    const groupId = uniqueTopic('vcp-tap-group');
    const tap = tapOn(topic, groupId, sink, { retryMinDelayMs: 10, retryMaxDelayMs: 50 });
    await tap.start();
    await stored.waitFor(1, 20_000);
    await waitUntil(
      'the commit',
      20_000,
      async () => (await offsets(brokers, groupId, [topic])).committed.get(`${topic}:0`) === 1n,
    );
    expect(tap.stats.sinkRetries).toBe(3);
    await tap.stop();
  });

  it('stops with TapDeliveryError, committing nothing, when the sink refuses the events', async () => {
    const { topic } = await heartbeatTopic(1, 1);
    const sink: Sink = {
      name: 'refusing',
      write: async () => {
        throw new SinkError('HTTP 400 validation', { retryable: false, status: 400 });
      },
      close: async () => {},
    };
    const groupId = uniqueTopic('vcp-tap-group');
    const tap = tapOn(topic, groupId, sink);
    await tap.start();
    const error = await withTimeout(
      tap.done().catch((e: unknown) => e),
      20_000,
      'the tap to stop',
    );
    expect(error).toBeInstanceOf(TapDeliveryError);
    await expect(tap.stop()).rejects.toBeInstanceOf(TapDeliveryError);
    expect((await offsets(brokers, groupId, [topic])).committed.get(`${topic}:0`)).toBe(-1n);
  });

  it('start() names a topic that does not exist and says to create it', async () => {
    const missing = uniqueTopic('vcp-no-such-topic');
    const tap = tapOn(missing, uniqueTopic('vcp-tap-group'), new MemorySink());
    const err = await tap.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(VcpConfigError);
    expect((err as Error).message).toContain(`topic "${missing}" does not exist on ${brokers.join(',')}`);
    expect((err as Error).message).toContain('create it first');
  });

  it('stop() finishes the batch in flight and commits it', async () => {
    const { topic } = await heartbeatTopic(5, 1);
    const sink = new GatedSink();
    const groupId = uniqueTopic('vcp-tap-group');
    const tap = tapOn(topic, groupId, sink);
    await tap.start();
    await waitUntil('the first write', 20_000, () => sink.calls > 0);
    const stopping = tap.stop();
    setTimeout(() => sink.open(), 200);
    expect(await stopping).toBe(true);
    const done = sink.inner.events.length;
    expect(done).toBeGreaterThan(0);
    expect((await offsets(brokers, groupId, [topic])).committed.get(`${topic}:0`)).toBe(BigInt(done));
  });
});
