/**
 * Question: what does hashing an event cost on each back end, and is `digestHex` as fast as the
 * best raw node:crypto call? EventHash-sized input (~1 KB JCS string), a 65-byte Merkle node
 * (0x01 ‖ left ‖ right) and 64 KiB of bytes (throughput).
 *
 * Compares: node:crypto `createHash().update().digest()` (the usual idiom), the one-shot
 * `crypto.hash()` (Node ≥ 21.7), our `digestHex`/`digest`, and @noble/hashes (pure JS) for
 * SHA-256, SHA3-256 and BLAKE3.
 * Run: `node bench/hash.ts` (BENCH_QUICK=1 for a short run).
 */

import * as nodeCrypto from 'node:crypto';
import { blake3 } from '@noble/hashes/blake3.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { sha3_256 } from '@noble/hashes/sha3.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { digest, digestHex } from '../src/integrity/digest.ts';
import { type Measurement, type MeasureOptions, measure, ratioLine, report } from './_harness.ts';

/**
 * Measure contenders in interleaved rounds and keep each one's best median: on a shared
 * 2-core machine a single pass mostly measures whoever else was busy at that moment.
 */
function compare(contenders: [string, (i: number) => unknown][], opts: MeasureOptions = {}): Measurement[] {
  const rounds = process.env.BENCH_QUICK === '1' ? 1 : 3;
  const best = new Map<string, Measurement>();
  for (let r = 0; r < rounds; r++) {
    for (const [name, fn] of r % 2 ? [...contenders].reverse() : contenders) {
      const m = measure(name, fn, { timeMs: 700, ...opts });
      const prev = best.get(name);
      if (!prev || m.nsPerOp < prev.nsPerOp) best.set(name, m);
    }
  }
  return contenders.map(([name]) => best.get(name)!);
}

/** ~1 KB canonical (JCS) header ‖ payload text of an order event, varied by `i`. */
function eventText(i: number): string {
  const header = `{"account_id":"ACC-7781-PRIME","clock_sync_status":"PTP_LOCKED","event_id":"019b4f2e-8c1a-7d3e-9f${String(i % 100).padStart(2, '0')}-2c3d4e5f6071","event_type":"ORD","event_type_code":2,"hash_algo":"SHA256","symbol":"EURUSD","timestamp_int":"17350848001234${String(i % 100000).padStart(5, '0')}","timestamp_iso":"2024-12-25T00:00:00.123456789Z","timestamp_precision":"NANOSECOND","trace_id":"019b4f2e-8c19-7a01-b2c3-d4e5f6a7b8c9","vcp_version":"1.1","venue_id":"XLON"}`;
  const payload = `{"risk_snapshot":{"exposure":"1250000.00","max_position":"5000000","var_95":"18250.75","checks":["MAX_ORDER_SIZE","PRICE_COLLAR","FAT_FINGER"]},"trade_data":{"algo_id":"TWAP-EU-07","client_order_id":"C-88421-A","currency":"USD","order_id":"ORD-2024-12-25-${String(i).padStart(6, '0')}","order_type":"LIMIT","price":"1.0850","quantity":"100000","side":"BUY","strategy":"mean-reversion-v3","time_in_force":"GTC","trader_id":"T-0042","note":"rebalance after ECB fixing; child 3 of 12"}}`;
  const prev = 'a3f1c2d4e5b6a7980123456789abcdef0123456789abcdef0123456789abcdef';
  return header + payload + prev;
}

