/**
 * Question: what does the Merkle layer cost per event, and does it stay
 * O(log n) at a million leaves? Appends, root() after every append, root of an
 * arbitrary earlier size, inclusion and consistency proofs (make and check) at
 * 1M leaves, and the vcp-dup mode.
 *
 * Peers: the floor — one node:crypto SHA-256 of a 65-byte node (DESIGN: ~0.54 µs
 * into a Buffer; the tree asks for a latin1 string, which skips the Buffer and
 * is ~3× cheaper; an append costs about two: the leaf and, amortised, one parent) — and
 * the naive way, rebuilding the root from all leaves (the RFC 6962 MTH
 * recursion of test/reference/merkle-reference.ts).
 * Run: `node bench/merkle.ts` (BENCH_QUICK=1 for a short run).
 */

import * as nodeCrypto from 'node:crypto';
import { MerkleTree, verifyConsistency, verifyInclusion } from '../src/integrity/merkle/index.ts';
import { refMth } from '../test/reference/merkle-reference.ts';
import { blackhole, fmtNs, fmtOps, measure, ratioLine, report } from './_harness.ts';

const MILLION = 1_000_000;

/** Run every measurement and print the tables and ratios. */
export async function run(): Promise<void> {
  const POOL = 1 << 16;
  const mask = POOL - 1;
  const pool = Array.from({ length: POOL }, (_, i) => nodeCrypto.hash('sha256', `event ${i}`, 'hex'));
  const rand = (n: number) => Array.from({ length: 4096 }, () => Math.floor(Math.random() * n));

  // --- Floor: one SHA-256 of a 65-byte node -----------------------------------
  const node = nodeCrypto.randomBytes(65);
  node[0] = 1;
  const floor = [
    measure('createHash sha256, 65 B', () => nodeCrypto.createHash('sha256').update(node).digest()),
    measure('crypto.hash sha256, 65 B → Buffer', () => nodeCrypto.hash('sha256', node, 'buffer')),
    // What the tree uses: a digest as a 32-char latin1 string needs no ArrayBuffer.
    measure('crypto.hash sha256, 65 B → latin1 string', () => nodeCrypto.hash('sha256', node, 'binary')), // 'binary' = latin1
  ] as const;
  report('Floor: one Merkle node hash', [...floor], floor[0]);

  // --- Bulk: 1M appends, timed end to end --------------------------------------
  const tree = new MerkleTree();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < MILLION; i++) tree.append(pool[i & mask]!);
  const bulkNs = Number(process.hrtime.bigint() - t0) / MILLION;
  console.log(
    `\n## 1M appends into one tree: ${fmtNs(bulkNs)}/append, ${fmtOps(1e9 / bulkNs)} ` +
      `(${(bulkNs / floor[2].nsPerOp).toFixed(2)} × one crypto.hash node → latin1; ~2 hashes/append amortised)`,
  );
  const rss = process.memoryUsage();
  console.log(
    `memory after 1M leaves: rss ${(rss.rss / 2 ** 20).toFixed(0)} MiB, arrayBuffers ${(rss.arrayBuffers / 2 ** 20).toFixed(0)} MiB`,
  );

  // --- Append cost does not grow with n ------------------------------------------
  const fresh = new MerkleTree();
  const appendSmall = measure('append, tree from 0 leaves', (i) => fresh.append(pool[i & mask]!));
  const appendBig = measure('append, tree from 1M leaves', (i) => tree.append(pool[i & mask]!));
  const withRoot = new MerkleTree();
  const appendRoot = measure('append + root() each time', (i) => {
    withRoot.append(pool[i & mask]!);
    return withRoot.root();
  });
  report('Append', [appendSmall, appendBig, appendRoot], floor[2]);
  ratioLine('append at ≥1M / append from 0 (O(log n): ≈ 1)', appendBig.nsPerOp, appendSmall.nsPerOp, '≈ 1×');
  ratioLine('root() cost added per append', appendRoot.nsPerOp - appendSmall.nsPerOp, floor[2].nsPerOp);

  // --- Queries at 1M leaves (the tree now holds somewhat more; ask at exactly 1M) -
  const n = MILLION;
  const idx = rand(n);
  const olds = idx.map((i) => Math.max(1, i));
  const root = tree.root(n);
  const proofs = idx.slice(0, 256).map((i) => tree.inclusionProof(i, n));
  const cons = olds.slice(0, 256).map((m) => tree.consistencyProof(m, n));
  const oldRoots = olds.slice(0, 256).map((m) => tree.root(m));
  for (let k = 0; k < 256; k++) {
    if (!verifyInclusion(pool[idx[k]! & mask]!, idx[k]!, n, proofs[k]!, root))
      throw new Error('inclusion broken');
    if (!verifyConsistency(olds[k]!, n, oldRoots[k]!, root, cons[k]!)) throw new Error('consistency broken');
  }
  const q = [
    measure('root(m), arbitrary m ≤ 1M (uncached)', (i) => tree._rootBin(1 + idx[i & 4095]!)),
    measure('inclusionProof(i, 1M) → hex[]', (i) => tree.inclusionProof(idx[i & 4095]!, n)),
    measure('verifyInclusion at 1M (20 hashes)', (i) => {
      const k = i & 255;
      return verifyInclusion(pool[idx[k]! & mask]!, idx[k]!, n, proofs[k]!, root);
    }),
    measure('consistencyProof(m, 1M) → hex[]', (i) => tree.consistencyProof(olds[i & 4095]!, n)),
    measure('verifyConsistency(m, 1M)', (i) => {
      const k = i & 255;
      return verifyConsistency(olds[k]!, n, oldRoots[k]!, root, cons[k]!);
    }),
  ];
  report('Queries on a 1M-leaf rfc6962 tree', q, floor[2]);

  // --- vcp-dup compatibility mode --------------------------------------------------
  const dup = new MerkleTree({ mode: 'vcp-dup' });
  for (let i = 0; i < MILLION; i++) dup.append(pool[i & mask]!);
  const dupRoot = dup.root(n);
  const dupProofs = idx.slice(0, 256).map((i) => dup.inclusionProof(i, n));
  const d = [
    measure('vcp-dup root(m), arbitrary m ≤ 1M', (i) => dup._rootBin(1 + idx[i & 4095]!)),
    measure('vcp-dup inclusionProof(i, 1M)', (i) => dup.inclusionProof(idx[i & 4095]!, n)),
    measure('vcp-dup verifyInclusion at 1M', (i) => {
      const k = i & 255;
      return verifyInclusion(pool[idx[k]! & mask]!, idx[k]!, n, dupProofs[k]!, dupRoot, 'vcp-dup');
    }),
  ];
  report('vcp-dup mode, 1M leaves', d, floor[2]);

  // --- Peer: rebuild the root from the leaves ----------------------------------------
  const SMALL = 1024;
  const leafData = pool.slice(0, SMALL).map((h) => Buffer.from(h, 'hex'));
  const small = MerkleTree.fromLeaves(pool.slice(0, SMALL));
  if (small.root() !== refMth(leafData).toString('hex')) throw new Error('reference disagrees');
  const peer = [
    measure(`naive MTH rebuild, ${SMALL} leaves`, () => refMth(leafData), { batch: 4 }),
    measure(
      `MerkleTree.fromLeaves(${SMALL}).root()`,
      () => MerkleTree.fromLeaves(pool.slice(0, SMALL)).root(),
      {
        batch: 4,
      },
    ),
    measure(`root(m) on a built tree, m ≤ ${SMALL}`, (i) => small._rootBin(1 + (idx[i & 4095]! % SMALL))),
  ];
  report(`Root of ${SMALL} leaves: rebuild vs incremental`, peer, peer[0]);
  ratioLine('naive rebuild / incremental root(m)', peer[0]!.nsPerOp, peer[2]!.nsPerOp);
  blackhole(tree.size + dup.size);
}

if (import.meta.main) await run();
