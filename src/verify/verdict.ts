/**
 * Where PROVEN is decided: the one table that maps what the checks found to
 * a verdict (DESIGN.md decision 12, docs/verification.md).
 *
 * - **INVALID** (exit 1): something a trusted signature covers was changed,
 *   removed, reordered or added to, or the input is ambiguous.
 * - **UNPROVEN** (exit 3): nothing shown wrong, but not everything is bound
 *   to a trusted key (or to a checked external anchor where one is required).
 * - **PROVEN** (exit 0): no finding of either kind.
 * - `note` findings inform and never change the verdict.
 */
import type { Finding, FindingCode } from './findings.ts';

/** The three verdicts. */
export type Verdict = 'PROVEN' | 'INVALID' | 'UNPROVEN';
/** How a finding weighs on the verdict. */
export type FindingSeverity = 'invalid' | 'unproven' | 'note';

/** Exit status of `vcp verify` for each verdict (2 is usage or unreadable input). */
export const VERDICT_EXIT: Record<Verdict, 0 | 1 | 3> = { PROVEN: 0, INVALID: 1, UNPROVEN: 3 };

/** The table. Read it top to bottom: each line says what a finding means. */
export const SEVERITY: Record<FindingCode, FindingSeverity> = {
  // input: a line the verifier cannot read unambiguously is an edit it cannot rule out
  'unreadable-line': 'invalid',
  'line-too-long': 'invalid',
  'unknown-line': 'invalid',
  'non-canonical-number': 'invalid',
  'forbidden-key': 'invalid',
  // ambiguity: two readings of the same input are never resolved silently
  'shadow-keys': 'invalid',
  'undeclared-partition': 'invalid',
  'unsigned-among-signed': 'invalid',
  'duplicate-event-id': 'invalid',
  'anchor-reference-missing': 'invalid',
  'bad-metadata': 'invalid',
  'not-hashed': 'note',
  'pack-inconsistent': 'invalid',
  'pack-note': 'note',
  // schema: a malformed event is not the event that was sealed
  'schema-error': 'invalid',
  'conformance-gap': 'note',
  'foreign-form': 'note',
  // event hash
  'hash-mismatch': 'invalid',
  'hash-missing': 'invalid',
  'hash-other-convention': 'unproven',
  'weak-convention': 'note',
  // chain
  'chain-gap': 'invalid',
  'chain-reordered': 'invalid',
  'chain-fork': 'invalid',
  'chain-malformed': 'invalid',
  // per-event signatures
  'signature-invalid': 'invalid',
  'signature-untrusted': 'unproven',
  'no-trusted-key': 'unproven',
  // inclusion in the log's tree
  'merkle-index-mismatch': 'invalid',
  'partial-export': 'unproven',
  'tree-unbuildable': 'invalid',
  // inclusion proofs of an evidence certificate (certificate.ts): the event is not in the signed tree
  'inclusion-proof-invalid': 'invalid',
  'inclusion-proof-missing': 'invalid',
  // checkpoints
  'checkpoint-malformed': 'invalid',
  'checkpoint-untrusted': 'invalid',
  'checkpoint-root-mismatch': 'invalid',
  'checkpoint-metadata-mismatch': 'invalid',
  'checkpoint-origin-mismatch': 'invalid',
  'checkpoint-beyond-events': 'invalid',
  // anchors
  'anchor-malformed': 'invalid',
  'anchor-signature-invalid': 'invalid',
  'anchor-untrusted': 'invalid',
  'anchor-root-mismatch': 'invalid',
  'anchor-beyond-events': 'invalid',
  'anchor-event-mismatch': 'invalid',
  'tsa-token-invalid': 'invalid',
  'tsa-token-unchecked': 'note',
  'external-proof-unchecked': 'note',
  'external-anchor-missing': 'unproven',
  'local-anchor-accepted': 'note',
  // completeness
  'events-after-range': 'invalid',
  'events-missing-in-range': 'invalid',
  'uncovered-tail': 'unproven',
  'no-checkpoint': 'unproven',
  unauthenticated: 'unproven',
  // freshness against checkpoints obtained out of band
  'external-checkpoint-untrusted': 'invalid',
  'external-checkpoint-mismatch': 'invalid',
  truncated: 'invalid',
  'external-checkpoint-other-log': 'note',
};

/** The verdict of a set of findings. */
export function decideVerdict(findings: readonly Finding[]): Verdict {
  let unproven = false;
  for (const f of findings) {
    const s = SEVERITY[f.code];
    if (s === 'invalid') return 'INVALID';
    if (s === 'unproven') unproven = true;
  }
  return unproven ? 'UNPROVEN' : 'PROVEN';
}
