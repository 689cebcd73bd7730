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
const ISO_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

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
 * and converted.
 */
export function isoToTimestampInt(
  iso: string,
): { timestamp_int: string; fractionDigits: number } | undefined {
  if (typeof iso !== 'string') return undefined;
  const m = ISO_RE.exec(iso);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac = '', tz] = m;
  const secondKey = iso.slice(0, 19);
  let base: number;
  if (secondKey === parsedSecondKey) base = parsedSecondMs;
  else {
    base = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
    if (Number.isNaN(base)) return undefined;
    // Date.UTC silently rolls over (Feb 30 → Mar 2): check the fields survived.
    const check = new Date(base);
    if (
      check.getUTCFullYear() !== Number(y) ||
      check.getUTCMonth() !== Number(mo) - 1 ||
      check.getUTCDate() !== Number(d) ||
      check.getUTCHours() !== Number(h) ||
      check.getUTCMinutes() !== Number(mi) ||
      check.getUTCSeconds() !== Number(s)
    ) {
      return undefined;
    }
    // Events arrive in bursts within one second: remember the last valid second.
    parsedSecondKey = secondKey;
    parsedSecondMs = base;
  }
  let offsetMs = 0;
  if (tz !== 'Z') {
    const sign = tz![0] === '-' ? -1 : 1;
    offsetMs = sign * (Number(tz!.slice(1, 3)) * 60 + Number(tz!.slice(4, 6))) * 60_000;
  }
  const ms = base - offsetMs + Number(frac.padEnd(3, '0').slice(0, 3));
  const subMsNs = Number(frac.padEnd(9, '0').slice(3, 9));
  if (ms < 0) return undefined;
  return {
    timestamp_int: ms === 0 && subMsNs === 0 ? '0' : String(ms) + String(subMsNs).padStart(6, '0'),
    fractionDigits: frac.length,
  };
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
