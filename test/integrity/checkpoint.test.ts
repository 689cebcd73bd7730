import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  findTrustedNoteSignature,
  metaHash,
  noteKeyHash,
  noteVerifierKey,
  parseCheckpointText,
  parseSignedNote,
  signCheckpoint,
  signNote,
  verifyCheckpoint,
} from '../../src/integrity/checkpoint/index.ts';
import { publicKeyFromRaw } from '../../src/integrity/keys.ts';
import { createSigner, generateSigningKey } from '../../src/integrity/sign.ts';

const vectors = JSON.parse(
  readFileSync(new URL('../vectors/data/signed-note/signed_note_vectors.json', import.meta.url), 'utf8'),
) as { vectors: Record<string, unknown>[] };
const byId = <T>(id: string): T => vectors.vectors.find((v) => String(v.id).startsWith(id)) as T;

/** Raw Ed25519 key of a C2SP verifier key `<name>+<hash>+<base64(0x01 ‖ key)>`. */
function vkeyRaw(vkey: string): { name: string; hash: string; raw: Buffer } {
  const [name, hash, b64] = vkey.split('+') as [string, string, string];
  const blob = Buffer.from(b64, 'base64');
  expect(blob[0]).toBe(1);
  return { name, hash, raw: blob.subarray(1) };
}

describe('C2SP signed-note vectors', () => {
  for (const id of ['c2sp-signed-note-example', 'go-sumdb-note-PeterNeumann']) {
    it(`${id}: key hash and signature verify`, () => {
      const v = byId(id) as { vkey: string; signedNote: string; text: string; expect: { keyId: string } };
      const { name, hash, raw } = vkeyRaw(v.vkey);
      expect(noteKeyHash(name, raw)).toBe(v.expect.keyId);
      expect(hash).toBe(v.expect.keyId);
      expect(noteVerifierKey(name, raw)).toBe(v.vkey);
      const note = parseSignedNote(v.signedNote);
      expect(note.text).toBe(v.text);
      const found = findTrustedNoteSignature(note, [publicKeyFromRaw(raw)]);
      expect(found?.name).toBe(name);
    });
  }

  it('EnochRoot signature line verifies over the same text', () => {
    const v = byId('go-sumdb-note-EnochRoot') as { vkey: string; text: string; signatureLine: string };
    const { raw } = vkeyRaw(v.vkey);
    const note = parseSignedNote(`${v.text}\n${v.signatureLine}`);
    expect(findTrustedNoteSignature(note, [publicKeyFromRaw(raw)])).toBeDefined();
  });

  it('PeterNeumann re-signs byte-identically (Ed25519 is deterministic)', () => {
    const v = byId('go-sumdb-note-PeterNeumann') as { seedHex: string; text: string; signedNote: string };
    const pkcs8 = Buffer.concat([
      Buffer.from('302e020100300506032b657004220420', 'hex'),
      Buffer.from(v.seedHex, 'hex'),
    ]);
    const signer = createSigner(createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }));
    expect(signNote(v.text, 'PeterNeumann', signer)).toBe(v.signedNote);
  });

  it('a changed text, a key under another name and a foreign key all fail', () => {
    const v = byId('go-sumdb-note-PeterNeumann') as { vkey: string; signedNote: string };
    const { raw } = vkeyRaw(v.vkey);
    const key = publicKeyFromRaw(raw);
    const changed = parseSignedNote(v.signedNote.replace('cryptography', 'cryptographY'));
    expect(findTrustedNoteSignature(changed, [key])).toBeUndefined();
    const renamed = parseSignedNote(v.signedNote.replace('\u2014 PeterNeumann', '\u2014 Mallory'));
    expect(findTrustedNoteSignature(renamed, [key])).toBeUndefined();
    expect(
      findTrustedNoteSignature(parseSignedNote(v.signedNote), [generateSigningKey().publicKey]),
    ).toBeUndefined();
  });

  it('reads the C2SP checkpoint with a cosignature (parse only)', () => {
    const v = byId('c2sp-checkpoint-with-cosignature') as {
      checkpoint: string;
      expect: { origin: string; treeSize: number; rootHashB64: string; logSig: { keyId: string } };
    };
    const note = parseSignedNote(v.checkpoint);
    const cp = parseCheckpointText(note.text);
    expect(cp.origin).toBe(v.expect.origin);
    expect(cp.treeSize).toBe(v.expect.treeSize);
    expect(Buffer.from(cp.rootHex, 'hex').toString('base64')).toBe(v.expect.rootHashB64);
    expect(cp.mode).toBe('rfc6962');
    // The cosignature blob is 4 + 8 + 64 bytes: skipped, not misread as an Ed25519 note signature.
    expect(note.signatures.map((s) => s.keyHash)).toEqual([v.expect.logSig.keyId]);
  });

  it('reads the Go sumdb tree note', () => {
    const v = byId<{ text: string }>('go-sumdb-tlog-tree-note');
    const cp = parseCheckpointText(v.text);
    expect(cp.treeSize).toBe(123456789012);
    expect(cp.origin).toBe('go.sum database tree');
  });
});

