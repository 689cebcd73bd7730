/**
 * C2SP signed notes (c2sp.org/signed-note), Ed25519 only: a text ending in a
 * newline, a blank line, then one or more signature lines
 * `— <key name> <base64(key hash(4) ‖ signature(64))>`. The signature covers
 * the text including its final newline. The key hash is
 * SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key)[:4], so a verifier finds the
 * signature of a key it trusts without trusting the name.
 *
 * Everything here is untrusted input: sizes are bounded before parsing and
 * the verifiers never throw.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { VcpValidationError } from '../../core/errors.ts';
import { publicKeyBytes } from '../keys.ts';
import { type Signer, verifyEd25519 } from '../sign.ts';

/** A note larger than this is refused unread (checkpoints are a few hundred bytes). */
export const MAX_NOTE_BYTES = 16 * 1024;
/** At most this many signature lines are read. */
export const MAX_NOTE_SIGNATURES = 32;

const EM_DASH = '\u2014';
const ED25519_SIG_TYPE = 0x01;
const NAME_RE = /^[^\s+]+$/u;
const B64_RE = /^[A-Za-z0-9+/]+={0,2}$/;

/** One signature line of a note. */
export interface NoteSignature {
  /** The key name as written (untrusted). */
  name: string;
  /** First 4 bytes of SHA-256(name ‖ LF ‖ 0x01 ‖ pubkey), hex. */
  keyHash: string;
  /** The 64 signature bytes. */
  signature: Buffer;
}

/** A parsed signed note. */
export interface SignedNote {
  /** The signed text, ending in `\n`. */
  text: string;
  signatures: NoteSignature[];
}

/** Key hash (hex, 8 chars) of an Ed25519 note key: SHA-256(name ‖ LF ‖ 0x01 ‖ key)[:4]. */
export function noteKeyHash(name: string, publicKey: KeyObject | Uint8Array): string {
  const raw = publicKey instanceof Uint8Array ? publicKey : publicKeyBytes(publicKey);
  return createHash('sha256')
    .update(`${name}\n`, 'utf8')
    .update(Buffer.from([ED25519_SIG_TYPE]))
    .update(raw)
    .digest()
    .subarray(0, 4)
    .toString('hex');
}

/** The C2SP verifier-key string `<name>+<keyhash>+<base64(0x01 ‖ key)>`. */
export function noteVerifierKey(name: string, publicKey: KeyObject | Uint8Array): string {
  const raw = publicKey instanceof Uint8Array ? publicKey : publicKeyBytes(publicKey);
  return `${name}+${noteKeyHash(name, raw)}+${Buffer.concat([Buffer.from([ED25519_SIG_TYPE]), raw]).toString('base64')}`;
}

/**
 * Sign `text` (must end in a newline, no blank line inside is required) as key
 * `name`; returns the whole signed note.
 *
 * @throws VcpValidationError for a bad name or text.
 */
export function signNote(
  text: string,
  name: string,
  signer: Pick<Signer, 'signMessage' | 'publicKey'>,
): string {
  if (!NAME_RE.test(name)) {
    throw new VcpValidationError({
      path: 'name',
      rule: 'note-key-name',
      message: 'a note key name is non-empty and has no spaces or "+"',
    });
  }
  if (!text.endsWith('\n') || text.includes('\n\n') || text.startsWith('\n')) {
    throw new VcpValidationError({
      path: 'text',
      rule: 'note-text',
      message: 'a note text ends in one newline and holds no blank line',
    });
  }
  const sig = signer.signMessage(Buffer.from(text, 'utf8'));
  const blob = Buffer.concat([Buffer.from(noteKeyHash(name, signer.publicKey), 'hex'), sig]);
  return `${text}\n${EM_DASH} ${name} ${blob.toString('base64')}\n`;
}

/**
 * Parse a signed note. Signature lines whose blob is not 4 + 64 bytes are
 * skipped (other algorithms, cosignatures): they are not ours to check.
 *
 * @throws VcpValidationError when the note is malformed or too large.
 */
export function parseSignedNote(note: unknown): SignedNote {
  const bad = (message: string) => new VcpValidationError({ path: 'note', rule: 'signed-note', message });
  if (typeof note !== 'string') throw bad('a signed note is a string');
  if (note.length > MAX_NOTE_BYTES) throw bad(`a signed note is at most ${MAX_NOTE_BYTES} bytes`);
  if (!note.endsWith('\n')) throw bad('a signed note ends in a newline');
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw bad('no blank line before the signatures');
  const text = note.slice(0, split + 1);
  if (text.includes('\n\n') || text.length === 0) throw bad('the note text holds a blank line');
  const lines = note.slice(split + 2, -1).split('\n');
  if (lines.length > MAX_NOTE_SIGNATURES) throw bad(`more than ${MAX_NOTE_SIGNATURES} signature lines`);
  const signatures: NoteSignature[] = [];
  for (const line of lines) {
    const m = /^\u2014 (\S+) (\S+)$/u.exec(line);
    if (!m) throw bad(`not a signature line: ${JSON.stringify(line.slice(0, 80))}`);
    const [, name, b64] = m as unknown as [string, string, string];
    if (!B64_RE.test(b64)) throw bad(`signature of ${name} is not base64`);
    const blob = Buffer.from(b64, 'base64');
    if (blob.toString('base64') !== b64) throw bad(`signature of ${name} is not canonical base64`);
    if (blob.length !== 68) continue;
    signatures.push({ name, keyHash: blob.subarray(0, 4).toString('hex'), signature: blob.subarray(4) });
  }
  return { text, signatures };
}

/**
 * The first signature of `note` that verifies under one of `keys` (strict
 * RFC 8032), with the key that made it; `undefined` when none does. Never throws.
 */
export function findTrustedNoteSignature<K extends KeyObject>(
  note: SignedNote,
  keys: Iterable<K>,
): { key: K; name: string } | undefined {
  const message = Buffer.from(note.text, 'utf8');
  for (const key of keys) {
    let raw: Buffer;
    try {
      raw = publicKeyBytes(key);
    } catch {
      continue;
    }
    for (const s of note.signatures) {
      if (noteKeyHash(s.name, raw) !== s.keyHash) continue;
      if (verifyEd25519(message, s.signature, raw)) return { key, name: s.name };
    }
  }
  return undefined;
}
