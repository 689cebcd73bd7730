/**
 * The writers' side of export format v2 (DESIGN decision 12): the metadata
 * line that opens a segment, the origins that name each log, and the line
 * forms of checkpoints. The sidecar's `/vcp/export`, the recorder's FileSink
 * and `vcp fix-replay` all build their lines here, so the three agree.
 *
 * A checkpoint binds its segment's metadata through `vcp-meta` = SHA-256 of
 * JCS(META): the META object a writer signs is the one it writes, unchanged.
 */
import type { HashAlgo, MerkleMode } from '../core/enums.ts';
import { uuidv7 } from '../core/uuidv7.ts';

/** The `vcp_export` object of a v2 segment (field order as written). */
export interface ExportMetaV2 {
  format: 'vcp-export';
  version: 2;
  /** Names the log the segment's checkpoints are about (see {@link sidecarOrigin}, {@link sessionOrigin}). */
  origin: string;
  /** The program that wrote it (`vcp-instrument sidecar`, `vcp-instrument recorder`, `vcp fix-replay`). */
  producer: string;
  /** ISO time the segment was started. */
  created_at: string;
  merkle_mode: MerkleMode;
  hash_algo?: HashAlgo;
  policy_id?: string;
  signing_key_id: string;
  /** Hex of the raw Ed25519 public key: informational only, a verifier never trusts it. */
  signing_public_key: string;
  /** First leaf of the log in this segment. */
  from: number;
  /** Sidecar export: end of the range (exclusive). Absent for open-ended streams. */
  to?: number;
  /** Sidecar export: the log's size the export's checkpoint states (= `to`). */
  tree_size?: number;
  /** Cluster mode: the partition whose tree this is. */
  partition?: number;
}

/** What every producer says about itself in a META line. */
export interface MetaSigner {
  readonly keyId: string;
  exportPublicKey(format: 'hex'): string;
}

/** Fields of a META line; the rest come from the signer. */
export interface MetaDraft {
  origin: string;
  producer: string;
  merkleMode?: MerkleMode;
  hashAlgo?: HashAlgo;
  policyId?: string;
  from?: number;
  to?: number;
  treeSize?: number;
  partition?: number;
  createdAt?: Date;
}

/** Producer names written in META. */
export const PRODUCERS = {
  sidecar: 'vcp-instrument sidecar',
  recorder: 'vcp-instrument recorder',
  fixReplay: 'vcp fix-replay',
} as const;

/** Hex characters of the key id an origin carries. */
const ORIGIN_KEY_CHARS = 16;

/**
 * Origin of a sidecar's log: `vcp-instrument/sidecar/<first 16 hex of the key id>`,
 * plus `/p<n>` for partition n in cluster mode. Stable for the log's lifetime
 * (as long as the sidecar keeps its key).
 */
export function sidecarOrigin(keyId: string, partition?: number): string {
  const base = `vcp-instrument/sidecar/${keyId.slice(0, ORIGIN_KEY_CHARS)}`;
  return partition === undefined ? base : `${base}/p${partition}`;
}

/**
 * Origin of one writing session of an open-ended stream:
 * `vcp-instrument/<role>/<first 16 hex of the key id>/<UUIDv7>` — a new log each
 * session (a FileSink opening, each file after a rotation, one fix-replay run).
 */
export function sessionOrigin(role: 'recorder' | 'fix-replay', keyId: string, session = uuidv7()): string {
  return `vcp-instrument/${role}/${keyId.slice(0, ORIGIN_KEY_CHARS)}/${session}`;
}

/** Build a META object (optional fields only when given, so JSON and JCS agree). */
export function buildExportMeta(draft: MetaDraft, signer: MetaSigner): ExportMetaV2 {
  const meta: ExportMetaV2 = {
    format: 'vcp-export',
    version: 2,
    origin: draft.origin,
    producer: draft.producer,
    created_at: (draft.createdAt ?? new Date()).toISOString(),
    merkle_mode: draft.merkleMode ?? 'rfc6962',
    signing_key_id: signer.keyId,
    signing_public_key: signer.exportPublicKey('hex'),
    from: draft.from ?? 0,
  };
  // Insert the optional fields in the documented order.
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(meta)) {
    out[k] = v;
    if (k === 'merkle_mode') {
      if (draft.hashAlgo !== undefined) out.hash_algo = draft.hashAlgo;
      if (draft.policyId !== undefined) out.policy_id = draft.policyId;
    }
  }
  if (draft.to !== undefined) out.to = draft.to;
  if (draft.treeSize !== undefined) out.tree_size = draft.treeSize;
  if (draft.partition !== undefined) out.partition = draft.partition;
  return out as unknown as ExportMetaV2;
}

/** The metadata line (without newline). */
export function metaLine(meta: ExportMetaV2): string {
  return JSON.stringify({ vcp_export: meta });
}

/** A checkpoint line (without newline) holding a signed note. */
export function checkpointLine(note: string): string {
  return JSON.stringify({ vcp_checkpoint: { note } });
}
