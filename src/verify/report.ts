/**
 * The one report model every renderer (text, JSON, HTML) formats. It is
 * built once by the verifier; renderers never decide anything.
 */
import type { MerkleMode } from '../core/enums.ts';
import type { ExternalAnchor } from './checks/anchor.ts';
import type { Coverage } from './checks/checkpoint.ts';
import { CHECK_NAMES, type CheckName, type Finding } from './findings.ts';
import { SEVERITY, VERDICT_EXIT, type Verdict } from './verdict.ts';

/** One signed statement about a log (for the coverage picture): what it covers and whether it counted. */
export interface StatementReport {
  kind: 'checkpoint' | 'anchor';
  line: number;
  /** Tree size it covers (leaves 0..tree_size-1), when readable. */
  tree_size?: number;
  /** Signed by a trusted key and consistent with the events. */
  trusted: boolean;
  /** Checked at a trusted external time-stamp authority. */
  external: boolean;
  signed_at?: string;
}

/** A few fields of one event, for timelines (kept only with `keepEvents`). */
export interface EventSummary {
  line: number;
  origin: string;
  leaf: number;
  event_id?: string;
  trace_id?: string;
  event_type?: string;
  timestamp_iso?: string;
  symbol?: string;
  venue_id?: string;
  account_id?: string;
  /** Key trade fields (order_id, side, price, quantity, …) as written. */
  trade?: Record<string, string>;
}

/** What the report says about one log (segment) of the input. */
export interface LogReport {
  origin: string;
  partition?: number;
  merkle_mode: MerkleMode;
  /** Leaf range present in the input. */
  from: number;
  events: number;
  /** Declared end of a bounded export. */
  to?: number;
  /** Root of the leaves present (when rebuildable from leaf 0). */
  root?: string;
  /** How far a trusted signature binds this log. */
  proven_up_to?: Coverage;
  /** The newest external (TSA) anchor checked. */
  external_anchor?: ExternalAnchor;
  /** Largest out-of-band checkpoint the export was shown consistent with. */
  consistent_with_external?: number;
  /** Every checkpoint and anchor of the log, in input order. */
  statements: StatementReport[];
}

/** Counts of one check. */
export interface CheckCount {
  passed: number;
  invalid: number;
  unproven: number;
  notes: number;
}

/** The verifier's full answer. */
export interface VerificationReport {
  verdict: Verdict;
  exit_code: 0 | 1 | 3;
  /** One sentence a non-engineer reads. */
  summary: string;
  /** The hashing and field convention the events were verified under (see profiles.ts). */
  profile: { name: string; producer: string; merkle_mode: MerkleMode; weaker_than_rfc8785?: string };
  trusted_keys: string[];
  input: { lines: number; events: number; anchors: number; checkpoints: number; segments: number };
  logs: LogReport[];
  event_types: Record<string, number>;
  checks: Record<CheckName, CheckCount>;
  /** Findings, invalid ones first; at most `max_findings` (the verdict counts all). */
  findings: Finding[];
  findings_omitted: number;
  /** What was read (set by the caller: a file, or an evidence-pack folder and the role of each file in it). */
  source?: {
    path: string;
    kind: 'file' | 'evidence-pack';
    events_file?: string;
    files?: { path: string; role: string }[];
  };
  /** Event summaries, in input order, when asked for (`keepEvents`). */
  events?: EventSummary[];
  events_omitted?: number;
}

/** Counters the verifier fills as it goes. */
export function emptyChecks(): Record<CheckName, CheckCount> {
  return Object.fromEntries(
    CHECK_NAMES.map((c) => [c, { passed: 0, invalid: 0, unproven: 0, notes: 0 }]),
  ) as Record<CheckName, CheckCount>;
}

/** Count findings into `checks`. */
export function countFindings(checks: Record<CheckName, CheckCount>, findings: readonly Finding[]): void {
  for (const f of findings) {
    const s = SEVERITY[f.code];
    const c = checks[f.check];
    if (s === 'invalid') c.invalid++;
    else if (s === 'unproven') c.unproven++;
    else c.notes++;
  }
}

const RANK = { invalid: 0, unproven: 1, note: 2 } as const;

/** Order findings (invalid, unproven, notes; then by line) and cap them. */
export function orderFindings(findings: Finding[], max: number): { findings: Finding[]; omitted: number } {
  const sorted = [...findings].sort(
    (a, b) => RANK[SEVERITY[a.code]] - RANK[SEVERITY[b.code]] || (a.line ?? 0) - (b.line ?? 0),
  );
  return { findings: sorted.slice(0, max), omitted: Math.max(0, sorted.length - max) };
}

/** The one-sentence summary of a verdict. */
export function summarize(verdict: Verdict, logs: LogReport[], findings: readonly Finding[]): string {
  const count = (s: 'invalid' | 'unproven') => findings.filter((f) => SEVERITY[f.code] === s).length;
  if (verdict === 'INVALID')
    return `INVALID: ${count('invalid')} problem(s) show that signed content was changed, removed, reordered or added to, or the input is ambiguous.`;
  const reach = logs
    .map((l) => {
      const p = l.proven_up_to;
      const by = p
        ? `complete up to tree size ${p.treeSize}, ${p.via} signed${p.signedAt ? ` at ${p.signedAt}` : ''} by key ${p.keyId}`
        : 'not bound to a trusted key';
      const ext = l.external_anchor
        ? `; externally time-stamped up to ${l.external_anchor.treeSize} at ${l.external_anchor.genTime} (${l.external_anchor.authority})`
        : '';
      return `${l.origin}: ${l.events} events, ${by}${ext}`;
    })
    .join('; ');
  if (verdict === 'UNPROVEN')
    return `UNPROVEN: nothing was shown to be wrong, but ${count('unproven')} finding(s) leave events not bound to a trusted key or external anchor. ${reach}`;
  return `PROVEN: ${reach}.`;
}

/** Exit code of a verdict. */
export function exitCodeOf(verdict: Verdict): 0 | 1 | 3 {
  return VERDICT_EXIT[verdict];
}
