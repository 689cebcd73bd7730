/**
 * The `vcp-dup` compatibility mode against a literal transcription of the VCP
 * v1.1 spec's §6.2.1 `build_merkle_tree` and §6.2.3 `generate_audit_path`
 * (test/reference/merkle-reference.ts), and why it is not the default.
 */

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { VcpConfigError } from '../../src/core/errors.ts';
import {
  EMPTY_ROOT_HEX,
  leafHash,
  MerkleTree,
  nodeHash,
  rootFromInclusionProof,
  type VcpDupProofStep,
  verifyInclusion,
  verifyInclusionOfLeafHash,
} from '../../src/integrity/merkle/index.ts';
import { refBuildDupTree, refDupAuditPath } from '../reference/merkle-reference.ts';

const eventHash = (i: number): string => createHash('sha256').update(`dup ${i}`).digest('hex');
const N = 70;
const events = Array.from({ length: N }, (_, i) => eventHash(i));
const dup = MerkleTree.fromLeaves(events, { mode: 'vcp-dup' });
const rfc = MerkleTree.fromLeaves(events);

describe('vcp-dup vs the spec pseudo-code, every size up to 70', () => {
  it('root(m) = build_merkle_tree(first m).root for every m in 1..70', () => {
    for (let m = 1; m <= N; m++) {
      expect(dup.root(m), `size ${m}`).toBe(refBuildDupTree(events.slice(0, m)).root.toString('hex'));
    }
  });

  it('inclusionProof(i, m) = generate_audit_path(tree, i) exactly, and verifies', () => {
    let withDuplication = 0;
    for (let m = 1; m <= N; m++) {
      const ref = refBuildDupTree(events.slice(0, m));
      const root = dup.root(m);
      for (let i = 0; i < m; i++) {
        const proof = dup.inclusionProof(i, m);
        expect(proof, `index ${i} size ${m}`).toEqual(refDupAuditPath(ref, i));
        expect(verifyInclusion(events[i]!, i, m, proof, root, 'vcp-dup')).toBe(true);
        if (proof.length < ref.levels.length - 1) withDuplication++;
      }
    }
    // The skipped-sibling case (a node hashed with itself) is well exercised.
    expect(withDuplication).toBeGreaterThan(250); // 276 of the 2,485 (index, size) pairs
  });

  it('a one-leaf tree: root = leaf hash, empty path (as the spec)', () => {
    const t = MerkleTree.fromLeaves([events[0]!], { mode: 'vcp-dup' });
    expect(t.root()).toBe(leafHash(events[0]!));
    expect(t.inclusionProof(0)).toEqual([]);
    expect(verifyInclusion(events[0]!, 0, 1, [], t.root(), 'vcp-dup')).toBe(true);
  });

  it('the empty tree (undefined in the spec, whose code fails) gets SHA-256("") as in RFC 6962', () => {
    expect(() => refBuildDupTree([])).toThrow(/IndexError/);
    expect(new MerkleTree({ mode: 'vcp-dup' }).root()).toBe(EMPTY_ROOT_HEX);
  });

  it('root(m) of earlier sizes stays correct while appending', () => {
    const t = new MerkleTree({ mode: 'vcp-dup' });
    const roots = events.slice(0, 25).map((h) => {
      t.append(h);
      return t.root();
    });
    roots.forEach((r, i) => {
      expect(t.root(i + 1)).toBe(r);
    });
  });
});

describe('why vcp-dup is not the default', () => {
  const [a, b, c] = [events[0]!, events[1]!, events[2]!];

  it('[a,b,c] and [a,b,c,c] share one vcp-dup root; RFC 6962 roots differ', () => {
    const d3 = MerkleTree.fromLeaves([a, b, c], { mode: 'vcp-dup' }).root();
    const d4 = MerkleTree.fromLeaves([a, b, c, c], { mode: 'vcp-dup' }).root();
    expect(d3).toBe(d4);
    expect(MerkleTree.fromLeaves([a, b, c]).root()).not.toBe(MerkleTree.fromLeaves([a, b, c, c]).root());
  });

  it('so a root alone does not fix the size: the same leaf proves at index 2 of 3 and index 3 of 4', () => {
    const t3 = MerkleTree.fromLeaves([a, b, c], { mode: 'vcp-dup' });
    const t4 = MerkleTree.fromLeaves([a, b, c, c], { mode: 'vcp-dup' });
    const root = t3.root();
    expect(verifyInclusion(c, 2, 3, t3.inclusionProof(2), root, 'vcp-dup')).toBe(true);
    expect(verifyInclusion(c, 3, 4, t4.inclusionProof(3), root, 'vcp-dup')).toBe(true);
  });

  it('the modes agree exactly at powers of two and differ elsewhere', () => {
    for (let m = 1; m <= N; m++) {
      const pow2 = (m & (m - 1)) === 0;
      expect(dup.root(m) === rfc.root(m), `size ${m}`).toBe(pow2);
    }
  });

  it('consistency proofs are refused in vcp-dup mode with a clear error', () => {
    expect(() => dup.consistencyProof(3, 5)).toThrow(VcpConfigError);
    expect(() => dup.consistencyProof(3, 5)).toThrow(/RFC 6962/);
  });
});

