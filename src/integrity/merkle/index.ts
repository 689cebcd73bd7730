/**
 * The Merkle layer (DESIGN decision 4), in four small pieces after
 * transparency-dev/merkle: the hashing scheme (`hasher.ts`), the append-only
 * tree with O(log n) appends (`tree.ts`), proof making (`proof.ts`, and
 * `vcp-dup.ts` for the spec-compatible shape) and pure proof checking
 * (`verify.ts`).
 */

export {
  _hashChildren,
  _hashLeaf,
  _parseHash,
  EMPTY_ROOT_HEX,
  HASH_SIZE,
  isHash32Hex,
  leafHash,
  nodeHash,
} from './hasher.ts';
export {
  type InclusionProof,
  MERKLE_MODES,
  type MerkleMode,
  MerkleTree,
  type MerkleTreeOptions,
} from './tree.ts';
export type { VcpDupProofStep } from './vcp-dup.ts';
export {
  rootFromInclusionProof,
  verifyConsistency,
  verifyInclusion,
  verifyInclusionOfLeafHash,
} from './verify.ts';
