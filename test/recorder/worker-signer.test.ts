import * as nodeCrypto from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { VcpConfigError, VcpCryptoError } from '../../src/core/errors.ts';
import { createSigner, verifySignature } from '../../src/integrity/sign.ts';
import { createTestRecorder } from '../../src/recorder/test-recorder.ts';
import { type BatchSigner, createWorkerSigner, isBatchSigner } from '../../src/recorder/worker-signer.ts';
import { verifyRecords } from '../../src/verify/index.ts';
import { orderIds } from '../sinks/_helpers.ts';

const signers: BatchSigner[] = [];
afterEach(async () => {
  for (const s of signers.splice(0)) await s.close();
});
function make(threads = 1): { signer: BatchSigner; key: nodeCrypto.KeyObject } {
  const { privateKey } = nodeCrypto.generateKeyPairSync('ed25519');
  const signer = createWorkerSigner(privateKey, { threads });
  signers.push(signer);
  return { signer, key: privateKey };
}
const hashes = (n: number) => Array.from({ length: n }, (_, i) => nodeCrypto.hash('sha256', `e${i}`, 'hex'));

describe('createWorkerSigner', () => {
  it('signs on worker threads exactly what the main-thread signer signs (Ed25519 is deterministic)', async () => {
    const { signer, key } = make(2);
    const local = createSigner(key);
    expect(signer.keyId).toBe(local.keyId);
    const hs = hashes(50);
    const [a, b] = await Promise.all([signer.signMany(hs.slice(0, 25)), signer.signMany(hs.slice(25))]);
    const sigs = [...a, ...b];
    expect(sigs).toEqual(hs.map((h) => local.sign(h)));
    for (let i = 0; i < hs.length; i++) expect(verifySignature(hs[i], sigs[i], signer.publicKey)).toBe(true);
    expect(signer.sign(hs[0]!)).toBe(sigs[0]);
    expect(isBatchSigner(signer)).toBe(true);
    expect(isBatchSigner(local)).toBe(false);
  });

  it('refuses malformed hashes and bad options; after close it signs on the calling thread', async () => {
    const { signer } = make();
    await expect(signer.signMany(['abc'])).rejects.toBeInstanceOf(VcpCryptoError);
    expect(await signer.signMany([])).toEqual([]);
    await signer.close();
    const hs = hashes(3);
    expect(await signer.signMany(hs)).toEqual(hs.map((h) => signer.sign(h)));
    expect(() =>
      createWorkerSigner(nodeCrypto.generateKeyPairSync('ed25519').privateKey, { threads: 0 }),
    ).toThrow(VcpConfigError);
    expect(JSON.stringify(signer)).not.toMatch(/PRIVATE|"d"/);
  });

  it('a recorder with a worker signer writes signed events in capture order', async () => {
    const { signer } = make();
    const { recorder, sink } = createTestRecorder({ signer, chain: true, batchSize: 16 });
    for (let i = 0; i < 200; i++) {
      recorder.record('ORD', { trade_data: { order_id: `O-${i}`, price: '1.0850', quantity: '100000' } });
    }
    await recorder.flush();
    expect(orderIds(sink.events)).toEqual(Array.from({ length: 200 }, (_, i) => `O-${i}`));
    const report = await verifyRecords(sink.events, { publicKeys: [signer.publicKey] });
    expect(report.verdict).not.toBe('INVALID');
    expect(report.checks.signature.passed).toBe(200);
  });

  it('if the workers are gone the recorder still signs every event', async () => {
    const { signer } = make();
    await signer.close();
    const { recorder, sink } = createTestRecorder({ signer });
    for (let i = 0; i < 20; i++) recorder.record('ORD', { trade_data: { order_id: `O-${i}` } });
    await recorder.flush();
    expect(
      sink.events.every((e) =>
        verifySignature(e.security.event_hash, e.security.signature, signer.publicKey),
      ),
    ).toBe(true);
  });
});
