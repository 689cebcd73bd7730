/**
 * Finding an event's RFC 8785 texts inside the line it arrived as, instead of writing them again.
 *
 * Our recorder and sinks write `header` and `payload` as the exact RFC 8785 text they hashed, so in
 * most lines a reader receives from them, those two values already are their canonical form. When a
 * value's text is canonical, `canonicalize(JSON.parse(text)) === text`, and the EventHash can be taken
 * over a slice of the line: no second serialization, and no flattening of a rope of small strings
 * (which costs about as much as the serialization itself).
 *
 * The strict parser's quick scan (strict-json.ts, option `canonicalParts`) finds these slices while it
 * walks the text anyway. A value's text is taken as canonical only when, with no whitespace between
 * its tokens:
 * - no string in it (key or value) holds a backslash, so none has an escape: RFC 8785 escapes only
 *   `"`, `\` and C0 controls, which valid JSON cannot hold raw, so it writes such a string as it is;
 * - it holds no lone surrogate (RFC 8785 refuses them). Text decoded from UTF-8 has none; for any other
 *   text, {@link canonicalTextsOf} checks the two slices (cheap where V8 holds the text as one-byte);
 * - every object's keys strictly increase in UTF-16 code units (RFC 8785 §3.2.3; strictly, so no key
 *   repeats);
 * - every number is written as ECMAScript writes its value (RFC 8785 §3.2.2.3: `1.5`, `1e-7`, not
 *   `1.50`, `1E-7` or `-0`);
 * - it is an object, and JSON.parse accepted the whole text (so the grammar is JSON's).
 * Then RFC 8785 writes back exactly the same characters. Anything else is simply not found, and the
 * caller canonicalizes the parsed value as before: a conservative answer costs speed, never a verdict.
 * test/reference/canonical-parts-reference.ts walks the same rules on its own, and the tests hold both
 * to `canonicalize`.
 */

/** Whether the key in [a, aEnd) of `t` sorts strictly before the key in [b, bEnd) (UTF-16 code units, RFC 8785 §3.2.3). */
export function keySortsBefore(t: string, a: number, aEnd: number, b: number, bEnd: number): boolean {
  const la = aEnd - a;
  const lb = bEnd - b;
  const m = Math.min(la, lb);
  for (let k = 0; k < m; k++) {
    const x = t.charCodeAt(a + k);
    const y = t.charCodeAt(b + k);
    if (x !== y) return x < y;
  }
  return la < lb;
}

/**
 * The RFC 8785 texts of event `k`'s header and payload as slices of `line`, from the strict parser's
 * `canonicalParts` (offsets into `line`), or undefined when either is not written canonically. `fromUtf8`: the text was decoded from UTF-8 bytes, so it holds
 * no lone surrogate and the slices need no look for one (a look costs ~1 µs per KB in a two-byte string).
 */
export function canonicalTextsOf(
  line: string,
  parts: readonly number[] | undefined,
  k: number,
  fromUtf8 = false,
): [string, string] | undefined {
  if (parts === undefined) return undefined;
  const h0 = parts[4 * k]!;
  const p0 = parts[4 * k + 2]!;
  if (h0 < 0 || p0 < 0) return undefined;
  const header = line.slice(h0, parts[4 * k + 1]!);
  const payload = line.slice(p0, parts[4 * k + 3]!);
  if (!fromUtf8 && !(isWellFormed(header) && isWellFormed(payload))) return undefined;
  return [header, payload];
}

/** `String.prototype.isWellFormed` (ES2024; Node ≥ 20), typed here so the sources compile against an ES2023 lib. */
function isWellFormed(s: string): boolean {
  return (s as unknown as { isWellFormed(): boolean }).isWellFormed();
}