/** Run every measurement and print the tables and ratios. */
export async function run(): Promise<void> {
  const pool = Array.from({ length: 64 }, (_, i) => eventText(i));
  const mask = pool.length - 1;
  const bytes = Buffer.byteLength(pool[0]!);
  // Every contender must agree before its speed means anything.
  for (const s of pool.slice(0, 4)) {
    const want = bytesToHex(sha256(utf8ToBytes(s)));
    if (digestHex('SHA256', s) !== want || nodeCrypto.hash('sha256', s) !== want)
      throw new Error('SHA256 disagrees');
    if (digestHex('SHA3_256', s) !== bytesToHex(sha3_256(utf8ToBytes(s))))
      throw new Error('SHA3_256 disagrees');
    if (digestHex('BLAKE3', s) !== bytesToHex(blake3(utf8ToBytes(s)))) throw new Error('BLAKE3 disagrees');
  }

  // --- SHA-256 of an event string ---------------------------------------
  const sha = compare([
    [
      'createHash sha256 → hex',
      (i) =>
        nodeCrypto
          .createHash('sha256')
          .update(pool[i & mask]!, 'utf8')
          .digest('hex'),
    ],
    ['crypto.hash sha256 → hex', (i) => nodeCrypto.hash('sha256', pool[i & mask]!, 'hex')],
    ["digestHex('SHA256')", (i) => digestHex('SHA256', pool[i & mask]!)],
    ['noble sha256 → hex', (i) => bytesToHex(sha256(utf8ToBytes(pool[i & mask]!)))],
  ]) as [Measurement, Measurement, Measurement, Measurement];
  report(`SHA-256, ${bytes}-byte event string → hex`, sha, sha[0]);
  ratioLine('createHash / crypto.hash (one-shot speed-up)', sha[0].nsPerOp, sha[1].nsPerOp);
  ratioLine('digestHex / crypto.hash (our overhead)', sha[2].nsPerOp, sha[1].nsPerOp, '≈ 1×');
  ratioLine('noble / digestHex', sha[3].nsPerOp, sha[2].nsPerOp);

  // --- SHA3-256 ----------------------------------------------------------
  const sha3 = compare([
    [
      'createHash sha3-256 → hex',
      (i) =>
        nodeCrypto
          .createHash('sha3-256')
          .update(pool[i & mask]!, 'utf8')
          .digest('hex'),
    ],
    ["digestHex('SHA3_256')", (i) => digestHex('SHA3_256', pool[i & mask]!)],
    ['noble sha3_256 → hex', (i) => bytesToHex(sha3_256(utf8ToBytes(pool[i & mask]!)))],
  ]) as [Measurement, Measurement, Measurement];
  report(`SHA3-256, ${bytes}-byte event string → hex`, sha3, sha3[0]);
  ratioLine('noble / digestHex', sha3[2].nsPerOp, sha3[1].nsPerOp);

  // --- BLAKE3 (noble only: node:crypto has none) ------------------------
  const [b3, s256] = compare([
    ["digestHex('BLAKE3') (noble)", (i) => digestHex('BLAKE3', pool[i & mask]!)],
    ["digestHex('SHA256')", (i) => digestHex('SHA256', pool[i & mask]!)],
  ]) as [Measurement, Measurement];
  report(`BLAKE3, ${bytes}-byte event string → hex`, [b3, s256], s256);
  ratioLine("BLAKE3 / digestHex('SHA256')", b3.nsPerOp, s256.nsPerOp);

  // --- A 65-byte Merkle node, bytes in → bytes out ------------------------
  const nodes = Array.from({ length: 64 }, () => {
    const b = nodeCrypto.randomBytes(65);
    b[0] = 0x01; // RFC 6962 node prefix
    return b;
  });
  const merkle = compare([
    [
      'createHash sha256 → Buffer',
      (i) =>
        nodeCrypto
          .createHash('sha256')
          .update(nodes[i & mask]!)
          .digest(),
    ],
    ['crypto.hash sha256 → Buffer', (i) => nodeCrypto.hash('sha256', nodes[i & mask]!, 'buffer')],
    ['crypto.hash sha256 → hex', (i) => nodeCrypto.hash('sha256', nodes[i & mask]!, 'hex')],
    ["digest('SHA256')", (i) => digest('SHA256', nodes[i & mask]!)],
    ['noble sha256', (i) => sha256(nodes[i & mask]!)],
  ]) as [Measurement, Measurement, Measurement, Measurement, Measurement];
  report('SHA-256, 65-byte Merkle node (bytes in; hex row for reference)', merkle, merkle[0]);
  ratioLine("crypto.hash 'buffer' / digest (latin1 round trip)", merkle[1].nsPerOp, merkle[3].nsPerOp);
  ratioLine('noble / digest', merkle[4].nsPerOp, merkle[3].nsPerOp);

  // --- Throughput, 64 KiB -------------------------------------------------
  const big = nodeCrypto.randomBytes(64 * 1024);
  const tp = compare([
    ["digest('SHA256') 64 KiB", () => digest('SHA256', big)],
    ['noble sha256 64 KiB', () => sha256(big)],
    ["digest('SHA3_256') 64 KiB", () => digest('SHA3_256', big)],
    ['noble sha3_256 64 KiB', () => sha3_256(big)],
    ["digest('BLAKE3') 64 KiB", () => digest('BLAKE3', big)],
  ]);
  report('Throughput, 64 KiB', tp, tp[0]);
  for (const m of tp) console.log(`${m.name}: ${(big.length / m.nsPerOp).toFixed(2)} GB/s`); // bytes/ns = GB/s
}

if (import.meta.main) await run();