describe('vcp checkpoints', () => {
  const signer = generateSigningKey();
  const root = 'ab'.repeat(32);

  it('round-trips with mode, time, metadata hash and partition, naming the key that signed', () => {
    const meta = { from: 0, to: 12, merkle_mode: 'vcp-dup' };
    const note = signCheckpoint(
      {
        origin: 'vcp-instrument/test',
        treeSize: 12,
        rootHex: root,
        mode: 'vcp-dup',
        meta,
        partition: 3,
        time: new Date(0),
      },
      signer,
    );
    const v = verifyCheckpoint(note, [generateSigningKey().publicKey, signer.publicKey]);
    expect(v.ok).toBe(true);
    if (!v.ok) return;
    expect(v.keyId).toBe(signer.keyId);
    expect(v.checkpoint).toMatchObject({
      origin: 'vcp-instrument/test',
      treeSize: 12,
      rootHex: root,
      mode: 'vcp-dup',
      time: '1970-01-01T00:00:00.000Z',
      partition: 3,
      metaHash: metaHash({ to: 12, merkle_mode: 'vcp-dup', from: 0 }),
    });
  });

  it('fails for an untrusted key, a changed size, root or extension, and never throws on junk', () => {
    const note = signCheckpoint({ origin: 'o', treeSize: 5, rootHex: root }, signer);
    expect(verifyCheckpoint(note, [generateSigningKey().publicKey])).toMatchObject({ ok: false });
    expect(verifyCheckpoint(note.replace('\n5\n', '\n6\n'), [signer.publicKey]).ok).toBe(false);
    expect(
      verifyCheckpoint(note.replace('vcp-mode rfc6962', 'vcp-mode vcp-dup'), [signer.publicKey]).ok,
    ).toBe(false);
    for (const junk of [
      undefined,
      42,
      '',
      '\n',
      'x\n\n',
      note.repeat(200),
      note.replace('\n\n', '\n'),
      `${note}\u2014 x y\n`,
    ]) {
      expect(verifyCheckpoint(junk, [signer.publicKey]).ok).toBe(false);
    }
  });

  it('refuses non-canonical sizes and roots, duplicate extensions', () => {
    const b64 = Buffer.from(root, 'hex').toString('base64');
    for (const text of [
      `o\n05\n${b64}\n`,
      `o\n-1\n${b64}\n`,
      `o\n1\n${b64.slice(0, -1)}\n`,
      `o\n1\n${b64}\nvcp-mode rfc6962\nvcp-mode vcp-dup\n`,
      `\u0007\n1\n${b64}\n`,
    ]) {
      expect(() => parseCheckpointText(text), text).toThrow();
    }
  });
});
