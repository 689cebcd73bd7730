/**
 * The Kafka sink: sealed events to a Kafka topic with `@platformatic/kafka`
 * (an optional peer dependency, loaded on first use).
 *
 * - Idempotent producer, `acks = -1` (all in-sync replicas): `write` resolves
 *   only after the broker acknowledged every event of the batch, and the
 *   broker drops the producer's own retries of a batch it already wrote.
 * - Key = `trace_id`, so every event of one order hashes to one partition and
 *   keeps its order there — the partition the Java client would choose for
 *   that key, so other producers and Kafka Streams joins agree; value = the
 *   event's JSON; headers `event_type`
 *   and `event_id` (consumers can route without parsing the value).
 * - Batches are sent in order, one request at a time, split so that no
 *   request carries more than `maxBatchBytes` of values (the broker refuses a
 *   record batch above `message.max.bytes`, 1 MiB by default).
 * - Every send has a deadline (`timeoutMs`): `@platformatic/kafka` waits
 *   silently, forever, on a topic that does not exist (its metadata request
 *   never settles), so without one a missing topic would hang the writer.
 *   A timed-out write rejects with a retryable `SinkError` (`reason:
 *   'timeout'`) that says so. Whether the broker still wrote that batch is
 *   unknown: sending it again can duplicate events in the topic — as the same
 *   event ids, which consumers (and the sidecar) deduplicate.
 * - `close()` waits for the write in flight (bounded by its deadline), then
 *   closes the producer.
 */

import type { Producer } from '@platformatic/kafka';
import { VcpConfigError } from '../core/errors.ts';
import type { VcpEvent } from '../core/types.ts';
import { InflightWrite } from './_inflight.ts';
import { describeError, SinkError } from './errors.ts';
import { type Sink, sidecarEventLimit } from './sink.ts';

/** Compression codecs `@platformatic/kafka` implements (`zstd` needs Node ≥ 22.15 / 23.8). */
export const KAFKA_COMPRESSIONS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
/** One of {@link KAFKA_COMPRESSIONS}. */
export type KafkaCompression = (typeof KAFKA_COMPRESSIONS)[number];

/** Options of {@link KafkaSink}. */
export interface KafkaSinkOptions {
  /** Bootstrap brokers, `host:port` (a list, or one comma-separated string). */
  brokers: string[] | string;
  /** The topic; it must exist (create it with the partitions you want: the sink never auto-creates). */
  topic: string;
  /** Client id the broker sees (default `vcp-kafka-sink`). */
  clientId?: string;
  /** Compression of record batches (default `lz4`: cheap on CPU, good on JSON). */
  compression?: KafkaCompression;
  /** Deadline of each send, ms (default 10 000). */
  timeoutMs?: number;
  /** Most value bytes in one produce request (default 900 000). */
  maxBatchBytes?: number;
  /**
   * The largest event the topic's consumer stores, in bytes of its JSON line: a cluster sidecar's
   * `--max-event` (default 128 KiB, the sidecar's default). A recorder or tap writing to this sink
   * seals nothing larger (see {@link Sink.maxEventBytes}): the cluster would refuse such a record,
   * and the event would be missing from its partition's log.
   */
  maxEventBytes?: number;
  /**
   * More `@platformatic/kafka` producer options (TLS, SASL, retries…). `idempotent`, `acks`,
   * serializers and `autocreateTopics` are the sink's own and cannot be overridden.
   */
  producerOptions?: Record<string, unknown>;
}

type StringProducer = Producer<string, string, string, string>;

/** Parse a broker list given as an array or a comma-separated string. */
export function parseBrokers(brokers: string[] | string | undefined, who: string): string[] {
  const list = (Array.isArray(brokers) ? brokers : String(brokers ?? '').split(','))
    .map((b) => String(b).trim())
    .filter((b) => b.length > 0);
  if (list.length === 0) throw new VcpConfigError(`${who} needs brokers, e.g. ["127.0.0.1:9092"]`);
  for (const b of list) {
    if (!/^[^\s:]+:\d{1,5}$/.test(b) && !/^\[[0-9a-fA-F:.]+\]:\d{1,5}$/.test(b)) {
      throw new VcpConfigError(`${who}: broker "${b.slice(0, 80)}" is not host:port`);
    }
  }
  return list;
}

/** Load `@platformatic/kafka`, or say how to install it. */
export async function loadKafkaLibrary(who: string): Promise<typeof import('@platformatic/kafka')> {
  try {
    return await import('@platformatic/kafka');
  } catch (e) {
    throw new VcpConfigError(
      `${who} needs the @platformatic/kafka package: npm install @platformatic/kafka`,
      {
        cause: e,
      },
    );
  }
}

/** Sealed events to one Kafka topic; see the module comment. */
export class KafkaSink implements Sink {
  readonly name: string;
  /** The consumer's `--max-event` ({@link KafkaSinkOptions.maxEventBytes}). */
  readonly maxEventBytes: number;
  readonly topic: string;
  readonly #brokers: string[];
  readonly #clientId: string;
  readonly #compression: KafkaCompression;
  readonly #timeoutMs: number;
  readonly #maxBatchBytes: number;
  readonly #extra: Record<string, unknown>;
  #producer: Promise<StringProducer> | undefined;
  readonly #inflight = new InflightWrite();
  #closed = false;

