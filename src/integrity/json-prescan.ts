/**
 * The strict JSON parser's limits, checked on the raw UTF-8 bytes, before the
 * text is decoded at all.
 *
 * For a large body (the sidecar uses it above 1 MiB), decoding 8 MiB into a
 * string and scanning it costs tens of milliseconds of event loop and as
 * much memory again, all wasted when the body is 4 million `[` or an
 * 830 000-key object. JSON's structural characters are ASCII and never occur
 * inside a multi-byte UTF-8 sequence, so the same structure scan works on
 * bytes: nesting (`depth`), keys per object and in all (`max-keys`), string
 * length in bytes (`max-string-length`) and root array items (`max-items`),
 * with the rule and path strict-json.ts would report for the same limit.
 * Nothing else is checked here (syntax, duplicates, numbers): the full parse
 * does that on whatever passes.
 */
import { VcpValidationError } from '../core/errors.ts';

/** The limits {@link prescanJsonBytes} checks (as strict-json.ts names them). */
export interface JsonByteLimits {
  maxDepth: number;
  maxKeysPerObject: number;
  maxKeys: number;
  /** Longest string, in bytes as written. */
  maxStringLength: number;
  /** Most elements of a root array. */
  maxItems: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const COMMA = 0x2c;

interface ByteFrame {
  object: boolean;
  /** Keys (objects) or the current element's index (arrays). */
  count: number;
  expectKey: boolean;
  /** The current key's bytes, quotes included (objects). */
  keyStart: number;
  keyEnd: number;
}

/**
 * Throw `VcpValidationError` (rule `depth`, `max-keys`, `max-string-length`
 * or `max-items`) when `bytes` breaks a limit; return quietly otherwise
 * (malformed text included: the full parse reports it).
 */
export function prescanJsonBytes(bytes: Uint8Array, limits: JsonByteLimits): void {
  const { maxDepth, maxKeysPerObject, maxKeys, maxStringLength, maxItems } = limits;
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = buf.length;
  const stack: ByteFrame[] = [];
  let totalKeys = 0;
  const fail = (rule: string, path: string, message: string): never => {
    throw new VcpValidationError({ path, rule, message });
  };
  for (let i = 0; i < n; i++) {
    const c = buf[i]!;
    if (c === QUOTE) {
      let j = buf.indexOf(QUOTE, i + 1);
      while (j > 0 && buf[j - 1] === BACKSLASH) {
        let b = j - 1;
        while (buf[b - 1] === BACKSLASH) b--;
        if ((j - b) % 2 === 0) break;
        j = buf.indexOf(QUOTE, j + 1);
      }
      if (j === -1) return; // unterminated: malformed
      if (j - i - 1 > maxStringLength) {
        fail(
          'max-string-length',
          pathOf(buf, stack, stack.length),
          `a string of ${j - i - 1} bytes; at most ${maxStringLength} are accepted`,
        );
      }
      const top = stack[stack.length - 1];
      if (top?.expectKey) {
        if (++top.count > maxKeysPerObject)
          fail(
            'max-keys',
            pathOf(buf, stack, stack.length),
            `more than ${maxKeysPerObject} keys in one object`,
          );
        if (++totalKeys > maxKeys) fail('max-keys', '', `more than ${maxKeys} keys in the document`);
        top.keyStart = i;
        top.keyEnd = j + 1;
        top.expectKey = false;
      }
      i = j;
    } else if (c === LBRACE || c === LBRACKET) {
      if (stack.length >= maxDepth) fail('depth', '', `JSON nested deeper than ${maxDepth} levels`);
      stack.push({ object: c === LBRACE, count: 0, expectKey: c === LBRACE, keyStart: 0, keyEnd: 0 });
    } else if (c === RBRACE || c === RBRACKET) {
      stack.pop();
    } else if (c === COMMA) {
      const top = stack[stack.length - 1];
      if (top === undefined) continue;
      if (top.object) top.expectKey = true;
      else if (++top.count >= maxItems && stack.length === 1)
        fail('max-items', '', `more than ${maxItems} items in the array`);
    }
  }
}

/** The path of the container at `stack[depth - 1]`, as strict-json.ts writes it. */
function pathOf(buf: Buffer, stack: ByteFrame[], depth: number): string {
  let p = '';
  for (let k = 1; k < depth; k++) {
    const parent = stack[k - 1]!;
    if (!parent.object) {
      p = `${p}[${parent.count}]`;
      continue;
    }
    const raw = buf.toString('utf8', parent.keyStart, parent.keyEnd);
    let key: string;
    try {
      key = JSON.parse(raw) as string;
    } catch {
      key = raw.slice(1, -1);
    }
    p = p ? `${p}.${key}` : key;
  }
  return p;
}
