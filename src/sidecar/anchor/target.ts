/**
 * Anchor targets: where a signed Merkle root is sent so that a third party
 * can later attest it existed (spec §6.3.3). The anchoring service calls
 * every configured target for each AnchorRecord, retries failures with
 * exponential backoff, and keeps a local copy of every record regardless.
 */
import type { AnchorRecord, AnchorTarget } from '../../core/types.ts';

/** One place roots are anchored. */
export interface AnchorTargetDriver {
  /** `TSA`, `DATABASE`, `LOCAL_FILE`, … as written in `anchor_target.type`. */
  readonly type: AnchorTarget['type'];
  /** TSA URL, table name, file path: written to `anchor_target.identifier`. */
  readonly identifier: string;
  /** True for targets a third party controls; the local file target says false. */
  readonly external: boolean;
  /**
   * Anchor the record's root. Resolves with the target's proof (base64 TSA
   * token, row hash, file offset); rejects if the target is unavailable or
   * its answer does not check out (e.g. a TSA token whose imprint is not the
   * root) — the caller retries later.
   */
  anchor(record: AnchorRecord): Promise<AnchorTarget>;
  /** Check a proof this target produced earlier (for `vcp verify` and `/vcp/anchors`). */
  verify?(record: AnchorRecord, target: AnchorTarget): Promise<{ ok: boolean; reason?: string }>;
  close?(): Promise<void>;
}
