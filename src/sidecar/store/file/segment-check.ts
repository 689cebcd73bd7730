/**
 * Reading a segment's bytes back and telling a torn write from corruption
 * (DESIGN decision 13).
 *
 * A crash can only tear the group being written, which was never
 * acknowledged. What it leaves at the end of the newest segment is a record
 * cut short (no final newline) or a page the file system extended but never
 * filled (zero bytes up to a page boundary), with nothing valid after it, and never at a leaf index
 * that an anchor already covers. Anything else — a complete record with a
 * wrong checksum, checksum-valid records after a bad one, damage in an older
 * segment, damage below the anchored size — is corruption (bit rot, a bad
 * disk, a hand edit), and the events at stake must be named, not dropped.
 */
import { VcpIoError } from '../../../core/errors.ts';
import { isLowerHex64 } from '../../../core/hex.ts';
import { checkRecord } from './record.ts';

const NL = 0x0a;
const PREFIX_RE = /^\{"i":(\d{1,15}),"id":"([0-9A-Za-z._-]{1,128})","h":"([0-9a-f]{64})"/;
const LOOSE_INDEX_RE = /"i":(\d{1,15})/;
const LOOSE_ID_RE = /"id":"([0-9A-Za-z._-]{1,128})"/;

/** Leaf index, id and hash of one checksum-valid record, and where it lies. */
export interface RecordHead {
  offset: number;
  length: number;
  index: number;
  eventId: string;
  eventHash: string;
}

/** The first bad spot of a segment and what lies behind it. */
export interface Damage {
  /** Path of the segment file. */
  file: string;
  /** Segment number. */
  segment: number;
  /** Byte offset of the first bad record. */
  offset: number;
  /** What is wrong there. */
  problem: string;
  /** Leaf index (merkle_index) the bad record should hold. */
  leaf: number;
  /** Bytes from `offset` to the end of the file. */
  bytes: number;
  /** What the bad record's own bytes still say (not verified: its checksum failed). */
  damagedHead?: { index?: number; eventId?: string };
  /** Checksum-valid records after the bad one, in this segment. */
  validAfter: RecordHead[];
  /** Incomplete or zero-filled, with nothing valid after it: the shape a crash leaves. */
  tornShaped: boolean;
}

/** Outcome of {@link checkSegment}. */
export interface SegmentCheck {
  /** Offset just past the last good record. */
  validEnd: number;
  /** Good records read. */
  count: number;
  damage?: Damage;
}

/** Leaf index, id and hash from a record's fixed prefix; falls back to a full parse. */
export function parseHead(json: Buffer): { index: number; eventId: string; eventHash: string } | undefined {
  const m = PREFIX_RE.exec(json.toString('latin1', 0, Math.min(json.length, 256)));
  if (m) return { index: Number(m[1]), eventId: m[2]!, eventHash: m[3]! };
  try {
    const r = JSON.parse(json.toString('utf8')) as { i?: unknown; id?: unknown; h?: unknown };
    if (
      Number.isSafeInteger(r.i) &&
      typeof r.id === 'string' &&
      typeof r.h === 'string' &&
      isLowerHex64(r.h)
    ) {
      return { index: r.i as number, eventId: r.id, eventHash: r.h };
    }
  } catch {
    // not JSON
  }
  return undefined;
}

/** Checksum-valid event records in `buf[from..)`, skipping bad lines. */
export function validHeads(buf: Buffer, from: number): RecordHead[] {
  const out: RecordHead[] = [];
  let at = from;
  while (at < buf.length) {
    const nl = buf.indexOf(NL, at);
    if (nl === -1) break;
    const json = checkRecord(buf, at, nl + 1);
    if (typeof json !== 'string') {
      const head = parseHead(json);
      if (head) out.push({ offset: at, length: nl + 1 - at, ...head });
    }
    at = nl + 1;
  }
  return out;
}

/**
 * Walk a segment's records in order, expecting leaf indexes from
 * `firstLeaf` on; `onRecord` sees each good one. Stops at the first bad
 * record (framing, checksum, not an event record, or an unexpected index)
 * and describes it.
 */
export function checkSegment(
  buf: Buffer,
  file: string,
  segment: number,
  firstLeaf: number,
  onRecord: (head: RecordHead) => void,
): SegmentCheck {
  let at = 0;
  let leaf = firstLeaf;
  while (at < buf.length) {
    const nl = buf.indexOf(NL, at);
    let problem: string | undefined;
    let end = buf.length;
    let json: Buffer | string;
    if (nl === -1) {
      problem = `incomplete record of ${buf.length - at} bytes at the end`;
      json = problem;
    } else {
      end = nl + 1;
      json = checkRecord(buf, at, end);
      if (typeof json === 'string') problem = json;
    }
    if (problem === undefined) {
      const head = parseHead(json as Buffer);
      if (!head) problem = 'not an event record';
      else if (head.index !== leaf) problem = `record has leaf index ${head.index}, expected ${leaf}`;
      else {
        onRecord({ offset: at, length: end - at, ...head });
        leaf++;
        at = end;
        continue;
      }
    }
    const validAfter = nl === -1 ? [] : validHeads(buf, end);
    const tail = buf.subarray(at);
    const damage: Damage = {
      file,
      segment,
      offset: at,
      problem: problem!,
      leaf,
      bytes: tail.length,
      validAfter,
      tornShaped: validAfter.length === 0 && tornShapedTail(tail, at),
    };
    const guess = looseHead(buf.subarray(at, end));
    if (guess) damage.damagedHead = guess;
    return { validEnd: at, count: leaf - firstLeaf, damage };
  }
  return { validEnd: at, count: leaf - firstLeaf };
}

/**
 * Whether the bytes from the first bad record to the end of a log file look
 * like what a crash leaves (the caller checks that no valid record follows):
 * cut short (no final newline, and not a whole record whose newline alone
 * is damaged), or ending in a newline after a page that was never written.
 */
export function tornShapedTail(tail: Buffer, fileOffset: number): boolean {
  return (tail.at(-1) !== NL || unwrittenPage(tail, fileOffset)) && !completeButNewline(tail);
}

/** Page size the zero-fill rule assumes (the smallest common one; larger pages are multiples). */
const PAGE = 4096;

/**
 * Whether a tail that ends in a newline holds a page the file system
 * extended but never wrote: a run of zero bytes ending on a page boundary.
 * (A bit flip can turn one space into a zero byte inside a record; it lands
 * on a page's last byte once in 4096.)
 */
function unwrittenPage(tail: Buffer, fileOffset: number): boolean {
  let k = tail.indexOf(0);
  while (k !== -1) {
    let end = k;
    while (end < tail.length && tail[end] === 0) end++;
    if ((fileOffset + end) % PAGE === 0) return true;
    k = tail.indexOf(0, end);
  }
  return false;
}

/**
 * A whole record whose only fault is its last byte (the newline flipped
 * into something else): its checksum matches the bytes before it. A torn
 * write leaves the file shorter or zero-filled, never that.
 */
function completeButNewline(tail: Buffer): boolean {
  if (tail.length < 11 || tail.at(-1) === 0 || tail.indexOf(NL) !== -1) return false;
  const copy = Buffer.from(tail);
  copy[copy.length - 1] = NL;
  return typeof checkRecord(copy, 0, copy.length) !== 'string';
}

/** Index and id as far as a damaged record's bytes still show them. */
function looseHead(bytes: Buffer): { index?: number; eventId?: string } | undefined {
  const text = bytes.toString('latin1', 0, Math.min(bytes.length, 256));
  const i = LOOSE_INDEX_RE.exec(text);
  const id = LOOSE_ID_RE.exec(text);
  if (!i && !id) return undefined;
  const out: { index?: number; eventId?: string } = {};
  if (i) out.index = Number(i[1]);
  if (id) out.eventId = id[1]!;
  return out;
}

/** "merkle_index 3–7 (event_id a, b, c, … and 2 more)" for a list of records. */
export function describeHeads(heads: readonly { index: number; eventId: string }[], max = 5): string {
  if (heads.length === 0) return 'none';
  const first = heads[0]!.index;
  const last = heads.at(-1)!.index;
  const range = first === last ? `merkle_index ${first}` : `merkle_index ${first}–${last}`;
  const ids = heads.slice(0, max).map((h) => h.eventId);
  const more = heads.length > max ? `, … and ${heads.length - max} more` : '';
  return `${range} (event_id ${ids.join(', ')}${more})`;
}

/** One sentence naming the damaged record: where, what, and which event it should hold. */
export function describeDamage(d: Damage): string {
  const guess = d.damagedHead;
  const says =
    guess && (guess.eventId !== undefined || guess.index !== undefined)
      ? `; its unverified bytes say ${[
          guess.index !== undefined ? `merkle_index ${guess.index}` : '',
          guess.eventId !== undefined ? `event_id ${guess.eventId}` : '',
        ]
          .filter(Boolean)
          .join(', ')}`
      : '';
  const after = d.validAfter.length
    ? `; ${d.validAfter.length} checksum-valid record(s) follow it in the same file: ${describeHeads(d.validAfter)}`
    : '';
  return `${d.file} at byte offset ${d.offset}: ${d.problem}; the record there should hold merkle_index ${d.leaf}${says}${after}`;
}

/** The data folder holds damage a crash cannot explain; the message names the file, offset and events. */
export class LogDamageError extends VcpIoError {
  /** The damage (undefined when events are missing rather than damaged). */
  readonly damage: Damage | undefined;

  constructor(message: string, damage?: Damage) {
    super(message);
    this.damage = damage;
  }
}
