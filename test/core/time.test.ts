import { describe, expect, it } from 'vitest';
import { createClock, createFixedClock } from '../../src/core/clock.ts';
import {
  checkTimestampPair,
  formatTimestamp,
  isoToTimestampInt,
  splitTimestampInt,
} from '../../src/core/timestamp.ts';

describe('formatTimestamp', () => {
  it('gives both forms of one instant, truncated (not rounded) to the precision', () => {
    // 2024-12-25T00:00:00.123456789Z
    const ms = Date.UTC(2024, 11, 25, 0, 0, 0, 123);
    expect(formatTimestamp(ms, 456_789, 'NANOSECOND')).toEqual({
      timestamp_int: '1735084800123456789',
      timestamp_iso: '2024-12-25T00:00:00.123456789Z',
    });
    expect(formatTimestamp(ms, 456_789, 'MICROSECOND')).toEqual({
      timestamp_int: '1735084800123456000',
      timestamp_iso: '2024-12-25T00:00:00.123456Z',
    });
    expect(formatTimestamp(ms, 999_999, 'MILLISECOND')).toEqual({
      timestamp_int: '1735084800123000000',
      timestamp_iso: '2024-12-25T00:00:00.123Z',
    });
  });

  it('keeps leading zeros of the sub-millisecond part', () => {
    expect(formatTimestamp(1_000, 5, 'NANOSECOND')).toEqual({
      timestamp_int: '1000000005',
      timestamp_iso: '1970-01-01T00:00:01.000000005Z',
    });
  });
});

