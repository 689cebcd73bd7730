/**
 * Conversions between the two timestamp forms of a VCP header:
 * `timestamp_int` (ns since the Unix epoch, decimal string) and
 * `timestamp_iso` (ISO 8601 UTC with 3, 6 or 9 fraction digits and `Z`).
 * Pure string arithmetic: no BigInt on the hot path, no float rounding.
 */
import { PRECISION_DIGITS, type TimestampPrecision } from './enums.ts';

/** A pair of header timestamps taken from one clock reading. */
export interface TimestampPair {
  timestamp_int: string;
  timestamp_iso: string;
}

const NS_INT_RE = /^(0|[1-9][0-9]{0,20})$/;

/**
 * Format a Unix time given as whole milliseconds plus the nanoseconds within
 * that millisecond (0..999 999) into both header forms, truncated to `precision`.
 */
export function formatTimestamp(ms: number, subMsNs: number, precision: TimestampPrecision): TimestampPair {
  const digits = PRECISION_DIGITS[precision];
  // Truncate (never round: rounding could move an event into the next ms/second).
  const sub = digits === 9 ? subMsNs : digits === 6 ? subMsNs - (subMsNs % 1000) : 0;
  const subStr = sub === 0 ? '000000' : String(sub).padStart(6, '0');
  const msInSecond = ms % 1000;
  const msStr =
    msInSecond < 10 ? `00${msInSecond}` : msInSecond < 100 ? `0${msInSecond}` : String(msInSecond);
  const fraction = digits === 3 ? msStr : msStr + subStr.slice(0, digits - 3);
  return {
    timestamp_int: ms === 0 && sub === 0 ? '0' : String(ms) + subStr,
    timestamp_iso: `${secondPrefix(ms - msInSecond)}.${fraction}Z`,
  };
}

// `YYYY-MM-DDTHH:MM:SS` of the last second formatted: toISOString costs ~0.5 µs, a cache hit ~nothing.
let cachedSecondMs = Number.NaN;
let cachedPrefix = '';
function secondPrefix(secondMs: number): string {
  if (secondMs !== cachedSecondMs) {
    cachedPrefix = new Date(secondMs).toISOString().slice(0, 19);
    cachedSecondMs = secondMs;
  }
  return cachedPrefix;
}

/** Split a `timestamp_int` string into whole ms and the ns within that ms, or `undefined` if malformed. */
export function splitTimestampInt(value: string): { ms: number; subMsNs: number } | undefined {
  if (typeof value !== 'string' || !NS_INT_RE.test(value)) return undefined;
  const padded = value.padStart(7, '0');
  const ms = Number(padded.slice(0, -6));
  if (!Number.isSafeInteger(ms)) return undefined;
  return { ms, subMsNs: Number(padded.slice(-6)) };
}

/**
 * Parse an ISO 8601 timestamp into ns since the epoch as a decimal string,
 * keeping every fraction digit. Returns `undefined` for malformed or
 * impossible dates (month 13, Feb 30, …). Offsets other than `Z` are accepted
 * and converted. The form is `YYYY-MM-DDTHH:MM:SS`, an optional `.` and 1–9
 * digits, then `Z` or `±HH:MM` (ASCII digits only), read by char codes: every
 * event's header goes through here on ingest and in `vcp verify`, and a regex
 * with eight groups allocated nine strings per call.
 */
