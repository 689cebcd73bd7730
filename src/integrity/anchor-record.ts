/**
 * AnchorRecords (spec §6.3.3): a signed statement that a Merkle root covering
 * `tree_size` events existed at `timestamp`, plus where it was anchored.
 * The signature covers the 32 raw bytes of the root (spec §6.3.1); the
 * record's own hash links database anchors into a chain.
 */

import { systemClock, type VcpClock } from '../core/clock.ts';
import type { MerkleMode } from '../core/enums.ts';
import { VcpValidationError } from '../core/errors.ts';
import { isLowerHex64 } from '../core/hex.ts';
import type { AnchorRecord, AnchorTarget } from '../core/types.ts';
import { uuidv7 } from '../core/uuidv7.ts';
import { canonicalize } from './canonical.ts';
import { digestHex } from './digest.ts';
import { type Signer, verifySignature } from './sign.ts';

/** What the tree says, before signing and anchoring. */
export interface AnchorDraft {
  merkle_root: string;
  tree_size: number;
  merkle_mode: MerkleMode;
  event_count: number;
  first_event_id: string;
  last_event_id: string;
  first_index?: number;
  policy_id: string;
  prev_anchor_id?: string;
  partition?: number;
}

/** Options of {@link createAnchorRecord}. */
export interface CreateAnchorOptions {
  signer: Signer;
  /** Where it is (or will be) anchored; targets fill `proof` once they answer. */
  target?: AnchorTarget;
  clock?: VcpClock;
  /** Anchor id (default: a new UUIDv7). */
  anchorId?: string;
}

/** Build and sign an AnchorRecord for a Merkle root. */
export function createAnchorRecord(draft: AnchorDraft, options: CreateAnchorOptions): AnchorRecord {
  if (!isLowerHex64(draft.merkle_root)) {
    throw new VcpValidationError({
      path: 'merkle_root',
      rule: 'hex32',
      message: 'merkle_root must be 64 lowercase hex characters',
    });
  }
  if (!Number.isSafeInteger(draft.tree_size) || draft.tree_size < 0) {
    throw new VcpValidationError({
      path: 'tree_size',
      rule: 'integer',
      message: 'tree_size must be a non-negative integer',
    });
  }
  const ts = (options.clock ?? systemClock).now('NANOSECOND');
  const record: AnchorRecord = {
    anchor_id: options.anchorId ?? uuidv7(),
    merkle_root: draft.merkle_root,
    tree_size: draft.tree_size,
    merkle_mode: draft.merkle_mode,
    event_count: draft.event_count,
    first_event_id: draft.first_event_id,
    last_event_id: draft.last_event_id,
    timestamp: ts.timestamp_int,
    anchored_at: ts.timestamp_iso,
    policy_id: draft.policy_id,
    signature: options.signer.sign(draft.merkle_root),
    sign_algo: 'ED25519',
    signing_key_id: options.signer.keyId,
    anchor_target: options.target ?? { type: 'LOCAL_FILE', identifier: '', proof: '' },
  };
  if (draft.first_index !== undefined) record.first_index = draft.first_index;
  if (draft.prev_anchor_id !== undefined) record.prev_anchor_id = draft.prev_anchor_id;
  if (draft.partition !== undefined) record.partition = draft.partition;
  return record;
}

/** True when the record's signature over its root verifies with `publicKey`. Never throws. */
export function verifyAnchorSignature(record: unknown, publicKey: unknown): boolean {
  if (record === null || typeof record !== 'object') return false;
  const r = record as Partial<AnchorRecord>;
  return verifySignature(r.merkle_root, r.signature, publicKey);
}

/**
 * SHA-256 of the record's canonical JSON without its target proofs: what the
 * next database anchor links to. Proofs are excluded because they arrive
 * after the record is made and differ per target.
 */
export function anchorRecordHash(record: AnchorRecord): string {
  const { anchor_target: _t, anchor_targets: _ts, ...core } = record;
  return digestHex('SHA256', canonicalize(core));
}
