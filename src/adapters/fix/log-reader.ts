/**
 * Reading a FIX engine's message log: one message a line, optionally
 * prefixed by the engine's timestamp and other text —
 *
 *   QuickFIX/J   20240102-13:45:01.123: 8=FIX.4.4|9=…
 *   QuickFIX     20240102-13:45:01.123 : 8=FIX.4.4␁9=…
 *   others       2024-01-02T13:45:01.123456Z IN 8=FIX.4.4|9=…
 *
 * The message starts at the first `8=FIX`; what comes before is the prefix,
 * searched for a timestamp (see time.ts) and a direction word (IN, OUT,
 * INBOUND, OUTBOUND, INCOMING, OUTGOING, RECV, RECEIVED, SENT, RX, TX).
 *
 * Lines are read as bytes (each byte one latin1 char), so BodyLength and
 * CheckSum are checked on exactly what the engine wrote. Memory stays
 * bounded on hostile files: a line longer than `maxLineBytes` is not held —
 * only its first bytes are kept (for the error event) and its length counted.
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { DEFAULT_MAX_MESSAGE_BYTES } from './parser.ts';
import { type FixTime, parseLogTimestamp } from './time.ts';

/** One line of a log, as read. */
export interface LogLine {
  /** 1-based line number. */
  line: number;
  /** The line as a binary string (latin1), without the line break; cut when `truncated`. */
  text: string;
  /** The line's full length in bytes. */
  bytes: number;
  /** True when the line was longer than `maxLineBytes` and `text` holds only its start. */
  truncated: boolean;
}

/** A line split into prefix and message. */
export interface LogEntry {
  /** Text before `8=FIX` (trimmed), `''` when none. */
  prefix: string;
  /** The message from `8=FIX` on, trailing whitespace removed; `undefined` when the line holds no `8=FIX`. */
  message: string | undefined;
  /** Timestamp found in the prefix. */
  time: FixTime | undefined;
  /** Direction word found in the prefix. */
  direction: 'in' | 'out' | undefined;
}

/** Options of {@link readLogLines}. */
export interface ReadLogOptions {
  /** Longest line held in memory, bytes (default: the parser's limit + 4 KiB for the prefix). */
  maxLineBytes?: number;
  /** Bytes kept of an over-long line (default 4 096). */
  keepBytes?: number;
}

const IN_RE = /(?:^|[^A-Za-z])(?:IN|INBOUND|INCOMING|RECV|RECEIVED|RX)(?:[^A-Za-z]|$)/i;
const OUT_RE = /(?:^|[^A-Za-z])(?:OUT|OUTBOUND|OUTGOING|SENT|TX)(?:[^A-Za-z]|$)/i;

/** Split one log line into prefix (timestamp, direction) and FIX message. */
export function parseLogLine(text: string): LogEntry {
  const at = text.indexOf('8=FIX');
  if (at === -1) return { prefix: text.trim(), message: undefined, time: undefined, direction: undefined };
  let end = text.length;
  while (end > at) {
    const c = text.charCodeAt(end - 1);
    if (c !== 32 && c !== 9 && c !== 13 && c !== 10) break;
    end--;
  }
  const message = at === 0 && end === text.length ? text : text.slice(at, end);
  if (at === 0) return { prefix: '', message, time: undefined, direction: undefined };
  const prefix = text.slice(0, at).trim();
  const direction = IN_RE.test(prefix) ? 'in' : OUT_RE.test(prefix) ? 'out' : undefined;
  return { prefix, message, time: parseLogTimestamp(prefix), direction };
}

/**
 * Read a log file (or stream) as batches of lines, in order. Each batch is
 * what one read chunk held (up to ~1 MiB), which keeps per-line overhead low
 * on million-line logs. `\r\n` endings are accepted.
 */
export async function* readLogLines(
  source: string | Readable,
  options: ReadLogOptions = {},
): AsyncGenerator<LogLine[]> {
  const maxLine = Math.max(64, options.maxLineBytes ?? DEFAULT_MAX_MESSAGE_BYTES + 4096);
  const keep = Math.min(maxLine, Math.max(64, options.keepBytes ?? 4096));
  const stream =
    typeof source === 'string' ? createReadStream(source, { highWaterMark: 1024 * 1024 }) : source;
  let lineNo = 0;
  let parts: Buffer[] = []; // copies of the current line's earlier pieces (while within maxLine)
  let held = 0; // bytes in parts
  let total = 0; // bytes of the current line so far
  let head: Buffer | undefined; // set once the current line is over maxLine: its first `keep` bytes

  const emit = (tail: Buffer, out: LogLine[]) => {
    lineNo++;
    if (head) {
      out.push({ line: lineNo, text: head.toString('latin1'), bytes: total, truncated: true });
    } else {
      const buf = parts.length === 0 ? tail : Buffer.concat([...parts, tail]);
      const len = buf.length > 0 && buf[buf.length - 1] === 13 ? buf.length - 1 : buf.length; // \r\n
      out.push({ line: lineNo, text: buf.toString('latin1', 0, len), bytes: len, truncated: false });
    }
    parts = [];
    held = 0;
    total = 0;
    head = undefined;
  };

  for await (const chunk of stream as AsyncIterable<Buffer | string>) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk;
    const out: LogLine[] = [];
    let start = 0;
    while (start < buf.length) {
      const nl = buf.indexOf(10, start);
      const piece = buf.subarray(start, nl === -1 ? buf.length : nl);
      total += piece.length;
      if (!head) {
        if (held + piece.length > maxLine) {
          // Over-long: keep only its head, count the rest as it streams past.
          head = Buffer.from(Buffer.concat([...parts, piece]).subarray(0, keep));
          parts = [];
          held = 0;
        } else if (nl === -1) {
          // The line goes on in the next chunk; the stream may reuse this chunk's memory.
          parts.push(Buffer.from(piece));
          held += piece.length;
        }
      }
      if (nl === -1) break;
      emit(piece, out);
      start = nl + 1;
    }
    if (out.length) yield out;
  }
  if (head || total > 0) {
    const out: LogLine[] = [];
    emit(Buffer.alloc(0), out);
    yield out;
  }
}
