/**
 * An append-only Merkle tree over EventHashes (DESIGN decision 4).
 *
 * Storage: for every level k, the hashes of the complete ("perfect") subtrees
 * of 2^k leaves, back to back in fixed chunks of {@link CHUNK_HASHES} — level
 * 0 is the leaf hashes. An append writes one leaf hash and completes at most
 * log2(n) parents (amortised: one), so it is O(log n) time and the whole store
 * is about 2n × 32 bytes. Chunks rather than one doubling Buffer per level: a
 * doubling Buffer holds up to twice what it uses, and while it grows the old
 * and the new copy are both alive, so a sidecar with a million leaves would
 * briefly need ~190 MB instead of ~64 MB. Since a perfect subtree never changes once complete,
 * the same store answers roots and proofs for *every* earlier size, each in
 * O(log n) hashes (proof.ts, vcp-dup.ts).
 *
 * Mode `rfc6962` (default) is RFC 6962 / RFC 9162; `vcp-dup` is the VCP spec's
 * duplicate-the-odd-node construction (see vcp-dup.ts for why it is not the
 * default). Both share the store: they differ only on the right edge.
 *
 * Hex is converted only at the API edge. Inside, hashes rest as bytes in the
 * level Buffers and travel as 32-char latin1 strings (`_Bin`, hasher.ts), which
 * node:crypto produces without allocating a Buffer per hash.
 */

import { MERKLE_MODES, type MerkleMode } from '../../core/enums.ts';
import { VcpConfigError, VcpValidationError } from '../../core/errors.ts';
import {
  type _Bin,
  _binFromBytes,
  _binToHex,
  _hex32Error,
  _leafBin,
  _leafBinFromHex,
  _nodeBinAdjacent,
  HASH_SIZE,
} from './hasher.ts';
import { _consistencyPath, _inclusionPath, type _PerfectNodes, _rootAt } from './proof.ts';
import { _dupInclusionPath, _dupRootAt, type VcpDupProofStep } from './vcp-dup.ts';

// The mode names live with the other enumerations (src/core/enums.ts).
export { MERKLE_MODES, type MerkleMode };

/** Options of `new MerkleTree(...)`. */
export interface MerkleTreeOptions<M extends MerkleMode = MerkleMode> {
  /** Tree shape; default `rfc6962`. */
  mode?: M;
}

/**
 * An inclusion proof in mode `M`: hex sibling hashes, leaf to root (RFC 9162
 * §2.1.3), or the spec's `{hash, position}` steps for `vcp-dup`.
 */
export type InclusionProof<M extends MerkleMode> = M extends 'vcp-dup' ? VcpDupProofStep[] : string[];

const INITIAL_CAPACITY = 64; // hashes per level before the first growth
/** Hashes per chunk of a level (64 KiB): a power of two, so a pair of siblings never straddles two chunks. */
const CHUNK_HASHES = 2048;
const CHUNK_SHIFT = 11;

/**
 * Append-only Merkle tree over 32-byte EventHashes.
 *
 * ```ts
 * const tree = new MerkleTree();            // RFC 6962
 * const i = tree.append(eventHashHex);      // leaf index
 * const root = tree.root();                 // hex
 * const proof = tree.inclusionProof(i);     // string[]
 * verifyInclusion(eventHashHex, i, tree.size, proof, root); // true
 * ```
 */
export class MerkleTree<M extends MerkleMode = 'rfc6962'> implements _PerfectNodes {
  /** The tree shape, fixed at construction. */
  readonly mode: M;
  #size = 0;
  /**
   * levels[k] holds floor(size / 2^k) perfect-subtree hashes in chunks of
   * CHUNK_HASHES (only a level's first chunk may be smaller: it doubles from
   * INITIAL_CAPACITY, so small trees stay small).
   */
  #levels: Buffer[][] = [];
  #rootCache: { size: number; hex: string } | undefined;

  /**
   * @param options `mode`: `rfc6962` (default) or `vcp-dup`.
   * @throws VcpConfigError for an unknown mode.
   */
  constructor(options: MerkleTreeOptions<M> = {}) {
    const mode = options.mode ?? 'rfc6962';
    if (mode !== 'rfc6962' && mode !== 'vcp-dup') {
      throw new VcpConfigError(
        `unknown Merkle mode ${JSON.stringify(String(mode))}; expected one of ${MERKLE_MODES.join(', ')}`,
      );
    }
    this.mode = mode as M;
  }

