/**
 * The event clock: one reading gives both header timestamps.
 *
 * Nanoseconds come from `process.hrtime` (monotonic) offset against the wall
 * clock at start-up (DESIGN decision 6) and re-anchored every minute so NTP
 * corrections are followed; readings never go backwards within a clock.
 */
import type { ClockSyncStatus, TimestampPrecision } from './enums.ts';
import { formatTimestamp, splitTimestampInt, type TimestampPair } from './timestamp.ts';

/** A source of header timestamps. */
export interface VcpClock {
  /** One reading, truncated to `precision`. */
  now(precision: TimestampPrecision): TimestampPair;
  /** What this clock declares in `clock_sync_status`. */
  readonly clockSyncStatus: ClockSyncStatus;
}

/** Options of {@link createClock}. */
export interface ClockOptions {
  /** Declared synchronisation status (default `BEST_EFFORT`: this package cannot see PTP/NTP state). */
  clockSyncStatus?: ClockSyncStatus;
  /** Re-anchor to the wall clock this often, ms (default 60 000). */
  reanchorMs?: number;
}

const REANCHOR_DEFAULT_MS = 60_000;

/** The system clock: wall-clock anchored, hrtime-driven, monotonic. */
export function createClock(options: ClockOptions = {}): VcpClock {
  const reanchorNs = (options.reanchorMs ?? REANCHOR_DEFAULT_MS) * 1e6;
  let anchorMs = 0;
  let anchorSub = 0; // ns within anchorMs
  let hrS = 0;
  let hrNs = 0;
  let lastMs = 0;
  let lastSub = 0;

  const anchor = () => {
    // timeOrigin + now() carries sub-ms digits (µs resolution) of the wall clock.
    const wall = performance.timeOrigin + performance.now();
    anchorMs = Math.floor(wall);
    anchorSub = Math.floor((wall - anchorMs) * 1e6);
    const hr = process.hrtime();
    hrS = hr[0];
    hrNs = hr[1];
  };
  anchor();

  return {
    clockSyncStatus: options.clockSyncStatus ?? 'BEST_EFFORT',
    now(precision) {
      const hr = process.hrtime();
      let delta = (hr[0] - hrS) * 1e9 + (hr[1] - hrNs);
      if (delta > reanchorNs) {
        anchor();
        delta = 0;
      }
      const total = anchorSub + delta;
      let ms = anchorMs + Math.floor(total / 1e6);
      let sub = total % 1e6;
      // Monotonic: a re-anchor that moved the wall clock back must not reorder events.
      if (ms < lastMs || (ms === lastMs && sub < lastSub)) {
        ms = lastMs;
        sub = lastSub;
      }
      lastMs = ms;
      lastSub = sub;
      return formatTimestamp(ms, sub, precision);
    },
  };
}

/**
 * A deterministic clock for tests: starts at `start` (ns since epoch as a
 * decimal string, or a Date) and advances `stepNs` per reading.
 */
export function createFixedClock(
  start: string | Date = '1735084800000000000',
  stepNs = 1_000_000,
  clockSyncStatus: ClockSyncStatus = 'BEST_EFFORT',
): VcpClock {
  const startStr = start instanceof Date ? `${start.getTime()}000000` : start;
  const split = splitTimestampInt(startStr);
  if (!split)
    throw new TypeError(
      `createFixedClock: start must be ns since epoch as a decimal string, got "${startStr}"`,
    );
  let ms = split.ms;
  let sub = split.subMsNs;
  return {
    clockSyncStatus,
    now(precision) {
      const out = formatTimestamp(ms, sub, precision);
      sub += stepNs;
      ms += Math.floor(sub / 1e6);
      sub %= 1e6;
      return out;
    },
  };
}

/** The process-wide default clock. */
export const systemClock: VcpClock = createClock();
