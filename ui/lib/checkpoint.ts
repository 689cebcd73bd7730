/**
 * C2SP signed notes and tlog checkpoints, read and checked in the browser
 * against the pinned key (the format of src/integrity/checkpoint/): the note
 * text, a blank line, `— <name> <base64(key hash(4) ‖ signature(64))>` lines;
 * the key hash is SHA-256(name ‖ LF ‖ 0x01 ‖ key)[:4].
 */
import { concat, fromBase64, sha256, toHex, utf8 } from './bytes.ts';
import { type PinnedKey, verifyEd25519 } from './keys.ts';

/** The fields of a checkpoint. */
export interface Checkpoint {
  origin: string;
  treeSize: number;
  rootHex: string;
  mode: string;
  time?: string;
  metaHash?: string;
  partition?: number;
}

/** The outcome of checking a signed checkpoint. */
export type CheckpointCheck =
  | { ok: true; checkpoint: Checkpoint; signer: string }
  | { ok: false; reason: string; checkpoint?: Checkpoint };

const MAX_NOTE = 16 * 1024;

/** Parse a checkpoint's text (without the signatures); throws an Error naming what is wrong. */
export function parseCheckpointText(text: string): Checkpoint {
  const lines = text.split('\n');
  if (lines.pop() !== '') throw new Error('the checkpoint text does not end in a newline');
  if (lines.length < 3) throw new Error('a checkpoint has an origin, a tree size and a root line');
  const [origin, size, root, ...ext] = lines as [string, string, string, ...string[]];
  if (!/^(0|[1-9][0-9]{0,15})$/.test(size) || !Number.isSafeInteger(Number(size)))
    throw new Error('line 2 is not a tree size');
  const rootBytes = fromBase64(root);
  if (rootBytes?.length !== 32) throw new Error('line 3 is not a base64 32-byte root');
  const cp: Checkpoint = { origin, treeSize: Number(size), rootHex: toHex(rootBytes), mode: 'rfc6962' };
  for (const e of ext) {
    const m = /^(vcp-[a-z]+) (.+)$/.exec(e);
    if (!m) continue;
    if (m[1] === 'vcp-mode') cp.mode = m[2]!;
    else if (m[1] === 'vcp-time') cp.time = m[2]!;
    else if (m[1] === 'vcp-meta') cp.metaHash = m[2]!;
    else if (m[1] === 'vcp-partition') cp.partition = Number(m[2]);
  }
  return cp;
}

/** Check `note` is a checkpoint signed by `key`. Never throws. */
export async function checkCheckpoint(note: unknown, key: PinnedKey): Promise<CheckpointCheck> {
  if (typeof note !== 'string' || note.length > MAX_NOTE || !note.endsWith('\n'))
    return { ok: false, reason: 'not a signed note (a text ending in a newline, at most 16 KiB)' };
  const split = note.lastIndexOf('\n\n');
  if (split < 0) return { ok: false, reason: 'no blank line before the signatures' };
  const text = note.slice(0, split + 1);
  let checkpoint: Checkpoint;
  try {
    checkpoint = parseCheckpointText(text);
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
  const names: string[] = [];
  for (const line of note.slice(split + 2, -1).split('\n')) {
    const m = /^\u2014 (\S+) (\S+)$/u.exec(line);
    if (!m) return { ok: false, reason: `not a signature line: ${line.slice(0, 60)}`, checkpoint };
    const name = m[1]!;
    names.push(name);
    const blob = fromBase64(m[2]);
    if (blob?.length !== 68) continue;
    const hash = (await sha256(concat(utf8(`${name}\n`), new Uint8Array([1]), key.raw))).subarray(0, 4);
    if (toHex(hash) !== toHex(blob.subarray(0, 4))) continue;
    if (await verifyEd25519(key.raw, blob.subarray(4), utf8(text)))
      return { ok: true, checkpoint, signer: name };
    return { ok: false, reason: `the signature of ${name} does not verify under the pinned key`, checkpoint };
  }
  return {
    ok: false,
    reason: `signed by ${names.join(', ') || 'no one'}, but not by the pinned key ${key.keyId}`,
    checkpoint,
  };
}
