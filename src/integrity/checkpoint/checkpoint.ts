/**
 * Signed checkpoints in the C2SP `tlog-checkpoint` form: a signed note whose
 * text is
 *
 * ```
 * <origin>
 * <tree size>
 * <base64 root hash>
 * [extension lines]
 * ```
 *
 * This package's extension lines (all optional, one each):
 * - `vcp-mode <rfc6962|vcp-dup>`: the tree shape the root was built with (default rfc6962);
 * - `vcp-time <RFC 3339 time>`: when the checkpoint was signed;
 * - `vcp-meta <hex SHA-256 of JCS(metadata)>`: binds an export's `vcp_export` line
 *   (range, mode, partition, policy) to the signature;
 * - `vcp-partition <n>`: the partition whose tree this is (cluster mode).
 *
 * The sidecar signs one for every anchor and for every export; the recorder's
 * FileSink writes them into its files. `vcp verify` trusts a checkpoint only
 * when a trusted key signed it.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { MERKLE_MODES, type MerkleMode } from '../../core/enums.ts';
import { VcpValidationError } from '../../core/errors.ts';
import { isLowerHex64 } from '../../core/hex.ts';
import { canonicalize } from '../canonical.ts';
import { keyId } from '../keys.ts';
import type { Signer } from '../sign.ts';
import { findTrustedNoteSignature, parseSignedNote, signNote } from './signed-note.ts';

/** The fields of a checkpoint. */
export interface Checkpoint {
  /** Names the log (e.g. `vcp-instrument/sidecar/<key id>`). */
  origin: string;
  treeSize: number;
  /** Root hash, 64 lowercase hex. */
  rootHex: string;
  mode: MerkleMode;
  /** RFC 3339 time it was signed, if stated. */
  time?: string;
  /** SHA-256 (hex) of the RFC 8785 form of the metadata it binds, if any. */
  metaHash?: string;
  partition?: number;
  /** Every extension line as written, ours included. */
  extensions: string[];
}

/** What to put in a new checkpoint. */
export interface CheckpointDraft {
  origin: string;
  treeSize: number;
  rootHex: string;
  mode?: MerkleMode;
  /** Signing time (default: now). */
  time?: Date;
  /** Metadata to bind (its JCS SHA-256 goes in `vcp-meta`). */
  meta?: unknown;
  partition?: number;
}

/** The result of checking a checkpoint against trusted keys. */
export type CheckpointVerification =
  | { ok: true; checkpoint: Checkpoint; keyId: string; keyName: string }
  | { ok: false; reason: string; checkpoint?: Checkpoint };

const SIZE_RE = /^(0|[1-9][0-9]{0,15})$/;
// Go's sumdb origin ("go.sum database tree") has spaces; control characters never belong.
const ORIGIN_RE = /^[^\p{Cc}]{1,255}$/u;
const MAX_EXTENSION_LINES = 16;

/** SHA-256 (hex) of RFC 8785 canonical JSON of `meta`: what `vcp-meta` holds. */
export function metaHash(meta: unknown): string {
  return createHash('sha256').update(canonicalize(meta), 'utf8').digest('hex');
}

/** The unsigned checkpoint text (ends in a newline). */
export function formatCheckpoint(draft: CheckpointDraft): string {
  if (!ORIGIN_RE.test(draft.origin)) {
    throw new VcpValidationError({
      path: 'origin',
      rule: 'checkpoint-origin',
      message: 'origin is 1–255 characters without control characters',
    });
  }
  if (!Number.isSafeInteger(draft.treeSize) || draft.treeSize < 0) {
    throw new VcpValidationError({
      path: 'treeSize',
      rule: 'integer',
      message: 'tree size is a non-negative integer',
    });
  }
  if (!isLowerHex64(draft.rootHex)) {
    throw new VcpValidationError({
      path: 'rootHex',
      rule: 'hex32',
      message: 'root is 64 lowercase hex characters',
    });
  }
  const lines = [draft.origin, String(draft.treeSize), Buffer.from(draft.rootHex, 'hex').toString('base64')];
  lines.push(`vcp-mode ${draft.mode ?? 'rfc6962'}`);
  lines.push(`vcp-time ${(draft.time ?? new Date()).toISOString()}`);
  if (draft.meta !== undefined) lines.push(`vcp-meta ${metaHash(draft.meta)}`);
  if (draft.partition !== undefined) lines.push(`vcp-partition ${draft.partition}`);
  return `${lines.join('\n')}\n`;
}

