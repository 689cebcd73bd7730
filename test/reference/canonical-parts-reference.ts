/**
 * A slow, separate reader of the rules in src/integrity/canonical-span.ts: where an event line's
 * `header` and `payload` objects are written exactly as RFC 8785 writes their values. Its own walk,
 * written apart from the strict parser's quick scan, so the tests can hold the two to each other and
 * both to `canonicalize`. For text JSON.parse accepted.
 */
const QUOTE = 0x22;
const COMMA = 0x2c;
const COLON = 0x3a;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const MINUS = 0x2d;
const DIGIT0 = 0x30;
const DIGIT9 = 0x39;

/** Deeper than any event the strict parsers accept (64): such a text takes the slow path. */
const MAX_DEPTH = 128;

/**
 * Where the `header` and `payload` values of an event line (one JSON object, as `JSON.parse` accepted
 * it) stand as their RFC 8785 text: `[headerStart, headerEnd, payloadStart, payloadEnd]`, or
 * `undefined` when either is missing, not an object, or not written canonically (see the module
 * comment). Whitespace between the line's own members is allowed; inside the two values it is not.
 */
export function canonicalEventParts(line: string): [number, number, number, number] | undefined {
  // One look for a backslash over the whole line: with none, every string ends at its next quote.
  if (line.indexOf('\\') !== -1 || !(line as unknown as { isWellFormed(): boolean }).isWellFormed())
    return undefined;
  const n = line.length;
  let i = skipSpace(line, 0);
  if (line.charCodeAt(i) !== LBRACE) return undefined;
  i = skipSpace(line, i + 1);
  let h0 = -1;
  let h1 = -1;
  let p0 = -1;
  let p1 = -1;
  while (i < n && line.charCodeAt(i) === QUOTE) {
    const keyEnd = line.indexOf('"', i + 1);
    if (keyEnd === -1) return undefined;
    const which =
      keyEnd - i - 1 === 6 && line.startsWith('header', i + 1)
        ? 1
        : keyEnd - i - 1 === 7 && line.startsWith('payload', i + 1)
          ? 2
          : 0;
    i = skipSpace(line, keyEnd + 1);
    if (line.charCodeAt(i) !== COLON) return undefined;
    i = skipSpace(line, i + 1);
    let end: number;
    if (which === 0) end = skipValue(line, i);
    else {
      // A member named twice: JSON.parse keeps the last, and the strict parsers refuse it; not ours to pick.
      if ((which === 1 ? h0 : p0) !== -1 || line.charCodeAt(i) !== LBRACE) return undefined;
      end = canonicalEnd(line, i, 0);
      if (which === 1) {
        h0 = i;
        h1 = end;
      } else {
        p0 = i;
        p1 = end;
      }
    }
    if (end === -1) return undefined;
    i = skipSpace(line, end);
    const c = line.charCodeAt(i);
    if (c === COMMA) i = skipSpace(line, i + 1);
    else if (c === RBRACE) {
      if (skipSpace(line, i + 1) !== n || h0 === -1 || p0 === -1) return undefined;
      return [h0, h1, p0, p1];
    } else return undefined;
  }
  return undefined;
}

function skipSpace(t: string, i: number): number {
  for (;;) {
    const c = t.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return i;
    i++;
  }
}

/**
 * End of the canonical JSON value starting at `i` (exclusive), or -1 where the text is not canonical.
 * The caller has ruled out backslashes, so a string ends at its next quote.
 */
