/**
 * The cluster mode's Kafka side: one `@platformatic/kafka` consumer in a
 * consumer group over the events topic, with manual commits (`autocommit:
 * false`), that tells its owner which partitions this member holds (after
 * every rebalance, with the group generation) and hands over each record
 * tagged with the generation it was fetched in.
 *
 * The group uses the classic protocol with the client's default (eager,
 * round-robin) assignment: at each rebalance every member rejoins and gets
 * its new list; a partition that left the list is revoked. A member that
 * dies (SIGKILL) is dropped by the broker after the session timeout, and the
 * next rebalance gives its partitions to the others.
 *
 * Offsets are committed through each record's own `commit()` (the client
 * merges commits per partition, highest wins, and holds them back while the
 * group rejoins). A stream error (a commit refused mid-rebalance destroys
 * the stream) is answered by consuming again from the committed offsets;
 * records the owner already took are re-deliveries it skips.
 */
import type { Consumer, Message, MessagesStream } from '@platformatic/kafka';
import { VcpIoError } from '../../core/errors.ts';
import { describeError } from '../../sinks/errors.ts';
import { loadKafkaLibrary } from '../../sinks/kafka.ts';
import type { KafkaIngest } from './ingest-url.ts';
import type { PartitionRecord } from './partition-worker.ts';

type RawMessage = Message<Buffer, Buffer, Buffer, Buffer>;
type RawConsumer = Consumer<Buffer, Buffer, Buffer, Buffer>;
type RawStream = MessagesStream<Buffer, Buffer, Buffer, Buffer>;

/** Options of {@link GroupConsumer}. */
export interface GroupConsumerOptions {
  ingest: KafkaIngest;
  /** This member's partitions of the topic after a rebalance (all of them, sorted), and the generation. */
  onAssignment(partitions: number[], generation: number): void;
  /** One record, in offset order per partition. */
  onRecord(partition: number, record: PartitionRecord): void;
  /** The consumer cannot go on (it could not rejoin the group…): its owner should stop. */
  onFatal(error: unknown): void;
  log(line: string): void;
  /** More `@platformatic/kafka` consumer options (TLS, SASL…); group and commit settings are the cluster's own. */
  consumerOptions?: Record<string, unknown>;
}

/** High watermark and committed offset of one partition. */
export interface PartitionOffsets {
  /** Offset of the next record the broker will write. */
  high: bigint;
  /** Next offset the group will read (-1 when nothing was committed yet). */
  committed: bigint;
  /** Records not yet committed (from the log start when nothing was committed). */
  lag: number;
}

/** See the module comment. */
export class GroupConsumer {
  readonly #o: GroupConsumerOptions;
  #consumer: RawConsumer | undefined;
  #stream: RawStream | undefined;
  #state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  #paused = false;
  #joined = false;

  constructor(options: GroupConsumerOptions) {
    this.#o = options;
  }

  /** Group member id, once joined. */
  get memberId(): string | null {
    return this.#consumer?.memberId ?? null;
  }

  /** Current group generation (0 before the first join). */
  get generation(): number {
    return this.#consumer?.generationId ?? 0;
  }

  /** True once the first join completed. */
  get joined(): boolean {
    return this.#joined;
  }

