/**
 * Freshness: checkpoints the auditor obtained out of band (`--checkpoint`,
 * or the sidecar's newest with `--sidecar`) are the only defence against an
 * export cut back to an older checkpoint. Each must be signed by a trusted
 * key; the export must hold every event it covers and rebuild its root, or,
 * when it is newer than the export, a consistency proof must show the
 * export is a prefix of it.
 */
import type { KeyObject } from 'node:crypto';
import { verifyCheckpoint } from '../../integrity/checkpoint/index.ts';
import { verifyConsistency } from '../../integrity/merkle/index.ts';
import { type Finding, finding } from '../findings.ts';
import type { Segment } from '../segment.ts';

/** A checkpoint from outside the export, and optionally a consistency proof from the export's size to it. */
export interface ExternalCheckpoint {
  /** Where it came from (a file name or URL), for messages. */
  source: string;
  note: string;
  /** RFC 6962 consistency proof (hex hashes) from the export's tree size to this checkpoint's. */
  consistency?: { fromSize: number; proof: string[] };
}

/** What the external checkpoints establish. */
export interface FreshnessOutcome {
  findings: Finding[];
  /** Per origin: the newest external tree size the export was shown consistent with. */
  consistentWith: Map<string, number>;
}

/** Check every external checkpoint against the segments. */
export function checkFreshness(
  segments: Segment[],
  external: ExternalCheckpoint[],
  keys: Map<string, KeyObject>,
): FreshnessOutcome {
  const findings: Finding[] = [];
  const consistentWith = new Map<string, number>();
  for (const ext of external) {
    const v = verifyCheckpoint(ext.note, keys.values());
    if (!v.ok) {
      findings.push(
        finding(
          'external-checkpoint-untrusted',
          `${ext.source}: ${v.reason}; an out-of-band checkpoint must be signed by a trusted key`,
        ),
      );
      continue;
    }
    const cp = v.checkpoint;
    const seg = segments.find((s) => s.origin === cp.origin && s.partition === cp.partition);
    if (!seg) {
      findings.push(
        finding(
          'external-checkpoint-other-log',
          `${ext.source} is a checkpoint of "${cp.origin}", which this input does not hold`,
        ),
      );
      continue;
    }
    const where = { origin: seg.origin };
    const present = seg.from + seg.size;
    if (cp.treeSize <= present) {
      const root = seg.rootAt(cp.treeSize);
      if (root === undefined)
        findings.push(
          finding(
            'partial-export',
            `${ext.source}: the export cannot rebuild the root at ${cp.treeSize} (partial export or unusable hash)`,
            where,
          ),
        );
      else if (root !== cp.rootHex)
        findings.push(
          finding(
            'external-checkpoint-mismatch',
            `${ext.source} (tree size ${cp.treeSize}) has another root than the export's first ${cp.treeSize} events: the log was rewritten or forked (split view)`,
            where,
          ),
        );
      else consistentWith.set(seg.origin, Math.max(consistentWith.get(seg.origin) ?? 0, cp.treeSize));
      continue;
    }
    // Newer than the export: only a consistency proof can relate them.
    const proof = ext.consistency;
    const oldRoot = proof ? seg.rootAt(proof.fromSize) : undefined;
    if (
      proof &&
      proof.fromSize === present &&
      oldRoot &&
      verifyConsistency(present, cp.treeSize, oldRoot, cp.rootHex, proof.proof)
    ) {
      consistentWith.set(seg.origin, Math.max(consistentWith.get(seg.origin) ?? 0, cp.treeSize));
      continue;
    }
    if (proof)
      findings.push(
        finding(
          'external-checkpoint-mismatch',
          `${ext.source}: the consistency proof from ${present} to ${cp.treeSize} events does not verify: the export is not a prefix of the log the checkpoint signs (fork)`,
          where,
        ),
      );
    else
      findings.push(
        finding(
          'truncated',
          `${ext.source} is a trusted checkpoint covering ${cp.treeSize} events of ${seg.origin}; the export holds ${present}: events ${present}..${cp.treeSize - 1} are missing`,
          where,
        ),
      );
  }
  return { findings, consistentWith };
}
