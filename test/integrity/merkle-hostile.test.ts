/**
 * Hostile and extreme input for the Merkle layer: every verify function
 * answers `false` (or `undefined`) and never throws, whatever it is given;
 * arithmetic holds for tree sizes up to 2^53 − 1.
 */

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { _binToHex, _nodeBin } from '../../src/integrity/merkle/hasher.ts';
import {
  MerkleTree,
  rootFromInclusionProof,
  verifyConsistency,
  verifyInclusion,
  verifyInclusionOfLeafHash,
} from '../../src/integrity/merkle/index.ts';
import {
  _consistencyPath,
  _inclusionPath,
  type _PerfectNodes,
  _rootAt,
} from '../../src/integrity/merkle/proof.ts';
import { _dupInclusionPath, _dupRootAt } from '../../src/integrity/merkle/vcp-dup.ts';

const eventHash = (i: number): string => createHash('sha256').update(`hostile ${i}`).digest('hex');
const events = Array.from({ length: 11 }, (_, i) => eventHash(i));
const rfc = MerkleTree.fromLeaves(events);
const dup = MerkleTree.fromLeaves(events, { mode: 'vcp-dup' });

function revokedProxy(): unknown {
  const { proxy, revoke } = Proxy.revocable([], {});
  revoke();
  return proxy;
}

function throwingGetters(): unknown {
  return new Proxy([], {
    get() {
      throw new Error('boom');
    },
    getPrototypeOf() {
      throw new Error('boom');
    },
  });
}

function arrayWithThrowingElement(): unknown[] {
  const a: unknown[] = ['00'.repeat(32)];
  Object.defineProperty(a, 0, {
    get() {
      throw new Error('boom');
    },
  });
  return a;
}

/** Values that are wrong wherever a hash, index, size or proof is expected. */
const GARBAGE: [string, unknown][] = [
  ['undefined', undefined],
  ['null', null],
  ['NaN', Number.NaN],
  ['Infinity', Number.POSITIVE_INFINITY],
  ['-Infinity', Number.NEGATIVE_INFINITY],
  ['-1', -1],
  ['0.5', 0.5],
  ['2^53', 2 ** 53],
  ['2^64', 2 ** 64],
  ['-2^53', -(2 ** 53)],
  ['string "3"', '3'],
  ['bigint 3n', 3n],
  ['true', true],
  ['{}', {}],
  ['Object.create(null)', Object.create(null)],
  ['symbol', Symbol('x')],
  ['function', () => 3],
  ['empty string', ''],
  ['"zz"', 'zz'],
  ['63 hex', 'a'.repeat(63)],
  ['65 hex', 'a'.repeat(65)],
  ['128 hex', 'a'.repeat(128)],
  ['64 chars with a g', `${'a'.repeat(63)}g`],
  ['64 chars with a lone surrogate', `${'a'.repeat(63)}\ud800`],
  ['__proto__', '__proto__'],
  ['1 MB string', 'a'.repeat(1_000_000)],
  ['Buffer of 32 bytes', Buffer.alloc(32)],
  ['revoked proxy', revokedProxy()],
  ['proxy with throwing traps', throwingGetters()],
  ['array with throwing element', arrayWithThrowingElement()],
  ['sparse array of length 1e9', new Array(1e9)],
  ['array-like object', { length: 2, 0: '00'.repeat(32), 1: '00'.repeat(32) }],
  ['[null]', [null]],
  ['[123]', [123]],
  ['["zz"]', ['zz']],
  ['[{hash, position}] junk', [{ hash: 'zz', position: 'left' }]],
  ['[{hash, position: "LEFT"}]', [{ hash: '00'.repeat(32), position: 'LEFT' }]],
  ['[{position only}]', [{ position: 'right' }]],
  ['64 nested arrays', Array.from({ length: 64 }, () => [])],
];

