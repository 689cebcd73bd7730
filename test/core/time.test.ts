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