  /**
   * Build a tree from EventHashes in order.
   *
   * @throws VcpValidationError (path `eventHashes[i]`, rule `hex32`) at the first bad hash; nothing is kept.
   */
  static fromLeaves<M extends MerkleMode = 'rfc6962'>(
    eventHashes: readonly string[],
    options: MerkleTreeOptions<M> = {},
  ): MerkleTree<M> {
    const tree = new MerkleTree<M>(options);
    if (!Array.isArray(eventHashes)) {
      throw new VcpValidationError({
        path: 'eventHashes',
        rule: 'array',
        message: 'expected an array of hex hashes',
      });
    }
    for (let i = 0; i < eventHashes.length; i++) {
      const leaf = _leafBinFromHex(eventHashes[i]);
      if (leaf === undefined) throw _hex32Error(eventHashes[i], `eventHashes[${i}]`);
      tree._appendLeafBin(leaf);
    }
    return tree;
  }

  /** Number of leaves appended so far. */
  get size(): number {
    return this.#size;
  }

  /**
   * Append an EventHash; the leaf is SHA-256(0x00 ‖ its 32 bytes). O(log n).
   *
   * @param eventHashHex 64 hex digits (either case).
   * @returns the new leaf's index (0-based).
   * @throws VcpValidationError (path `eventHash`, rule `hex32`) for anything else; the tree is unchanged.
   */
  append(eventHashHex: string): number {
    const leaf = _leafBinFromHex(eventHashHex);
    if (leaf === undefined) throw _hex32Error(eventHashHex, 'eventHash');
    return this._appendLeafBin(leaf);
  }

  /**
   * Append arbitrary leaf data (hashed as SHA-256(0x00 ‖ data)). Internal: RFC
   * 6962 allows any leaf bytes, and the standard test vectors use them.
   */
  _appendLeafData(data: Uint8Array): number {
    return this._appendLeafBin(_leafBin(data));
  }

  /** Append an already computed 32-byte leaf hash. Internal (rebuilds from stored leaf hashes). */
  _appendLeafHash(leaf: Uint8Array): number {
    if (!(leaf instanceof Uint8Array) || leaf.length !== HASH_SIZE) {
      throw new VcpValidationError({
        path: 'leafHash',
        rule: 'bytes32',
        message: 'expected a 32-byte leaf hash',
      });
    }
    return this._appendLeafBin(_binFromBytes(leaf));
  }

  /** Append a leaf hash given as a `_Bin` (hasher.ts). Internal: the hot path. */
  _appendLeafBin(leaf: _Bin): number {
    const index = this.#size;
    this.#write(0, index, leaf);
    // Each odd index completes a pair: hash it into the level above, and carry.
    let level = 0;
    let j = index;
    while (j % 2 === 1) {
      const left = j - 1;
      const chunk = this.#levels[level]![left >>> CHUNK_SHIFT]!;
      const parent = _nodeBinAdjacent(chunk, (left & (CHUNK_HASHES - 1)) * HASH_SIZE);
      level++;
      j = (j - 1) / 2;
      this.#write(level, j, parent);
    }
    this.#size = index + 1;
    return index;
  }

