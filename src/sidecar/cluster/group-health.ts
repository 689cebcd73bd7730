/**
 * The whole group as one member's `/health` shows it: every partition of the
 * topic (not only this member's) with its owner in the group's current
 * assignment, the broker's offsets and the group's lag, and the list of
 * partitions that no live member is serving, each with the reason:
 *
 * - no member of the group holds it (a rebalance is under way, or the
 *   group is empty);
 * - this member refused it (takeover-check.ts) or its store failed here;
 * - its owner's lease in the shared data folder is dead (a pid gone on this
 *   host, or no beat from another host for the stale time): the member was
 *   killed and the broker has not dropped it yet;
 * - its committed offset has not moved for `stallMs` while records wait
 *   (lag > 0): whoever holds it is not storing them — killed, frozen,
 *   waiting for a lock, rebuilding, or refused.
 *
 * The last rule needs no shared folder, so a member also notices another
 * member's death when each has its own folder.
 */
import type { GroupSnapshot } from './group-admin.ts';
import { inspectLease, type LeaseWatch } from './partition-lease.ts';

/** This member's own view of a partition it owns. */
export interface OwnPartition {
  state: string;
  /** Why it was refused, when it was. */
  refusal?: string;
}

/** Options of {@link GroupHealth}. */
export interface GroupHealthOptions {
  /** Folder of partition `p` when members share a data folder (the file store), else undefined. */
  partitionFolder?: (partition: number) => string;
  /** A lease from another host unchanged this long is dead, ms. */
  leaseStaleMs: number;
  /** A partition whose committed offset stays still this long while lag > 0 is not served, ms. */
  stallMs: number;
}

/** One partition of the topic as `/health` shows it under `group.partitions`. */
export interface GroupPartitionView {
  partition: number;
  /** Member holding it in the group's assignment (null: none). */
  owner: string | null;
  mine: boolean;
  /** This member's state of it, when it is ours. */
  state?: string;
  low: string;
  high_watermark: string;
  /** The group's committed offset (null: nothing committed). */
  committed: string | null;
  lag: number;
  /** The shared folder's lease, when visible. */
  lease?: { host: string; pid: number; member: string | null; alive: boolean; unchanged_ms: number };
  /** Since how long the committed offset has not moved while lag > 0, ms. */
  stalled_ms?: number;
}

/** A partition no live member serves. */
export interface UnservedPartition {
  partition: number;
  owner: string | null;
  reason: string;
}

/** Keeps what it needs between snapshots (lease watches, last progress); see the module comment. */
export class GroupHealth {
  readonly #o: GroupHealthOptions;
  readonly #progress = new Map<number, { committed: bigint; since: number }>();
  readonly #watches = new Map<number, { last?: LeaseWatch }>();

  constructor(options: GroupHealthOptions) {
    this.#o = options;
  }

  /** Render a snapshot of the group with this member's own partitions. */
  view(
    snapshot: GroupSnapshot,
    me: string | null,
    own: ReadonlyMap<number, OwnPartition>,
  ): { partitions: GroupPartitionView[]; unserved: UnservedPartition[] } {
    const now = snapshot.at;
    const partitions: GroupPartitionView[] = [];
    const unserved: UnservedPartition[] = [];
    for (const b of snapshot.partitions) {
      const p = b.partition;
      const mine = own.get(p);
      const owner = b.member ?? (mine ? me : null);
      const v: GroupPartitionView = {
        partition: p,
        owner,
        mine: mine !== undefined,
        low: b.low.toString(),
        high_watermark: b.high.toString(),
        committed: b.committed >= 0n ? b.committed.toString() : null,
        lag: b.lag,
      };
      if (mine) v.state = mine.state;
      const folder = this.#o.partitionFolder?.(p);
      const watch = this.#watches.get(p) ?? {};
      this.#watches.set(p, watch);
      const lease = folder ? inspectLease(folder, { staleMs: this.#o.leaseStaleMs }, watch, now) : undefined;
      if (lease) {
        v.lease = {
          host: lease.owner.host,
          pid: lease.owner.pid,
          member: lease.owner.member,
          alive: lease.alive,
          unchanged_ms: lease.unchangedMs,
        };
      }
      const last = this.#progress.get(p);
      if (b.lag === 0 || !last || last.committed !== b.committed) {
        this.#progress.set(p, { committed: b.committed, since: now });
      }
      const stalled = b.lag > 0 ? now - this.#progress.get(p)!.since : 0;
      if (stalled > 0) v.stalled_ms = stalled;
      partitions.push(v);

      let reason: string | undefined;
      if (mine?.state === 'refused') reason = `refused by this member: ${mine.refusal ?? 'see its log'}`;
      else if (mine?.state === 'failed') reason = 'its store failed on this member';
      else if (owner === null) reason = 'no member of the group holds it (rebalancing, or no member left)';
      else if (
        !mine &&
        lease &&
        !lease.alive &&
        (lease.owner.member === null || lease.owner.member === owner)
      ) {
        reason = `its owner's lease is dead (process ${lease.owner.pid} on ${lease.owner.host}): the member is gone and the broker has not dropped it yet`;
      } else if (stalled >= this.#o.stallMs) {
        reason = `committed offset ${v.committed ?? '(none)'} has not moved for ${Math.round(stalled / 1000)} s while ${b.lag} record(s) wait`;
      }
      if (reason) unserved.push({ partition: p, owner, reason });
    }
    return { partitions, unserved };
  }
}
