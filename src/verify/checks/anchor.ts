/**
 * Anchor check: an AnchorRecord's signature (over the raw root bytes) by a
 * trusted key, its root against the segment's events, the events it names,
 * its checkpoint if it carries one, and its external proof: an RFC 3161
 * token whose imprint is the root, signed by a TSA the auditor trusts
 * (`--tsa-cert`). A token that cannot be checked is said to be unchecked.
 */
import type { KeyObject } from 'node:crypto';
import { isLowerHex64 } from '../../core/hex.ts';
import { keyId } from '../../integrity/keys.ts';
import { verifySignature } from '../../integrity/sign.ts';
import { type TimestampTrust, verifyTimestampToken } from '../../integrity/tsa-token.ts';
import { type Finding, finding } from '../findings.ts';
import { decodeSignatureText } from '../profiles.ts';
import type { Segment } from '../segment.ts';
import { SEVERITY } from '../verdict.ts';
import { type Coverage, checkCheckpointNote, checkRootAt } from './checkpoint.ts';
import { candidateKeys } from './signature.ts';

/** An external time the root provably existed at. */
export interface ExternalAnchor {
  treeSize: number;
  line: number;
  genTime: string;
  authority: string;
}

/** What one anchor proves. */
export interface AnchorOutcome {
  anchorId?: string;
  root?: string;
  coverage?: Coverage;
  external?: ExternalAnchor;
  findings: Finding[];
}

