/**
 * What a member may do with a partition it was just given, decided from
 * facts only (pure; partition-worker.ts gathers them):
 *
 * | facts | decision |
 * |---|---|
 * | the folder's offset marker names another topic or partition | refuse |
 * | the group committed nothing for the partition yet | open |
 * | a shared store (PostgreSQL) that holds events | open (every member writes that one store) |
 * | the local store covers the committed offset (marker ≥ committed) | open |
 * | it does not (no marker, or one behind) and the topic still holds every record from where the store stops (from 0 for an empty store), `start=earliest` | rebuild: replay those records, then check the tree against every reachable signed anchor |
 * | otherwise | refuse: the records the group counts as stored are neither here nor in the topic |
 *
 * An opened or rebuilt store also says up to which offset it is complete:
 * if the group's stream then starts beyond it (the previous owner committed
 * once more while this check ran — separate folders have no lock to order
 * the two), the worker replays the difference from the topic before taking
 * the first record, so the tree never gets a hole.
 *
 * A refused partition gets no tree and none of its offsets is committed by
 * this member: its lag grows and `/health` says why, until an operator gives
 * the member the right data folder (or a shared store).
 */
import type { AnchorRecord } from '../../core/types.ts';
import type { OffsetMarker } from './offset-marker.ts';

/** What the member knows when the partition's store is open (its lock held). */
export interface TakeoverFacts {
  topic: string;
  partition: number;
  /** Events in the partition's store. */
  storeSize: number;
  /** True for a store in a data folder (the file store), false for a shared store (PostgreSQL). */
  folderStore: boolean;
  /** The folder's offset marker (file store), if any. */
  marker: OffsetMarker | undefined;
  /** The group's committed offset for the partition (≤ 0: nothing committed). */
  committed: bigint;
  /** The first offset the topic still holds (its low watermark). */
  earliest: bigint;
  /** Where the group starts a partition with no committed offset. */
  startFrom: 'earliest' | 'latest';
}

/** The decision; see the module comment. */
export type TakeoverDecision =
  | {
      action: 'open';
      /**
       * The store holds every record before this offset (undefined: not
       * known, or a shared store). The group's stream should start at or
       * before it; a first record beyond it means the group committed more
       * while the partition was being taken (a previous owner's last commit
       * racing this check): those records are caught up from the topic first.
       */
      covered: bigint | undefined;
    }
  | {
      action: 'rebuild';
      /** Replay the records of `[from, to)`. */
      from: bigint;
      to: bigint;
      why: string;
    }
  | {
      action: 'refuse';
      /** Offset after the last record the local store holds (0 when none). */
      localOffset: bigint;
      reason: string;
    };

/** Decide; see the module comment. */
export function decideTakeover(f: TakeoverFacts): TakeoverDecision {
  const m = f.marker;
  if (m && (m.topic !== f.topic || m.partition !== f.partition)) {
    return {
      action: 'refuse',
      localOffset: 0n,
      reason: `the data folder holds partition ${m.partition} of topic ${m.topic}, not partition ${f.partition} of ${f.topic}`,
    };
  }
  if (f.committed <= 0n) {
    // Nothing promised yet; an empty store starting at the topic's start must see the stream start there too.
    const covered = m ? m.offset : f.storeSize === 0 && f.startFrom === 'earliest' ? f.earliest : undefined;
    return { action: 'open', covered };
  }
  if (!f.folderStore && f.storeSize > 0) return { action: 'open', covered: undefined };
  const local = m ? m.offset : 0n;
  if (local >= f.committed) return { action: 'open', covered: local };
  const what =
    f.storeSize === 0
      ? 'the local store is empty'
      : m
        ? `the local store holds records up to offset ${local} only`
        : `the local store holds ${f.storeSize} events but no record of the offset they reach (${'TOPIC-OFFSET'} is missing)`;
  const missing = `${what}, but the group already committed offset ${f.committed}: another member stored offsets ${local}–${f.committed - 1n} where this member cannot see them`;
  if (local === 0n && f.startFrom === 'latest') {
    return {
      action: 'refuse',
      localOffset: local,
      reason: `${missing}; the group starts new partitions at the latest offset (start=latest), so where this partition's tree began is unknown and it cannot be rebuilt`,
    };
  }
  if (f.earliest > local) {
    return {
      action: 'refuse',
      localOffset: local,
      reason: `${missing}; the topic no longer holds offsets ${local}–${f.earliest - 1n} (it starts at ${f.earliest}), so the tree cannot be rebuilt`,
    };
  }
  return { action: 'rebuild', from: local, to: f.committed, why: missing };
}

/** One anchor the rebuilt tree does not reproduce. */
export interface AnchorMismatch {
  anchor_id: string;
  tree_size: number;
  /** What the anchor signed. */
  merkle_root: string;
  /** What the rebuilt tree gives at that size (undefined: the tree is smaller). */
  rebuilt_root: string | undefined;
}

/**
 * Check a rebuilt tree against signed anchor records of its partition: each
 * must be reproduced (the tree is at least that large and has that root
 * there). Returns the ones that are not.
 */
export function checkAnchors(
  tree: { size: number; root(size: number): string },
  anchors: readonly AnchorRecord[],
): AnchorMismatch[] {
  const out: AnchorMismatch[] = [];
  for (const a of anchors) {
    const rebuilt = a.tree_size <= tree.size ? tree.root(a.tree_size) : undefined;
    if (rebuilt !== a.merkle_root) {
      out.push({
        anchor_id: a.anchor_id,
        tree_size: a.tree_size,
        merkle_root: a.merkle_root,
        rebuilt_root: rebuilt,
      });
    }
  }
  return out;
}
