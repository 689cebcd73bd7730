/**
 * Reads one partition of the events topic over an offset range, outside the
 * consumer group: what a member needs to rebuild a partition whose state it
 * does not have (takeover-check.ts) from the records the topic still holds.
 *
 * It uses the client's plain `fetch` (no group join, no commit), so reading
 * never moves the group's offsets and never triggers a rebalance. Control
 * batches (transaction markers) are skipped as the group's stream skips them.
 */
import type { Consumer } from '@platformatic/kafka';
import { describeError } from '../../sinks/errors.ts';
import { loadKafkaLibrary } from '../../sinks/kafka.ts';
import type { KafkaIngest } from './ingest-url.ts';

/** One record of the range. */
export interface RangeRecord {
  offset: bigint;
  value: Buffer | null;
}

/** Options of {@link readPartitionRange}. */
export interface ReadRangeOptions {
  ingest: KafkaIngest;
  partition: number;
  /** First offset to read. */
  from: bigint;
  /** Offset after the last one to read. */
  to: bigint;
  /** Receives the records in offset order, one fetch at a time; the next fetch waits for it. */
  onRecords(records: RangeRecord[]): Promise<void>;
  /** Checked between fetches: stop early when it returns true. */
  stopped?(): boolean;
  /** More `@platformatic/kafka` client options (TLS, SASL…). */
  consumerOptions?: Record<string, unknown>;
  /** Bytes per fetch (default 4 MiB). */
  fetchBytes?: number;
}

// Batch attribute bit of a control batch (KIP-98): transaction markers, never application records.
const CONTROL_BATCH = 0x20;

type RawConsumer = Consumer<Buffer, Buffer, Buffer, Buffer>;

/**
 * Read `[from, to)` of one partition. Rejects when a record in the range is
 * gone (the topic's retention already deleted it) or the broker cannot be
 * read; resolves after `onRecords` took the last one (or `stopped()`).
 */
export async function readPartitionRange(options: ReadRangeOptions): Promise<void> {
  const { ingest, partition, to } = options;
  if (options.from >= to) return;
  const kafka = await loadKafkaLibrary('rebuilding a partition from Kafka');
  const consumer = new kafka.Consumer({
    retries: 5,
    retryDelay: 500,
    ...options.consumerOptions,
    clientId: `${ingest.clientId}-rebuild`,
    // Never joined: fetch() needs no membership; the id only satisfies the constructor.
    groupId: `${ingest.groupId}.rebuild`,
    bootstrapBrokers: ingest.brokers,
    autocommit: false,
  }) as RawConsumer;
  const fetchBytes = options.fetchBytes ?? 4 * 1024 * 1024;
  try {
    // Say plainly when retention took the start of the range (the fetch itself only answers "out of range").
    const starts = await consumer.listOffsets({ topics: [ingest.topic], timestamp: -2n });
    const earliest = starts.get(ingest.topic)?.[partition];
    if (earliest !== undefined && earliest > options.from) {
      throw new Error(
        `offset ${options.from} is no longer in the topic (it starts at ${earliest}: retention deleted the records before)`,
      );
    }
    let offset = options.from;
    while (offset < to) {
      if (options.stopped?.()) return;
      const metadata = await consumer.metadata({ topics: [ingest.topic] });
      const topic = metadata.topics.get(ingest.topic);
      const leader = topic?.partitions[partition]?.leader;
      if (!topic || leader === undefined || leader < 0) {
        throw new Error(`partition ${partition} of topic ${ingest.topic} has no leader now`);
      }
      const response = await consumer.fetch({
        node: leader,
        maxWaitTime: 200,
        minBytes: 1,
        maxBytes: fetchBytes,
        topics: [
          {
            topicId: topic.id,
            partitions: [
              {
                partition,
                fetchOffset: offset,
                partitionMaxBytes: fetchBytes,
                currentLeaderEpoch: -1,
                lastFetchedEpoch: -1,
              },
            ],
          },
        ],
      });
      const part = response.responses
        .flatMap((t) => t.partitions)
        .find((p) => p.partitionIndex === partition);
      if (part && part.errorCode !== 0) {
        throw new Error(`the broker answered error code ${part.errorCode} for offset ${offset}`);
      }
      if (part && part.logStartOffset > offset) {
        throw new Error(
          `offset ${offset} is no longer in the topic (it starts at ${part.logStartOffset}: retention deleted the records before)`,
        );
      }
      const out: RangeRecord[] = [];
      let next = offset;
      for (const batch of part?.records ?? []) {
        const last = batch.firstOffset + BigInt(batch.lastOffsetDelta);
        if (last + 1n > next) next = last + 1n;
        if (batch.attributes & CONTROL_BATCH) continue;
        for (const r of batch.records) {
          const at = batch.firstOffset + BigInt(r.offsetDelta);
          // A fetch starts at the batch holding `offset`: earlier records of that batch are skipped.
          if (at < offset || at >= to) continue;
          out.push({ offset: at, value: r.value });
        }
      }
      if (next === offset) {
        if (part && part.highWatermark <= offset) {
          throw new Error(
            `the topic ends at offset ${part.highWatermark}, before ${to} (records the group committed are gone)`,
          );
        }
        continue; // nothing new in this answer (a rare empty fetch): ask again
      }
      if (out.length) await options.onRecords(out);
      offset = next;
    }
  } catch (e) {
    throw new Error(
      `cannot read partition ${partition} of ${ingest.topic} from offset ${options.from} to ${to}: ${describeError(e)}`,
      { cause: e },
    );
  } finally {
    await consumer.close(true).catch(() => {});
  }
}
