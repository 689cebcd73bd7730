/**
 * Helpers for tests against a real Kafka broker (start one with `bash scripts/kafka.sh start`).
 * `@platformatic/kafka`'s producer waits silently on a topic that does not exist, so tests
 * create every topic explicitly with {@link createTopic} and bound every send with
 * {@link withTimeout}.
 */
import { randomBytes } from 'node:crypto';
import { Admin } from '@platformatic/kafka';
import { describe } from 'vitest';
import { kafkaBrokers, skipReason } from './env.ts';

export { kafkaBrokers };

/** The variable that holds the broker list. */
export const KAFKA_BROKERS_ENV = 'VCP_TEST_KAFKA_BROKERS';

/** Why Kafka suites skip when {@link KAFKA_BROKERS_ENV} is unset. */
export const KAFKA_SKIP_REASON = skipReason(
  'Kafka',
  KAFKA_BROKERS_ENV,
  'bash scripts/kafka.sh start prints it',
);

/** The brokers as a list for `bootstrapBrokers`; empty when unset. */
export function kafkaBrokerList(): string[] {
  return (kafkaBrokers() ?? '')
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b.length > 0);
}

/**
 * A `describe` that runs only when a broker is configured, and otherwise skips with
 * {@link KAFKA_SKIP_REASON} printed once. The body gets the broker list (empty when skipped:
 * vitest still collects a skipped suite's body, but runs none of its tests or hooks).
 */
export function describeKafka(name: string, body: (brokers: string[]) => void): void {
  const brokers = kafkaBrokerList();
  if (brokers.length === 0) console.warn(KAFKA_SKIP_REASON);
  describe.skipIf(brokers.length === 0)(name, () => body(brokers));
}

/** A topic name no other test or run uses (Kafka allows `[a-zA-Z0-9._-]`, up to 249 chars). */
export function uniqueTopic(prefix = 'vcp-test'): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

/** Settles like `promise`, or rejects with a message naming `what` after `ms` milliseconds. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Options for {@link createTopic}. */
export interface CreateTopicOptions {
  /** Partition count (default 1). */
  partitions?: number;
  /** Topic-level configs, e.g. `{ 'retention.ms': '60000' }`. */
  configs?: Record<string, string>;
  /** Overall limit in ms for creating the topic and seeing every partition led (default 15 000). */
  timeoutMs?: number;
}

/**
 * Creates `topic` (replication factor 1) and waits until the broker reports a leader for each
 * of its partitions, so that the first send does not race the metadata.
 */
export async function createTopic(
  brokers: string[],
  topic: string,
  options: CreateTopicOptions = {},
): Promise<void> {
  const partitions = options.partitions ?? 1;
  const timeoutMs = options.timeoutMs ?? 15_000;
  const deadline = Date.now() + timeoutMs;
  const admin = new Admin({ clientId: 'vcp-test-admin', bootstrapBrokers: brokers, timeout: 5_000 });
  try {
    const configs = Object.entries(options.configs ?? {}).map(([name, value]) => ({ name, value }));
    await withTimeout(
      admin.createTopics({ topics: [topic], partitions, replicas: 1, configs }),
      timeoutMs,
      `creating Kafka topic ${topic}`,
    );
    for (;;) {
      const remaining = deadline - Date.now();
      const meta = await withTimeout(
        admin.metadata({ topics: [topic], forceUpdate: true }),
        Math.max(remaining, 1),
        `reading metadata of Kafka topic ${topic}`,
      );
      const parts = meta.topics.get(topic)?.partitions ?? [];
      if (parts.length === partitions && parts.every((p) => p && p.leader >= 0)) return;
      if (Date.now() >= deadline) {
        throw new Error(`Kafka topic ${topic} has no leader for every partition after ${timeoutMs} ms`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await admin.close();
  }
}

/** Deletes those of `topics` that exist (the client reports a missing one only as a nested error); for `afterAll`. */
export async function deleteTopics(brokers: string[], topics: string[], timeoutMs = 15_000): Promise<void> {
  const admin = new Admin({ clientId: 'vcp-test-admin', bootstrapBrokers: brokers, timeout: 5_000 });
  try {
    const existing = new Set(await withTimeout(admin.listTopics(), timeoutMs, 'listing Kafka topics'));
    const doomed = topics.filter((t) => existing.has(t));
    if (doomed.length > 0) {
      await withTimeout(
        admin.deleteTopics({ topics: doomed }),
        timeoutMs,
        `deleting Kafka topics ${doomed.join(', ')}`,
      );
    }
  } finally {
    await admin.close();
  }
}

/**
 * Reads exactly `count` items from an async iterable (a consumer's message stream), failing
 * with a message that says how many arrived if they do not all come within `ms`. The stream is
 * left open: the caller closes it (breaking a `for await` would destroy it).
 */
export async function takeMessages<T>(stream: AsyncIterable<T>, count: number, ms: number): Promise<T[]> {
  const got: T[] = [];
  const iterator = stream[Symbol.asyncIterator]();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`received ${got.length} of ${count} Kafka messages within ${ms} ms`)),
      ms,
    );
  });
  try {
    while (got.length < count) {
      const next = await Promise.race([iterator.next(), timeout]);
      if (next.done) throw new Error(`stream ended after ${got.length} of ${count} messages`);
      got.push(next.value);
    }
    return got;
  } finally {
    clearTimeout(timer);
  }
}
