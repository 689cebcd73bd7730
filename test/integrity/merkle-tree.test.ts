/**
 * MerkleTree (rfc6962 mode) against the naive RFC 6962 reference
 * (test/reference/merkle-reference.ts): every root, every inclusion proof and
 * every consistency proof of every tree up to 70 leaves, sampled larger trees,
 * and the tree's own API rules.
 */

import { createHash } from 'node:crypto';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { VcpValidationError } from '../../src/core/errors.ts';
import {
  EMPTY_ROOT_HEX,
  leafHash,
  type MerkleMode,
  MerkleTree,
  type VcpDupProofStep,
  verifyConsistency,
  verifyInclusion,
} from '../../src/integrity/merkle/index.ts';
import { prng as rng } from '../helpers/prng.ts';
import {
  refBuildDupTree,
  refDupAuditPath,
  refMth,
  refPath,
  refProof,
} from '../reference/merkle-reference.ts';

const eventHash = (i: number, salt = ''): string =>
  createHash('sha256').update(`event ${salt}${i}`).digest('hex');
const hexes = (bufs: Buffer[]): string[] => bufs.map((b) => b.toString('hex'));

const N = 70;
const events = Array.from({ length: N }, (_, i) => eventHash(i));
const data = events.map((h) => Buffer.from(h, 'hex'));
const tree = MerkleTree.fromLeaves(events);

describe('MerkleTree rfc6962 vs the RFC 6962 reference, every size up to 70', () => {
  it('root(m) = MTH(D[0:m]) for every m in 0..70, all answered by the one 70-leaf tree', () => {
    for (let m = 0; m <= N; m++)
      expect(tree.root(m), `size ${m}`).toBe(refMth(data.slice(0, m)).toString('hex'));
  });

  it('inclusionProof(i, m) = PATH(i, D[0:m]) and verifies, for every 0 ≤ i < m ≤ 70', () => {
    let count = 0;
    for (let m = 1; m <= N; m++) {
      const d = data.slice(0, m);
      const root = tree.root(m);
      for (let i = 0; i < m; i++) {
        const proof = tree.inclusionProof(i, m);
        expect(proof, `index ${i} size ${m}`).toEqual(hexes(refPath(i, d)));
        expect(verifyInclusion(events[i]!, i, m, proof, root)).toBe(true);
        count++;
      }
    }
    expect(count).toBe((N * (N + 1)) / 2);
  });

  it('consistencyProof(m, n) = PROOF(m, D[0:n]) and verifies, for every 1 ≤ m ≤ n ≤ 70', () => {
    let count = 0;
    for (let n = 1; n <= N; n++) {
      const d = data.slice(0, n);
      for (let m = 1; m <= n; m++) {
        const proof = tree.consistencyProof(m, n);
        expect(proof, `${m} -> ${n}`).toEqual(hexes(refProof(m, d)));
        expect(verifyConsistency(m, n, tree.root(m), tree.root(n), proof)).toBe(true);
        count++;
      }
    }
    expect(count).toBe((N * (N + 1)) / 2);
  });

  it('no inclusion proof verifies for another index, size or event, or with any element changed', () => {
    for (let m = 1; m <= 33; m++) {
      const root = tree.root(m);
      for (let i = 0; i < m; i++) {
        const proof = tree.inclusionProof(i, m);
        if (m > 1) expect(verifyInclusion(events[i]!, (i + 1) % m, m, proof, root)).toBe(false);
        expect(verifyInclusion(events[(i + 1) % N]!, i, m, proof, root)).toBe(false);
        // A size is not bound by a root alone (RFC 9162 signs them together), so
        // check the proof against the root of the other size.
        const sameAsNext = JSON.stringify(tree.inclusionProof(i, m + 1)) === JSON.stringify(proof);
        expect(verifyInclusion(events[i]!, i, m + 1, proof, tree.root(m + 1))).toBe(sameAsNext);
        for (let k = 0; k < proof.length; k++) {
          const bad = proof.with(k, leafHash(proof[k]!));
          expect(verifyInclusion(events[i]!, i, m, bad, root)).toBe(false);
        }
        expect(verifyInclusion(events[i]!, i, m, [...proof, root], root)).toBe(false);
        if (proof.length > 0) expect(verifyInclusion(events[i]!, i, m, proof.slice(1), root)).toBe(false);
      }
    }
  });

  it('no consistency proof verifies with an element changed, dropped or added, or for other sizes', () => {
    for (let n = 2; n <= 33; n++) {
      for (let m = 1; m < n; m++) {
        const proof = tree.consistencyProof(m, n);
        const [r1, r2] = [tree.root(m), tree.root(n)];
        for (let k = 0; k < proof.length; k++) {
          expect(verifyConsistency(m, n, r1, r2, proof.with(k, leafHash(proof[k]!)))).toBe(false);
          expect(verifyConsistency(m, n, r1, r2, proof.toSpliced(k, 1))).toBe(false);
        }
        expect(verifyConsistency(m, n, r1, r2, [...proof, r1])).toBe(false);
        expect(verifyConsistency(m, n, r1, r2, [r1, ...proof])).toBe(false);
        const sameAsNext = JSON.stringify(tree.consistencyProof(m, n + 1)) === JSON.stringify(proof);
        expect(verifyConsistency(m, n + 1, r1, tree.root(n + 1), proof)).toBe(sameAsNext);
        if (m > 1) expect(verifyConsistency(m - 1, n, tree.root(m - 1), r2, proof)).toBe(false);
        expect(verifyConsistency(m, n, r2, r1, proof)).toBe(false);
      }
    }
  });
});

