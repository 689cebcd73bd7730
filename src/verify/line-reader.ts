/**
 * Reads a file as lines without ever holding more than one line (bounded by
 * `maxLineBytes`) in memory: a 100 MiB line is skipped as it streams past and
 * reported as too long, instead of being buffered and parsed.
 */
import { createReadStream } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

/** Lines longer than this are refused unread (an event is a few KB). */
export const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;

/** One line, or the fact that a line was too long. */
export type InputLine = { line: number; text: string } | { line: number; tooLong: number };

/**
 * Yield the lines of a byte stream. A trailing `\r` is removed (CRLF files);
 * a final line without a newline is yielded too.
 */
export async function* readLines(
  source: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>,
  maxLineBytes = DEFAULT_MAX_LINE_BYTES,
): AsyncGenerator<InputLine> {
  let line = 0;
  let parts: Buffer[] = [];
  let size = 0;
  let skipping = 0; // bytes of an over-long line seen so far, 0 when not skipping
  const decoder = new StringDecoder('utf8');
  const emit = (tail: Buffer): InputLine => {
    line++;
    if (skipping) {
      const n = skipping + tail.length;
      skipping = 0;
      return { line, tooLong: n };
    }
    const buf = parts.length === 0 ? tail : Buffer.concat([...parts, tail]);
    parts = [];
    size = 0;
    let text = decoder.write(buf) + decoder.end();
    if (text.endsWith('\r')) text = text.slice(0, -1);
    return { line, text };
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
        parts = [];
        size = 0;
      } else if (nl < 0) {
        parts.push(Buffer.from(piece));
        size += piece.length;
      }
      if (nl < 0) break;
      yield emit(skipping ? Buffer.alloc(0) : piece);
      start = nl + 1;
    }
  }
  if (skipping || size > 0) yield emit(Buffer.alloc(0));
}

/** {@link readLines} over a file. */
export function readFileLines(
  path: string,
  maxLineBytes = DEFAULT_MAX_LINE_BYTES,
): AsyncGenerator<InputLine> {
  return readLines(createReadStream(path, { highWaterMark: 256 * 1024 }), maxLineBytes);
}
