/**
 * Checking Merkle proofs: pure functions, no tree, no storage.
 *
 * `rfc6962` inclusion follows RFC 9162 §2.1.3.2 and consistency §2.1.4.2, as
 * transparency-dev/merkle's `proof/verify.go` does; `vcp-dup` inclusion
 * replays the spec's level-by-level construction (vcp-dup.ts).
 *
 * Every exported function here returns `false` (or `undefined`) for any input
 * it cannot check — wrong types, non-hex or non-32-byte hashes, proofs of the
 * wrong length or shape, indexes that are negative, fractional, NaN, ≥ size
 * or beyond 2^53 — and never throws. Policy choices (the same as
 * transparency-dev/merkle):
 * - every hash (leaf, roots, proof elements) must be exactly 32 bytes;
 * - a consistency proof from size 0 is refused, even to size 0: consistency
 *   with the empty tree proves nothing, so a caller asking for it has a bug;
 * - equal sizes need an empty proof and equal roots;
 * - no leading or trailing proof elements are tolerated.
 */

import { type _Bin, _binFromHex, _binToHex, _leafBinFromHex, _nodeBin } from './hasher.ts';
import type { MerkleMode } from './tree.ts';
import { type _DupStep, _dupRootFromPath, type VcpDupProofStep } from './vcp-dup.ts';

/** Longest proof accepted: a tree of up to 2^53 leaves has at most 53 levels. */
const MAX_PROOF_LENGTH = 64;

/**
 * Check that the EventHash `eventHashHex` is leaf `index` of the tree of
 * `size` leaves whose root is `rootHex`, given `proof` as `MerkleTree#inclusionProof`
 * returns it. Hashes are hex (either case).
 *
 * @param mode `rfc6962` (default): `proof` is hex hashes, RFC 9162 §2.1.3.2.
 *   `vcp-dup`: `proof` is the spec's `{hash, position}` steps.
 * @returns `true` only for a valid proof; `false` for anything else, never throws.
 */
export function verifyInclusion(
  eventHashHex: string,
  index: number,
  size: number,
  proof: readonly string[],
  rootHex: string,
  mode?: 'rfc6962',
): boolean;
export function verifyInclusion(
  eventHashHex: string,
  index: number,
  size: number,
  proof: readonly VcpDupProofStep[],
  rootHex: string,
  mode: 'vcp-dup',
): boolean;
export function verifyInclusion(
  eventHashHex: string,
  index: number,
  size: number,
  proof: readonly string[] | readonly VcpDupProofStep[],
  rootHex: string,
  mode?: MerkleMode,
): boolean;
export function verifyInclusion(
  eventHashHex: unknown,
  index: unknown,
  size: unknown,
  proof: unknown,
  rootHex: unknown,
  mode: unknown = 'rfc6962',
): boolean {
  try {
    const leaf = _leafBinFromHex(eventHashHex);
    if (leaf === undefined) return false;
    return matches(computeRoot(leaf, index, size, proof, mode), rootHex);
  } catch {
    return false; // hostile objects (throwing getters, revoked proxies)
  }
}

/**
 * Like {@link verifyInclusion}, but given the leaf *hash* (SHA-256(0x00 ‖ leaf data))
 * rather than the EventHash: the form RFC 6962 logs (Certificate Transparency,
 * Rekor, transparency-dev test vectors) publish.
 *
 * @returns `true` only for a valid proof; never throws.
 */
export function verifyInclusionOfLeafHash(
  leafHashHex: string,
  index: number,
  size: number,
  proof: readonly string[],
  rootHex: string,
  mode?: 'rfc6962',
): boolean;
export function verifyInclusionOfLeafHash(
  leafHashHex: string,
  index: number,
  size: number,
  proof: readonly VcpDupProofStep[],
  rootHex: string,
  mode: 'vcp-dup',
): boolean;
export function verifyInclusionOfLeafHash(
  leafHashHex: string,
  index: number,
  size: number,
  proof: readonly string[] | readonly VcpDupProofStep[],
  rootHex: string,
  mode?: MerkleMode,
): boolean;
export function verifyInclusionOfLeafHash(
  leafHashHex: unknown,
  index: unknown,
  size: unknown,
  proof: unknown,
  rootHex: unknown,
  mode: unknown = 'rfc6962',
): boolean {
  try {
    const leaf = _binFromHex(leafHashHex);
    if (leaf === undefined) return false;
    return matches(computeRoot(leaf, index, size, proof, mode), rootHex);
  } catch {
    return false;
  }
}

/**
 * The root an inclusion proof leads to from a leaf hash, as lowercase hex —
 * for callers that look the root up afterwards (e.g. by size in a list of
 * signed checkpoints). `undefined` when the inputs do not form a proof of the
 * right shape for `index` and `size`. Never throws.
 *
 * Only a root obtained from a trusted source makes this a check: compare the
 * result with it.
 */
export function rootFromInclusionProof(
  leafHashHex: string,
  index: number,
  size: number,
  proof: readonly string[] | readonly VcpDupProofStep[],
  mode: MerkleMode = 'rfc6962',
): string | undefined {
  try {
    const leaf = _binFromHex(leafHashHex);
    if (leaf === undefined) return undefined;
    const root = computeRoot(leaf, index, size, proof, mode);
    return root === undefined ? undefined : _binToHex(root);
  } catch {
    return undefined;
  }
}

