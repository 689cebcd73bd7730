/**
 * Making RFC 6962 / RFC 9162 proofs from stored perfect subtrees.
 *
 * A tree that has seen n leaves holds, for every level k, the hashes of its
 * complete ("perfect") subtrees of 2^k leaves. Every node of the RFC tree of
 * any size m ≤ n is either such a perfect subtree or sits on the right edge,
 * where it is folded from the perfect subtrees of the binary decomposition of
 * its width. The functions below walk the RFC recursions (MTH §2.1.1, PATH
 * §2.1.3.1, SUBPROOF §2.1.4.1) top-down without recursion; at most one right-
 * edge node is folded per proof, so each costs O(log n) hashes.
 *
 * They trust their arguments (the tree validates at its API edge) and return
 * `_Bin` hashes (hasher.ts); hex is made by the caller.
 */

import { type _Bin, _EMPTY_ROOT_BIN, _nodeBin } from './hasher.ts';

/** Read access to perfect subtree hashes. Internal. */
export interface _PerfectNodes {
  /**
   * Hash of the perfect subtree of 2^`level` leaves that starts at leaf
   * `index` × 2^`level`. Only called for subtrees that are complete.
   */
  _node(level: number, index: number): _Bin;
}

/** Largest power of two ≤ `n` (1 ≤ n ≤ 2^53). Internal. */
export function _highestBit(n: number): number {
  if (n < 0x100000000) return 2 ** (31 - Math.clz32(n));
  let p = 0x100000000;
  while (p * 2 <= n) p *= 2;
  return p;
}

/** Largest power of two strictly below `n` (n ≥ 2): where RFC 6962 splits a tree of n leaves. Internal. */
export function _splitPoint(n: number): number {
  return _highestBit(n - 1);
}

/** log2 of a power of two up to 2^53. Internal. */
export function _log2(p: number): number {
  if (p < 0x100000000) return 31 - Math.clz32(p);
  let k = 32;
  while (2 ** k < p) k++;
  return k;
}

/**
 * MTH(D[lo:hi]) for a subtree of the RFC tree: `lo` must be a multiple of the
 * largest power of two ≤ hi − lo (true of every RFC tree node), hi > lo.
 */
export function _subtreeRoot(nodes: _PerfectNodes, lo: number, hi: number): _Bin {
  // Pieces of the binary decomposition of the width, largest first, each a
  // perfect subtree; MTH folds them from the right (split at the largest power below).
  let width = hi - lo;
  const pieces: _Bin[] = [];
  let start = lo;
  while (width > 0) {
    const p = _highestBit(width);
    pieces.push(nodes._node(_log2(p), start / p));
    start += p;
    width -= p;
  }
  let acc = pieces[pieces.length - 1]!;
  for (let i = pieces.length - 2; i >= 0; i--) acc = _nodeBin(pieces[i]!, acc);
  return acc;
}

/** MTH of the first `size` leaves (RFC 6962 §2.1.1); the empty tree's root for size 0. */
export function _rootAt(nodes: _PerfectNodes, size: number): _Bin {
  if (size === 0) return _EMPTY_ROOT_BIN;
  return _subtreeRoot(nodes, 0, size);
}

/**
 * PATH(index, D[0:size]) — the RFC 9162 §2.1.3.1 inclusion proof, ordered
 * from the leaf's sibling up to the child of the root. Requires 0 ≤ index < size.
 */
export function _inclusionPath(nodes: _PerfectNodes, index: number, size: number): _Bin[] {
  const topDown: _Bin[] = [];
  let lo = 0;
  let hi = size;
  while (hi - lo > 1) {
    const k = _splitPoint(hi - lo);
    if (index - lo < k) {
      // Leaf in the left (perfect) half; the sibling is the right half, which
      // may be the ragged right edge.
      topDown.push(_subtreeRoot(nodes, lo + k, hi));
      hi = lo + k;
    } else {
      topDown.push(nodes._node(_log2(k), lo / k));
      lo += k;
    }
  }
  return topDown.reverse();
}

/**
 * PROOF(oldSize, D[0:newSize]) — the RFC 9162 §2.1.4.1 consistency proof.
 * Requires 1 ≤ oldSize ≤ newSize; empty when the sizes are equal.
 */
export function _consistencyPath(nodes: _PerfectNodes, oldSize: number, newSize: number): _Bin[] {
  // SUBPROOF(m, D[lo:hi], b) appends one node per level on the way down and
  // ends with MTH(D[lo:hi]) (omitted when b is still true, i.e. the old tree
  // is a perfect left subtree whose root the verifier already has).
  const topDown: _Bin[] = [];
  let lo = 0;
  let hi = newSize;
  let m = oldSize;
  let b = true;
  while (m !== hi - lo) {
    const k = _splitPoint(hi - lo);
    if (m <= k) {
      topDown.push(_subtreeRoot(nodes, lo + k, hi));
      hi = lo + k;
    } else {
      topDown.push(nodes._node(_log2(k), lo / k));
      lo += k;
      m -= k;
      b = false;
    }
  }
  const out: _Bin[] = [];
  if (!b) out.push(_subtreeRoot(nodes, lo, hi));
  for (let i = topDown.length - 1; i >= 0; i--) out.push(topDown[i]!);
  return out;
}
