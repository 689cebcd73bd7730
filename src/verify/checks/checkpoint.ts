/**
 * Checkpoint check: each checkpoint of a segment must be signed by a trusted
 * key, name the segment's origin, bind its metadata line, and its root must
 * be the root the segment's events rebuild. A good one binds every leaf
 * below its tree size to the key.
 */
import type { KeyObject } from 'node:crypto';
import { metaHash, verifyCheckpoint } from '../../integrity/checkpoint/index.ts';
import { type Finding, finding } from '../findings.ts';
import type { Segment } from '../segment.ts';

/** How far a trusted signature binds a log, and by what. */
export interface Coverage {
  treeSize: number;
  via: 'checkpoint' | 'anchor';
  line: number;
  keyId: string;
  signedAt?: string;
}

/**
 * Check a checkpoint note against a segment; `expect` adds what the carrier
 * states (an anchor's own tree size and root).
 */
export function checkCheckpointNote(
  seg: Segment,
  note: unknown,
  line: number,
  keys: Map<string, KeyObject>,
  expect?: { treeSize: number; rootHex: string },
): { coverage?: Coverage; findings: Finding[] } {
  const where = { line, origin: seg.origin };
  const v = verifyCheckpoint(note, keys.values());
  if (!v.ok) {
    if (!v.checkpoint)
      return { findings: [finding('checkpoint-malformed', `checkpoint: ${v.reason}`, where)] };
    if (keys.size === 0) return { findings: [] }; // no-trusted-key is reported once for the run
    return { findings: [finding('checkpoint-untrusted', `checkpoint ${v.reason}`, where)] };
  }
  const cp = v.checkpoint;
  const out: Finding[] = [];
  if (cp.origin !== seg.origin)
    out.push(
      finding(
        'checkpoint-origin-mismatch',
        `checkpoint is for log "${cp.origin}", but this segment is "${seg.origin}"`,
        where,
      ),
    );
  if (cp.mode !== seg.mode)
    out.push(
      finding(
        'checkpoint-metadata-mismatch',
        `checkpoint was built in ${cp.mode} mode, the export says ${seg.mode}`,
        where,
      ),
    );
  if (cp.partition !== seg.partition)
    out.push(
      finding(
        'checkpoint-metadata-mismatch',
        `checkpoint is for partition ${cp.partition ?? '(none)'}, the export for ${seg.partition ?? '(none)'}`,
        where,
      ),
    );
  if (cp.metaHash !== undefined && (!seg.meta || metaHash(seg.meta) !== cp.metaHash))
    out.push(
      finding(
        'checkpoint-metadata-mismatch',
        seg.meta
          ? `the vcp_export line${seg.metaLine ? ` (line ${seg.metaLine})` : ''} is not the metadata this checkpoint signed: it was edited`
          : 'the checkpoint binds export metadata, but the vcp_export line is missing',
        where,
      ),
    );
  if (expect && (expect.treeSize !== cp.treeSize || expect.rootHex !== cp.rootHex))
    out.push(
      finding(
        'checkpoint-metadata-mismatch',
        `the anchor states tree size ${expect.treeSize} and another root than its own checkpoint`,
        where,
      ),
    );
  out.push(...checkRootAt(seg, cp.treeSize, cp.rootHex, where, 'checkpoint'));
  if (out.length) return { findings: out };
  return {
    coverage: {
      treeSize: cp.treeSize,
      via: expect ? 'anchor' : 'checkpoint',
      line,
      keyId: v.keyId,
      ...(cp.time ? { signedAt: cp.time } : {}),
    },
    findings: [],
  };
}

/** The segment's root at `size` against a signed root. */
export function checkRootAt(
  seg: Segment,
  size: number,
  rootHex: string,
  where: { line: number; origin: string },
  what: 'checkpoint' | 'anchor',
): Finding[] {
  const beyond = what === 'checkpoint' ? 'checkpoint-beyond-events' : 'anchor-beyond-events';
  const mismatch = what === 'checkpoint' ? 'checkpoint-root-mismatch' : 'anchor-root-mismatch';
  const present = seg.from + seg.size;
  if (size > present)
    return [
      finding(
        beyond,
        `the signed ${what} covers ${size} events of ${seg.origin}, the input holds ${present}: events ${present}..${size - 1} that it covers are missing`,
        where,
      ),
    ];
  if (seg.from > 0)
    return [
      finding(
        'partial-export',
        `a partial export (from leaf ${seg.from}) cannot rebuild the root of the first ${size} events: export from 0`,
        where,
      ),
    ];
  if (size > seg.buildableTo)
    return [
      finding(
        'tree-unbuildable',
        `the tree cannot be rebuilt up to ${size}: the event at line ${seg.brokenAt} has no usable event_hash`,
        where,
      ),
    ];
  const root = seg.rootAt(size);
  if (root !== rootHex)
    return [
      finding(
        mismatch,
        `the root of the first ${size} events is ${root?.slice(0, 16)}…, the ${what} signed ${rootHex.slice(0, 16)}…: an event among ${seg.describeLeaves(0, size)} was changed, removed, reordered or inserted`,
        where,
      ),
    ];
  return [];
}
