/**
 * Money and quantities travel as decimal strings (DESIGN decision 3).
 *
 * A JS number in a financial field is an error unless the caller opts into
 * conversion; conversion rounds to 15 significant digits first, the most a
 * double holds exactly, so `0.1 + 0.2` becomes `"0.3"` and not
 * `"0.30000000000000004"`.
 */
import { VcpValidationError } from './errors.ts';

const DECIMAL_RE = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?$/;

/** True for a plain decimal string: optional minus, no exponent, no leading zeros, no `+`. */
export function isDecimalString(value: unknown): boolean {
  return typeof value === 'string' && value.length <= 64 && DECIMAL_RE.test(value);
}

/**
 * Convert a finite JS number to a decimal string without float noise.
 * Throws {@link VcpValidationError} for NaN, ±Infinity and integers beyond
 * 2^53 (they have already lost digits; pass a string instead).
 */
export function toDecimalString(value: number, path = ''): string {
  if (!Number.isFinite(value)) {
    throw new VcpValidationError({
      path,
      rule: 'finite-number',
      message: `${value} cannot be a financial value`,
    });
  }
  if (Number.isInteger(value) && !Number.isSafeInteger(value)) {
    throw new VcpValidationError({
      path,
      rule: 'safe-integer',
      message: `${value} is beyond 2^53 and has already lost precision; pass it as a decimal string`,
    });
  }
  if (Object.is(value, -0)) return '0';
  // Safe integers are exact as they are.
  if (Number.isInteger(value)) return String(value);
  // 15 significant digits is what a double represents exactly; it removes binary noise.
  const rounded = Number(value.toPrecision(15));
  return plain(rounded);
}

/** Render a finite number without exponent notation. */
function plain(n: number): string {
  const s = String(n);
  if (!/e/i.test(s)) return s;
  const negative = n < 0;
  const [mantissa = '', expStr = '0'] = Math.abs(n).toExponential().split('e');
  const exp = Number(expStr);
  const digits = mantissa.replace('.', '');
  let out: string;
  if (exp >= 0) {
    const intLen = exp + 1;
    out =
      digits.length <= intLen
        ? digits.padEnd(intLen, '0')
        : `${digits.slice(0, intLen)}.${digits.slice(intLen)}`;
  } else {
    out = `0.${'0'.repeat(-exp - 1)}${digits}`;
  }
  return negative ? `-${out}` : out;
}