describe('verify functions never throw and say false on garbage in any argument', () => {
  const i = 4;
  const size = 11;
  const rfcArgs = [events[i], i, size, rfc.inclusionProof(i), rfc.root(), 'rfc6962'];
  const dupArgs = [events[i], i, size, dup.inclusionProof(i), dup.root(), 'vcp-dup'];
  const leafArgs = [rfc.leaf(i), i, size, rfc.inclusionProof(i), rfc.root(), 'rfc6962'];
  const consArgs = [3, 11, rfc.root(3), rfc.root(), rfc.consistencyProof(3)];
  const call = (fn: (...a: unknown[]) => unknown, args: unknown[]) => fn(...args);

  it('the unmodified calls are true (so each false below is due to the garbage)', () => {
    expect(call(verifyInclusion as never, rfcArgs)).toBe(true);
    expect(call(verifyInclusion as never, dupArgs)).toBe(true);
    expect(call(verifyInclusionOfLeafHash as never, leafArgs)).toBe(true);
    expect(call(verifyConsistency as never, consArgs)).toBe(true);
    expect(call(rootFromInclusionProof as never, leafArgs.slice(0, 4))).toBe(rfc.root());
  });

  const cases: [string, (...a: unknown[]) => unknown, unknown[], boolean | undefined][] = [
    ['verifyInclusion rfc6962', verifyInclusion as never, rfcArgs, false],
    ['verifyInclusion vcp-dup', verifyInclusion as never, dupArgs, false],
    ['verifyInclusionOfLeafHash', verifyInclusionOfLeafHash as never, leafArgs, false],
    ['verifyConsistency', verifyConsistency as never, consArgs, false],
    [
      'rootFromInclusionProof',
      rootFromInclusionProof as never,
      [...leafArgs.slice(0, 4), 'rfc6962'],
      undefined,
    ],
  ];

  for (const [name, fn, args, bad] of cases) {
    it(`${name}: each argument replaced by each of ${GARBAGE.length} bad values`, () => {
      let checked = 0;
      for (let pos = 0; pos < args.length; pos++) {
        for (const [label, value] of GARBAGE) {
          const last = pos === args.length - 1;
          // An omitted mode means the default: not garbage for the rfc6962 calls.
          if (value === undefined && last && args[pos] === 'rfc6962') continue;
          const mutated = args.with(pos, value);
          let result: unknown;
          expect(() => {
            result = fn(...mutated);
          }, `${label} as argument ${pos}`).not.toThrow();
          expect(result, `${label} as argument ${pos}`).toBe(bad);
          checked++;
        }
      }
      expect(checked).toBeGreaterThan(GARBAGE.length * (args.length - 1));
    });
  }

  it('unknown modes are false, not a fallback to a default', () => {
    for (const mode of ['RFC6962', 'dup', 'sha256', '', null, 0, {}]) {
      expect(verifyInclusion(events[4]!, 4, 11, rfc.inclusionProof(4), rfc.root(), mode as never)).toBe(
        false,
      );
    }
  });

  it('index ≥ size, size 0, index = size − 1 with a foreign proof: false', () => {
    const p = rfc.inclusionProof(4);
    expect(verifyInclusion(events[4]!, 11, 11, p, rfc.root())).toBe(false);
    expect(verifyInclusion(events[4]!, 0, 0, [], rfc.root())).toBe(false);
    expect(verifyInclusion(events[4]!, 10, 11, p, rfc.root())).toBe(false);
    expect(verifyInclusion(events[4]!, 4, 11, dup.inclusionProof(4) as never, rfc.root())).toBe(false);
  });

  it('proofs longer than any tree can need (65 hashes) are refused before hashing', () => {
    const long = Array.from({ length: 65 }, () => '00'.repeat(32));
    expect(verifyInclusion(events[4]!, 4, 2 ** 53 - 1, long, rfc.root())).toBe(false);
    expect(verifyConsistency(1, 2 ** 53 - 1, rfc.root(1), rfc.root(), long)).toBe(false);
  });

  it('verifyConsistency: sizes out of order, equal sizes with a proof, wrong roots', () => {
    const r3 = rfc.root(3);
    const r11 = rfc.root();
    const p = rfc.consistencyProof(3);
    expect(verifyConsistency(11, 3, r11, r3, p)).toBe(false);
    expect(verifyConsistency(3, 3, r3, r3, p)).toBe(false);
    expect(verifyConsistency(3, 3, r3, r11, [])).toBe(false);
    expect(verifyConsistency(3, 3, r3, r3, [])).toBe(true);
    expect(verifyConsistency(3, 11, r3, r11, [])).toBe(false);
  });
});

describe('tree sizes up to 2^53 − 1 (virtual tree of identical leaves)', () => {
  // A tree whose leaves are all equal has perfect subtree hashes that depend on
  // the level only, so trees of any size can be "stored" in 53 hashes. Proof
  // making (top-down recursion) and checking (RFC 9162 bit walk) are different
  // algorithms, so agreement at huge sizes shows neither truncates to 32 bits.
  const perLevel: string[] = [createHash('sha256').update('leaf').digest('binary')];
  for (let k = 1; k <= 53; k++) perLevel.push(_nodeBin(perLevel[k - 1]!, perLevel[k - 1]!));
  const virtual: _PerfectNodes = { _node: (level) => perLevel[level]! };
  const leaf = _binToHex(perLevel[0]!);
  const hex = (b: string[]) => b.map(_binToHex);

  const sizes = [
    2 ** 31,
    2 ** 31 + 1,
    2 ** 32 - 1,
    2 ** 32,
    2 ** 32 + 3,
    2 ** 40 + 12345,
    2 ** 52 + 1,
    2 ** 53 - 1,
  ];

  it('inclusion proofs at the first, middle and last index verify, and fail one index over', () => {
    for (const size of sizes) {
      const root = _binToHex(_rootAt(virtual, size));
      for (const index of [0, Math.floor(size / 3), size - 2, size - 1]) {
        const proof = hex(_inclusionPath(virtual, index, size));
        expect(proof.length).toBeLessThanOrEqual(53);
        expect(verifyInclusionOfLeafHash(leaf, index, size, proof, root), `${index} of ${size}`).toBe(true);
      }
      // Wrong size for the last index's proof changes the walk, not only the numbers.
      const lastProof = hex(_inclusionPath(virtual, size - 1, size));
      expect(verifyInclusionOfLeafHash(leaf, size - 1, size + 1, lastProof, root)).toBe(false);
    }
  });

  it('consistency proofs between huge sizes verify', () => {
    for (const size of sizes) {
      const newRoot = _binToHex(_rootAt(virtual, size));
      for (const old of [1, 2 ** 31 - 1, Math.floor(size / 2) + 1, size - 1]) {
        const proof = hex(_consistencyPath(virtual, old, size));
        const oldRoot = _binToHex(_rootAt(virtual, old));
        expect(verifyConsistency(old, size, oldRoot, newRoot, proof), `${old} -> ${size}`).toBe(true);
      }
    }
  });

  it('vcp-dup proofs at huge sizes verify', () => {
    for (const size of sizes) {
      const root = _binToHex(_dupRootAt(virtual, size));
      for (const index of [0, size - 1, Math.floor(size / 2)]) {
        const steps = _dupInclusionPath(virtual, index, size).map((s) => ({
          hash: _binToHex(s.hash),
          position: s.left ? ('left' as const) : ('right' as const),
        }));
        expect(
          verifyInclusionOfLeafHash(leaf, index, size, steps, root, 'vcp-dup'),
          `${index} of ${size}`,
        ).toBe(true);
      }
    }
  });
});
