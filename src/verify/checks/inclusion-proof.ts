/**
 * Inclusion-proof check (evidence certificates): an event that travels
 * without the rest of its log is shown to be leaf `leaf_index` of the tree
 * a trusted checkpoint signs by an RFC 6962 inclusion proof to exactly that
 * checkpoint's size and root. Anything else — no proof, a proof to another
 * size, a proof that leads elsewhere — is INVALID: the event is not shown to
 * be in the signed log.
 */
import type { MerkleMode } from '../../core/enums.ts';
import { verifyInclusion } from '../../integrity/merkle/index.ts';
import { type Finding, finding } from '../findings.ts';

/** A `vcp_inclusion` line as read. */
export interface InclusionClaim {
  line: number;
  event_id?: unknown;
  leaf_index?: unknown;
  tree_size?: unknown;
  proof?: unknown;
}

/** Check one event's inclusion claim against the signed tree (size, root, mode). */
export function checkInclusionProof(
  event: { line: number; event_id?: string; hash: string | undefined; merkleIndex: unknown },
  claim: InclusionClaim | undefined,
  signed: { treeSize: number; rootHex: string; mode: MerkleMode },
): Finding[] {
  const where = { line: event.line, ...(event.event_id ? { event_id: event.event_id } : {}) };
  if (!claim)
    return [
      finding(
        'inclusion-proof-missing',
        'no vcp_inclusion line follows this event: nothing shows it is in the signed log',
        where,
      ),
    ];
  if (claim.event_id !== event.event_id)
    return [
      finding(
        'inclusion-proof-missing',
        `the vcp_inclusion line after this event (line ${claim.line}) is for event ${String(claim.event_id)}`,
        where,
      ),
    ];
  const leaf = claim.leaf_index;
  if (!Number.isSafeInteger(leaf) || (leaf as number) < 0)
    return [finding('inclusion-proof-invalid', 'vcp_inclusion.leaf_index is not a leaf index', where)];
  if (event.merkleIndex !== undefined && event.merkleIndex !== leaf)
    return [
      finding(
        'merkle-index-mismatch',
        `security.merkle_index is ${JSON.stringify(event.merkleIndex)}, the proof is for leaf ${String(leaf)}`,
        { ...where, leaf: leaf as number },
      ),
    ];
  if (claim.tree_size !== signed.treeSize)
    return [
      finding(
        'inclusion-proof-invalid',
        `the proof is to tree size ${String(claim.tree_size)}, the checkpoint signs ${signed.treeSize}`,
        where,
      ),
    ];
  // verifyInclusion refuses any malformed proof (wrong shape, length or hashes) with false.
  const ok =
    event.hash !== undefined &&
    verifyInclusion(
      event.hash,
      leaf as number,
      signed.treeSize,
      claim.proof as readonly string[],
      signed.rootHex,
      signed.mode,
    );
  return ok
    ? []
    : [
        finding(
          'inclusion-proof-invalid',
          `the inclusion proof does not lead from this event (leaf ${String(leaf)}) to the root the checkpoint signs at tree size ${signed.treeSize}: the event was changed or is not in the log`,
          { ...where, leaf: leaf as number },
        ),
      ];
}
