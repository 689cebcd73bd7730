/**
 * Which JSON number texts an audit log can take as numbers.
 *
 * A JSON number becomes an IEEE double in every JavaScript reader (and in
 * RFC 8785, which the EventHash is computed over), so a number the double
 * cannot hold is silently changed: `12345678901234567890` is read as
 * `12345678901234567000`, `0.10000000000000000001` as `0.1`. The hash then
 * covers a value the producer never sent. Two rules:
 *
 * - `number-precision` (always): the text must denote the same value as the
 *   double's shortest round-trip text, and an integer written without
 *   fraction or exponent must be a safe integer (|n| ≤ 2^53−1; beyond, a
 *   double cannot tell neighbours apart). Infinity and underflow to 0 fail too.
 * - `number-form` (opt-in, the verifier's): the text must be exactly what
 *   RFC 8785 writes for the value (`2` not `2.0`, `1e+21` not `1E21`, `0`
 *   not `-0`), so a canonical record has one spelling.
 *
 * Short integers and short plain decimals (≤ 15 digits, no exponent) are
 * exact by construction (IEEE doubles hold every 15-significant-digit decimal
 * in their normal range) and are decided without converting.
 */

/** The rule a number text breaks, if any. */
export type NumberRule = 'number-precision' | 'number-form';

const DOT = 0x2e;
const E_LOWER = 0x65;
const E_UPPER = 0x45;
const MINUS = 0x2d;
const ZERO = 0x30;

/**
 * Check one JSON number token (already known to be syntactically a number,
 * or about to be refused as malformed JSON). Returns the broken rule or
 * `undefined`.
 */
export function numberRule(text: string, canonical: boolean): NumberRule | undefined {
  const n = text.length;
  let digits = 0;
  let plain = true; // no fraction, no exponent
  let exponent = false;
  for (let k = 0; k < n; k++) {
    const c = text.charCodeAt(k);
    if (c >= ZERO && c <= 0x39) digits++;
    else if (c === DOT) plain = false;
    else if (c === E_LOWER || c === E_UPPER) {
      plain = false;
      exponent = true;
      break;
    }
  }
  if (plain) {
    if (digits > 15 && !Number.isSafeInteger(Number(text))) return 'number-precision';
    // A plain integer's canonical form is itself, except negative zero.
    if (canonical && n === 2 && text.charCodeAt(0) === MINUS && text.charCodeAt(1) === ZERO)
      return 'number-form';
    return undefined;
  }
  if (!exponent && digits <= 15) {
    // Exact; canonical only when written as JavaScript writes it (no trailing zero, no -0.0, no 1e-7 range).
    if (canonical && String(Number(text)) !== text) return 'number-form';
    return undefined;
  }
  const value = Number(text);
  const shortest = String(value);
  // Written as JavaScript writes it (what JSON.stringify produces): exact and canonical.
  if (shortest === text) return undefined;
  if (!Number.isFinite(value) || !sameDecimal(text, shortest)) return 'number-precision';
  if (canonical && shortest !== text) return 'number-form';
  return undefined;
}

/** What a number text would be read as (for error messages). */
export function readAs(text: string): string {
  const v = Number(text);
  return Number.isFinite(v) ? String(v) : v > 0 ? 'Infinity' : v < 0 ? '-Infinity' : 'NaN';
}

/** Do two decimal number texts denote the same value? (Exact, on their digits.) */
function sameDecimal(a: string, b: string): boolean {
  const x = decimalParts(a);
  const y = decimalParts(b);
  if (x.digits === '' || y.digits === '') return x.digits === y.digits; // zero, whatever the sign
  return x.negative === y.negative && x.digits === y.digits && x.exponent === y.exponent;
}

/**
 * A decimal text as sign, significant digits (no leading or trailing zeros)
 * and the power of ten of the last digit: value = ±digits × 10^exponent.
 */
function decimalParts(text: string): { negative: boolean; digits: string; exponent: number } {
  let s = text;
  const negative = s.charCodeAt(0) === MINUS;
  if (negative) s = s.slice(1);
  let exponent = 0;
  const e = s.search(/[eE]/);
  if (e !== -1) {
    exponent = Number(s.slice(e + 1));
    s = s.slice(0, e);
  }
  const dot = s.indexOf('.');
  if (dot !== -1) {
    exponent -= s.length - dot - 1;
    s = s.slice(0, dot) + s.slice(dot + 1);
  }
  let start = 0;
  while (start < s.length && s.charCodeAt(start) === ZERO) start++;
  let end = s.length;
  while (end > start && s.charCodeAt(end - 1) === ZERO) end--;
  exponent += s.length - end;
  return { negative, digits: s.slice(start, end), exponent };
}
