/**
 * Record framing of the file store's append-only logs (event segments and
 * the anchors file): one record a line,
 *
 *     <crc32 of the JSON bytes, 8 lowercase hex> <space> <JSON> <\n>
 *
 * so a log is still readable with `cut -c10-` and `jq`, while a torn or
 * bit-flipped record is recognised by its checksum. `JSON.stringify` never
 * writes a raw newline (it escapes them inside strings), so `\n` always ends
 * a record.
 */
import { crc32 } from 'node:zlib';

/** Bytes a record adds around its JSON: 8 hex digits, a space, a newline. */
export const RECORD_OVERHEAD = 10;

const NL = 0x0a;
const SPACE = 0x20;
const HEX8_RE = /^[0-9a-f]{8}$/;

const HEX = '0123456789abcdef';

/** Lowercase 8-digit hex of an unsigned 32-bit value. */
function hex8(n: number): string {
  let s = '';
  for (let shift = 28; shift >= 0; shift -= 4) s += HEX[(n >>> shift) & 0xf];
  return s;
}

/**
 * Encode records into one buffer (one `write` per group). A record's JSON
 * may be given as a string or as parts to concatenate (written one after
 * the other, so a large part is never copied into a joined string first);
 * a part may be UTF-8 bytes already (copied as they are).
 * Returns the buffer and each record's byte length, in order.
 */
export function encodeRecords(records: readonly (string | readonly (string | Uint8Array)[])[]): {
  buffer: Buffer;
  lengths: number[];
} {
  const lengths = new Array<number>(records.length);
  let total = 0;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    let len = RECORD_OVERHEAD;
    if (typeof r === 'string') len += Buffer.byteLength(r, 'utf8');
    else
      for (const part of r) len += typeof part === 'string' ? Buffer.byteLength(part, 'utf8') : part.length;
    lengths[i] = len;
    total += len;
  }
  // One buffer, each JSON encoded straight into it, its checksum written in front.
  const buffer = Buffer.allocUnsafe(total);
  let at = 0;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    const start = at + 9;
    let w = start;
    if (typeof r === 'string') w += buffer.write(r, w, 'utf8');
    else
      for (const part of r) {
        if (typeof part === 'string') w += buffer.write(part, w, 'utf8');
        else {
          buffer.set(part, w);
          w += part.length;
        }
      }
    buffer.write(hex8(crc32(buffer.subarray(start, w))), at, 8, 'latin1');
    buffer[at + 8] = SPACE;
    buffer[w] = NL;
    at = w + 1;
  }
  return { buffer, lengths };
}

/** A record found by {@link decodeRecords}. */
export interface RawRecord {
  /** Offset of the record's first byte in the buffer. */
  offset: number;
  /** Length of the whole record, checksum and newline included. */
  length: number;
  /** The JSON bytes (a view into the buffer). */
  json: Buffer;
}

/** Outcome of {@link decodeRecords}. */
export interface DecodeResult {
  /** Offset just past the last complete, checksum-valid record before the first bad one. */
  validEnd: number;
  /** Why decoding stopped before the end of the buffer, if it did. */
  problem?: string;
  /** Checksum-valid records found *after* the first bad one (crash debris or corruption). */
  validAfterProblem: number;
}

/** Check one record's framing and checksum; returns the JSON view or why it is bad. */
export function checkRecord(buf: Buffer, start: number, end: number): Buffer | string {
  if (end - start < RECORD_OVERHEAD + 1) return 'record too short';
  if (buf[end - 1] !== NL) return 'record does not end with a newline';
  if (buf[start + 8] !== SPACE) return 'record has no checksum separator';
  const hex = buf.toString('latin1', start, start + 8);
  if (!HEX8_RE.test(hex)) return 'record checksum is not hex';
  const want = Number.parseInt(hex, 16);
  const json = buf.subarray(start + 9, end - 1);
  if (crc32(json) !== want) return 'record checksum mismatch';
  return json;
}

/**
 * Walk the records of `buf[from..to)`, calling `onRecord` for each valid one
 * until the first bad or incomplete record. Then count how many valid records
 * follow the bad spot (a torn tail has none; corruption in the middle has some).
 */
export function decodeRecords(
  buf: Buffer,
  onRecord: (record: RawRecord) => void,
  from = 0,
  to = buf.length,
): DecodeResult {
  let at = from;
  while (at < to) {
    const nl = buf.indexOf(NL, at);
    if (nl === -1 || nl >= to) {
      return {
        validEnd: at,
        problem: `incomplete record of ${to - at} bytes at the end`,
        validAfterProblem: 0,
      };
    }
    const checked = checkRecord(buf, at, nl + 1);
    if (typeof checked === 'string') {
      return {
        validEnd: at,
        problem: `${checked} at offset ${at}`,
        validAfterProblem: countValid(buf, nl + 1, to),
      };
    }
    onRecord({ offset: at, length: nl + 1 - at, json: checked });
    at = nl + 1;
  }
  return { validEnd: at, validAfterProblem: 0 };
}

function countValid(buf: Buffer, from: number, to: number): number {
  let n = 0;
  let at = from;
  while (at < to) {
    const nl = buf.indexOf(NL, at);
    if (nl === -1 || nl >= to) break;
    if (typeof checkRecord(buf, at, nl + 1) !== 'string') n++;
    at = nl + 1;
  }
  return n;
}