  constructor(options: KafkaSinkOptions) {
    if (!options || typeof options.topic !== 'string' || !/^[A-Za-z0-9._-]{1,249}$/.test(options.topic)) {
      throw new VcpConfigError('KafkaSink needs { topic } of 1–249 characters from [A-Za-z0-9._-]');
    }
    this.#brokers = parseBrokers(options.brokers, 'KafkaSink');
    const compression = options.compression ?? 'lz4';
    if (!KAFKA_COMPRESSIONS.includes(compression)) {
      throw new VcpConfigError(`KafkaSink compression must be one of ${KAFKA_COMPRESSIONS.join(', ')}`);
    }
    const timeoutMs = options.timeoutMs ?? 10_000;
    if (!(timeoutMs > 0)) throw new VcpConfigError('KafkaSink timeoutMs must be a positive number of ms');
    this.topic = options.topic;
    this.name = `kafka:${this.topic}`;
    this.#clientId = options.clientId ?? 'vcp-kafka-sink';
    this.#compression = compression;
    this.#timeoutMs = timeoutMs;
    this.#maxBatchBytes = Math.max(1024, options.maxBatchBytes ?? 900_000);
    this.maxEventBytes = sidecarEventLimit(options.maxEventBytes, 'KafkaSink');
    this.#extra = { ...options.producerOptions };
  }

  async write(events: readonly VcpEvent[]): Promise<void> {
    if (this.#closed) throw new SinkError(`${this.name} is closed`, { retryable: false, reason: 'closed' });
    if (events.length === 0) return;
    await this.#inflight.track(this.#write(events));
  }

  /** Resolves when the write in flight (if any) has settled. */
  async flush(): Promise<void> {
    await this.#inflight.settled();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#inflight.settled();
    const producer = await this.#producer?.catch(() => undefined);
    if (producer) {
      // Bounded: a send stuck inside the library (missing topic) must not hold close() forever.
      await deadline(producer.close(true), this.#timeoutMs).catch(() => {});
    }
  }

  async #write(events: readonly VcpEvent[]): Promise<void> {
    const producer = await this.#getProducer();
    let chunk: { key: string; value: string; headers: Record<string, string>; topic: string }[] = [];
    let bytes = 0;
    for (const e of events) {
      const value = JSON.stringify(e);
      const size = Buffer.byteLength(value);
      if (chunk.length > 0 && bytes + size > this.#maxBatchBytes) {
        await this.#send(producer, chunk);
        chunk = [];
        bytes = 0;
      }
      chunk.push({
        topic: this.topic,
        key: e.header.trace_id,
        value,
        headers: { event_type: e.header.event_type, event_id: e.header.event_id },
      });
      bytes += size;
    }
    if (chunk.length > 0) await this.#send(producer, chunk);
  }

  async #send(
    producer: StringProducer,
    messages: { key: string; value: string; headers: Record<string, string>; topic: string }[],
  ): Promise<void> {
    try {
      await deadline(producer.send({ messages }), this.#timeoutMs);
    } catch (e) {
      if (e === TIMEOUT) {
        throw new SinkError(
          `${this.name}: the broker did not acknowledge ${messages.length} event(s) within ${this.#timeoutMs} ms` +
            ` (does topic "${this.topic}" exist? @platformatic/kafka waits on a missing topic instead of failing; create it first)`,
          { retryable: true, reason: 'timeout' },
        );
      }
      throw new SinkError(`${this.name}: send failed: ${describeError(e)}`, {
        retryable: !this.#closed,
        reason: 'kafka',
        cause: e,
      });
    }
  }

  #getProducer(): Promise<StringProducer> {
    if (this.#producer) return this.#producer;
    this.#producer = (async () => {
      const kafka = await loadKafkaLibrary('KafkaSink');
      return new kafka.Producer({
        retryDelay: 250,
        ...this.#extra,
        clientId: this.#clientId,
        bootstrapBrokers: this.#brokers,
        idempotent: true,
        acks: kafka.ProduceAcks.ALL,
        compression: this.#compression,
        // Java's placement ((murmur2(key) & 0x7fffffff) % partitions): the library's default
        // (murmur2 >>> 0) puts keys elsewhere on topics whose partition count is not a power of two.
        partitioner: kafka.compatibilityPartitioner,
        autocreateTopics: false,
        serializers: kafka.stringSerializers,
      }) as StringProducer;
    })();
    // A failed load is not cached: the next write tries again.
    this.#producer.catch(() => {
      this.#producer = undefined;
    });
    return this.#producer;
  }
}

const TIMEOUT = Symbol('timeout');

/** Settles like `promise`, or rejects with {@link TIMEOUT} after `ms`. */
function deadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(TIMEOUT), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