/** Sign a checkpoint; the key name defaults to the origin (the C2SP convention). */
export function signCheckpoint(
  draft: CheckpointDraft,
  signer: Pick<Signer, 'signMessage' | 'publicKey'>,
  keyName = draft.origin,
): string {
  return signNote(formatCheckpoint(draft), keyName, signer);
}

/**
 * Parse a checkpoint's text (the note text, without signatures).
 *
 * @throws VcpValidationError naming the line that is wrong.
 */
export function parseCheckpointText(text: string): Checkpoint {
  const bad = (message: string) =>
    new VcpValidationError({ path: 'checkpoint', rule: 'tlog-checkpoint', message });
  const lines = text.split('\n');
  if (lines.pop() !== '') throw bad('the text ends in a newline');
  if (lines.length < 3) throw bad('a checkpoint has an origin, a tree size and a root hash line');
  if (lines.length > 3 + MAX_EXTENSION_LINES) throw bad(`more than ${MAX_EXTENSION_LINES} extension lines`);
  const [origin, size, root, ...extensions] = lines as [string, string, string, ...string[]];
  if (!ORIGIN_RE.test(origin)) throw bad('line 1 (origin) is empty, too long or holds control characters');
  if (!SIZE_RE.test(size) || !Number.isSafeInteger(Number(size)))
    throw bad('line 2 is not a tree size in decimal');
  const rootBytes = Buffer.from(root, 'base64');
  if (rootBytes.length !== 32 || rootBytes.toString('base64') !== root)
    throw bad('line 3 is not the base64 of a 32-byte root hash');
  const cp: Checkpoint = {
    origin,
    treeSize: Number(size),
    rootHex: rootBytes.toString('hex'),
    mode: 'rfc6962',
    extensions,
  };
  const seen = new Set<string>();
  for (const ext of extensions) {
    if (ext === '') throw bad('an empty extension line');
    const m = /^(vcp-[a-z]+) (.+)$/.exec(ext);
    if (!m) continue; // someone else's extension: kept, not interpreted
    const [, key, value] = m as unknown as [string, string, string];
    if (seen.has(key)) throw bad(`extension ${key} appears twice`);
    seen.add(key);
    if (key === 'vcp-mode') {
      if (!MERKLE_MODES.includes(value as MerkleMode)) throw bad(`unknown vcp-mode ${value}`);
      cp.mode = value as MerkleMode;
    } else if (key === 'vcp-time') {
      if (Number.isNaN(Date.parse(value))) throw bad(`vcp-time ${value} is not a time`);
      cp.time = value;
    } else if (key === 'vcp-meta') {
      if (!isLowerHex64(value)) throw bad('vcp-meta is not 64 lowercase hex characters');
      cp.metaHash = value;
    } else if (key === 'vcp-partition') {
      if (!SIZE_RE.test(value)) throw bad(`vcp-partition ${value} is not a partition number`);
      cp.partition = Number(value);
    }
  }
  return cp;
}

/**
 * Check a signed checkpoint against the trusted keys. Never throws:
 * malformed notes and untrusted signers come back as `{ ok: false, reason }`
 * (with the parsed fields when they could be read).
 */
export function verifyCheckpoint(note: unknown, trustedKeys: Iterable<KeyObject>): CheckpointVerification {
  let parsed: ReturnType<typeof parseSignedNote>;
  let checkpoint: Checkpoint;
  try {
    parsed = parseSignedNote(note);
    checkpoint = parseCheckpointText(parsed.text);
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
  const found = findTrustedNoteSignature(parsed, trustedKeys);
  if (!found) {
    const names = parsed.signatures.map((s) => s.name).join(', ') || 'no one';
    return {
      ok: false,
      reason: `signed by ${names}, but by no trusted key`,
      checkpoint,
    };
  }
  return { ok: true, checkpoint, keyId: keyId(found.key), keyName: found.name };
}
