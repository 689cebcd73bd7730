/**
 * Completeness of one segment: a bounded export must hold exactly the range
 * its signed metadata declares (a line after it is an addition, a missing one
 * a removal); every leaf must lie below a trusted checkpoint or anchor
 * (otherwise it is an uncovered tail, UNPROVEN); and where external anchoring
 * is required, some anchor of the log must be checked at a trusted TSA.
 */
import { type Finding, finding } from '../findings.ts';
import type { Segment } from '../segment.ts';
import type { ExternalAnchor } from './anchor.ts';
import type { Coverage } from './checkpoint.ts';

/** Options that change what completeness needs. */
export interface CompletenessPolicy {
  trustedKeys: number;
  /** Accept a log no external anchor covers (development only). */
  allowLocalAnchors: boolean;
}

/** Findings about what the segment's signatures leave out. */
export function checkCompleteness(
  seg: Segment,
  coverage: Coverage | undefined,
  external: ExternalAnchor | undefined,
  policy: CompletenessPolicy,
): Finding[] {
  const out: Finding[] = [];
  const where = { origin: seg.origin };
  const end = seg.from + seg.size;
  if (seg.to !== undefined) {
    if (end > seg.to)
      out.push(
        finding(
          'events-after-range',
          `the export's signed metadata declares leaves ${seg.from}..${seg.to - 1}; ${seg.describeLeaves(seg.to, end)} were added after it`,
          { ...where, line: seg.lines.at(seg.to - seg.from) },
        ),
      );
    else if (end < seg.to)
      out.push(
        finding(
          'events-missing-in-range',
          `the export's metadata declares leaves ${seg.from}..${seg.to - 1}; leaves ${end}..${seg.to - 1} are missing`,
          where,
        ),
      );
  }
  if (seg.size === 0) return out;
  const signedAnchor = seg.anchors.some(
    (a) => (a.value as { signature?: unknown } | null)?.signature != null,
  );
  if (seg.signed === 0 && !signedAnchor) {
    out.push(
      finding(
        'unauthenticated',
        `nothing in ${seg.origin} is signed: its hashes, chain and roots can only be consistent, not authenticated (consistent but unauthenticated)`,
        where,
      ),
    );
    return out;
  }
  const covered = coverage?.treeSize ?? 0;
  if (policy.trustedKeys > 0 && covered < end) {
    const from = Math.max(covered, seg.from);
    const upTo = seg.to !== undefined ? Math.min(end, seg.to) : end;
    if (upTo > from)
      out.push(
        finding(
          covered === 0 ? 'no-checkpoint' : 'uncovered-tail',
          covered === 0
            ? `no checkpoint or anchor signed by a trusted key covers ${seg.describeLeaves(from, upTo)}: they could have been changed, added or removed by whoever holds the file`
            : `${seg.describeLeaves(from, upTo)} come after the last trusted checkpoint (tree size ${covered}): nothing signed shows they are complete and unchanged`,
          { ...where, line: seg.lines.at(from - seg.from) },
        ),
      );
  }
  if (!external) {
    if (policy.allowLocalAnchors)
      out.push(
        finding(
          'local-anchor-accepted',
          `no external anchor covers ${seg.origin}: accepted because --insecure-allow-local-anchors was given`,
          where,
        ),
      );
    else
      out.push(
        finding(
          'external-anchor-missing',
          `no anchor of ${seg.origin} is checked at an external time-stamp authority: whoever holds the signing key (the audited firm) could rewrite and re-sign the whole log. Give --tsa-cert to check RFC 3161 tokens (or --insecure-allow-local-anchors for development only)`,
          where,
        ),
      );
  }
  return out;
}
