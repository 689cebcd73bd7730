/**
 * The broker's view of the whole group, for every partition of the topic and
 * not only this member's: through `@platformatic/kafka`'s `Admin` client,
 * the low and high watermarks of each partition (`listOffsets`, earliest and
 * latest), the group's committed offsets (`listConsumerGroupOffsets`) and
 * which member holds which partition (`describeGroups`, assignments
 * decoded by the client).
 *
 * A member uses it to decide what to do with a partition it was given
 * (takeover-check.ts: the committed offset and the low watermark) and to
 * report, on `/health`, the lag of every partition and the partitions that
 * no live member is working on.
 */
import type { Admin } from '@platformatic/kafka';
import { describeError } from '../../sinks/errors.ts';
import { loadKafkaLibrary } from '../../sinks/kafka.ts';
import type { KafkaIngest } from './ingest-url.ts';

/** One partition as the broker sees it. */
export interface BrokerPartition {
  partition: number;
  /** First offset the topic still holds. */
  low: bigint;
  /** Offset of the next record the broker will write. */
  high: bigint;
  /** The group's committed offset (-1: none). */
  committed: bigint;
  /** Records not yet committed by the group (from the low watermark when nothing was committed). */
  lag: number;
  /** Member the group's current assignment gives it to (null: none). */
  member: string | null;
}

/** The group at one moment. */
export interface GroupSnapshot {
  /** Group state as the coordinator says (`Stable`, `PreparingRebalance`, `CompletingRebalance`, `Empty`, `Dead`). */
  state: string;
  members: { id: string; clientId: string; host: string; partitions: number[] }[];
  partitions: BrokerPartition[];
  /** When it was read (ms since the epoch). */
  at: number;
}

/** See the module comment. */
export class GroupAdmin {
  readonly #ingest: KafkaIngest;
  readonly #options: Record<string, unknown>;
  #admin: Promise<Admin> | undefined;
  #closed = false;

  constructor(ingest: KafkaIngest, consumerOptions: Record<string, unknown> = {}) {
    this.#ingest = ingest;
    this.#options = consumerOptions;
  }

  #client(): Promise<Admin> {
    if (this.#closed) return Promise.reject(new Error('the group admin client is closed'));
    this.#admin ??= loadKafkaLibrary('vcp sidecar --ingest kafka://').then(
      (kafka) =>
        new kafka.Admin({
          retries: 2,
          retryDelay: 250,
          timeout: 5000,
          ...this.#options,
          clientId: `${this.#ingest.clientId}-admin`,
          bootstrapBrokers: this.#ingest.brokers,
        }),
    );
    return this.#admin;
  }

  /** The committed offset of the group and the low watermark of one partition (throws when the broker cannot say). */
  async partitionStart(partition: number): Promise<{ committed: bigint; earliest: bigint }> {
    const admin = await this.#client();
    const { topic, groupId } = this.#ingest;
    try {
      const [committed, earliest] = await Promise.all([
        admin.listConsumerGroupOffsets({
          groups: [{ groupId, topics: [{ name: topic, partitionIndexes: [partition] }] }],
        }),
        admin.listOffsets({
          topics: [{ name: topic, partitions: [{ partitionIndex: partition, timestamp: -2n }] }],
        }),
      ]);
      const c = committed
        .find((g) => g.groupId === groupId)
        ?.topics.find((t) => t.name === topic)
        ?.partitions.find((p) => p.partitionIndex === partition)?.committedOffset;
      const e = earliest
        .find((t) => t.name === topic)
        ?.partitions.find((p) => p.partitionIndex === partition)?.offset;
      if (e === undefined) throw new Error(`the broker did not list partition ${partition} of ${topic}`);
      return { committed: c ?? -1n, earliest: e };
    } catch (e) {
      throw new Error(
        `cannot read the committed offset of group ${groupId} and the start of partition ${partition} of ${topic}: ${describeError(e)}`,
        { cause: e },
      );
    }
  }

  /** Every partition of the topic with its offsets and its member, and the group's members. */
  async snapshot(): Promise<GroupSnapshot> {
    const admin = await this.#client();
    const { topic, groupId } = this.#ingest;
    const meta = await admin.metadata({ topics: [topic] });
    const count = meta.topics.get(topic)?.partitionsCount ?? 0;
    const all = Array.from({ length: count }, (_, i) => i);
    const at = (timestamp: bigint) =>
      admin.listOffsets({
        topics: [{ name: topic, partitions: all.map((p) => ({ partitionIndex: p, timestamp })) }],
      });
    const [low, high, committed, groups] = await Promise.all([
      at(-2n),
      at(-1n),
      admin.listConsumerGroupOffsets({
        groups: [{ groupId, topics: [{ name: topic, partitionIndexes: all }] }],
      }),
      admin.describeGroups({ groups: [groupId] }),
    ]);
    const offsetOf = (listed: typeof low, p: number) =>
      listed.find((t) => t.name === topic)?.partitions.find((x) => x.partitionIndex === p)?.offset;
    const committedOf = (p: number) =>
      committed
        .find((g) => g.groupId === groupId)
        ?.topics.find((t) => t.name === topic)
        ?.partitions.find((x) => x.partitionIndex === p)?.committedOffset;
    const group = groups.get(groupId);
    const members = [...(group?.members.values() ?? [])].map((m) => ({
      id: m.id,
      clientId: m.clientId,
      host: m.clientHost,
      partitions: [...(m.assignments?.get(topic)?.partitions ?? [])].sort((a, b) => a - b),
    }));
    const owner = new Map<number, string>();
    for (const m of members) for (const p of m.partitions) owner.set(p, m.id);
    return {
      state: group?.state ?? 'Unknown',
      members,
      partitions: all.map((p) => {
        const l = offsetOf(low, p) ?? 0n;
        const h = offsetOf(high, p) ?? 0n;
        const c = committedOf(p) ?? -1n;
        const from = c >= 0n ? c : l;
        return {
          partition: p,
          low: l,
          high: h,
          committed: c,
          lag: h > from ? Number(h - from) : 0,
          member: owner.get(p) ?? null,
        };
      }),
      at: Date.now(),
    };
  }

  /** Close the client. */
  async close(): Promise<void> {
    this.#closed = true;
    const admin = this.#admin;
    this.#admin = undefined;
    if (admin) await (await admin.catch(() => undefined))?.close().catch(() => {});
  }
}