describe('MerkleTree rfc6962 on larger trees, sampled', () => {
  it('a 3,000-leaf tree matches the reference on random sizes, indexes and size pairs', () => {
    const next = rng(0x5eed);
    const big = Array.from({ length: 3000 }, (_, i) => eventHash(i, 'big'));
    const bigData = big.map((h) => Buffer.from(h, 'hex'));
    const t = MerkleTree.fromLeaves(big);
    for (let s = 0; s < 25; s++) {
      const n = 1 + Math.floor(next() * 3000);
      const i = Math.floor(next() * n);
      const m = 1 + Math.floor(next() * n);
      const d = bigData.slice(0, n);
      expect(t.root(n)).toBe(refMth(d).toString('hex'));
      const ip = t.inclusionProof(i, n);
      expect(ip, `index ${i} size ${n}`).toEqual(hexes(refPath(i, d)));
      expect(verifyInclusion(big[i]!, i, n, ip, t.root(n))).toBe(true);
      const cp = t.consistencyProof(m, n);
      expect(cp, `${m} -> ${n}`).toEqual(hexes(refProof(m, d)));
      expect(verifyConsistency(m, n, t.root(m), t.root(n), cp)).toBe(true);
    }
  });

  it('proofs at the edges of powers of two (2^k − 1, 2^k, 2^k + 1) up to 4,097 leaves', () => {
    const leaves = Array.from({ length: 4097 }, (_, i) => eventHash(i, 'edge'));
    const t = MerkleTree.fromLeaves(leaves);
    const d = leaves.map((h) => Buffer.from(h, 'hex'));
    for (const n of [511, 512, 513, 4095, 4096, 4097]) {
      const root = refMth(d.slice(0, n)).toString('hex');
      expect(t.root(n)).toBe(root);
      for (const i of [0, 1, n >> 1, n - 2, n - 1]) {
        expect(t.inclusionProof(i, n)).toEqual(hexes(refPath(i, d.slice(0, n))));
        expect(verifyInclusion(leaves[i]!, i, n, t.inclusionProof(i, n), root)).toBe(true);
      }
      for (const m of [1, 255, 256, 257, n - 1]) {
        expect(t.consistencyProof(m, n)).toEqual(hexes(refProof(m, d.slice(0, n))));
      }
    }
  });

  it('leaves and nodes across the storage chunks (2,048 hashes each) of levels 0–2 match the reference, in both modes', () => {
    // Level k's chunk c starts at leaf c·2048·2^k: these sizes put the tree's
    // right edge, a proven leaf or a proof's sibling on each side of such a start.
    const n = 8200;
    const leaves = Array.from({ length: n }, (_, i) => eventHash(i, 'chunk'));
    const d = leaves.map((h) => Buffer.from(h, 'hex'));
    const t = MerkleTree.fromLeaves(leaves);
    const dup = MerkleTree.fromLeaves(leaves, { mode: 'vcp-dup' });
    for (let i = 0; i < n; i++) expect(t.leaf(i)).toBe(leafHash(leaves[i]!));
    const sizes = [1, 2047, 2048, 2049, 4095, 4096, 4097, 6143, 6144, 6145, 8191, 8192, 8193, n];
    const refRoot = new Map(sizes.map((size) => [size, refMth(d.slice(0, size)).toString('hex')]));
    for (const size of sizes) {
      const root = refRoot.get(size)!;
      expect(t.root(size), `size ${size}`).toBe(root);
      const ref = refBuildDupTree(leaves.slice(0, size));
      expect(dup.root(size), `vcp-dup size ${size}`).toBe(ref.root.toString('hex'));
      for (const i of [0, 2046, 2047, 2048, 2049, 4095, 4096, 6144, 8191, 8192, size - 1].filter(
        (i) => i < size,
      )) {
        expect(
          verifyInclusion(leaves[i]!, i, size, t.inclusionProof(i, size), root),
          `index ${i} size ${size}`,
        ).toBe(true);
        expect(dup.inclusionProof(i, size), `vcp-dup index ${i} size ${size}`).toEqual(
          refDupAuditPath(ref, i),
        );
      }
      for (const m of sizes.filter((m) => m < size)) {
        const proof = t.consistencyProof(m, size);
        expect(verifyConsistency(m, size, refRoot.get(m)!, root, proof), `${m} -> ${size}`).toBe(true);
      }
    }
    // One full comparison of the proofs themselves, at the largest size.
    expect(t.inclusionProof(4096, n)).toEqual(hexes(refPath(4096, d)));
    expect(t.consistencyProof(2049, n)).toEqual(hexes(refProof(2049, d)));
  });

  it('every stored node of every level of a 32 773-leaf tree is the naive perfect-subtree hash (chunk edges of levels 0–4)', () => {
    // Level k's chunk c starts at node c·2048, i.e. leaf c·2048·2^k: 2^15 + 5 leaves put a chunk edge in
    // levels 0–4 (level 4's first at leaf 32 768), and the first chunk of levels 5+ through all its doublings.
    const n = 2 ** 15 + 5;
    const leaves = Array.from({ length: n }, (_, i) => eventHash(i, 'levels'));
    const t = new MerkleTree();
    for (const h of leaves) t.append(h);
    const sha = (...parts: Uint8Array[]): Buffer => {
      const hash = createHash('sha256');
      for (const p of parts) hash.update(p);
      return hash.digest();
    };
    let level: Buffer[] = leaves.map((h) => sha(Uint8Array.of(0), Buffer.from(h, 'hex')));
    const wrong: string[] = [];
    for (let k = 0; level.length > 0; k++) {
      for (let i = 0; i < level.length; i++)
        if (Buffer.from(t._node(k, i), 'latin1').compare(level[i]!) !== 0) wrong.push(`level ${k} node ${i}`);
      const up: Buffer[] = [];
      for (let i = 0; i + 1 < level.length; i += 2) up.push(sha(Uint8Array.of(1), level[i]!, level[i + 1]!));
      level = up;
    }
    expect(wrong.slice(0, 5)).toEqual([]);
    // Roots and proofs whose right edge or path crosses the chunk edges of levels 3 and 4.
    const d = leaves.map((h) => Buffer.from(h, 'hex'));
    for (const size of [16_383, 16_384, 16_385, 32_767, 32_768, n]) {
      const root = refMth(d.slice(0, size)).toString('hex');
      expect(t.root(size), `size ${size}`).toBe(root);
      for (const i of [0, 16_383, 16_384, 32_767, size - 1].filter((i) => i < size))
        expect(verifyInclusion(leaves[i]!, i, size, t.inclusionProof(i, size), root), `${i} in ${size}`).toBe(
          true,
        );
    }
    expect(t.consistencyProof(16_385, n)).toEqual(hexes(refProof(16_385, d)));
  });

  it('proof lengths stay logarithmic: at most ceil(log2 n) inclusion hashes', () => {
    const t = MerkleTree.fromLeaves(Array.from({ length: 4097 }, (_, i) => eventHash(i)));
    for (const i of [0, 2048, 4095, 4096]) expect(t.inclusionProof(i).length).toBeLessThanOrEqual(13);
    expect(t.consistencyProof(1).length).toBeLessThanOrEqual(2 * 13);
  });
});

