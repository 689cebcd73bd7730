/**
 * Internal: the small file primitives the file sink, the spool and the
 * recorder's exit spool share. JSONL = one JSON event a line; a line never
 * holds a raw newline (JSON.stringify escapes them), so a crash mid-write can
 * only leave a partial *last* line, which is what `repairTornTail` cuts off.
 */
import * as fs from 'node:fs';
import { fsyncDirSync, writeAllSync } from '../core/durable-file.ts';
import type { VcpEvent } from '../core/types.ts';
import { serializeEvent, writeEventLine } from './serialize.ts';

/** Events as JSONL text, each line ending in `\n`. */
export function toJsonl(events: readonly VcpEvent[]): string {
  let out = '';
  for (const e of events) out += serializeEvent(e) + '\n';
  return out;
}

/**
 * A buffer an encoder may reuse from one call to the next (see {@link encodeEvents}): writing
 * into memory already mapped is several times cheaper than into a fresh multi-megabyte buffer,
 * whose every page faults on first touch (~0.5 µs a 1.5 KB line here).
 */
export interface EncodeScratch {
  buf: Buffer | undefined;
}

/** Largest scratch buffer kept between calls; a bigger one is used once and dropped. */
const SCRATCH_KEEP_BYTES = 8 * 1024 * 1024;

/**
 * Events encoded straight into one UTF-8 buffer: `open`, the events separated by
 * `sep`, then `close` (JSONL: '', '\n', '\n'; a JSON array: '[', ',', ']').
 * Writing each line into a preallocated buffer is about 3× cheaper than
 * building one big string and encoding it (no rope to flatten, one pass).
 *
 * With `scratch`, its buffer is reused and the result is a view into it: valid only until the
 * next call with the same scratch (for callers that write the bytes out synchronously).
 */
export function encodeEvents(
  events: readonly VcpEvent[],
  open = '',
  sep = '\n',
  close = '\n',
  scratch?: EncodeScratch,
): Buffer {
  // No events, no lines (but an empty JSON array stays `[]`).
  if (events.length === 0) return Buffer.from(open === '' ? '' : open + close, 'utf8');
  // Sized from the first line (x 1.25 for variation): a fixed guess that falls short of a typical
  // sealed event makes every batch grow and copy its whole buffer once. Each line goes into the
  // buffer with one write (writeEventLine), its header and payload the sealed text as hashed.
  let buf = scratch?.buf ?? Buffer.allocUnsafe(4096);
  let off = buf.write(open, 0);
  let end = writeEventLine(buf, off, events[0]!, events.length > 1 ? sep : close);
  // Grown until the first line fits (a 1 MiB event needs 3 MiB of room): a negative end must never
  // reach the copy or the subarray below, which would return bytes nobody wrote.
  while (end < 0) {
    buf = Buffer.allocUnsafe(Math.max(65536, buf.length * 4));
    off = buf.write(open, 0);
    end = writeEventLine(buf, off, events[0]!, events.length > 1 ? sep : close);
  }
  const want = Math.ceil(events.length * (end - off) * 1.25) + open.length + 4096;
  if (events.length > 1 && buf.length < want) {
    const next = Buffer.allocUnsafe(want);
    buf.copy(next, 0, 0, end);
    buf = next;
  }
  off = end;
  for (let i = 1; i < events.length; i++) {
    const tail = i === events.length - 1 ? close : sep;
    let at = writeEventLine(buf, off, events[i]!, tail);
    while (at < 0) {
      const next = Buffer.allocUnsafe(buf.length * 2);
      buf.copy(next, 0, 0, off);
      buf = next;
      at = writeEventLine(buf, off, events[i]!, tail);
    }
    off = at;
  }
  if (scratch !== undefined && buf.length <= SCRATCH_KEEP_BYTES) scratch.buf = buf;
  return buf.subarray(0, off);
}

/** Write all of `data` (a short write is continued). */
export const appendAllSync = writeAllSync;

/** What {@link repairTornTail} found. */
export interface TornTail {
  /** Bytes cut off the end (the partial line). */
  truncatedBytes: number;
  /** Start of the partial line, for the log (at most 80 characters). */
  preview: string;
}

/**
 * If the file open on `fd` does not end in `\n`, truncate it after its last
 * `\n` (or to empty) and say what was cut. Returns `undefined` when the file
 * was already whole.
 */
export function repairTornTail(fd: number): TornTail | undefined {
  const size = fs.fstatSync(fd).size;
  if (size === 0) return undefined;
  const last = Buffer.alloc(1);
  fs.readSync(fd, last, 0, 1, size - 1);
  if (last[0] === 0x0a) return undefined;
  // Scan backwards in chunks for the last newline.
  const chunk = Buffer.alloc(64 * 1024);
  let end = size;
  let cut = 0;
  while (end > 0) {
    const start = Math.max(0, end - chunk.length);
    const n = fs.readSync(fd, chunk, 0, end - start, start);
    const i = chunk.subarray(0, n).lastIndexOf(0x0a);
    if (i >= 0) {
      cut = start + i + 1;
      break;
    }
    end = start;
  }
  const previewBuf = Buffer.alloc(Math.min(80, size - cut));
  fs.readSync(fd, previewBuf, 0, previewBuf.length, cut);
  fs.ftruncateSync(fd, cut);
  fs.fsyncSync(fd);
  return { truncatedBytes: size - cut, preview: previewBuf.toString('utf8') };
}

/** What {@link readJsonlFile} read. */
export interface JsonlContents {
  /** Parsed lines, in file order. */
  values: unknown[];
  /** Bytes of a partial last line (not parsed), 0 when the file ends in `\n`. */
  tornBytes: number;
  /** Complete lines that are not JSON (1-based line numbers). */
  badLines: { line: number; text: string }[];
}

/** Read a whole JSONL file, skipping (and reporting) a torn last line and unparsable lines. */
export function readJsonlFile(path: string): JsonlContents {
  const text = fs.readFileSync(path, 'utf8');
  const values: unknown[] = [];
  const badLines: { line: number; text: string }[] = [];
  let start = 0;
  let line = 0;
  for (;;) {
    const nl = text.indexOf('\n', start);
    if (nl < 0) break;
    line++;
    const s = text.slice(start, nl);
    start = nl + 1;
    if (s.length === 0) continue;
    try {
      values.push(JSON.parse(s));
    } catch {
      badLines.push({ line, text: s.slice(0, 200) });
    }
  }
  return { values, tornBytes: Buffer.byteLength(text.slice(start)), badLines };
}

/** fsync a directory so a file created or renamed in it survives a crash. Best effort. */
export const fsyncDir = fsyncDirSync;

/** True when a process with this pid is alive (on this host). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