describe('isoToTimestampInt / checkTimestampPair', () => {
  it('round-trips every precision', () => {
    for (const p of ['NANOSECOND', 'MICROSECOND', 'MILLISECOND'] as const) {
      const t = formatTimestamp(1_735_128_000_123, 456_789, p);
      expect(isoToTimestampInt(t.timestamp_iso)?.timestamp_int).toBe(t.timestamp_int);
      expect(checkTimestampPair(t.timestamp_int, t.timestamp_iso, p)).toBeUndefined();
    }
  });

  it('names what is wrong with an inconsistent pair', () => {
    const t = formatTimestamp(1_735_128_000_123, 456_789, 'NANOSECOND');
    expect(checkTimestampPair('1735128000124456789', t.timestamp_iso, 'NANOSECOND')).toMatch(
      /different instants/,
    );
    expect(checkTimestampPair(t.timestamp_int, t.timestamp_iso, 'MICROSECOND')).toMatch(
      /9 fraction digits; MICROSECOND requires 6/,
    );
    expect(checkTimestampPair('1735128000123456789', '2024-12-25T12:00:00.123Z', 'MILLISECOND')).toMatch(
      /truncated/,
    );
    expect(checkTimestampPair(1735128000123 as unknown, t.timestamp_iso, 'NANOSECOND')).toMatch(
      /decimal string/,
    );
    expect(checkTimestampPair('12x', t.timestamp_iso, 'NANOSECOND')).toMatch(/not a decimal integer/);
    expect(checkTimestampPair(t.timestamp_int, 'yesterday', 'NANOSECOND')).toMatch(/not an ISO 8601/);
  });

  it('rejects impossible dates instead of rolling them over', () => {
    expect(isoToTimestampInt('2025-02-30T00:00:00.000Z')).toBeUndefined();
    expect(isoToTimestampInt('2025-13-01T00:00:00.000Z')).toBeUndefined();
    expect(isoToTimestampInt('2025-01-01T24:00:00.000Z')).toBeUndefined();
  });

  it('converts offsets to UTC (the Python guide client writes +00:00)', () => {
    expect(isoToTimestampInt('2025-12-25T12:00:00.123456+00:00')?.timestamp_int).toBe('1766664000123456000');
    expect(isoToTimestampInt('2025-12-25T13:00:00.123456+01:00')?.timestamp_int).toBe('1766664000123456000');
  });

  it('agrees with the regex reading of ISO 8601 it replaced, on valid, impossible and mangled timestamps', () => {
    // The implementation before the char-code parser, kept here as the reference.
    const ISO_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;
    const reference = (iso: string) => {
      const m = ISO_RE.exec(iso);
      if (!m) return undefined;
      const [, y, mo, d, h, mi, s, frac = '', tz] = m;
      const base = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
      const c = new Date(base);
      if (
        Number.isNaN(base) ||
        c.getUTCFullYear() !== Number(y) ||
        c.getUTCMonth() !== Number(mo) - 1 ||
        c.getUTCDate() !== Number(d) ||
        c.getUTCHours() !== Number(h) ||
        c.getUTCMinutes() !== Number(mi) ||
        c.getUTCSeconds() !== Number(s)
      )
        return undefined;
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
    };
    let seed = 20261206;
    const rnd = (k: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % k;
    };
    const pad = (v: number, w: number) => String(v).padStart(w, '0');
    const noise = [
      '',
      '0',
      '9',
      'a',
      'Z',
      'T',
      '-',
      ':',
      '.',
      '+',
      ' ',
      '\n',
      '٣',
      '０',
      '\u0130',
      '\ud800',
      '😀',
    ];
    let checked = 0;
    for (let i = 0; i < 40_000; i++) {
      // Mostly plausible fields, sometimes out of range (month 13, Feb 29 of a common year, hour 24, year 0042…).
      const y = [0, 42, 99, 100, 1969, 1970, 2000, 2024, 2025, 9999][rnd(10)]!;
      const date = `${pad(y, 4)}-${pad(rnd(14), 2)}-${pad(rnd(32), 2)}T${pad(rnd(25), 2)}:${pad(rnd(61), 2)}:${pad(rnd(61), 2)}`;
      const digits = rnd(12);
      const frac = digits === 0 ? '' : `.${Array.from({ length: digits - 1 }, () => rnd(10)).join('')}`;
      const tz = ['Z', '+00:00', '-05:30', '+14:00', '+99:99', 'z', '+0100', ''][rnd(8)]!;
      let iso = date + frac + tz;
      // A third of them mangled: a character replaced, inserted or removed somewhere.
      if (rnd(3) === 0) {
        const at = rnd(iso.length + 1);
        const what = rnd(3);
        const c = noise[rnd(noise.length)]!;
        iso =
          what === 0
            ? iso.slice(0, at) + c + iso.slice(at + 1)
            : what === 1
              ? iso.slice(0, at) + c + iso.slice(at)
              : iso.slice(0, at) + iso.slice(at + 1);
      }
      // Alternate with a fresh second, so both the cached-second path and the full parse are compared.
      if (rnd(2) === 0) isoToTimestampInt(`${pad(1990 + rnd(30), 4)}-01-01T00:00:00Z`);
      expect(isoToTimestampInt(iso), iso).toEqual(reference(iso));
      if (reference(iso)) checked++;
    }
    expect(checked).toBeGreaterThan(2_000); // enough of them valid to compare the values, not only refusals
  });

  it('splits timestamp_int without losing digits beyond 2^53', () => {
    expect(splitTimestampInt('1735084800123456789')).toEqual({ ms: 1735084800123, subMsNs: 456789 });
    expect(splitTimestampInt('-1')).toBeUndefined();
    expect(splitTimestampInt('01')).toBeUndefined();
    expect(splitTimestampInt('1e18')).toBeUndefined();
  });
});

describe('clocks', () => {
  it('the system clock is close to Date.now, monotonic, and consistent int↔iso', () => {
    const clock = createClock();
    let prev = '';
    for (let i = 0; i < 10_000; i++) {
      const t = clock.now('NANOSECOND');
      expect(checkTimestampPair(t.timestamp_int, t.timestamp_iso, 'NANOSECOND')).toBeUndefined();
      if (prev) expect(BigInt(t.timestamp_int) >= BigInt(prev)).toBe(true);
      prev = t.timestamp_int;
    }
    const ms = Number(BigInt(prev) / 1_000_000n);
    expect(Math.abs(ms - Date.now())).toBeLessThan(1000);
    expect(clock.clockSyncStatus).toBe('BEST_EFFORT');
  });

  it('declares the configured clock_sync_status', () => {
    expect(createClock({ clockSyncStatus: 'NTP_SYNCED' }).clockSyncStatus).toBe('NTP_SYNCED');
  });

  it('a fixed clock is deterministic and steps as told', () => {
    const c = createFixedClock('1735084800000000000', 1500);
    expect(c.now('NANOSECOND').timestamp_int).toBe('1735084800000000000');
    expect(c.now('NANOSECOND').timestamp_int).toBe('1735084800000001500');
    expect(c.now('MICROSECOND').timestamp_iso).toBe('2024-12-25T00:00:00.000003Z');
    expect(() => createFixedClock('soon')).toThrow(/decimal string/);
  });
});
