/**
 * A large JSON array body parsed one element at a time.
 *
 * Why: decoding a whole body makes one string of its size, and V8 puts a string over 128 KiB
 * in memory of its own, mapped fresh for it and unmapped at the next GC. Every page of it is a
 * page fault when it is written, and on a microVM like ours a fault costs several µs
 * (docs/performance.md, "The VM's first touch of memory"): a 500-event body (500 KB) paid
 * 0.27 faults and about 2.7 µs per event for its text. Each element's text is a small string
 * in the young generation, whose pages are reused.
 *
 * How: the body is cut after each `}` that is followed by `,{` (how `JSON.stringify` and our
 * sinks write an array of events), and every piece is parsed on its own. When every piece is a
 * JSON value, the body is exactly `[` piece `,` piece … `]`, an array of those values: the same
 * items a parse of the whole body gives, since a JSON value means the same wherever it stands.
 * A cut inside an element (a string holding `},{`, an array of objects) leaves a piece that is
 * not JSON; then, as for every body that is not a clean array of objects, the caller parses the
 * whole body, so a refusal always comes from that one path and names what it always named.
 * The per-text limits are the whole body's: depth counted from the element, keys per object and
 * string length as before; the total key count is checked on the bytes for bodies over 1 MiB
 * (json-prescan.ts), and a body under that cannot hold the million keys it allows.
 */

import { isAscii } from 'node:buffer';
import { MAX_JSON_DEPTH, parseJsonStrict, type ScanOptions } from '../integrity/strict-json.ts';

/** Bodies at least this large are parsed by element (V8's large-object limit is 128 KiB). */
export const ELEMENT_PARSE_MIN_BYTES = 96 * 1024;

/** One large array body, parsed by element. */
export interface ArrayBodyElements {
  values: unknown[];
  /** Each element's text as received. */
  texts: string[];
  /** Each element's [start, end) byte offsets in the body, when the body is ASCII (then also UTF-16 offsets). */
  spans: Int32Array | undefined;
  /** Per element, its RFC 8785 header and payload offsets in its text (strict-json's canonicalParts), -1 where not. */
  canonicalParts: number[];
  /** Whether some element's text holds a line break (JSON whitespace between tokens). */
  lineBreaks: boolean;
}

const CUT = Buffer.from('},{');

function isBlank(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

/** `[from, to)` without the JSON whitespace at either end. */
function unpadded(body: Buffer, from: number, to: number): { from: number; to: number } {
  while (from < to && isBlank(body[from])) from++;
  while (to > from && isBlank(body[to - 1])) to--;
  return { from, to };
}

/**
 * The elements of `body` (valid UTF-8, at least {@link ELEMENT_PARSE_MIN_BYTES}), or undefined
 * when it is not a JSON array that the cuts above split into JSON values (parse it whole then).
 * `options` are the whole body's parse options; `maxItems` also bounds the element count.
 */
export function parseArrayElements(
  body: Buffer,
  options: Pick<ScanOptions, 'maxKeysPerObject' | 'maxStringLength' | 'maxItems'>,
): ArrayBodyElements | undefined {
  const outer = unpadded(body, 0, body.length);
  if (body[outer.from] !== 0x5b || body[outer.to - 1] !== 0x5d || outer.to - outer.from < 2) return undefined;
  const { from, to } = unpadded(body, outer.from + 1, outer.to - 1);
  let cut = body.indexOf(CUT, from);
  if (cut === -1 || cut >= to) return undefined;
  const maxItems = options.maxItems ?? Number.POSITIVE_INFINITY;
  const ascii = isAscii(body);
  const scan: ScanOptions = {
    maxDepth: MAX_JSON_DEPTH,
    maxKeysPerObject: options.maxKeysPerObject,
    maxStringLength: options.maxStringLength,
    maxItems,
    canonicalParts: true,
  };
  const values: unknown[] = [];
  const texts: string[] = [];
  const offsets: number[] = [];
  const canonicalParts: number[] = [];
  let lineBreaks = false;
  let start = from;
  while (start < to) {
    const end = cut === -1 || cut >= to ? to : cut + 1;
    if (values.length >= maxItems) return undefined;
    const text = body.toString(ascii ? 'latin1' : 'utf8', start, end);
    let parsed: ReturnType<typeof parseJsonStrict>;
    try {
      parsed = parseJsonStrict(text, scan);
    } catch {
      return undefined;
    }
    values.push(parsed.value);
    texts.push(text);
    offsets.push(start, end);
    // An element that is itself an array has no event parts (its parts would be its elements').
    const cp = Array.isArray(parsed.value) ? undefined : parsed.canonicalParts;
    canonicalParts.push(cp?.[0] ?? -1, cp?.[1] ?? -1, cp?.[2] ?? -1, cp?.[3] ?? -1);
    if (!lineBreaks && (text.indexOf('\n') !== -1 || text.indexOf('\r') !== -1)) lineBreaks = true;
    start = end + 1;
    cut = end === to ? -1 : body.indexOf(CUT, start);
  }
  return {
    values,
    texts,
    spans: ascii ? Int32Array.from(offsets) : undefined,
    canonicalParts,
    lineBreaks,
  };
}