/**
 * Check that the RFC 6962 tree of `oldSize` leaves with root `oldRootHex` is a
 * prefix of the tree of `newSize` leaves with root `newRootHex`, given `proof`
 * as `MerkleTree#consistencyProof` returns it (RFC 9162 §2.1.4.2).
 * Requires 1 ≤ oldSize ≤ newSize (see the module note on size 0).
 *
 * @returns `true` only for a valid proof; `false` for anything else, never throws.
 */
export function verifyConsistency(
  oldSize: number,
  newSize: number,
  oldRootHex: string,
  newRootHex: string,
  proof: readonly string[],
): boolean {
  try {
    if (!isSize(oldSize) || !isSize(newSize) || oldSize === 0 || oldSize > newSize) return false;
    const oldRoot = _binFromHex(oldRootHex);
    const newRoot = _binFromHex(newRootHex);
    const path = parseHashes(proof);
    if (oldRoot === undefined || newRoot === undefined || path === undefined) return false;
    return _verifyConsistencyBin(oldSize, newSize, oldRoot, newRoot, path);
  } catch {
    return false;
  }
}

/**
 * RFC 9162 §2.1.3.2 on `_Bin` hashes: the root that `path` leads to from `leaf` at
 * `index` in a tree of `size`, or `undefined` when the path has the wrong
 * length. Arguments already validated (0 ≤ index < size ≤ 2^53). Internal.
 */
export function _rootFromInclusionPath(
  leaf: _Bin,
  index: number,
  size: number,
  path: readonly _Bin[],
): _Bin | undefined {
  // fn walks the leaf's position up the levels, sn the last leaf's; where they
  // meet (fn === sn with fn even) the node has no right sibling on that level
  // and is carried up unchanged (the RFC tree's ragged right edge).
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of path) {
    if (sn === 0) return undefined; // more elements than levels
    if (fn % 2 === 1 || fn === sn) {
      r = _nodeBin(p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn /= 2;
        sn = Math.floor(sn / 2);
      }
    } else {
      r = _nodeBin(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : undefined; // fewer elements than levels otherwise
}

/**
 * RFC 9162 §2.1.4.2 on `_Bin` hashes. Arguments already validated
 * (1 ≤ oldSize ≤ newSize ≤ 2^53, 32-byte hashes). Internal.
 */
export function _verifyConsistencyBin(
  oldSize: number,
  newSize: number,
  oldRoot: _Bin,
  newRoot: _Bin,
  proof: readonly _Bin[],
): boolean {
  if (oldSize === newSize) return proof.length === 0 && oldRoot === newRoot;
  if (proof.length === 0) return false;
  // When the old tree is a perfect left subtree, the proof omits its root.
  const path = isPowerOfTwo(oldSize) ? [oldRoot, ...proof] : proof;
  let fn = oldSize - 1;
  let sn = newSize - 1;
  while (fn % 2 === 1) {
    fn = (fn - 1) / 2;
    sn = Math.floor(sn / 2);
  }
  let fr = path[0]!;
  let sr = fr;
  for (let i = 1; i < path.length; i++) {
    const c = path[i]!;
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = _nodeBin(c, fr);
      sr = _nodeBin(c, sr);
      while (fn % 2 === 0 && fn !== 0) {
        fn /= 2;
        sn = Math.floor(sn / 2);
      }
    } else {
      sr = _nodeBin(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && fr === oldRoot && sr === newRoot;
}

/** Validate index/size/proof for `mode` and compute the root; `undefined` on any misfit. */
function computeRoot(
  leaf: _Bin,
  index: unknown,
  size: unknown,
  proof: unknown,
  mode: unknown,
): _Bin | undefined {
  if (!isSize(size) || !isSize(index) || index >= size) return undefined;
  if (mode === 'rfc6962') {
    const path = parseHashes(proof);
    return path === undefined ? undefined : _rootFromInclusionPath(leaf, index, size, path);
  }
  if (mode === 'vcp-dup') {
    const steps = parseDupSteps(proof);
    return steps === undefined ? undefined : _dupRootFromPath(leaf, index, size, steps);
  }
  return undefined;
}

function matches(computed: _Bin | undefined, rootHex: unknown): boolean {
  return computed !== undefined && computed === _binFromHex(rootHex);
}

/** A tree size or index: an integer from 0 to 2^53 − 1. */
function isSize(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isPowerOfTwo(n: number): boolean {
  while (n % 2 === 0) n /= 2;
  return n === 1;
}

/** An array of hex 32-byte hashes as `_Bin`s, or `undefined`. */
function parseHashes(proof: unknown): _Bin[] | undefined {
  if (!Array.isArray(proof) || proof.length > MAX_PROOF_LENGTH) return undefined;
  const out: _Bin[] = [];
  for (let i = 0; i < proof.length; i++) {
    const h = _binFromHex(proof[i]);
    if (h === undefined) return undefined;
    out.push(h);
  }
  return out;
}

/** An array of `{hash, position}` steps with `_Bin` hashes, or `undefined`. */
function parseDupSteps(proof: unknown): _DupStep[] | undefined {
  if (!Array.isArray(proof) || proof.length > MAX_PROOF_LENGTH) return undefined;
  const out: _DupStep[] = [];
  for (let i = 0; i < proof.length; i++) {
    const step: unknown = proof[i];
    if (typeof step !== 'object' || step === null) return undefined;
    const { hash, position } = step as { hash?: unknown; position?: unknown };
    const h = _binFromHex(hash);
    if (h === undefined || (position !== 'left' && position !== 'right')) return undefined;
    out.push({ hash: h, left: position === 'left' });
  }
  return out;
}