  /** Join the group and start consuming; resolves once the first assignment arrived. */
  async start(): Promise<void> {
    if (this.#state !== 'new') throw new Error('GroupConsumer.start() can be called once');
    this.#state = 'running';
    const { ingest } = this.#o;
    const kafka = await loadKafkaLibrary('vcp sidecar --ingest kafka://');
    const consumer = new kafka.Consumer({
      retries: 5,
      retryDelay: 500,
      ...this.#o.consumerOptions,
      clientId: ingest.clientId,
      groupId: ingest.groupId,
      bootstrapBrokers: ingest.brokers,
      autocommit: false,
      sessionTimeout: ingest.sessionTimeoutMs,
      // How long the broker waits for every member to rejoin during a rebalance.
      rebalanceTimeout: Math.max(ingest.sessionTimeoutMs, 30_000),
      heartbeatInterval: ingest.heartbeatIntervalMs,
      maxWaitTime: ingest.maxWaitMs,
    }) as RawConsumer;
    this.#consumer = consumer;
    consumer.on('consumer:group:join', (payload) => {
      this.#joined = true;
      const mine = (payload.assignments ?? consumer.assignments ?? [])
        .filter((a) => a.topic === ingest.topic)
        .flatMap((a) => a.partitions);
      const partitions = [...new Set(mine)].sort((a, b) => a - b);
      this.#o.log(
        `joined group ${ingest.groupId} (generation ${payload.generationId ?? consumer.generationId}, member ${payload.memberId}): partitions ${partitions.length ? partitions.join(', ') : '(none)'} of ${ingest.topic}`,
      );
      this.#o.onAssignment(partitions, payload.generationId ?? consumer.generationId);
    });
    consumer.on('consumer:group:rebalance', () => {
      if (this.#state === 'running') this.#o.log(`group ${ingest.groupId} is rebalancing`);
    });
    consumer.on('error', (error: unknown) => {
      if (this.#state !== 'running') return;
      this.#o.onFatal(new Error(`Kafka consumer failed: ${describeError(error)}`, { cause: error }));
    });
    try {
      await this.#openStream();
    } catch (e) {
      this.#state = 'stopped';
      await consumer.close(true).catch(() => {});
      throw new VcpIoError(
        `cannot consume topic ${ingest.topic} in group ${ingest.groupId} from ${ingest.brokers.join(',')}: ${describeError(e)}` +
          ' (is the broker reachable, and does the topic exist? The sidecar never creates it)',
        { cause: e },
      );
    }
  }

  async #openStream(): Promise<void> {
    const { ingest } = this.#o;
    const stream = (await this.#consumer!.consume({
      topics: [ingest.topic],
      mode: 'committed',
      fallbackMode: ingest.startFrom,
      autocommit: false,
      sessionTimeout: ingest.sessionTimeoutMs,
      rebalanceTimeout: Math.max(ingest.sessionTimeoutMs, 30_000),
      heartbeatInterval: ingest.heartbeatIntervalMs,
      maxWaitTime: ingest.maxWaitMs,
    })) as RawStream;
    stream.on('data', (m: RawMessage) => {
      if (this.#stream !== stream || this.#state !== 'running') return;
      this.#o.onRecord(m.partition, {
        offset: m.offset,
        value: m.value,
        generation: fetchedIn(m) ?? this.generation,
        commit: () => Promise.resolve(m.commit() as Promise<void> | undefined).then(() => {}),
      });
    });
    stream.on('error', (e: unknown) => {
      if (this.#stream !== stream || this.#state !== 'running') return;
      void this.#reopen(e);
    });
    this.#stream = stream;
    if (this.#paused) stream.pause();
  }

  async #reopen(error: unknown): Promise<void> {
    this.#o.log(
      `consumer stream failed; consuming again from the committed offsets: ${describeError(error)}`,
    );
    const old = this.#stream;
    this.#stream = undefined;
    await old?.close().catch(() => {});
    for (let attempt = 0; this.#state === 'running'; attempt++) {
      try {
        await this.#openStream();
        return;
      } catch (e) {
        if (attempt >= 8) {
          this.#o.onFatal(new Error(`cannot consume again: ${describeError(e)}`, { cause: e }));
          return;
        }
        this.#o.log(`could not consume again: ${describeError(e)}`);
        await new Promise((r) => setTimeout(r, Math.min(5000, 250 * 2 ** attempt)));
      }
    }
  }

  /** Stop fetching (backpressure); records already fetched may still arrive. */
  pause(): void {
    this.#paused = true;
    this.#stream?.pause();
  }

  /** Fetch again. */
  resume(): void {
    this.#paused = false;
    this.#stream?.resume();
  }

  get paused(): boolean {
    return this.#paused;
  }

  /** Stop handing over records (they are dropped until close; the group still counts this member). */
  stopIntake(): void {
    if (this.#state === 'running') this.#state = 'stopping';
  }

  /**
   * High watermarks and committed offsets of `partitions` (as the broker
   * sees them), or undefined when it cannot say now.
   */
  async offsets(partitions: readonly number[]): Promise<Map<number, PartitionOffsets> | undefined> {
    const consumer = this.#consumer;
    const topic = this.#o.ingest.topic;
    if (!consumer || this.#state === 'stopped' || partitions.length === 0) return undefined;
    try {
      const [latest, earliest, committed] = await Promise.all([
        consumer.listOffsets({ topics: [topic] }),
        consumer.listOffsets({ topics: [topic], timestamp: -2n }),
        consumer.listCommittedOffsets({ topics: [{ topic, partitions: [...partitions] }] }),
      ]);
      const high = latest.get(topic) ?? [];
      const low = earliest.get(topic) ?? [];
      const done = committed.get(topic) ?? [];
      const out = new Map<number, PartitionOffsets>();
      for (const p of partitions) {
        const h = high[p] ?? 0n;
        const c = done[p] ?? -1n;
        const from = c >= 0n ? c : (low[p] ?? 0n);
        out.set(p, { high: h, committed: c, lag: h > from ? Number(h - from) : 0 });
      }
      return out;
    } catch {
      return undefined;
    }
  }

  /** Close the stream and the consumer (leaving the group, so the others rebalance at once). */
  async close(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    const stream = this.#stream;
    this.#stream = undefined;
    await stream?.close().catch(() => {});
    await this.#consumer?.close(true).catch(() => {});
  }
}

/** The group generation the client was in when it fetched `m` (it stamps `metadata.consumer`). */
function fetchedIn(m: RawMessage): number | undefined {
  const consumer = (m.metadata as { consumer?: { generationId?: unknown } } | undefined)?.consumer;
  return typeof consumer?.generationId === 'number' ? consumer.generationId : undefined;
}
