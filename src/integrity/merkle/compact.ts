/**
 * A compact Merkle range (after transparency-dev/merkle `compact/range.go`):
 * the RFC 6962 root of an append-only list of EventHashes kept in O(log n)
 * memory, for writers that only ever need the root of everything appended
 * so far (the FileSink's checkpoints), not proofs or earlier roots.
 *
 * The state is the frontier: one hash for each perfect subtree in the binary
 * decomposition of the size, largest (leftmost) first. Appending a leaf
 * merges equal-sized subtrees like a binary counter; the root folds the
 * frontier from the right, which is exactly RFC 6962's split at the largest
 * power of two (the left part is always a perfect subtree).
 */
import { type _Bin, _binToHex, _hex32Error, _leafBinFromHex, _nodeBin, EMPTY_ROOT_HEX } from './hasher.ts';

/** The RFC 6962 root of everything appended, in O(log n) memory. */
export class CompactMerkleRange {
  /** Perfect subtree roots, largest first; `#heights[i]` is the height of `#nodes[i]`. */
  readonly #nodes: _Bin[] = [];
  readonly #heights: number[] = [];
  #size = 0;

  /** Leaves appended. */
  get size(): number {
    return this.#size;
  }

  /**
   * Append one EventHash (64 hex digits); returns its leaf index.
   *
   * @throws VcpValidationError (path `eventHash`, rule `hex32`) for anything else.
   */
  append(eventHashHex: string): number {
    const leaf = _leafBinFromHex(eventHashHex);
    if (leaf === undefined) throw _hex32Error(eventHashHex, 'eventHash');
    let node = leaf;
    let height = 0;
    // Merge with the rightmost subtree while it has the same height (a carry).
    while (this.#heights.length > 0 && this.#heights[this.#heights.length - 1] === height) {
      node = _nodeBin(this.#nodes.pop()!, node);
      this.#heights.pop();
      height++;
    }
    this.#nodes.push(node);
    this.#heights.push(height);
    return this.#size++;
  }

  /** Root (lowercase hex) of all leaves appended; the empty tree's root when none. */
  root(): string {
    const n = this.#nodes.length;
    if (n === 0) return EMPTY_ROOT_HEX;
    let acc = this.#nodes[n - 1]!;
    for (let i = n - 2; i >= 0; i--) acc = _nodeBin(this.#nodes[i]!, acc);
    return _binToHex(acc);
  }
}
