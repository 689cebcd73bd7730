/**
 * Question: what does an Ed25519 signature over a 32-byte EventHash cost through our `Signer`,
 * against raw node:crypto (the ceiling: DESIGN wants seal-with-signature ≥ 80 % of it) and
 * against pure-JS @noble/curves (the peer a user might pick)? Same for verification, and the
 * cost of building a KeyObject (why keys are loaded once and cached).
 * Run: `node bench/sign.ts` (BENCH_QUICK=1 for a short run).
 */

import * as nodeCrypto from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { exportPrivateKey, publicKeyFromRaw } from '../src/integrity/keys.ts';
import { createSigner, verifyEd25519, verifySignature } from '../src/integrity/sign.ts';
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

/** Run every measurement and print the tables and ratios. */
export async function run(): Promise<void> {
  const { privateKey } = nodeCrypto.generateKeyPairSync('ed25519');
  const signer = createSigner(privateKey);
  const seed = Buffer.from(exportPrivateKey(privateKey, 'hex'), 'hex');
  const pubRaw = Buffer.from(signer.exportPublicKey('hex'), 'hex');
  const pubPem = signer.exportPublicKey('pem');

  const hashesHex = Array.from({ length: 64 }, (_, i) => nodeCrypto.hash('sha256', `event ${i}`, 'hex'));
  const hashes = hashesHex.map((x) => Buffer.from(x, 'hex'));
  const sigsB64 = hashesHex.map((x) => signer.sign(x));
  const sigs = sigsB64.map((s) => Buffer.from(s, 'base64'));
  const mask = hashes.length - 1;

  // Every contender must agree before its speed means anything (Ed25519 is deterministic).
  for (let i = 0; i < 4; i++) {
    if (!Buffer.from(ed25519.sign(hashes[i]!, seed)).equals(sigs[i]!))
      throw new Error('noble signs differently');
    if (!ed25519.verify(sigs[i]!, hashes[i]!, pubRaw, { zip215: false }))
      throw new Error('noble rejects ours');
    if (!verifySignature(hashesHex[i], sigsB64[i], signer.publicKey)) throw new Error('we reject ours');
  }

  const sign = compare([
    ['crypto.sign (raw, KeyObject)', (i) => nodeCrypto.sign(null, hashes[i & mask]!, privateKey)],
    ['Signer.sign(hex) → base64', (i) => signer.sign(hashesHex[i & mask]!)],
    ['Signer.signBytes(bytes)', (i) => signer.signBytes(hashes[i & mask]!)],
    ['noble ed25519.sign', (i) => ed25519.sign(hashes[i & mask]!, seed)],
  ]) as [Measurement, Measurement, Measurement, Measurement];
  report('Ed25519 sign, 32-byte hash', sign, sign[0]);
  ratioLine('Signer.sign rate / crypto.sign rate', sign[0].nsPerOp, sign[1].nsPerOp, '≥ 0.8 (wrapper cost)');
  ratioLine('noble / Signer.sign (time)', sign[3].nsPerOp, sign[1].nsPerOp);

  const verify = compare([
    [
      'crypto.verify (raw, KeyObject)',
      (i) => nodeCrypto.verify(null, hashes[i & mask]!, signer.publicKey, sigs[i & mask]!),
    ],
    [
      'verifySignature(hex, b64, KeyObject)',
      (i) => verifySignature(hashesHex[i & mask], sigsB64[i & mask], signer.publicKey),
    ],
    [
      'verifySignature(hex, b64, PEM text)',
      (i) => verifySignature(hashesHex[i & mask], sigsB64[i & mask], pubPem),
    ],
    ['verifyEd25519(bytes, bytes, raw key)', (i) => verifyEd25519(hashes[i & mask], sigs[i & mask], pubRaw)],
    [
      'noble ed25519.verify (zip215:false)',
      (i) => ed25519.verify(sigs[i & mask]!, hashes[i & mask]!, pubRaw, { zip215: false }),
    ],
  ]) as [Measurement, Measurement, Measurement, Measurement, Measurement];
  report('Ed25519 verify, 32-byte hash', verify, verify[0]);
  ratioLine('verifySignature rate / crypto.verify rate', verify[0].nsPerOp, verify[1].nsPerOp);
  ratioLine('noble / verifySignature (time)', verify[4].nsPerOp, verify[1].nsPerOp);

  const keys = compare([
    ['publicKeyFromRaw (new KeyObject, strict checks)', () => publicKeyFromRaw(pubRaw)],
    ['crypto.createPublicKey(PEM)', () => nodeCrypto.createPublicKey(pubPem)],
  ]);
  report('Building a public KeyObject (why loaded keys are cached)', [...keys, verify[0]], verify[0]);
}

if (import.meta.main) await run();