  #write(level: number, index: number, hash: _Bin): void {
    let chunks = this.#levels[level];
    if (chunks === undefined) {
      chunks = [];
      this.#levels[level] = chunks;
    }
    const c = index >>> CHUNK_SHIFT;
    const start = (index & (CHUNK_HASHES - 1)) * HASH_SIZE;
    let buf = chunks[c];
    if (buf === undefined || buf.length < start + HASH_SIZE) {
      // A new chunk, or the first chunk outgrowing its doubling capacity.
      const grown = Buffer.allocUnsafe(
        c > 0
          ? CHUNK_HASHES * HASH_SIZE
          : Math.min(
              CHUNK_HASHES * HASH_SIZE,
              Math.max(INITIAL_CAPACITY * HASH_SIZE, (buf?.length ?? 0) * 2),
            ),
      );
      buf?.copy(grown, 0, 0, start);
      chunks[c] = grown;
      buf = grown;
    }
    buf.write(hash, start, HASH_SIZE, 'latin1');
  }

  /**
   * Hash of the perfect subtree of 2^level leaves starting at leaf index × 2^level.
   * Internal: callers guarantee the subtree is complete.
   */
  _node(level: number, index: number): _Bin {
    const start = (index & (CHUNK_HASHES - 1)) * HASH_SIZE;
    return this.#levels[level]![index >>> CHUNK_SHIFT]!.toString('latin1', start, start + HASH_SIZE);
  }

  /**
   * Root of the tree of the first `size` leaves (default: all) as lowercase
   * hex. The empty tree's root is SHA-256("") (e3b0c442…) in both modes. O(log n).
   *
   * @throws VcpValidationError (path `size`, rule `range`) unless 0 ≤ size ≤ this.size.
   */
  root(size: number = this.#size): string {
    checkInt(size, 0, this.#size, 'size');
    const cached = this.#rootCache;
    if (cached !== undefined && cached.size === size) return cached.hex;
    const hex = _binToHex(this._rootBin(size));
    this.#rootCache = { size, hex };
    return hex;
  }

  /** Root of the first `size` leaves as a `_Bin`; `size` already validated. Internal. */
  _rootBin(size: number): _Bin {
    return this.mode === 'vcp-dup' ? _dupRootAt(this, size) : _rootAt(this, size);
  }

  /**
   * Leaf hash (SHA-256(0x00 ‖ event hash)) at `index`, lowercase hex. The tree
   * keeps leaf hashes only; the EventHashes themselves live in the event log.
   *
   * @throws VcpValidationError (path `index`, rule `range`) unless 0 ≤ index < size.
   */
  leaf(index: number): string {
    checkInt(index, 0, this.#size - 1, 'index');
    const start = (index & (CHUNK_HASHES - 1)) * HASH_SIZE;
    return this.#levels[0]![index >>> CHUNK_SHIFT]!.toString('hex', start, start + HASH_SIZE);
  }

  /**
   * Inclusion proof of leaf `index` in the tree of the first `size` leaves
   * (default: all). `rfc6962`: the RFC 9162 §2.1.3 audit path, hex sibling
   * hashes from the leaf up. `vcp-dup`: the spec's §6.2.3 `{hash, position}`
   * steps, which skip levels where the node is hashed with itself (verify with
   * `verifyInclusion(..., 'vcp-dup')`, which needs index and size for that).
   *
   * @throws VcpValidationError (path `size` / `index`, rule `range`) unless 1 ≤ size ≤ this.size and 0 ≤ index < size.
   */
  inclusionProof(index: number, size: number = this.#size): InclusionProof<M> {
    checkInt(size, 1, this.#size, 'size');
    checkInt(index, 0, size - 1, 'index');
    if (this.mode === 'vcp-dup') {
      return _dupInclusionPath(this, index, size).map(
        (s): VcpDupProofStep => ({ hash: _binToHex(s.hash), position: s.left ? 'left' : 'right' }),
      ) as InclusionProof<M>;
    }
    return toHex(_inclusionPath(this, index, size)) as InclusionProof<M>;
  }

  /**
   * RFC 9162 §2.1.4 consistency proof that the tree of `oldSize` leaves is a
   * prefix of the tree of `newSize` leaves (default: all), hex, as
   * `verifyConsistency` takes it. Empty when the sizes are equal.
   *
   * @throws VcpConfigError in `vcp-dup` mode: that shape has no consistency proofs
   *   (duplicated right-edge nodes change as the tree grows).
   * @throws VcpValidationError (path `newSize` / `oldSize`, rule `range`) unless 1 ≤ oldSize ≤ newSize ≤ this.size.
   *   oldSize 0 is refused: consistency with the empty tree proves nothing, and verifiers reject it.
   */
  consistencyProof(oldSize: number, newSize: number = this.#size): string[] {
    if (this.mode !== 'rfc6962') {
      throw new VcpConfigError(
        `consistency proofs need an RFC 6962 tree; this tree is in mode "${this.mode}", where duplicated ` +
          'right-edge nodes change as the tree grows, so an old root is not a subtree of a new one',
      );
    }
    checkInt(newSize, 1, this.#size, 'newSize');
    checkInt(oldSize, 1, newSize, 'oldSize');
    return toHex(_consistencyPath(this, oldSize, newSize));
  }
}

function toHex(hashes: _Bin[]): string[] {
  const out = new Array<string>(hashes.length);
  for (let i = 0; i < hashes.length; i++) out[i] = _binToHex(hashes[i]!);
  return out;
}

/** Throw VcpValidationError (rule `range`) unless `value` is an integer in [min, max]. */
function checkInt(value: unknown, min: number, max: number, path: string): void {
  if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return;
  const shown = typeof value === 'number' ? String(value) : typeof value;
  const message =
    max < min
      ? `the tree is empty, so no ${path} is in range (got ${shown})`
      : `expected an integer from ${min} to ${max}, got ${shown}`;
  throw new VcpValidationError({ path, rule: 'range', message });
}
