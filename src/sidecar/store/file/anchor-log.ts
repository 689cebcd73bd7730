/**
 * `anchors.log`, the file store's append-only list of anchor records (a
 * later copy with the same anchor_id replaces an earlier one), read back
 * under the same rule as the segments: only an incomplete or zero-filled
 * last record with nothing valid after it is a torn write; anything else is
 * corruption, and the store does not guess which anchors it held.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VcpIoError } from '../../../core/errors.ts';
import type { AnchorRecord } from '../../../core/types.ts';
import { decodeRecords } from './record.ts';
import { tornShapedTail } from './segment-check.ts';

/** What {@link readAnchorLog} found. */
export interface AnchorLog {
  /** Anchor records in the order they were made (replaced copies in place). */
  anchors: AnchorRecord[];
  /** Bytes of the file. */
  bytes: number;
  /** False when the file does not exist. */
  exists: boolean;
  /** A torn tail to cut off: where it starts and why. */
  torn?: { offset: number; problem: string; data: Buffer };
}

/** The anchor with the largest tree size (the newest promise the log must keep), if any. */
export function newestAnchor(anchors: readonly AnchorRecord[]): AnchorRecord | undefined {
  let best: AnchorRecord | undefined;
  for (const a of anchors) if (!best || a.tree_size > best.tree_size) best = a;
  return best;
}

/** Read and check `anchors.log` (missing: empty). Throws `VcpIoError` on corruption. */
export async function readAnchorLog(path: string): Promise<AnchorLog> {
  let buf: Buffer;
  let exists = true;
  try {
    buf = await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new VcpIoError(`cannot read ${path}: ${(e as Error).message}`, { cause: e });
    buf = Buffer.alloc(0);
    exists = false;
  }
  const anchors: AnchorRecord[] = [];
  const byId = new Map<string, number>();
  let notRecord: string | undefined;
  const result = decodeRecords(buf, (rec) => {
    let r: AnchorRecord;
    try {
      r = JSON.parse(rec.json.toString('utf8')) as AnchorRecord;
    } catch {
      notRecord ??= `the record at byte offset ${rec.offset} is not JSON`;
      return;
    }
    if (typeof r?.anchor_id !== 'string' || !Number.isSafeInteger(r.tree_size) || r.tree_size < 0) {
      notRecord ??= `the record at byte offset ${rec.offset} is not an anchor record (anchor_id, tree_size)`;
      return;
    }
    const at = byId.get(r.anchor_id);
    if (at === undefined) {
      byId.set(r.anchor_id, anchors.length);
      anchors.push(r);
    } else anchors[at] = r;
  });
  const restore =
    'the store will not open: it cannot tell which anchors it made, and so which merkle_index values are already promised. ' +
    'Restore anchors.log from a backup (the local anchor target also keeps a copy of every record in anchors-local.jsonl).';
  if (notRecord) throw new VcpIoError(`${path} is corrupt: ${notRecord}; ${restore}`);
  const out: AnchorLog = { anchors, bytes: buf.length, exists };
  if (result.problem) {
    const tail = buf.subarray(result.validEnd);
    const tornShaped = result.validAfterProblem === 0 && tornShapedTail(tail, result.validEnd);
    if (!tornShaped) {
      throw new VcpIoError(
        `${path} is corrupt at byte offset ${result.validEnd} (${result.problem}` +
          (result.validAfterProblem
            ? `; ${result.validAfterProblem} checksum-valid record(s) follow it`
            : '') +
          `): a crash cannot leave that; ${restore}`,
      );
    }
    out.torn = { offset: result.validEnd, problem: result.problem, data: Buffer.from(tail) };
  }
  return out;
}

/** Name of the local anchor target's copy of every anchor record, in the data folder. */
export const LOCAL_ANCHOR_COPY = 'anchors-local.jsonl';
/** Tree sizes of checkpoints signed without an anchor (exports, `GET /vcp/checkpoint`): promises the floor keeps too. */
export const SIGNED_CHECKPOINTS = 'checkpoints-signed.jsonl';

/** The largest tree size a set of anchors has promised, and where that promise is written. */
export interface AnchoredFloor {
  tree_size: number;
  anchor_id: string;
  /** The file that holds it. */
  file: string;
}

/**
 * The largest promise among `anchors.log`'s records and the local anchor
 * target's copies (`anchors-local.jsonl`, second evidence: it survives a
 * lost or truncated `anchors.log`). Unreadable lines of the copy are
 * skipped: it only ever raises the floor.
 */
export async function anchoredFloor(
  dir: string,
  anchors: readonly AnchorRecord[],
): Promise<AnchoredFloor | undefined> {
  let best: AnchoredFloor | undefined;
  const newest = newestAnchor(anchors);
  if (newest)
    best = { tree_size: newest.tree_size, anchor_id: newest.anchor_id, file: join(dir, 'anchors.log') };
  const copy = join(dir, LOCAL_ANCHOR_COPY);
  let text = '';
  try {
    text = await readFile(copy, 'utf8');
  } catch {
    // no local copy yet
  }
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      const r = (JSON.parse(line) as { record?: { tree_size?: unknown; anchor_id?: unknown } }).record;
      if (
        r &&
        Number.isSafeInteger(r.tree_size) &&
        typeof r.anchor_id === 'string' &&
        (r.tree_size as number) > (best?.tree_size ?? 0)
      ) {
        best = { tree_size: r.tree_size as number, anchor_id: r.anchor_id, file: copy };
      }
    } catch {
      // a torn last line of the copy: skip
    }
  }
  // Checkpoints signed without an anchor (an export's closing one, one signed on demand) promised these sizes too.
  let signed = '';
  try {
    signed = await readFile(join(dir, SIGNED_CHECKPOINTS), 'utf8');
  } catch {
    // none signed yet
  }
  for (const line of signed.split('\n')) {
    if (!line) continue;
    try {
      const r = JSON.parse(line) as { tree_size?: unknown; signed_at?: unknown };
      if (Number.isSafeInteger(r.tree_size) && (r.tree_size as number) > (best?.tree_size ?? 0))
        best = {
          tree_size: r.tree_size as number,
          anchor_id: `the checkpoint signed at ${String(r.signed_at)}`,
          file: join(dir, SIGNED_CHECKPOINTS),
        };
    } catch {
      // a torn last line: the size before it still holds
    }
  }
  return best;
}
