/**
 * What a check can find. Every check returns findings with one of these
 * codes; `verdict.ts` alone decides what each code means for the verdict.
 */

/** The checks, in the order a reader meets them. */
export const CHECK_NAMES = [
  'input',
  'ambiguity',
  'schema',
  'event_hash',
  'chain',
  'signature',
  'inclusion',
  'checkpoint',
  'anchor',
  'completeness',
  'freshness',
] as const;
/** One of {@link CHECK_NAMES}. */
export type CheckName = (typeof CHECK_NAMES)[number];

/** Every kind of finding, by the check that makes it. */
export const FINDING_CODES = {
  input: ['unreadable-line', 'line-too-long', 'unknown-line', 'non-canonical-number', 'forbidden-key'],
  ambiguity: [
    'shadow-keys',
    'undeclared-partition',
    'unsigned-among-signed',
    'duplicate-event-id',
    'anchor-reference-missing',
    'bad-metadata',
    'not-hashed',
    'pack-inconsistent',
    'pack-note',
  ],
  schema: ['schema-error', 'conformance-gap', 'foreign-form'],
  event_hash: ['hash-mismatch', 'hash-other-convention', 'hash-missing', 'weak-convention'],
  chain: ['chain-gap', 'chain-reordered', 'chain-fork', 'chain-malformed'],
  signature: ['signature-invalid', 'signature-untrusted', 'no-trusted-key'],
  inclusion: [
    'merkle-index-mismatch',
    'partial-export',
    'tree-unbuildable',
    'inclusion-proof-invalid',
    'inclusion-proof-missing',
  ],
  checkpoint: [
    'checkpoint-malformed',
    'checkpoint-untrusted',
    'checkpoint-root-mismatch',
    'checkpoint-metadata-mismatch',
    'checkpoint-origin-mismatch',
    'checkpoint-beyond-events',
  ],
  anchor: [
    'anchor-malformed',
    'anchor-signature-invalid',
    'anchor-untrusted',
    'anchor-root-mismatch',
    'anchor-beyond-events',
    'anchor-event-mismatch',
    'tsa-token-invalid',
    'tsa-token-unchecked',
    'external-proof-unchecked',
    'external-anchor-missing',
    'local-anchor-accepted',
  ],
  completeness: [
    'events-after-range',
    'events-missing-in-range',
    'uncovered-tail',
    'no-checkpoint',
    'unauthenticated',
  ],
  freshness: [
    'external-checkpoint-untrusted',
    'external-checkpoint-mismatch',
    'truncated',
    'external-checkpoint-other-log',
  ],
} as const satisfies Record<CheckName, readonly string[]>;

/** One finding code. */
export type FindingCode = (typeof FINDING_CODES)[CheckName][number];

/** One thing a check found, with where it is. */
export interface Finding {
  check: CheckName;
  code: FindingCode;
  /** Plain-language explanation: what is wrong or missing, and what was expected. */
  message: string;
  /** 1-based line in the input file, when it concerns one line. */
  line?: number;
  event_id?: string;
  /** Segment (log) it concerns, by origin. */
  origin?: string;
  /** Leaf index in that log. */
  leaf?: number;
  /** The input file, when several were read. */
  file?: string;
}

/** Shorthand to build a finding (the check is derived from the code). */
export function finding(
  code: FindingCode,
  message: string,
  where: Omit<Finding, 'check' | 'code' | 'message'> = {},
): Finding {
  return { check: CHECK_OF[code], code, message, ...where };
}

const CHECK_OF = Object.fromEntries(
  Object.entries(FINDING_CODES).flatMap(([check, codes]) => codes.map((c) => [c, check])),
) as Record<FindingCode, CheckName>;
