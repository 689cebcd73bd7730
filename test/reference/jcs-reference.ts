/**
 * Slow, obviously-right RFC 8785 reference, used only by tests as an oracle for the fast
 * canonicalizer in src/integrity/canonical.ts. Written straight from the RFC, sharing no code
 * and no trick with it:
 *
 * - keys are compared code unit by code unit with an explicit loop (§3.2.3);
 * - strings are escaped character by character from the §3.2.2.2 table;
 * - numbers are laid out by hand from the ECMAScript Number::toString rules (§3.2.2.3), taking
 *   only the shortest round-trip digits from the engine (`toExponential()` with no argument);
 *   the number corpus in test/vectors checks those digits independently;
 * - the path is tracked explicitly and cycles are found with an ancestor list.
 *
 * It applies the same input policy as the fast one (reject non-plain objects, holes, undefined
 * in arrays, BigInt, ...; skip undefined-valued properties), so errors can be compared by path.
 */

/** A rejected value, with the raw RFC 6901 path to it and a short kind. */
export class ReferenceJcsError extends Error {
  readonly path: string;
  readonly kind: string;

  constructor(path: string, kind: string) {
    super(`${kind} at ${path || '(root)'}`);
    this.path = path;
    this.kind = kind;
  }
}

const MAX_DEPTH = 1000;

/** RFC 8785 canonical JSON of `value`, or a {@link ReferenceJcsError}. */
export function referenceCanonicalize(value: unknown): string {
  return write(value, [], []);
}

function write(value: unknown, path: string[], ancestors: object[]): string {
  const here = () => path.map((s) => '/' + s.replaceAll('~', '~0').replaceAll('/', '~1')).join('');
  if (value === null) return 'null';
  if (value === true) return 'true';
  if (value === false) return 'false';
  if (typeof value === 'number') {
    if (Number.isNaN(value)) throw new ReferenceJcsError(here(), 'NaN');
    if (!Number.isFinite(value)) throw new ReferenceJcsError(here(), 'Infinity');
    return formatNumber(value);
  }
  if (typeof value === 'string') {
    if (!isWellFormed(value)) throw new ReferenceJcsError(here(), 'lone surrogate');
    return quote(value);
  }
  if (typeof value !== 'object') throw new ReferenceJcsError(here(), typeof value);
  if (ancestors.includes(value)) throw new ReferenceJcsError(here(), 'cycle');
  if (ancestors.length >= MAX_DEPTH) throw new ReferenceJcsError(here(), 'too deep');
  const inner = [...ancestors, value];
  if (Array.isArray(value)) {
    const parts: string[] = [];
    for (let i = 0; i < value.length; i++) {
      if (!Object.hasOwn(value, i)) throw new ReferenceJcsError(`${here()}/${i}`, 'hole');
      if (value[i] === undefined) throw new ReferenceJcsError(`${here()}/${i}`, 'undefined');
      parts.push(write(value[i], [...path, String(i)], inner));
    }
    return '[' + parts.join(',') + ']';
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) throw new ReferenceJcsError(here(), 'not plain');
  const keys = Object.keys(value).sort(compareCodeUnits);
  // Policy shared with the fast one: every key is checked before any value, even a key whose
  // value is undefined (and so would be skipped).
  for (const key of keys) {
    if (!isWellFormed(key)) throw new ReferenceJcsError(`${here()}/${key}`, 'lone surrogate key');
  }
  const parts: string[] = [];
  for (const key of keys) {
    const child = (value as Record<string, unknown>)[key];
    if (child === undefined) continue;
    parts.push(quote(key) + ':' + write(child, [...path, key], inner));
  }
  return '{' + parts.join(',') + '}';
}

/** Negative, zero or positive as `a` sorts before, with or after `b` by UTF-16 code units. */
export function compareCodeUnits(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a.charCodeAt(i) - b.charCodeAt(i);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

function isWellFormed(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return false;
    }
  }
  return true;
}

/** RFC 8785 §3.2.2.2, one code unit at a time. */
function quote(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c === 0x08) out += '\\b';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0c) out += '\\f';
    else if (c === 0x0d) out += '\\r';
    else if (c < 0x20) out += '\\u00' + (c < 0x10 ? '0' : '') + c.toString(16);
    else out += s[i];
  }
  return out + '"';
}

/**
 * ECMAScript Number::toString(10) for a finite number, laid out by hand. With the shortest
 * digits s (k of them) and n such that the value is s × 10^(n−k):
 * k ≤ n ≤ 21 → digits then n−k zeros; 0 < n ≤ 21 → a point after n digits;
 * −6 < n ≤ 0 → "0." then −n zeros then the digits; otherwise exponent form.
 */
export function formatNumber(x: number): string {
  if (x === 0) return '0'; // both +0 and -0
  if (x < 0) return '-' + formatNumber(-x);
  const [mantissa, exp] = x.toExponential().split('e') as [string, string];
  const digits = mantissa.replace('.', '');
  const k = digits.length;
  const n = Number(exp) + 1;
  if (k <= n && n <= 21) return digits + '0'.repeat(n - k);
  if (0 < n && n <= 21) return digits.slice(0, n) + '.' + digits.slice(n);
  if (-6 < n && n <= 0) return '0.' + '0'.repeat(-n) + digits;
  const e = n - 1;
  const sign = e < 0 ? '-' : '+';
  const body = k === 1 ? digits : digits[0] + '.' + digits.slice(1);
  return body + 'e' + sign + Math.abs(e);
}