describe('vcp-dup verification is sound', () => {
  const m = 11; // levels 11 → 6 → 3 → 2 → 1: duplication on three levels
  const root = dup.root(m);

  it('every step is checked: flipped position, changed hash, missing or extra step all fail', () => {
    for (let i = 0; i < m; i++) {
      const proof = dup.inclusionProof(i, m);
      for (let k = 0; k < proof.length; k++) {
        const s = proof[k]!;
        const flipped: VcpDupProofStep = { hash: s.hash, position: s.position === 'left' ? 'right' : 'left' };
        expect(verifyInclusion(events[i]!, i, m, proof.with(k, flipped), root, 'vcp-dup')).toBe(false);
        const changed: VcpDupProofStep = { hash: leafHash(s.hash), position: s.position };
        expect(verifyInclusion(events[i]!, i, m, proof.with(k, changed), root, 'vcp-dup')).toBe(false);
        expect(verifyInclusion(events[i]!, i, m, proof.toSpliced(k, 1), root, 'vcp-dup')).toBe(false);
      }
      expect(
        verifyInclusion(events[i]!, i, m, [...proof, { hash: root, position: 'right' }], root, 'vcp-dup'),
      ).toBe(false);
    }
  });

  it('the index is bound: a proof does not verify at another index (positions must match it)', () => {
    for (let i = 0; i < m; i++) {
      const proof = dup.inclusionProof(i, m);
      for (let j = 0; j < m; j++) {
        if (j !== i)
          expect(verifyInclusion(events[i]!, j, m, proof, root, 'vcp-dup'), `${i} as ${j}`).toBe(false);
      }
    }
  });

  it('the padded form ({hash: self} for duplicated levels) is not accepted: only the spec form is', () => {
    // Index 10 of 11 is the last node of the odd level 0, so the spec hashes it with itself and emits no step.
    const i = 10;
    const proof = dup.inclusionProof(i, m);
    const self = leafHash(events[i]!);
    const padded: VcpDupProofStep[] = [{ hash: self, position: 'right' }, ...proof];
    expect(verifyInclusion(events[i]!, i, m, padded, root, 'vcp-dup')).toBe(false);
    expect(verifyInclusion(events[i]!, i, m, proof, root, 'vcp-dup')).toBe(true);
  });

  it('a hand-built 3-leaf example: c is hashed with itself, then joined to H(a,b) on the left', () => {
    const [a, b, c] = events.map(leafHash) as [string, string, string];
    const t = MerkleTree.fromLeaves(events.slice(0, 3), { mode: 'vcp-dup' });
    expect(t.root()).toBe(nodeHash(nodeHash(a, b), nodeHash(c, c)));
    expect(t.inclusionProof(2)).toEqual([{ hash: nodeHash(a, b), position: 'left' }]);
    expect(verifyInclusionOfLeafHash(c, 2, 3, t.inclusionProof(2), t.root(), 'vcp-dup')).toBe(true);
    expect(rootFromInclusionProof(c, 2, 3, t.inclusionProof(2), 'vcp-dup')).toBe(t.root());
  });

  it('an rfc6962 proof is not a vcp-dup proof, and the other way round', () => {
    const i = 4;
    const rfcProof = rfc.inclusionProof(i, m);
    expect(verifyInclusion(events[i]!, i, m, rfcProof as never, root, 'vcp-dup')).toBe(false);
    expect(verifyInclusion(events[i]!, i, m, dup.inclusionProof(i, m) as never, rfc.root(m))).toBe(false);
  });
});
