/**
 * Reads a file as lines without ever holding more than one line (bounded by
 * `maxLineBytes`) in memory: a 100 MiB line is skipped as it streams past and
 * reported as too long, instead of being buffered and parsed.
 */
import { createReadStream } from 'node:fs';

/** Lines longer than this are refused unread (an event is a few KB). */
export const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;

/** One line, or the fact that a line was too long. */
export type InputLine = { line: number; text: string } | { line: number; tooLong: number };

/**
 * Lines as they come off the disk, many at a time: the bytes of each line
 * (without its newline) laid end to end in one buffer that can be handed to
 * a worker thread without a copy, and where each ends. A line over the limit
 * is kept as its length only.
 */
export interface LineBatch {
  /** Line number of the first line. */
  first: number;
  bytes: Buffer;
  /** End offset in `bytes` of each line (its start is the previous end). */
  ends: number[];
  /** `[index in the batch, bytes]` of each line refused as too long (its text is empty). */
  tooLong: [number, number][];
}

/** Default lines in a {@link LineBatch}. */
export const DEFAULT_BATCH_LINES = 2048;

/**
 * Yield the lines of a byte stream in batches. A final line without a
 * newline is included; an empty remainder after the last newline is not.
 */
export async function* readLineBatches(
  source: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>,
  maxLineBytes = DEFAULT_MAX_LINE_BYTES,
  batchLines = DEFAULT_BATCH_LINES,
): AsyncGenerator<LineBatch> {
  let first = 1;
  let pieces: Buffer[] = []; // the batch's finished lines
  let batchBytes = 0;
  let ends: number[] = [];
  let tooLong: [number, number][] = [];
  let partial: Buffer[] = []; // the unfinished line
  let size = 0;
  let skipping = 0; // bytes of an over-long line seen so far, 0 when not skipping
  const endLine = (tail: Buffer) => {
    if (skipping) {
      tooLong.push([ends.length, skipping + tail.length]);
      skipping = 0;
    } else {
      if (partial.length) {
        for (const p of partial) pieces.push(p);
        batchBytes += size;
      }
      pieces.push(tail);
      batchBytes += tail.length;
    }
    partial = [];
    size = 0;
    ends.push(batchBytes);
  };
  const take = (): LineBatch => {
    const batch = { first, bytes: Buffer.concat(pieces, batchBytes), ends, tooLong };
    first += ends.length;
    pieces = [];
    batchBytes = 0;
    ends = [];
    tooLong = [];
    return batch;
  };
  for await (const chunk of source) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk);
    let start = 0;
    for (;;) {
      const nl = bytes.indexOf(0x0a, start);
      const end = nl < 0 ? bytes.length : nl;
      const piece = bytes.subarray(start, end);
      if (skipping) skipping += piece.length;
      else if (size + piece.length > maxLineBytes) {
        skipping = size + piece.length;
        partial = [];
        size = 0;
      } else if (nl < 0) {
        partial.push(Buffer.from(piece)); // the chunk's memory may be reused by the stream
        size += piece.length;
      }
      if (nl < 0) break;
      endLine(skipping ? Buffer.alloc(0) : piece);
      if (ends.length === batchLines) yield take();
      start = nl + 1;
    }
  }
  if (skipping || size > 0) endLine(Buffer.alloc(0));
  if (ends.length) yield take();
}

/** The lines of a batch as text (UTF-8, a trailing `\r` removed). */
export function linesOf(batch: LineBatch): InputLine[] {
  const out: InputLine[] = new Array(batch.ends.length);
  let t = 0;
  let start = 0;
  for (let i = 0; i < batch.ends.length; i++) {
    const end = batch.ends[i]!;
    const line = batch.first + i;
    if (t < batch.tooLong.length && batch.tooLong[t]![0] === i)
      out[i] = { line, tooLong: batch.tooLong[t++]![1] };
    else {
      const stop = end > start && batch.bytes[end - 1] === 0x0d ? end - 1 : end;
      out[i] = { line, text: batch.bytes.toString('utf8', start, stop) };
    }
    start = end;
  }
  return out;
}

/**
 * Yield the lines of a byte stream. A trailing `\r` is removed (CRLF files);
 * a final line without a newline is yielded too.
 */
export async function* readLines(
  source: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>,
  maxLineBytes = DEFAULT_MAX_LINE_BYTES,
): AsyncGenerator<InputLine> {
  for await (const batch of readLineBatches(source, maxLineBytes)) yield* linesOf(batch);
}

/** {@link readLines} over a file. */
export function readFileLines(
  path: string,
  maxLineBytes = DEFAULT_MAX_LINE_BYTES,
): AsyncGenerator<InputLine> {
  return readLines(createReadStream(path, { highWaterMark: 256 * 1024 }), maxLineBytes);
}

/** {@link readLineBatches} over a file. */
export function readFileBatches(
  path: string,
  maxLineBytes = DEFAULT_MAX_LINE_BYTES,
): AsyncGenerator<LineBatch> {
  return readLineBatches(createReadStream(path, { highWaterMark: 256 * 1024 }), maxLineBytes);
}
