/**
 * The Kafka tap: a consumer group over existing topics (the guide's `orders`,
 * `executions`, `errors`, or any other) that records every message as a VCP
 * event and commits offsets only after the sink durably acknowledged the
 * events of that batch (at-least-once).
 *
 * Flow: the consumer stream fills a bounded buffer (paused when full); a
 * batch (up to `maxBatch` messages, whatever has arrived) is mapped and sealed
 * ({@link TapRunner}) while earlier batches are still being delivered, then
 * written to the sink (at most `maxInflight` batches there at once, default 4)
 * until acknowledged, and then, once every earlier batch was acknowledged too,
 * the last offset of each of its partitions is due for commit (without holding up
 * the next batch). Due offsets are committed together at most every `commitIntervalMs`
 * (default 200): each offset commit cost the broker 1.7–3.5 ms of CPU here, about 8 µs
 * per event when every batch of 500 was committed on its own. Event ids are derived
 * from topic/partition/offset, so the messages a crash leaves uncommitted are
 * read again as the same events, which the sidecar stores once.
 *
 * A commit that fails (a rebalance moved the partition) is counted and
 * skipped: the new owner reads those messages again, as the same events. A
 * stream error (the group needs a rejoin) drops the buffered messages and
 * consumes again from the committed offsets.
 *
 * `stop()` is graceful: no new batch starts, the batch in flight is delivered
 * and committed, the consumer leaves the group. `abort()` is a crash: nothing
 * more is committed. Neither closes the sink: it is the caller's.
 */
import type { Consumer, Message, MessagesStream } from '@platformatic/kafka';
import { VcpConfigError } from '../core/errors.ts';
import { describeError } from '../sinks/errors.ts';
import { loadKafkaLibrary, parseBrokers } from '../sinks/kafka.ts';
import type { TapMessage } from './message-mapping.ts';
import {
  DEFAULT_TAP_INFLIGHT,
  type EventBatch,
  TapRunner,
  type TapRunnerOptions,
  type TapStats,
} from './tap-runner.ts';

type RawMessage = Message<Buffer, Buffer, Buffer, Buffer>;
type RawConsumer = Consumer<Buffer, Buffer, Buffer, Buffer>;
type RawStream = MessagesStream<Buffer, Buffer, Buffer, Buffer>;

/** Options of {@link KafkaTap}: the common tap options plus where to read. */
export interface KafkaTapOptions extends TapRunnerOptions {
  /** Bootstrap brokers, `host:port` (a list, or one comma-separated string). */
  brokers: string[] | string;
  /** Topics to consume (they must exist). */
  topics: string[];
  /** Consumer group id: taps with the same group share the partitions. */
  groupId: string;
  /** Client id the broker sees (default `vcp-kafka-tap`). */
  clientId?: string;
  /** Where a group with no committed offset starts: `earliest` (default: record the whole log) or `latest`. */
  startFrom?: 'earliest' | 'latest';
  /**
   * Most messages per batch (default 500). A batch is one request to the sidecar: 1000 guide-shaped
   * events are about 1 MB of JSON, over the sidecar's 1 MiB large-body line (such bodies are read one
   * at a time and byte-scanned first); at 500 the sidecar spent 44–48 µs of CPU per event against
   * 56–59 at 1000 (bench/_tap-profile.ts).
   */
  maxBatch?: number;
  /**
   * Batches at the sink at once (default 4). The sink (the sidecar) works on earlier batches
   * while the tap maps and sends the next, instead of idling while the tap seals. Offsets are
   * still committed in batch order, each only once it and every batch before it was
   * acknowledged; batches of different partitions may reach the log in either order (taps
   * keep no hash chain). 1: one batch at a time.
   */
  maxInflight?: number;
  /** Messages buffered ahead of the batch in flight before fetching pauses (default 4 × maxBatch). */
  maxBuffered?: number;
  /** Group session timeout, ms (default 30 000; a dead tap's partitions move after this long). */
  sessionTimeoutMs?: number;
  /** Heartbeat interval, ms (default 3 000). */
  heartbeatIntervalMs?: number;
  /** Longest wait of one fetch, ms (default 500). */
  maxWaitTimeMs?: number;
  /** Deadline of each offset commit, ms (default 10 000). */
  commitTimeoutMs?: number;
  /**
   * Least time between two offset commits, ms (default 200; 0 commits after every batch). Acknowledged
   * offsets due meanwhile are committed together. A crash replays at most this much more of the log
   * (as the same events, which the sidecar stores once); `stop()` commits everything acknowledged.
   */
  commitIntervalMs?: number;
  /** More `@platformatic/kafka` consumer options (TLS, SASL, retries…). */
  consumerOptions?: Record<string, unknown>;
  /** Told about problems the tap recovers from (commit failures, stream errors). */
  onWarning?: (message: string, error?: unknown) => void;
}