function rejects(fn: () => unknown, path: string, rule: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected ${path}/${rule}`).toBeInstanceOf(VcpValidationError);
  const e = caught as VcpValidationError;
  expect(e.path).toBe(path);
  expect(e.rule).toBe(rule);
  expect(e.message.length).toBeGreaterThan(10);
}

describe('MerkleTree API', () => {
  it('append returns consecutive 0-based indexes and size follows', () => {
    const t = new MerkleTree();
    expect(t.size).toBe(0);
    expect(t.mode).toBe('rfc6962');
    expect(t.append(events[0]!)).toBe(0);
    expect(t.append(events[1]!)).toBe(1);
    expect(t.size).toBe(2);
  });

  it('the empty tree has root SHA-256("") = e3b0c442…', () => {
    expect(new MerkleTree().root()).toBe(EMPTY_ROOT_HEX);
    expect(EMPTY_ROOT_HEX).toBe(createHash('sha256').digest('hex'));
  });

  it('a one-leaf tree has the leaf hash as root and an empty proof', () => {
    const t = MerkleTree.fromLeaves([events[0]!]);
    expect(t.root()).toBe(leafHash(events[0]!));
    expect(t.inclusionProof(0)).toEqual([]);
  });

  it('upper-case event hashes are normalised: the same tree as lower-case', () => {
    const upper = MerkleTree.fromLeaves(events.slice(0, 9).map((h) => h.toUpperCase()));
    expect(upper.root()).toBe(MerkleTree.fromLeaves(events.slice(0, 9)).root());
    expect(upper.root()).toMatch(/^[0-9a-f]{64}$/);
  });

  it('leaf(i) is the leaf hash of the i-th event', () => {
    events.slice(0, 20).forEach((h, i) => {
      expect(tree.leaf(i)).toBe(leafHash(h));
    });
  });

  it('root() and proofs of a size stay the same as the tree grows (append-only)', () => {
    const t = new MerkleTree();
    const roots: string[] = [];
    const proofs: string[][] = [];
    for (let i = 0; i < 40; i++) {
      t.append(events[i]!);
      roots.push(t.root());
      proofs.push(t.inclusionProof(0));
    }
    roots.forEach((r, i) => {
      expect(t.root(i + 1)).toBe(r);
    });
    proofs.forEach((p, i) => {
      expect(t.inclusionProof(0, i + 1)).toEqual(p);
    });
  });

  it('returned proofs are copies: mutating one does not affect the tree', () => {
    const t = MerkleTree.fromLeaves(events.slice(0, 5));
    const p = t.inclusionProof(2);
    p[0] = '00'.repeat(32);
    p.push('x');
    expect(t.inclusionProof(2)).not.toEqual(p);
    expect(verifyInclusion(events[2]!, 2, 5, t.inclusionProof(2), t.root())).toBe(true);
  });

  it('consistencyProof(m, m) is empty', () => {
    expect(tree.consistencyProof(7, 7)).toEqual([]);
    expect(tree.consistencyProof(N)).toEqual([]);
  });

  it('the tree type follows the mode: string[] proofs for rfc6962, {hash, position}[] for vcp-dup', () => {
    expectTypeOf(new MerkleTree().inclusionProof).returns.toEqualTypeOf<string[]>();
    expectTypeOf(new MerkleTree({ mode: 'vcp-dup' }).inclusionProof).returns.toEqualTypeOf<
      VcpDupProofStep[]
    >();
    expectTypeOf(MerkleTree.fromLeaves([], { mode: 'vcp-dup' })).toEqualTypeOf<MerkleTree<'vcp-dup'>>();
    const chosen = new MerkleTree({ mode: 'rfc6962' as MerkleMode });
    expectTypeOf(chosen.inclusionProof).returns.toEqualTypeOf<string[] | VcpDupProofStep[]>();
    expect(chosen.mode).toBe('rfc6962');
  });

  it('_appendLeafHash (rebuild from stored leaf hashes) gives the same tree as append', () => {
    const t = new MerkleTree();
    for (let i = 0; i < 9; i++) t._appendLeafHash(Buffer.from(leafHash(events[i]!), 'hex'));
    expect(t.root()).toBe(tree.root(9));
    rejects(() => t._appendLeafHash(Buffer.alloc(31)), 'leafHash', 'bytes32');
    expect(t.size).toBe(9);
  });

  it('fromLeaves builds the same tree as appending one by one', () => {
    const t = new MerkleTree();
    for (const h of events) t.append(h);
    expect(t.root()).toBe(tree.root());
  });
});

describe('MerkleTree rejects bad arguments with VcpValidationError', () => {
  it('append: not 64 hex digits (path eventHash, rule hex32); the tree is left unchanged', () => {
    const t = MerkleTree.fromLeaves(events.slice(0, 3));
    const before = t.root();
    for (const bad of [
      '',
      'zz',
      events[0]!.slice(1),
      `${events[0]}00`,
      `${events[0]!.slice(0, 63)}g`,
      // Code units whose low byte is a hex digit ('\u0161' → 0x61 'a', '\u0130' → 0x30 '0'): Buffer's hex
      // decoder would read them as digits.
      '\u0161'.repeat(64),
      `${events[0]!.slice(0, 63)}\u0130`,
      null,
      7,
      {},
      [],
    ]) {
      rejects(() => t.append(bad as string), 'eventHash', 'hex32');
    }
    expect(t.size).toBe(3);
    expect(t.root()).toBe(before);
  });

  it('fromLeaves names the index of the first bad hash', () => {
    rejects(() => MerkleTree.fromLeaves([events[0]!, 'nope']), 'eventHashes[1]', 'hex32');
    rejects(() => MerkleTree.fromLeaves('abc' as never), 'eventHashes', 'array');
  });

  it('root: size outside 0..size, fractional, NaN, non-number (path size, rule range)', () => {
    const t = MerkleTree.fromLeaves(events.slice(0, 4));
    for (const bad of [-1, 5, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '2', null]) {
      rejects(() => t.root(bad as number), 'size', 'range');
    }
  });

  it('inclusionProof: index outside 0..size-1, size outside 1..size, empty tree', () => {
    const t = MerkleTree.fromLeaves(events.slice(0, 4));
    for (const bad of [-1, 4, 2 ** 53, 0.5, Number.NaN, '1'])
      rejects(() => t.inclusionProof(bad as number), 'index', 'range');
    rejects(() => t.inclusionProof(3, 3), 'index', 'range');
    rejects(() => t.inclusionProof(0, 5), 'size', 'range');
    rejects(() => t.inclusionProof(0, 0), 'size', 'range');
    rejects(() => new MerkleTree().inclusionProof(0), 'size', 'range');
  });

  it('consistencyProof: oldSize 0 or above newSize, newSize above size', () => {
    const t = MerkleTree.fromLeaves(events.slice(0, 4));
    rejects(() => t.consistencyProof(0), 'oldSize', 'range');
    rejects(() => t.consistencyProof(3, 2), 'oldSize', 'range');
    rejects(() => t.consistencyProof(1, 5), 'newSize', 'range');
    rejects(() => t.consistencyProof(Number.NaN), 'oldSize', 'range');
  });

  it('leaf: index out of range, empty tree', () => {
    rejects(() => tree.leaf(N), 'index', 'range');
    rejects(() => tree.leaf(-1), 'index', 'range');
    rejects(() => new MerkleTree().leaf(0), 'index', 'range');
  });

  it('an unknown mode is a configuration error', () => {
    expect(() => new MerkleTree({ mode: 'sha1' as never })).toThrow(/unknown Merkle mode "sha1"/);
  });
});
