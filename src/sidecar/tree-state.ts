/**
 * What the sidecar knows in memory about its one log: the RFC 6962 Merkle
 * tree over every durably stored event (rebuilt on start from the store's
 * leaves), and the anchor records in the order they were made.
 *
 * The tree only ever holds events whose `append` resolved, so every root it
 * gives (and therefore every anchor) covers durable events only.
 */
import type { MerkleMode } from '../core/enums.ts';
import type { AnchorRecord } from '../core/types.ts';
import { MerkleTree } from '../integrity/merkle/index.ts';
import type { StoreState } from './store/store.ts';

/** Read-only view of the tree given to the anchoring service. */
export interface TreeView {
  readonly size: number;
  readonly mode: MerkleMode;
  /** Root of the first `size` leaves (default all), lowercase hex. */
  root(size?: number): string;
}

/** The tree, the anchors, and the age of the oldest unanchored event. */
export class TreeState implements TreeView {
  readonly tree: MerkleTree;
  readonly mode: MerkleMode = 'rfc6962';
  #anchors: AnchorRecord[];
  /** The same records sorted by tree_size (stable), for binary search. */
  #sorted: AnchorRecord[];
  /** Wall-clock ms when the oldest event not covered by an anchor was stored (undefined: none). */
  #unanchoredSince: number | undefined;

  constructor(state: Pick<StoreState, 'leaves' | 'anchors'>) {
    this.tree = new MerkleTree();
    const leaves = state.leaves;
    for (let i = 0; i < leaves.length; i++) this.tree._appendLeafData(leaves.bytes(i));
    this.#anchors = [...state.anchors];
    this.#sorted = sortBySize(this.#anchors);
    this.#unanchoredSince = this.tree.size > this.anchoredSize ? Date.now() : undefined;
  }

  get size(): number {
    return this.tree.size;
  }

  root(size?: number): string {
    return this.tree.root(size);
  }

  /** Add durably stored event hashes, in leaf order. */
  appendCommitted(hashes: readonly string[], storedAtMs = Date.now()): void {
    if (hashes.length === 0) return;
    if (this.#unanchoredSince === undefined) this.#unanchoredSince = storedAtMs;
    for (const h of hashes) this.tree.append(h);
  }

  /** Anchor records in the order they were made. */
  get anchors(): readonly AnchorRecord[] {
    return this.#anchors;
  }

  /** The most recent anchor, if any. */
  get lastAnchor(): AnchorRecord | undefined {
    return this.#anchors.at(-1);
  }

  /** Leaves covered by the most recent anchor (0 if none). */
  get anchoredSize(): number {
    return this.#sorted.at(-1)?.tree_size ?? 0;
  }

  /**
   * Record an anchor (or replace an earlier copy with the same id, e.g. once
   * a target's proof arrived). `nextUnanchoredAtMs` is when the first event
   * after it was stored, if the caller knows; otherwise "now" is assumed.
   */
  addAnchor(record: AnchorRecord, nextUnanchoredAtMs?: number): void {
    const at = this.#anchors.findIndex((a) => a.anchor_id === record.anchor_id);
    if (at === -1) this.#anchors.push(record);
    else this.#anchors[at] = record;
    this.#sorted = sortBySize(this.#anchors);
    if (this.anchoredSize >= this.tree.size) this.#unanchoredSince = undefined;
    else if (at === -1) this.#unanchoredSince = nextUnanchoredAtMs ?? Date.now();
  }

  /** The smallest anchor covering leaf `index` (the one its inclusion is proved against), if any. */
  coveringAnchor(index: number): AnchorRecord | undefined {
    const s = this.#sorted;
    let lo = 0;
    let hi = s.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (s[mid]!.tree_size > index) hi = mid;
      else lo = mid + 1;
    }
    return s[lo];
  }

  /** Anchors sorted by tree size (what an export walks alongside the events). */
  get anchorsBySize(): readonly AnchorRecord[] {
    return this.#sorted;
  }

  /** The anchor whose root covers exactly `size` leaves, if any. */
  anchorAtSize(size: number): AnchorRecord | undefined {
    for (let k = this.#anchors.length - 1; k >= 0; k--)
      if (this.#anchors[k]!.tree_size === size) return this.#anchors[k];
    return undefined;
  }

  /** Correct the age of the oldest unanchored event once its stored time is known (ignored if all are anchored). */
  setUnanchoredSince(ms: number): void {
    if (this.#unanchoredSince !== undefined && Number.isFinite(ms)) this.#unanchoredSince = ms;
  }

  /** Wall-clock ms when the oldest unanchored event was stored, or undefined when everything is anchored. */
  get unanchoredSinceMs(): number | undefined {
    return this.#unanchoredSince;
  }
}

function sortBySize(anchors: readonly AnchorRecord[]): AnchorRecord[] {
  return [...anchors].sort((a, b) => a.tree_size - b.tree_size);
}
