/**
 * The browser's verification code (ui/lib/, WebCrypto) against this
 * package's Node implementations and shared vectors: the same roots,
 * consistency answers, checkpoint checks, event hashes, canonical JSON and
 * key ids — and the same refusals of malformed or tampered input. Node's
 * WebCrypto runs it here; the Chromium tests run it in the browser.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildEvent } from '../../src/core/builder.ts';
import { createPolicy } from '../../src/core/policy.ts';
import { canonicalize as nodeCanonicalize } from '../../src/integrity/canonical.ts';
import { createHashChain } from '../../src/integrity/chain.ts';
import { signCheckpoint } from '../../src/integrity/checkpoint/index.ts';
import { computeEventHash } from '../../src/integrity/event-hash.ts';
import { keyId } from '../../src/integrity/keys.ts';
import { MerkleTree } from '../../src/integrity/merkle/index.ts';
import { sealEvent } from '../../src/integrity/seal.ts';
import { generateSigningKey } from '../../src/integrity/sign.ts';
import { toHex } from '../../ui/lib/bytes.ts';
import { checkCheckpoint } from '../../ui/lib/checkpoint.ts';
import { recomputeEventHash } from '../../ui/lib/event-hash.ts';
import { verifyEvidence } from '../../ui/lib/evidence.ts';
import { canonicalize } from '../../ui/lib/jcs.ts';
import { parsePublicKey } from '../../ui/lib/keys.ts';
import { rootFromInclusion, verifyConsistency } from '../../ui/lib/merkle.ts';

const hashes = (n: number) =>
  Array.from({ length: n }, (_, i) => toHex(new Uint8Array(32).map((_, j) => (i * 31 + j * 7) & 255)));

describe('Merkle proofs (RFC 9162) in WebCrypto, against MerkleTree', () => {
  const leaves = hashes(40);
  const tree = new MerkleTree({ mode: 'rfc6962' });
  for (const h of leaves) tree.append(h);

  it('every inclusion proof of trees of 1..40 leaves leads to the same root', async () => {
    for (let size = 1; size <= 40; size++)
      for (let i = 0; i < size; i++)
        expect(await rootFromInclusion(leaves[i], i, size, tree.inclusionProof(i, size))).toBe(
          tree.root(size),
        );
  });

  it('a changed leaf, proof element, index or size leads elsewhere or nowhere', async () => {
    const proof = tree.inclusionProof(5, 13);
    const root = tree.root(13);
    const flip = (h: string) => (h[0] === '0' ? '1' : '0') + h.slice(1);
    expect(await rootFromInclusion(flip(leaves[5]!), 5, 13, proof)).not.toBe(root);
    expect(await rootFromInclusion(leaves[5], 5, 13, [flip(proof[0]!), ...proof.slice(1)])).not.toBe(root);
    expect(await rootFromInclusion(leaves[5], 4, 13, proof)).not.toBe(root);
    expect(await rootFromInclusion(leaves[5], 5, 17, proof)).not.toBe(root); // another depth
    expect(await rootFromInclusion(leaves[5], 5, 13, [...proof, proof[0]])).toBeUndefined();
    expect(await rootFromInclusion(leaves[5], 5, 13, proof.slice(1))).toBeUndefined();
    for (const bad of [null, 'x', [1], ['zz'], [proof[0]!.slice(2)], Array(65).fill(proof[0])])
      expect(await rootFromInclusion(leaves[5], 5, 13, bad)).toBeUndefined();
    for (const [i, n] of [
      [-1, 13],
      [13, 13],
      [0.5, 13],
      [0, 2 ** 53],
    ] as const)
      expect(await rootFromInclusion(leaves[0], i, n, proof)).toBeUndefined();
  });

  it('consistency between every pair of sizes up to 40 verifies; a changed proof or root does not', async () => {
    for (let m = 1; m <= 40; m++)
      for (let n = m; n <= 40; n += m < 8 ? 1 : 5) {
        const proof = tree.consistencyProof(m, n);
        expect(await verifyConsistency(m, n, tree.root(m), tree.root(n), proof)).toBe(true);
        if (m < n) {
          const bad = [...proof];
          bad[bad.length - 1] = bad[bad.length - 1]!.replace(/^./, (c) => (c === '0' ? '1' : '0'));
          expect(await verifyConsistency(m, n, tree.root(m), tree.root(n), bad)).toBe(false);
          expect(await verifyConsistency(m, n, tree.root(m), tree.root(m), proof)).toBe(false);
        }
      }
    expect(await verifyConsistency(0, 3, tree.root(1), tree.root(3), [])).toBe(false);
    expect(await verifyConsistency(5, 3, tree.root(5), tree.root(3), [])).toBe(false);
  });
});

describe('checkpoints (C2SP signed notes) in WebCrypto Ed25519', () => {
  const signer = generateSigningKey();
  const note = signCheckpoint(
    { origin: 'vcp-instrument/test/x', treeSize: 7, rootHex: 'ab'.repeat(32), time: new Date(0) },
    signer,
  );

  it('the pinned key verifies what the package signs; PEM, hex, base64 and JWK give the same key id as keyId()', async () => {
    const forms = [
      signer.exportPublicKey('pem'),
      signer.exportPublicKey('hex'),
      Buffer.from(signer.exportPublicKey('hex'), 'hex').toString('base64'),
      JSON.stringify(signer.exportPublicKey('jwk')),
    ];
    for (const f of forms) {
      const key = await parsePublicKey(f);
      expect(key.keyId).toBe(keyId(signer.publicKey));
      const r = await checkCheckpoint(note, key);
      expect(r.ok).toBe(true);
      if (r.ok)
        expect(r.checkpoint).toMatchObject({ treeSize: 7, rootHex: 'ab'.repeat(32), mode: 'rfc6962' });
    }
    await expect(parsePublicKey('not a key')).rejects.toThrow(/not an Ed25519 public key/);
    // A small-order point (here the identity) is a key anyone can forge for: refused, as keys.ts refuses it.
    await expect(parsePublicKey(`01${'00'.repeat(31)}`)).rejects.toThrow(/weak/);
  });

  it('another key, an edited text, a cut or garbled signature: not verified, with the reason', async () => {
    const key = await parsePublicKey(signer.exportPublicKey('hex'));
    const other = await parsePublicKey(generateSigningKey().exportPublicKey('hex'));
    expect(await checkCheckpoint(note, other)).toMatchObject({
      ok: false,
      reason: expect.stringContaining('not by the pinned key'),
    });
    const edited = note.replace('\n7\n', '\n8\n');
    expect(await checkCheckpoint(edited, key)).toMatchObject({
      ok: false,
      reason: expect.stringContaining('does not verify'),
    });
    // Same key name, signature of another key: the key hash does not match, so it is not "ours".
    const forged = signCheckpoint(
      { origin: 'vcp-instrument/test/x', treeSize: 7, rootHex: 'ab'.repeat(32), time: new Date(0) },
      generateSigningKey(),
    );
    expect((await checkCheckpoint(forged, key)).ok).toBe(false);
    for (const bad of [undefined, 42, '', note.slice(0, -1), note.replace('\n\n', '\n'), 'x'.repeat(20_000)])
      expect((await checkCheckpoint(bad, key)).ok).toBe(false);
    // A garbled signature: one bit of its last byte flipped (always a change; writing 'AAA=' over the
    // last base64 group changed nothing when the signature's last two bytes were zero, 1 run in ~4096).
    const sigLine = note.trimEnd().split('\n').pop()!;
    const [dash, name, b64] = sigLine.split(' ') as [string, string, string];
    const blob = Buffer.from(b64, 'base64');
    blob[blob.length - 1]! ^= 0x01;
    const garbled = note.replace(sigLine, `${dash} ${name} ${blob.toString('base64')}`);
    expect(garbled).not.toBe(note);
    expect(await checkCheckpoint(garbled, key)).toMatchObject({
      ok: false,
      reason: expect.stringContaining('does not verify'),
    });
  });
});

describe('event hashes and canonical JSON in the browser code', () => {
  it('recomputes the EventHash the sealer wrote, chained or not', async () => {
    const policy = createPolicy({ policyId: 'com.example.trading:ui', tier: 'GOLD', hashChain: true });
    const chain = createHashChain();
    for (let i = 0; i < 20; i++) {
      const e = sealEvent(
        buildEvent(
          'ORD',
          { trade_data: { order_id: `O-${i}`, price: '1.0850', quantity: '100', note: 'é\u2028𝄞' } },
          {
            policy,
            venueId: 'XLON',
            accountId: 'A',
            symbol: 'EURUSD',
          },
        ),
        { chain },
      );
      const wire = JSON.parse(JSON.stringify(e));
      const r = await recomputeEventHash(wire);
      expect(r).toEqual({ hash: e.security.event_hash });
      expect(e.security.event_hash).toBe(
        computeEventHash(e, e.security.prev_hash ? { prevHash: e.security.prev_hash } : {}),
      );
    }
    expect(
      await recomputeEventHash({ header: { hash_algo: 'SHA3_256' }, payload: {}, security: {} }),
    ).toHaveProperty('error');
  });

  it('canonical JSON equals the Node canonicaliser on the RFC 8785 vectors and refuses what it refuses', () => {
    const dir = path.join(import.meta.dirname, '../vectors/data/jcs/cyberphone');
    for (const name of readdirSync(path.join(dir, 'input')).filter((f) => f.endsWith('.json'))) {
      const input = JSON.parse(readFileSync(path.join(dir, 'input', name), 'utf8'));
      expect(canonicalize(input)).toBe(readFileSync(path.join(dir, 'output', name), 'utf8').trimEnd());
      expect(canonicalize(input)).toBe(nodeCanonicalize(input));
    }
    expect(() => canonicalize({ a: '\ud800' })).toThrow(/lone surrogate/);
    expect(() => canonicalize({ a: Number.NaN })).toThrow(/finite/);
  });
});

describe('verifyEvidence: the whole local check of one event', () => {
  it('passes for a real event, proof and checkpoint; names the step that fails for each edit', async () => {
    const signer = generateSigningKey();
    const key = await parsePublicKey(signer.exportPublicKey('hex'));
    const policy = createPolicy({ policyId: 'com.example.trading:ui', tier: 'GOLD' });
    const events = Array.from({ length: 9 }, (_, i) =>
      JSON.parse(
        JSON.stringify(
          sealEvent(
            buildEvent(
              'ORD',
              { trade_data: { order_id: `O-${i}` } },
              { policy, venueId: 'X', accountId: 'A', symbol: 'S' },
            ),
            {
              signer,
            },
          ),
        ),
      ),
    );
    const tree = new MerkleTree({ mode: 'rfc6962' });
    events.forEach((e, i) => {
      tree.append(e.security.event_hash);
      e.security.merkle_index = i;
    });
    const note = signCheckpoint({ origin: 'o', treeSize: 9, rootHex: tree.root(9) }, signer);
    const ev = events[4];
    const proof = () => ({
      event_id: ev.header.event_id,
      event_hash: ev.security.event_hash,
      merkle_index: 4,
      tree_size: 9,
      merkle_mode: 'rfc6962',
      proof: tree.inclusionProof(4, 9),
    });
    const good = await verifyEvidence(ev, proof(), note, key);
    expect(good.verified).toBe(true);
    expect(good.steps.map((s) => s.what)).toEqual([
      'event hash',
      'proof names this event',
      'checkpoint signature',
      'inclusion proof',
      'event signature',
    ]);
    const failing = async (e: unknown, p: unknown, n = note) =>
      (await verifyEvidence(e as never, p as never, n, key)).steps
        .filter((s) => s.required && !s.ok)
        .map((s) => s.what);
    expect(await failing({ ...ev, payload: { trade_data: { order_id: 'O-X' } } }, proof())).toEqual([
      'event hash',
    ]);
    expect(await failing(ev, { ...proof(), proof: tree.inclusionProof(3, 9) })).toEqual(['inclusion proof']);
    expect(await failing(ev, { ...proof(), tree_size: 8, proof: tree.inclusionProof(4, 8) })).toEqual([
      'inclusion proof',
    ]);
    expect(await failing(ev, { ...proof(), event_hash: events[3].security.event_hash })).toContain(
      'proof names this event',
    );
    expect(
      await failing(
        ev,
        proof(),
        signCheckpoint({ origin: 'o', treeSize: 9, rootHex: tree.root(9) }, generateSigningKey()),
      ),
    ).toEqual(['checkpoint signature']);
    expect(
      await failing(
        { ...ev, security: { ...ev.security, signature: events[3].security.signature } },
        proof(),
      ),
    ).toEqual(['event signature']);
  });
});

describe('anchor records checked in the browser', () => {
  it('signed by the pinned key over the checkpoint root: ok; another key, root or signature: not', async () => {
    const { makeSignedExport } = await import('../helpers/signed-export.ts');
    const { checkAnchorRecord } = await import('../../ui/lib/anchor.ts');
    const ex = makeSignedExport({ n: 8, anchorEvery: 4 });
    const a = JSON.parse(JSON.stringify(ex.anchors[0]));
    const key = await parsePublicKey(ex.signer.exportPublicKey('hex'));
    const note: string = a.checkpoint;
    const r = await checkCheckpoint(note, key);
    if (!r.ok) throw new Error(r.reason);
    expect(await checkAnchorRecord(a, r.checkpoint, key)).toMatchObject({ ok: true });
    const other = await parsePublicKey(generateSigningKey().exportPublicKey('hex'));
    expect((await checkAnchorRecord(a, r.checkpoint, other)).ok).toBe(false);
    expect((await checkAnchorRecord({ ...a, merkle_root: 'ab'.repeat(32) }, r.checkpoint, key)).ok).toBe(
      false,
    );
    const sig = Buffer.from(a.signature, 'base64');
    sig[5]! ^= 1;
    expect((await checkAnchorRecord({ ...a, signature: sig.toString('base64') }, r.checkpoint, key)).ok).toBe(
      false,
    );
    expect((await checkAnchorRecord({ ...a, tree_size: 5 }, r.checkpoint, key)).ok).toBe(false);
  });
});
