/**
 * EventHash check: recompute the hash of header and payload (as written)
 * under the declared convention. A hash that matches another known
 * convention is named as such, never called a change after sealing.
 */
import { HASH_ALGOS, type HashAlgo } from '../../core/enums.ts';
import { computeEventHashVariant, HASH_VARIANTS, type HashVariant } from '../../integrity/event-hash.ts';
import type { EventView } from '../../integrity/normalize.ts';
import { type Finding, finding } from '../findings.ts';

const HEX64_RE = /^[0-9a-f]{64}$/;

/** The claimed hash when it is well-formed, and the findings. */
export function checkEventHash(
  view: EventView,
  variant: HashVariant,
  where: { line: number; event_id?: string },
): { hash: string | undefined; findings: Finding[] } {
  const sec = view.security ?? {};
  const claimed = sec.event_hash;
  if (typeof claimed !== 'string' || !HEX64_RE.test(claimed)) {
    return {
      hash: undefined,
      findings: [
        finding('hash-missing', 'security.event_hash is missing or not 64 lowercase hex characters', where),
      ],
    };
  }
  const algoField = HASH_ALGOS.includes(sec.hash_algo as HashAlgo) ? sec.hash_algo : view.header.hash_algo;
  const algo: HashAlgo = HASH_ALGOS.includes(algoField as HashAlgo) ? (algoField as HashAlgo) : 'SHA256';
  const prev = typeof sec.prev_hash === 'string' && HEX64_RE.test(sec.prev_hash) ? sec.prev_hash : undefined;
  const parts = { header: view.rawHeader, payload: view.rawPayload };
  const opts = { algo, ...(prev ? { prevHash: prev } : {}) };
  let recomputed: string;
  try {
    recomputed = computeEventHashVariant(variant, parts, opts);
  } catch (e) {
    return {
      hash: claimed,
      findings: [
        finding('hash-mismatch', `cannot canonicalise header/payload: ${(e as Error).message}`, where),
      ],
    };
  }
  if (recomputed === claimed) return { hash: claimed, findings: [] };
  for (const other of HASH_VARIANTS) {
    if (other === variant) continue;
    try {
      if (computeEventHashVariant(other, parts, opts) === claimed) {
        return {
          hash: claimed,
          findings: [
            finding(
              'hash-other-convention',
              `event_hash matches the "${other}" hashing convention, not "${variant}": not proven under the declared convention (rerun with --hash-variant ${other})`,
              where,
            ),
          ],
        };
      }
    } catch {
      // that convention cannot hash this event either
    }
  }
  return {
    hash: claimed,
    findings: [
      finding(
        'hash-mismatch',
        `header or payload differs from what was sealed: recomputed ${recomputed.slice(0, 16)}…, recorded ${claimed.slice(0, 16)}…`,
        where,
      ),
    ],
  };
}
