/**
 * Times the FIX adapter reads: FIX UTCTimestamps (`20240102-13:45:01.123`,
 * SendingTime (52), TransactTime (60)) and the timestamps FIX engines put in
 * front of each line of their message logs (the same form, or ISO 8601).
 *
 * A time is kept as whole Unix milliseconds plus the nanoseconds inside that
 * millisecond, and the precision it was written with, so an event never
 * claims more precision than its source had.
 */
import type { TimestampPrecision } from '../../core/enums.ts';

/** A point in time with the precision its source had. */
export interface FixTime {
  /** Whole milliseconds since the Unix epoch. */
  ms: number;
  /** Nanoseconds within that millisecond (0..999 999). */
  subMsNs: number;
  /** The precision the source wrote (seconds and milliseconds both give `MILLISECOND`). */
  precision: TimestampPrecision;
}

// 20240102-13:45:01 with an optional .s{1,9}
const FIX_TS_RE = /^(\d{4})(\d{2})(\d{2})-(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?$/;
// The same, found anywhere in a log prefix.
const FIX_TS_IN_TEXT_RE = /(\d{4})(\d{2})(\d{2})-(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?/;
// 2024-01-02T13:45:01.123Z, 2024-01-02 13:45:01,123 +01:00, … found anywhere in a log prefix.
const ISO_IN_TEXT_RE =
  /(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?\s?(Z|[+-]\d{2}:?\d{2})?(?![\d])/;

function precisionOf(fractionDigits: number): TimestampPrecision {
  if (fractionDigits <= 3) return 'MILLISECOND';
  if (fractionDigits <= 6) return 'MICROSECOND';
  return 'NANOSECOND';
}

let lastY = '';
let lastMo = '';
let lastD = '';
let lastH = '';
let lastMi = '';
let lastS = '';
let lastBase = 0;

/** Build a time from calendar fields (UTC), or `undefined` when they name no real instant. */
function fromFields(
  y: string,
  mo: string,
  d: string,
  h: string,
  mi: string,
  s: string,
  frac: string | undefined,
  offsetMinutes: number,
): FixTime | undefined {
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  let base: number;
  // Log lines come in time order: most share the previous line's second.
  if (y === lastY && mo === lastMo && d === lastD && h === lastH && mi === lastMi && s === lastS)
    base = lastBase;
  else {
    if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
    base = Date.UTC(year, month - 1, day, hour, minute, second);
    // Date.UTC rolls Feb 30 over to Mar 2: make sure the day survived.
    if (new Date(base).getUTCDate() !== day) return undefined;
    lastY = y;
    lastMo = mo;
    lastD = d;
    lastH = h;
    lastMi = mi;
    lastS = s;
    lastBase = base;
  }
  const f = frac ?? '';
  const ms = base - offsetMinutes * 60_000 + Number(f.padEnd(3, '0').slice(0, 3));
  if (!Number.isSafeInteger(ms) || ms < 0) return undefined;
  return { ms, subMsNs: Number(f.padEnd(9, '0').slice(3, 9)), precision: precisionOf(f.length) };
}

/** Parse a FIX UTCTimestamp (`YYYYMMDD-HH:MM:SS[.sss…]`), or `undefined`. */
export function parseFixTimestamp(value: string | undefined): FixTime | undefined {
  if (value === undefined || value.length > 40) return undefined;
  const m = FIX_TS_RE.exec(value);
  if (!m) return undefined;
  return fromFields(m[1]!, m[2]!, m[3]!, m[4]!, m[5]!, m[6]!, m[7], 0);
}

/**
 * Find the timestamp in a log line's prefix (the text before `8=FIX`):
 * QuickFIX / QuickFIX/J `YYYYMMDD-HH:MM:SS.sss`, or ISO 8601 with `T` or a
 * space, `.` or `,` before the fraction, and an optional `Z`/offset. Times
 * without a zone are UTC (the FIX convention, and what QuickFIX logs).
 */
export function parseLogTimestamp(prefix: string): FixTime | undefined {
  if (prefix.length === 0 || prefix.length > 512) return undefined;
  const fix = FIX_TS_IN_TEXT_RE.exec(prefix);
  if (fix) return fromFields(fix[1]!, fix[2]!, fix[3]!, fix[4]!, fix[5]!, fix[6]!, fix[7], 0);
  const iso = ISO_IN_TEXT_RE.exec(prefix);
  if (!iso) return undefined;
  let offset = 0;
  const zone = iso[8];
  if (zone && zone !== 'Z') {
    const digits = zone.replace(':', '');
    const sign = digits[0] === '-' ? -1 : 1;
    const hh = Number(digits.slice(1, 3));
    const mm = Number(digits.slice(3, 5));
    if (hh > 23 || mm > 59) return undefined;
    offset = sign * (hh * 60 + mm);
  }
  return fromFields(iso[1]!, iso[2]!, iso[3]!, iso[4]!, iso[5]!, iso[6]!, iso[7], offset);
}
