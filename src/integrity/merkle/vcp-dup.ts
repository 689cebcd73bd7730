/**
 * The `vcp-dup` compatibility mode: the tree shape of the VCP v1.1 spec's
 * pseudo-code (§6.2.1 `build_merkle_tree`, §6.2.3 `generate_audit_path`).
 *
 * The tree is built level by level; a level of odd length pairs its last node
 * with itself (parent = SHA-256(0x01 ‖ x ‖ x)); a one-leaf tree's root is the
 * leaf hash. Leaf and node hashes are the RFC 6962 ones (hasher.ts).
 *
 * Why it is not the default: duplicating a node makes `[a, b, c]` and
 * `[a, b, c, c]` share a root (the size is not bound by the root), and a
 * smaller tree is not a subtree of a larger one, so there are no consistency
 * proofs. The mode exists to read and produce trees that other VCP tools
 * build. Always record the mode and the tree size next to such a root.
 *
 * Audit paths follow the spec exactly: a level where the node has no sibling
 * (it is the last node of an odd level, hashed with itself) contributes no
 * step. The verifier therefore needs the leaf index and the tree size — it
 * recomputes each level's length, duplicates where the spec duplicates, and
 * checks each step's `position` against the index — which binds the proof to
 * that index and size. (Emitting a `self` step for duplicated levels would let
 * a position-only folder check it, but would break byte-compatibility with the
 * spec's published paths, and position-only folding does not bind the index.)
 *
 * An empty tree has no root in the spec (its pseudo-code fails); this module
 * uses SHA-256("") as RFC 6962 does, so `root(0)` is defined in both modes.
 */

import { type _Bin, _EMPTY_ROOT_BIN, _nodeBin } from './hasher.ts';
import type { _PerfectNodes } from './proof.ts';

/** One step of a `vcp-dup` audit path, as the spec's `generate_audit_path` publishes it. */
export interface VcpDupProofStep {
  /** Sibling hash, 64 lowercase hex digits. */
  hash: string;
  /** Which side the sibling is on: `left` → parent = H(sibling ‖ node), `right` → H(node ‖ sibling). */
  position: 'left' | 'right';
}

/** A step with the sibling as bytes. Internal. */
export interface _DupStep {
  hash: _Bin;
  left: boolean;
}

/** Number of trailing zero bits of n ≥ 1 (works up to 2^53). */
function trailingZeros(n: number): number {
  let z = 0;
  while (n % 2 === 0) {
    n /= 2;
    z++;
  }
  return z;
}

/**
 * Walk the spec's levels for a tree of `size` ≥ 1 leaves bottom-up, calling
 * `visit(level, length, last)` for every level with more than one node, where
 * `last` is the hash of that level's last node. Returns the root.
 */
function walkLevels(
  nodes: _PerfectNodes,
  size: number,
  visit?: (level: number, length: number, last: _Bin) => void,
): _Bin {
  // Below level t (t = trailing zeros of size) every level has even length and
  // its last node covers a complete 2^level block, so it is a stored perfect
  // node, identical in both modes. Start the walk there.
  const t = trailingZeros(size);
  if (visit !== undefined) {
    for (let level = 0; level < t; level++) {
      const length = size / 2 ** level;
      visit(level, length, nodes._node(level, length - 1));
    }
  }
  let level = t;
  let length = size / 2 ** t;
  let last = nodes._node(t, length - 1);
  while (length > 1) {
    visit?.(level, length, last);
    // The parent of the last node: paired with itself on an odd level, else
    // with its left neighbour, which is complete (it ends before the last leaf).
    last = length % 2 === 1 ? _nodeBin(last, last) : _nodeBin(nodes._node(level, length - 2), last);
    level++;
    length = Math.ceil(length / 2);
  }
  return last;
}

/** The `vcp-dup` root of the first `size` leaves (SHA-256("") for 0). Internal. */
export function _dupRootAt(nodes: _PerfectNodes, size: number): _Bin {
  if (size === 0) return _EMPTY_ROOT_BIN;
  return walkLevels(nodes, size);
}

/**
 * The spec's `generate_audit_path(tree, index)` for the tree of the first
 * `size` leaves: one step per level where the node has a sibling, bottom-up.
 * Requires 0 ≤ index < size. Internal.
 */
export function _dupInclusionPath(nodes: _PerfectNodes, index: number, size: number): _DupStep[] {
  const steps: _DupStep[] = [];
  walkLevels(nodes, size, (level, length, last) => {
    const i = Math.floor(index / 2 ** level);
    const sibling = i % 2 === 0 ? i + 1 : i - 1;
    if (sibling >= length) return; // last node of an odd level: duplicated, no step (as the spec)
    steps.push({ hash: sibling === length - 1 ? last : nodes._node(level, sibling), left: sibling < i });
  });
  return steps;
}

/**
 * Recompute the `vcp-dup` root from a leaf hash and the spec's audit path;
 * `undefined` when the path does not fit the index and size (a step missing
 * or left over, or a `position` that contradicts the index). Pure; arguments
 * already validated (index < size, size ≥ 1). Internal.
 */
export function _dupRootFromPath(
  leaf: _Bin,
  index: number,
  size: number,
  steps: readonly _DupStep[],
): _Bin | undefined {
  let node = leaf;
  let i = index;
  let length = size;
  let used = 0;
  while (length > 1) {
    const sibling = i % 2 === 0 ? i + 1 : i - 1;
    if (sibling < length) {
      const step = steps[used++];
      if (step === undefined || step.left !== sibling < i) return undefined;
      node = step.left ? _nodeBin(step.hash, node) : _nodeBin(node, step.hash);
    } else {
      node = _nodeBin(node, node);
    }
    i = Math.floor(i / 2);
    length = Math.ceil(length / 2);
  }
  return used === steps.length ? node : undefined;
}
