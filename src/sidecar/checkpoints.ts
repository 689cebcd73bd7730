/**
 * The sidecar's signed checkpoints (export format v2): one signed with every
 * anchor record (kept in its `checkpoint` field, so it survives restarts and
 * travels in exports), and the newest one for `GET /vcp/checkpoint`.
 *
 * Origin: `vcp-instrument/sidecar/<first 16 hex of the key id>[/p<n>]`.
 */
import type { AnchorRecord } from '../core/types.ts';
import { parseCheckpointText, parseSignedNote, signCheckpoint } from '../integrity/checkpoint/index.ts';
import { sidecarOrigin } from '../integrity/export-meta.ts';
import type { Signer } from '../integrity/sign.ts';

type CheckpointSigner = Pick<Signer, 'keyId' | 'publicKey' | 'signMessage'>;

/**
 * Sign the checkpoint of a fresh anchor record (same tree size, root, mode
 * and partition; time = `anchored_at`) and store it in `record.checkpoint`.
 * Call before the record is stored or sent anywhere: the database target's
 * record hash covers it.
 */
export function attachAnchorCheckpoint(record: AnchorRecord, signer: CheckpointSigner): AnchorRecord {
  record.checkpoint = signCheckpoint(
    {
      origin: sidecarOrigin(signer.keyId, record.partition),
      treeSize: record.tree_size,
      rootHex: record.merkle_root,
      mode: record.merkle_mode,
      time: new Date(record.anchored_at),
      ...(record.partition !== undefined ? { partition: record.partition } : {}),
    },
    signer,
  );
  return record;
}

/** What `GET /vcp/checkpoint` answers. */
export interface CheckpointBody {
  note: string;
  origin: string;
  tree_size: number;
  root: string;
  merkle_mode: string;
  signed_at: string | null;
}

/** The fields of a note this sidecar signed, for the JSON answer. */
export function describeCheckpoint(note: string): CheckpointBody {
  const cp = parseCheckpointText(parseSignedNote(note).text);
  return {
    note,
    origin: cp.origin,
    tree_size: cp.treeSize,
    root: cp.rootHex,
    merkle_mode: cp.mode,
    signed_at: cp.time ?? null,
  };
}
