/**
 * Slow, obviously-right Merkle oracles for the tests. Nothing here is shared
 * with src/: its own SHA-256 calls, the definitions transcribed as literally
 * as possible.
 *
 * - RFC 6962 §2.1 (= RFC 9162 §2.1.1, §2.1.3.1, §2.1.4.1): MTH, PATH, PROOF /
 *   SUBPROOF, recursive over the list of leaf inputs D[n].
 * - VCP v1.1 spec §6.2.1 `build_merkle_tree` and §6.2.3 `generate_audit_path`,
 *   transcribed from the Python (duplicate the last node of an odd level).
 */

import { createHash } from 'node:crypto';

function sha256(...parts: Uint8Array[]): Buffer {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

const LEAF = Uint8Array.of(0x00);
const NODE = Uint8Array.of(0x01);

/** k: the largest power of two smaller than n (n > 1). */
function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** RFC 6962 MTH(D[n]). */
export function refMth(d: readonly Uint8Array[]): Buffer {
  const n = d.length;
  if (n === 0) return sha256();
  if (n === 1) return sha256(LEAF, d[0]!);
  const k = largestPowerOfTwoBelow(n);
  return sha256(NODE, refMth(d.slice(0, k)), refMth(d.slice(k, n)));
}

/** RFC 6962 PATH(m, D[n]): the audit path of leaf m (0-based), leaf to root. */
export function refPath(m: number, d: readonly Uint8Array[]): Buffer[] {
  const n = d.length;
  if (n === 1) return [];
  const k = largestPowerOfTwoBelow(n);
  if (m < k) return [...refPath(m, d.slice(0, k)), refMth(d.slice(k, n))];
  return [...refPath(m - k, d.slice(k, n)), refMth(d.slice(0, k))];
}

/** RFC 6962 PROOF(m, D[n]) = SUBPROOF(m, D[n], true), for 0 < m ≤ n. */
export function refProof(m: number, d: readonly Uint8Array[]): Buffer[] {
  return refSubproof(m, d, true);
}

function refSubproof(m: number, d: readonly Uint8Array[], b: boolean): Buffer[] {
  const n = d.length;
  if (m === n) return b ? [] : [refMth(d)];
  const k = largestPowerOfTwoBelow(n);
  if (m <= k) return [...refSubproof(m, d.slice(0, k), b), refMth(d.slice(k, n))];
  return [...refSubproof(m - k, d.slice(k, n), false), refMth(d.slice(0, k))];
}

/** The spec's `merkle_hash(data, leaf)`. */
function merkleHash(data: Uint8Array, leaf: boolean): Buffer {
  return leaf ? sha256(LEAF, data) : sha256(NODE, data);
}

/** The spec's `MerkleTree`: the root and every level, leaves first. */
export interface RefDupTree {
  root: Buffer;
  levels: Buffer[][];
}

/** VCP v1.1 §6.2.1 `build_merkle_tree(event_hashes)`; event hashes are hex. Throws on [] as the Python does. */
export function refBuildDupTree(eventHashes: readonly string[]): RefDupTree {
  const leaves = eventHashes.map((h) => Buffer.from(h, 'hex'));
  const tree: Buffer[][] = [];
  let currentLevel = leaves.map((leaf) => merkleHash(leaf, true));
  tree.push(currentLevel);
  while (currentLevel.length > 1) {
    const nextLevel: Buffer[] = [];
    for (let i = 0; i < currentLevel.length; i += 2) {
      let combined: Buffer;
      if (i + 1 < currentLevel.length) combined = Buffer.concat([currentLevel[i]!, currentLevel[i + 1]!]);
      else combined = Buffer.concat([currentLevel[i]!, currentLevel[i]!]); // Duplicate odd node
      nextLevel.push(merkleHash(combined, false));
    }
    tree.push(nextLevel);
    currentLevel = nextLevel;
  }
  const root = currentLevel[0];
  if (root === undefined) throw new Error('IndexError: list index out of range (empty batch)');
  return { root, levels: tree };
}

/** VCP v1.1 §6.2.3 `generate_audit_path(tree, leaf_index)`. */
export function refDupAuditPath(
  tree: RefDupTree,
  leafIndex: number,
): { hash: string; position: 'left' | 'right' }[] {
  const path: { hash: string; position: 'left' | 'right' }[] = [];
  let index = leafIndex;
  for (const level of tree.levels.slice(0, -1)) {
    const siblingIndex = index ^ 1;
    if (siblingIndex < level.length) {
      path.push({
        hash: level[siblingIndex]!.toString('hex'),
        position: siblingIndex < index ? 'left' : 'right',
      });
    }
    index = Math.floor(index / 2);
  }
  return path;
}