export function isoToTimestampInt(
  iso: string,
): { timestamp_int: string; fractionDigits: number } | undefined {
  if (typeof iso !== 'string') return undefined;
  const n = iso.length;
  if (n < 20 || n > 35) return undefined;
  let base: number;
  // Events arrive in bursts within one second: a prefix equal to the last valid one is valid.
  if (parsedSecondKey !== '' && iso.startsWith(parsedSecondKey)) base = parsedSecondMs;
  else {
    if (
      iso.charCodeAt(4) !== 45 || // -
      iso.charCodeAt(7) !== 45 ||
      iso.charCodeAt(10) !== 84 || // T
      iso.charCodeAt(13) !== 58 || // :
      iso.charCodeAt(16) !== 58
    )
      return undefined;
    const y = digitsAt(iso, 0, 4);
    const mo = digitsAt(iso, 5, 2);
    const d = digitsAt(iso, 8, 2);
    const h = digitsAt(iso, 11, 2);
    const mi = digitsAt(iso, 14, 2);
    const sec = digitsAt(iso, 17, 2);
    if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || sec < 0) return undefined;
    base = Date.UTC(y, mo - 1, d, h, mi, sec);
    if (Number.isNaN(base)) return undefined;
    // Date.UTC silently rolls over (Feb 30 → Mar 2) and maps years 0–99 to 1900–1999: check the fields survived.
    const check = new Date(base);
    if (
      check.getUTCFullYear() !== y ||
      check.getUTCMonth() !== mo - 1 ||
      check.getUTCDate() !== d ||
      check.getUTCHours() !== h ||
      check.getUTCMinutes() !== mi ||
      check.getUTCSeconds() !== sec
    ) {
      return undefined;
    }
    parsedSecondKey = iso.slice(0, 19);
    parsedSecondMs = base;
  }
  // Fraction: `.` and 1–9 digits, as ns (0 … 999 999 999).
  let at = 19;
  let fractionDigits = 0;
  let fractionNs = 0;
  if (iso.charCodeAt(at) === 46) {
    at++;
    while (at < n && fractionDigits < 10) {
      const c = iso.charCodeAt(at) - 48;
      if (c < 0 || c > 9) break;
      fractionNs = fractionNs * 10 + c;
      fractionDigits++;
      at++;
    }
    if (fractionDigits === 0 || fractionDigits > 9) return undefined;
    fractionNs *= 10 ** (9 - fractionDigits);
  }
  let offsetMs = 0;
  if (at === n - 1 && iso.charCodeAt(at) === 90) {
    // Z
  } else if (at === n - 6 && iso.charCodeAt(at + 3) === 58) {
    const sign = iso.charCodeAt(at);
    const oh = digitsAt(iso, at + 1, 2);
    const om = digitsAt(iso, at + 4, 2);
    if ((sign !== 43 && sign !== 45) || oh < 0 || om < 0) return undefined;
    offsetMs = (sign === 45 ? -1 : 1) * (oh * 60 + om) * 60_000;
  } else return undefined;
  const ms = base - offsetMs + Math.floor(fractionNs / 1_000_000);
  const subMsNs = fractionNs % 1_000_000;
  if (ms < 0) return undefined;
  return {
    timestamp_int: ms === 0 && subMsNs === 0 ? '0' : String(ms) + String(subMsNs).padStart(6, '0'),
    fractionDigits,
  };
}

/** The value of `count` ASCII digits at `from`, or −1 if any is not one. */
function digitsAt(s: string, from: number, count: number): number {
  let v = 0;
  for (let i = from; i < from + count; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

let parsedSecondKey = '';
let parsedSecondMs = 0;

/** Why a header's timestamps disagree, or `undefined` when they are consistent. */
export function checkTimestampPair(
  timestampInt: unknown,
  timestampIso: unknown,
  precision: TimestampPrecision,
  /** Both already parsed by the caller (what {@link splitTimestampInt} and {@link isoToTimestampInt} gave). */
  known?: { split: { subMsNs: number }; iso: { timestamp_int: string; fractionDigits: number } },
): string | undefined {
  if (typeof timestampInt !== 'string') return 'timestamp_int must be a decimal string of nanoseconds';
  const split = known?.split ?? splitTimestampInt(timestampInt);
  if (!split) return `timestamp_int "${clip(timestampInt)}" is not a decimal integer of nanoseconds`;
  if (typeof timestampIso !== 'string') return 'timestamp_iso must be a string';
  const parsed = known?.iso ?? isoToTimestampInt(timestampIso);
  if (!parsed) return `timestamp_iso "${clip(timestampIso)}" is not an ISO 8601 UTC timestamp`;
  const digits = PRECISION_DIGITS[precision];
  if (!timestampIso.endsWith('Z')) return 'timestamp_iso must be in UTC and end with Z';
  if (parsed.fractionDigits !== digits) {
    return `timestamp_iso has ${parsed.fractionDigits} fraction digits; ${precision} requires ${digits}`;
  }
  const unit = 10 ** (9 - digits);
  if (split.subMsNs % unit !== 0 && digits < 9) {
    return `timestamp_int has digits below ${precision} (must be truncated to multiples of ${unit} ns)`;
  }
  if (parsed.timestamp_int !== timestampInt) {
    return `timestamp_int ${timestampInt} and timestamp_iso ${timestampIso} are different instants`;
  }
  return undefined;
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}