/** Check one anchor record of `seg`. */
export async function checkAnchor(
  seg: Segment,
  raw: unknown,
  line: number,
  keys: Map<string, KeyObject>,
  tsaTrust: TimestampTrust | undefined,
): Promise<AnchorOutcome> {
  const where = { line, origin: seg.origin };
  const r = raw as Record<string, unknown> | null;
  if (
    !r ||
    typeof r !== 'object' ||
    typeof r.merkle_root !== 'string' ||
    !isLowerHex64(r.merkle_root) ||
    !Number.isSafeInteger(r.tree_size) ||
    (r.tree_size as number) < 0
  )
    return {
      findings: [
        finding(
          'anchor-malformed',
          'anchor record needs merkle_root (64 lowercase hex) and tree_size',
          where,
        ),
      ],
    };
  const root = r.merkle_root;
  const size = r.tree_size as number;
  const anchorId = typeof r.anchor_id === 'string' ? r.anchor_id : undefined;
  const named = where;
  const out: Finding[] = [];
  const partition = r.partition;
  if (partition !== undefined && partition !== seg.partition)
    out.push(
      finding(
        'undeclared-partition',
        `anchor ${anchorId ?? '?'} is for partition ${JSON.stringify(partition)}, the export declares ${seg.partition ?? 'none'}`,
        named,
      ),
    );
  if (r.merkle_mode !== undefined && r.merkle_mode !== seg.mode)
    out.push(
      finding(
        'anchor-malformed',
        `anchor ${anchorId ?? '?'} was built in ${String(r.merkle_mode)} mode, the export in ${seg.mode}`,
        named,
      ),
    );

  // Signature by a trusted key.
  let coverage: Coverage | undefined;
  const kid = typeof r.signing_key_id === 'string' ? r.signing_key_id : undefined;
  // An unsigned anchor (another producer's batch or local anchor) binds nothing; its root is still checked.
  if (keys.size > 0 && r.signature !== undefined && r.signature !== null) {
    const candidates = candidateKeys(keys, kid);
    const sig = decodeSignatureText(r.signature)?.toString('base64');
    const key = sig ? candidates.find((k) => verifySignature(root, sig, k)) : undefined;
    if (key)
      coverage = { treeSize: size, via: 'anchor', line, keyId: keyId(key) }; // anchored_at is not signed: a time comes only from the anchor's signed checkpoint
    else if (candidates.length === 0)
      out.push(
        finding(
          'anchor-untrusted',
          `anchor ${anchorId ?? '?'} is signed by key ${kid}, which is not trusted`,
          named,
        ),
      );
    else if (kid !== undefined && keys.has(kid))
      out.push(
        finding(
          'anchor-signature-invalid',
          `the signature of anchor ${anchorId ?? '?'} over its merkle_root does not verify`,
          named,
        ),
      );
    else
      out.push(finding('anchor-untrusted', `anchor ${anchorId ?? '?'} is signed by no trusted key`, named));
  }
  if (r.checkpoint !== undefined) {
    const c = checkCheckpointNote(seg, r.checkpoint, line, keys, { treeSize: size, rootHex: root });
    out.push(...c.findings);
    if (coverage && c.coverage?.signedAt) coverage.signedAt = c.coverage.signedAt;
  }
  out.push(...checkRootAt(seg, size, root, where, 'anchor'));
  // The events it says it starts and ends with.
  const idAt = (i: unknown) => (Number.isSafeInteger(i) ? seg.ids.at((i as number) - seg.from) : undefined);
  if (
    typeof r.last_event_id === 'string' &&
    size > 0 &&
    size <= seg.from + seg.size &&
    idAt(size - 1) !== r.last_event_id
  )
    out.push(
      finding(
        'anchor-event-mismatch',
        `anchor ${anchorId ?? '?'} says its last event is ${r.last_event_id}; leaf ${size - 1} is ${idAt(size - 1) ?? 'not in the input'}`,
        named,
      ),
    );
  if (
    typeof r.first_event_id === 'string' &&
    Number.isSafeInteger(r.first_index) &&
    (r.event_count as number) > 0
  ) {
    const got = idAt(r.first_index);
    if (got !== undefined && got !== r.first_event_id)
      out.push(
        finding(
          'anchor-event-mismatch',
          `anchor ${anchorId ?? '?'} says leaf ${String(r.first_index)} is ${r.first_event_id}; it is ${got}`,
          named,
        ),
      );
  }

  // External proofs.
  let external: ExternalAnchor | undefined;
  const targets = [r.anchor_target, ...(Array.isArray(r.anchor_targets) ? r.anchor_targets : [])].filter(
    (t): t is Record<string, unknown> => !!t && typeof t === 'object',
  );
  for (const t of targets) {
    if (t.type !== 'TSA' && t.type !== 'LOCAL_FILE' && typeof t.type === 'string')
      out.push(
        finding(
          'external-proof-unchecked',
          `anchor ${anchorId ?? '?'} names a ${t.type} anchor${t.identifier ? ` (${String(t.identifier)})` : ''}, but no proof in the input can be checked offline (only RFC 3161 tokens can)`,
          named,
        ),
      );
    if (t.type !== 'TSA' || typeof t.proof !== 'string' || t.proof === '') continue;
    if (!tsaTrust) {
      out.push(
        finding(
          'tsa-token-unchecked',
          `anchor ${anchorId ?? '?'} holds an RFC 3161 token from ${String(t.identifier)}; give the TSA's certificate with --tsa-cert to check it`,
          named,
        ),
      );
      continue;
    }
    const v = await verifyTimestampToken(t.proof, root, tsaTrust);
    if (!v.ok)
      out.push(
        finding(
          'tsa-token-invalid',
          `the RFC 3161 token of anchor ${anchorId ?? '?'} does not prove its root: ${v.reason}`,
          named,
        ),
      );
    else if (!v.trusted)
      out.push(
        finding(
          'tsa-token-unchecked',
          `the RFC 3161 token of anchor ${anchorId ?? '?'} is well-formed but its signer does not chain to the given --tsa-cert`,
          named,
        ),
      );
    else if (!external || external.treeSize < size)
      external = {
        treeSize: size,
        line,
        genTime: v.genTime.toISOString(),
        authority: String(t.identifier ?? v.signerSubject ?? 'TSA'),
      };
  }
  // Anything wrong with the record and it binds nothing; notes (an unchecked token) do not matter.
  if (out.some((f) => SEVERITY[f.code] !== 'note'))
    return { ...(anchorId ? { anchorId } : {}), root, findings: out };
  return {
    ...(anchorId ? { anchorId } : {}),
    root,
    ...(coverage ? { coverage } : {}),
    ...(external ? { external } : {}),
    findings: out,
  };
}
