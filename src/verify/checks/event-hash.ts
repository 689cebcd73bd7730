/**
 * EventHash check: recompute the event's hash under its profile (see
 * `../profiles.ts`). A hash that matches another known convention of the
 * same form is named as such, never called a change after sealing.
 */

import { isLowerHex64 } from '../../core/hex.ts';
import type { EventView } from '../../integrity/normalize.ts';
import { type Finding, finding } from '../findings.ts';
import { type EventFacts, PROFILES, type Profile } from '../profiles.ts';

/** The claimed hash when it is well-formed, and the findings. */
export function checkEventHash(
  profile: Profile,
  view: EventView,
  raw: Record<string, unknown>,
  facts: EventFacts,
  where: { line: number; event_id?: string },
  canonical?: readonly [string, string],
): { hash: string | undefined; findings: Finding[] } {
  const claimed = facts.claimedHash;
  if (!isLowerHex64(claimed)) {
    const other = matchingProfile(view, raw, undefined, profile);
    if (other)
      return {
        hash: undefined,
        findings: [
          finding(
            'hash-other-convention',
            `this event keeps its hash where the "${other.name}" convention (${other.producer}) does, and matches it; not proven under "${profile.name}" (rerun with --profile ${other.name})`,
            where,
          ),
        ],
      };
    return {
      hash: undefined,
      findings: [
        finding('hash-missing', 'the event hash is missing or not 64 lowercase hex characters', where),
      ],
    };
  }
  let recomputed: string;
  try {
    recomputed = profile.recompute(view, raw, facts, canonical);
  } catch (e) {
    return {
      hash: claimed,
      findings: [
        finding('hash-mismatch', `cannot serialise the hashed parts: ${(e as Error).message}`, where),
      ],
    };
  }
  if (recomputed === claimed) return { hash: claimed, findings: [] };
  const other = matchingProfile(view, raw, claimed, profile);
  if (other)
    return {
      hash: claimed,
      findings: [
        finding(
          'hash-other-convention',
          `the event hash matches the "${other.name}" convention (${other.producer}), not "${profile.name}": not proven under the declared convention (rerun with --profile ${other.name})`,
          where,
        ),
      ],
    };
  return {
    hash: claimed,
    findings: [
      finding(
        'hash-mismatch',
        `header or payload differs from what was sealed: recomputed ${recomputed.slice(0, 16)}…, recorded ${claimed.slice(0, 16)}… (${profile.name})`,
        where,
      ),
    ],
  };
}

/**
 * The first profile other than `except` under which `raw` hashes to the hash it claims (`claimed`, or
 * wherever that profile keeps it). Profiles whose numbers are read losslessly get the lossless form of
 * `raw` when `raw` holds plain numbers: callers pass what they have.
 */
export function matchingProfile(
  view: EventView,
  raw: Record<string, unknown>,
  claimed?: unknown,
  except?: Profile,
): Profile | undefined {
  for (const p of PROFILES) {
    if (p === except || p.form !== view.form) continue;
    try {
      const facts = p.facts(view, raw);
      const want = claimed ?? facts.claimedHash;
      if (typeof want === 'string' && facts.claimedHash === want && p.recompute(view, raw, facts) === want)
        return p;
    } catch {
      // that convention cannot hash this event
    }
  }
  return undefined;
}