/** The message as the mapping sees it. */
export function kafkaTapMessage(m: RawMessage): TapMessage {
  const headers: Record<string, string> = Object.create(null);
  for (const [k, v] of m.headers ?? []) {
    Object.defineProperty(headers, String(k), {
      value: Buffer.isBuffer(v) ? v.toString('utf8') : String(v),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  const ts = Number(m.timestamp);
  return {
    transport: 'kafka',
    topic: m.topic,
    partition: m.partition,
    offset: m.offset.toString(),
    key: m.key == null ? undefined : Buffer.isBuffer(m.key) ? m.key : Buffer.from(String(m.key)),
    value: m.value == null ? undefined : Buffer.isBuffer(m.value) ? m.value : Buffer.from(String(m.value)),
    fields: undefined,
    rawFields: undefined,
    headers,
    timestamp: ts,
  };
}

/**
 * The client's terse `Unknown topic x.` as a configuration error that names the topic and the brokers and
 * says what to do (a tap reads existing topics; it never creates them). Undefined for any other error.
 */
function missingTopicError(e: unknown, brokers: readonly string[]): VcpConfigError | undefined {
  const topic = /^Unknown topic (.*)\.$/.exec((e as Error)?.message ?? '')?.[1];
  if (topic === undefined) return undefined;
  return new VcpConfigError(
    `KafkaTap: topic "${topic}" does not exist on ${brokers.join(',')}; create it first ` +
      `(kafka-topics.sh --create --topic ${topic}) or name the topics that exist`,
    { cause: e },
  );
}

/** A Kafka consumer group recording messages as VCP events; see the module comment. */
export class KafkaTap {
  readonly runner: TapRunner;
  readonly #brokers: string[];
  readonly #topics: string[];
  readonly #groupId: string;
  readonly #clientId: string;
  readonly #startFrom: 'earliest' | 'latest';
  readonly #maxBatch: number;
  readonly #maxInflight: number;
  readonly #maxBuffered: number;
  readonly #sessionTimeout: number;
  readonly #heartbeat: number;
  readonly #maxWait: number;
  readonly #commitTimeout: number;
  readonly #commitInterval: number;
  readonly #extra: Record<string, unknown>;
  readonly #warn: (message: string, error?: unknown) => void;
  #consumer: RawConsumer | undefined;
  #stream: RawStream | undefined;
  #buffer: RawMessage[] = [];
  #wake: (() => void) | undefined;
  #streamFailed: unknown;
  #state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  #loop: Promise<void> | undefined;
  #committed = new Map<string, bigint>();
  /** The newest batch being delivered (it settles after every earlier one); the next one is mapped and sealed meanwhile. */
  #inflight: Promise<void> = Promise.resolve();
  /** The batches at the sink, oldest first (settled promises: only for the window's size). */
  readonly #window: Promise<void>[] = [];
  #deliveryFailed = false;
  /** Offset commits started and not settled yet (awaited at stop). */
  readonly #commits = new Set<Promise<void>>();
  /** Acknowledged and not yet committed: the highest message per `topic:partition`, and how many messages that covers. */
  #due = new Map<string, RawMessage>();
  #dueCount = 0;
  #dueTimer: NodeJS.Timeout | undefined;
  #lastCommitAt = Number.NEGATIVE_INFINITY;

  constructor(options: KafkaTapOptions) {
    this.runner = new TapRunner(options, 'vcp-tap-kafka');
    this.#brokers = parseBrokers(options.brokers, 'KafkaTap');
    if (!Array.isArray(options.topics) || options.topics.length === 0) {
      throw new VcpConfigError('KafkaTap needs topics, e.g. ["orders", "executions", "errors"]');
    }
    for (const t of options.topics) {
      if (typeof t !== 'string' || !/^[A-Za-z0-9._-]{1,249}$/.test(t)) {
        throw new VcpConfigError(`KafkaTap: "${String(t).slice(0, 80)}" is not a Kafka topic name`);
      }
    }
    if (typeof options.groupId !== 'string' || options.groupId.length === 0) {
      throw new VcpConfigError('KafkaTap needs a groupId (taps of one group share the partitions)');
    }
    this.#topics = [...new Set(options.topics)];
    this.#groupId = options.groupId;
    this.#clientId = options.clientId ?? 'vcp-kafka-tap';
    this.#startFrom = options.startFrom ?? 'earliest';
    if (this.#startFrom !== 'earliest' && this.#startFrom !== 'latest') {
      throw new VcpConfigError('KafkaTap startFrom must be "earliest" or "latest"');
    }
    this.#maxBatch = positive(options.maxBatch, 500, 'maxBatch');
    this.#maxInflight = positive(options.maxInflight, DEFAULT_TAP_INFLIGHT, 'maxInflight');
    this.#maxBuffered = positive(options.maxBuffered, 4 * this.#maxBatch, 'maxBuffered');
    this.#sessionTimeout = positive(options.sessionTimeoutMs, 30_000, 'sessionTimeoutMs');
    this.#heartbeat = positive(options.heartbeatIntervalMs, 3_000, 'heartbeatIntervalMs');
    this.#maxWait = positive(options.maxWaitTimeMs, 500, 'maxWaitTimeMs');
    this.#commitTimeout = positive(options.commitTimeoutMs, 10_000, 'commitTimeoutMs');
    this.#commitInterval =
      options.commitIntervalMs === 0 ? 0 : positive(options.commitIntervalMs, 200, 'commitIntervalMs');
    this.#extra = { ...options.consumerOptions };
    this.#warn = options.onWarning ?? (() => {});
  }

  /** Counters since start. */
  get stats(): TapStats {
    return this.runner.stats;
  }

  /** Offsets committed by this tap, `topic:partition` → next offset to read. */
  get committedOffsets(): ReadonlyMap<string, bigint> {
    return this.#committed;
  }

  /**
   * Join the group and start recording. Resolves once consuming has started;
   * `done()` settles when the tap stops (rejecting on a fatal error such as a
   * sink that refuses the events).
   */
  async start(): Promise<void> {
    if (this.#state !== 'new') throw new VcpConfigError('KafkaTap.start() can be called once');
    this.#state = 'running';
    const kafka = await loadKafkaLibrary('KafkaTap');
    this.#consumer = new kafka.Consumer({
      retries: 5,
      retryDelay: 500,
      ...this.#extra,
      clientId: this.#clientId,
      groupId: this.#groupId,
      bootstrapBrokers: this.#brokers,
      autocommit: false,
      sessionTimeout: this.#sessionTimeout,
      heartbeatInterval: this.#heartbeat,
      maxWaitTime: this.#maxWait,
      highWaterMark: Math.min(this.#maxBuffered, 4096),
    }) as RawConsumer;
    try {
      await this.#openStream();
    } catch (e) {
      this.#state = 'stopped';
      await this.#consumer.close(true).catch(() => {});
      throw missingTopicError(e, this.#brokers) ?? e;
    }
    this.#loop = this.#run();
    // The loop's failure is reported through done(); keep it from being an unhandled rejection meanwhile.
    this.#loop.catch(() => {});
  }

  /** Settles when the tap has stopped: resolves after `stop()`/`abort()`, rejects on a fatal error. */
  done(): Promise<void> {
    return this.#loop ?? Promise.resolve();
  }

  /**
   * Graceful stop: finish the batch in flight (deliver, commit), leave the
   * group. If that takes longer than `timeoutMs` (the sink is down), the batch
   * is abandoned uncommitted, as by `abort()`. Resolves `true` when everything
   * delivered was committed, `false` when a batch was abandoned; rejects if the
   * tap had failed.
   */
  async stop(timeoutMs = 30_000): Promise<boolean> {
    if (this.#state === 'new' || this.#state === 'stopped') {
      this.#state = 'stopped';
      return true;
    }
    this.#state = 'stopping';
    this.#wake?.();
    const failure = await this.runner.finishLoop(this.#loop, timeoutMs);
    await this.#close();
    if (failure !== undefined) throw failure;
    return !this.runner.abandoned;
  }

  /**
   * Hard stop, as a crash would: the batch in flight is abandoned and nothing
   * more is committed; the group sees this member leave. What was not
   * committed is read again by the next tap of the group, as the same events.
   */
  async abort(): Promise<void> {
    this.runner.abandon();
    if (this.#state === 'stopped') return;
    this.#state = 'stopping';
    this.#wake?.();
    await this.#loop?.catch(() => {});
    await this.#close();
  }

  /**
   * Messages not yet committed by the group, summed over the topics' partitions
   * (high watermark − committed offset), or `undefined` when the broker cannot say now.
   */
  async lag(): Promise<number | undefined> {
    const consumer = this.#consumer;
    if (!consumer || this.#state === 'stopped') return undefined;
    try {
      const latest = await consumer.listOffsets({ topics: this.#topics });
      const earliest = await consumer.listOffsets({ topics: this.#topics, timestamp: -2n });
      const committed = await consumer.listCommittedOffsets({
        topics: this.#topics.map((topic) => ({
          topic,
          partitions: (latest.get(topic) ?? []).map((_, i) => i),
        })),
      });
      let lag = 0n;
      for (const topic of this.#topics) {
        const hw = latest.get(topic) ?? [];
        const low = earliest.get(topic) ?? [];
        const done = committed.get(topic) ?? [];
        hw.forEach((high, p) => {
          const from = (done[p] ?? -1n) >= 0n ? done[p]! : (low[p] ?? 0n);
          if (high > from) lag += high - from;
        });
      }
      return Number(lag);
    } catch {
      return undefined;
    }
  }

  // -- internals ------------------------------------------------------------

  async #openStream(): Promise<void> {
    const consumer = this.#consumer!;
    const stream = (await consumer.consume({
      topics: this.#topics,
      mode: 'committed',
      fallbackMode: this.#startFrom,
      autocommit: false,
      sessionTimeout: this.#sessionTimeout,
      heartbeatInterval: this.#heartbeat,
      maxWaitTime: this.#maxWait,
    })) as RawStream;
    this.#streamFailed = undefined;
    stream.on('data', (m: RawMessage) => {
      if (this.#stream !== stream) return;
      this.#buffer.push(m);
      if (this.#buffer.length >= this.#maxBuffered) stream.pause();
      this.#wake?.();
    });
    stream.on('error', (e: unknown) => {
      if (this.#stream !== stream) return;
      this.#streamFailed = e;
      this.#wake?.();
    });
    this.#stream = stream;
  }

  async #run(): Promise<void> {
    try {
      await this.#consume();
    } finally {
      // Whatever was acknowledged is committed, also when a later batch failed (not after a hard stop).
      this.#commitDue();
      await Promise.all(this.#commits);
    }
  }

  async #consume(): Promise<void> {
    while (this.#state === 'running') {
      if (this.#deliveryFailed) await this.#inflight; // rethrows: the tap stops
      if (this.#streamFailed !== undefined) {
        await this.#reopen();
        continue;
      }
      if (this.#buffer.length === 0) {
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
        this.#wake = undefined;
        continue;
      }
      const batch = this.#buffer.splice(0, this.#maxBatch);
      const stream = this.#stream!;
      if (stream.isPaused() && this.#buffer.length < this.#maxBuffered / 2) stream.resume();
      this.runner.stats.messages += batch.length;
      // Map and seal this batch while the previous one is still being delivered…
      const prepared = this.runner.toEvents(batch.map(kafkaTapMessage));
      // …with at most maxInflight batches at the sink; commits stay in batch order.
      while (this.#window.length >= this.#maxInflight) await this.#window.shift();
      if (this.#deliveryFailed) await this.#inflight; // rethrows: the tap stops
      if (this.#state !== 'running') break; // stopping: this batch stays uncommitted and is read again
      this.#inflight = this.#deliver(batch, prepared, stream, this.#inflight);
      this.#window.push(this.#inflight.catch(() => {}));
      this.#inflight.catch(() => {
        this.#deliveryFailed = true;
        this.#wake?.();
      });
    }
    await this.#inflight;
  }

  /**
   * Deliver one batch's events, then, once every earlier batch was delivered too (`previous`),
   * mark its offsets due for commit ({@link KafkaTapOptions.commitIntervalMs}). An earlier batch's
   * failure is this one's.
   */
  async #deliver(
    batch: RawMessage[],
    prepared: EventBatch,
    stream: RawStream,
    previous: Promise<void>,
  ): Promise<void> {
    const runner = this.runner;
    const delivered = await runner.deliver(prepared.events);
    await previous;
    if (!delivered) return; // abandoned: commit nothing
    runner.stats.skipped += prepared.skipped;
    runner.stats.parseErrors += prepared.parseErrors;
    if (runner.abandoned || stream !== this.#stream) return;
    // The highest offset of each partition: committing it covers the ones before.
    for (const m of batch) {
      const key = `${m.topic}:${m.partition}`;
      const seen = this.#due.get(key);
      if (!seen || seen.offset < m.offset) this.#due.set(key, m);
    }
    this.#dueCount += batch.length;
    const wait = this.#lastCommitAt + this.#commitInterval - performance.now();
    if (wait <= 0) this.#commitDue();
    else this.#dueTimer ??= setTimeout(() => this.#commitDue(), wait);
  }

  /** Hand over the due offsets and forget them (the timer too). */
  #takeDue(): { due: Map<string, RawMessage>; count: number } {
    clearTimeout(this.#dueTimer);
    this.#dueTimer = undefined;
    const taken = { due: this.#due, count: this.#dueCount };
    this.#due = new Map();
    this.#dueCount = 0;
    return taken;
  }

  /**
   * Commit every due offset in one go (not awaited by the batches: the next one need not wait for this
   * round trip; awaited at stop). Nothing after a hard stop, nor for a stream that was replaced: its
   * messages are read again from the committed offsets.
   */
  #commitDue(): void {
    const runner = this.runner;
    const { due, count } = this.#takeDue();
    if (due.size === 0 || runner.abandoned) return;
    this.#lastCommitAt = performance.now();
    const commit = Promise.all(
      [...due].map(async ([key, m]) => {
        try {
          await withDeadline(Promise.resolve(m.commit()), this.#commitTimeout);
          const next = m.offset + 1n;
          if ((this.#committed.get(key) ?? -1n) < next) this.#committed.set(key, next);
          return true;
        } catch (e) {
          runner.stats.commitErrors++;
          this.#warn(
            `could not commit ${key} offset ${m.offset + 1n} (it will be read again, as the same events): ${describeError(e)}`,
            e,
          );
          return false;
        }
      }),
    ).then((ok) => {
      if (ok.every(Boolean)) runner.stats.committed += count;
    });
    this.#commits.add(commit);
    commit.finally(() => this.#commits.delete(commit));
  }

  async #reopen(): Promise<void> {
    this.#warn(
      `consumer stream failed; consuming again from the committed offsets: ${describeError(this.#streamFailed)}`,
    );
    const old = this.#stream;
    this.#stream = undefined;
    this.#buffer = [];
    this.#takeDue(); // dropped: the new stream reads them again, as the same events
    await old?.close().catch(() => {});
    for (let attempt = 0; this.#state === 'running'; attempt++) {
      try {
        await this.#openStream();
        return;
      } catch (e) {
        this.#warn(`could not consume again: ${describeError(e)}`, e);
        await new Promise((r) => setTimeout(r, Math.min(5000, 250 * 2 ** attempt)));
      }
    }
  }

  async #close(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    const stream = this.#stream;
    this.#stream = undefined;
    this.#buffer = [];
    this.#takeDue();
    await stream?.close().catch(() => {});
    await this.#consumer?.close(true).catch(() => {});
  }
}

function positive(value: number | undefined, fallback: number, name: string): number {
  const v = value ?? fallback;
  if (!(Number.isFinite(v) && v > 0)) throw new VcpConfigError(`KafkaTap ${name} must be a positive number`);
  return Math.floor(v);
}

function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