function canonicalEnd(t: string, i: number, depth: number): number {
  const c = t.charCodeAt(i);
  if (c === QUOTE) {
    const j = t.indexOf('"', i + 1);
    return j === -1 ? -1 : j + 1;
  }
  if (c === LBRACE) {
    if (depth >= MAX_DEPTH) return -1;
    i++;
    if (t.charCodeAt(i) === RBRACE) return i + 1;
    let prev = -1;
    let prevEnd = -1;
    for (;;) {
      if (t.charCodeAt(i) !== QUOTE) return -1;
      const keyEnd = t.indexOf('"', i + 1);
      if (keyEnd === -1) return -1;
      if (prev !== -1 && !keyAfter(t, prev, prevEnd, i + 1, keyEnd)) return -1;
      prev = i + 1;
      prevEnd = keyEnd;
      if (t.charCodeAt(keyEnd + 1) !== COLON) return -1;
      i = canonicalEnd(t, keyEnd + 2, depth + 1);
      if (i === -1) return -1;
      const d = t.charCodeAt(i);
      if (d === RBRACE) return i + 1;
      if (d !== COMMA) return -1;
      i++;
    }
  }
  if (c === LBRACKET) {
    if (depth >= MAX_DEPTH) return -1;
    i++;
    if (t.charCodeAt(i) === RBRACKET) return i + 1;
    for (;;) {
      i = canonicalEnd(t, i, depth + 1);
      if (i === -1) return -1;
      const d = t.charCodeAt(i);
      if (d === RBRACKET) return i + 1;
      if (d !== COMMA) return -1;
      i++;
    }
  }
  if (c === 0x74) return t.startsWith('true', i) ? i + 4 : -1;
  if (c === 0x66) return t.startsWith('false', i) ? i + 5 : -1;
  if (c === 0x6e) return t.startsWith('null', i) ? i + 4 : -1;
  if (c === MINUS || (c >= DIGIT0 && c <= DIGIT9)) return numberEnd(t, i);
  return -1;
}

/** Whether the key in [a, aEnd) sorts strictly before the key in [b, bEnd): JavaScript's `<` on strings compares UTF-16 code units. */
function keyAfter(t: string, a: number, aEnd: number, b: number, bEnd: number): boolean {
  return t.slice(a, aEnd) < t.slice(b, bEnd);
}

/** End of a number token written as ECMAScript writes its value, or -1. */
function numberEnd(t: string, i: number): number {
  let j = i;
  let plain = true; // digits only, after an optional minus
  for (; ; j++) {
    const d = t.charCodeAt(j);
    if (d >= DIGIT0 && d <= DIGIT9) continue;
    if (j === i && d === MINUS) continue;
    if (d === 0x2e || d === 0x65 || d === 0x45 || d === 0x2b || d === MINUS) {
      plain = false;
      continue;
    }
    break;
  }
  const digits = t.charCodeAt(i) === MINUS ? j - i - 1 : j - i;
  const lead = t.charCodeAt(j - digits);
  // A short plain integer is its own ECMAScript spelling unless it has a leading zero or is `-0`.
  if (plain && digits >= 1 && digits <= 15 && (lead !== DIGIT0 || (digits === 1 && j - i === 1))) return j;
  const token = t.slice(i, j);
  return String(Number(token)) === token ? j : -1;
}

/** End of any JSON value at `i` (the line's other members: whitespace allowed), or -1. No backslash is in the text. */
function skipValue(t: string, i: number): number {
  let depth = 0;
  const n = t.length;
  for (; i < n; i++) {
    const c = t.charCodeAt(i);
    if (c === QUOTE) {
      const j = t.indexOf('"', i + 1);
      if (j === -1) return -1;
      if (depth === 0) return j + 1;
      i = j;
    } else if (c === LBRACE || c === LBRACKET) depth++;
    else if (c === RBRACE || c === RBRACKET) {
      if (depth === 0) return -1;
      if (--depth === 0) return i + 1;
    } else if (depth === 0 && (c === COMMA || c <= 0x20)) return -1;
    else if (depth === 0) {
      // A scalar: up to the next delimiter.
      let j = i + 1;
      while (j < n) {
        const d = t.charCodeAt(j);
        if (d === COMMA || d === RBRACE || d === RBRACKET || d <= 0x20) break;
        j++;
      }
      return j;
    }
  }
  return -1;
}
