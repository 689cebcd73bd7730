/**
 * The live FIX path: one function to call from any FIX engine's message
 * callback, for every message in and out (admin messages too, so sequence
 * gaps are seen).
 *
 * ```ts
 * const adapter = createFixAdapter({ recorder });            // or { onEvent, policy }
 * engine.on('message', (raw, dir) => adapter.onMessage(raw, { direction: dir }));
 * ```
 *
 * `onMessage` never throws and never stops: a message that cannot be parsed
 * becomes an `ERR_PARSE` event carrying the raw message (cut to 512
 * characters, SOH shown as `|`) and the reason; the next message is handled
 * as usual. What is mapped to what is documented in mapper.ts and
 * dictionary.ts.
 *
 * Event time. With a recorder, the recorder stamps events (it owns the clock).
 * With `onEvent`, the time is `meta.receivedAt` when given (how replay passes
 * the engine's log timestamp), else — with `timeSource: 'message'` — the
 * message's SendingTime (52), else the last time seen, else the clock. The
 * declared precision is the precision of that source, never more.
 *
 * Event ids are UUIDv7. With `meta.idSeed` they are derived from the event
 * time, the seed and the event's index within the message (see event-id.ts),
 * so feeding the same messages with the same seeds again gives the same ids.
 */

import { draftEvent } from '../../core/builder.ts';
import { systemClock, type VcpClock } from '../../core/clock.ts';
import { type ClockSyncStatus, TIER_PROFILES, type TimestampPrecision } from '../../core/enums.ts';
import { VcpConfigError } from '../../core/errors.ts';
import {
  formatTimestamp,
  isoToTimestampInt,
  splitTimestampInt,
  type TimestampPair,
} from '../../core/timestamp.ts';
import type { DraftEvent, PolicyIdentification } from '../../core/types.ts';
import { uuidv7 } from '../../core/uuidv7.ts';
import type { VcpRecorder } from '../../recorder/types.ts';
import { TAG } from './dictionary.ts';
import { deterministicUuidV7, seedDigest } from './event-id.ts';
import {
  createFixMapper,
  type FixMapperOptions,
  type FixMapperStats,
  type MapContext,
  type MappedEvent,
} from './mapper.ts';
import type { OrderTrackerStats } from './order-tracker.ts';
import {
  DEFAULT_MAX_MESSAGE_BYTES,
  type FixParseOptions,
  type FixParseResult,
  parseFixMessage,
  printableRaw,
} from './parser.ts';
import type { SequenceStats } from './sequence.ts';
import { type FixTime, parseFixTimestamp } from './time.ts';

/** A receive time: a Date, Unix ms (number), Unix ns (bigint), ISO 8601 or FIX UTCTimestamp text, or a {@link FixTime}. */
export type FixReceivedAt = Date | number | bigint | string | FixTime;

/** What the caller knows about one message besides its bytes. */
export interface FixMessageMeta {
  /** `'in'` received from the counterparty, `'out'` sent by us. */
  direction?: 'in' | 'out';
  /** When the message was received or sent (default: see the module comment). */
  receivedAt?: FixReceivedAt;
  /** Seed for deterministic event ids (e.g. `file:line:raw`); without it ids are fresh UUIDv7s. */
  idSeed?: string;
  /** Where a replayed message came from; kept in `payload.fix.log`. */
  log?: { source: string; line: number };
  /**
   * The message's real length in bytes when `raw` holds only its start (a
   * log reader that does not keep over-long lines): beyond the parser's
   * limit it becomes an `ERR_PARSE` "too-large" event without being parsed.
   */
  size?: number;
}

/** Options of {@link createFixAdapter}. */
export interface FixAdapterOptions extends FixMapperOptions {
  /** Record through a recorder (it seals, batches and writes). */
  recorder?: VcpRecorder;
  /** Or receive each draft event (unsealed) and do it yourself; needs `policy`. */
  onEvent?: (draft: DraftEvent) => void;
  /** Policy block of the drafts given to `onEvent`. */
  policy?: PolicyIdentification;
  /** Clock for drafts when no other time applies (default: the system clock). */
  clock?: VcpClock;
  /** Precision of clock-stamped drafts (default: the policy tier's). */
  precision?: TimestampPrecision;
  /** `'clock'` (default, live): stamp with the clock; `'message'` (replay): SendingTime (52), then the last time seen. */
  timeSource?: 'clock' | 'message';
  /** `clock_sync_status` of events timed by `receivedAt` or SendingTime (default `BEST_EFFORT`). */
  clockSyncStatus?: ClockSyncStatus;
  /** Parser limits. */
  parser?: FixParseOptions;
  /** Characters of the raw message kept in `ERR_PARSE` events (default 512). */
  maxRawChars?: number;
  /** Told about internal failures (a throwing `onEvent`, a bug); default: one process warning. */
  onError?: (error: unknown) => void;
}

/** Counters of a {@link FixAdapter}. Every message is accounted for. */
export interface FixAdapterStats extends FixMapperStats {
  /** Calls of `onMessage`. */
  messages: number;
  /** Messages that parsed. */
  parsed: number;
  /** Messages that did not (each became an `ERR_PARSE` event). */
  parseErrors: number;
  /** Events handed to the recorder or `onEvent`. */
  emitted: number;
  /** Internal failures (see `onError`); the message's events may be missing. */
  internalErrors: number;
  orders: OrderTrackerStats;
  sequence?: SequenceStats;
}

/** The live FIX adapter. */
export interface FixAdapter {
  /** Handle one raw FIX message (SOH or `|` delimited). Never throws. */
  onMessage(raw: string | Uint8Array, meta?: FixMessageMeta): void;
  stats(): FixAdapterStats;
}

/** Resolve a caller-given time, or `undefined` when it is not one. */
export function toFixTime(value: FixReceivedAt): FixTime | undefined {
  if (value instanceof Date) {
    const ms = value.getTime();
    return Number.isFinite(ms) && ms >= 0 ? { ms, subMsNs: 0, precision: 'MILLISECOND' } : undefined;
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) return undefined;
    const ms = Math.floor(value);
    const sub = Math.floor((value - ms) * 1e3) * 1e3; // a double holds µs of a current epoch-ms time, not ns
    return { ms, subMsNs: sub, precision: sub === 0 ? 'MILLISECOND' : 'MICROSECOND' };
  }
  if (typeof value === 'bigint') {
    const split = value >= 0n ? splitTimestampInt(value.toString()) : undefined;
    return split ? { ms: split.ms, subMsNs: split.subMsNs, precision: 'NANOSECOND' } : undefined;
  }
  if (typeof value === 'string') {
    const fix = parseFixTimestamp(value);
    if (fix) return fix;
    const iso = isoToTimestampInt(value);
    const split = iso ? splitTimestampInt(iso.timestamp_int) : undefined;
    if (!iso || !split) return undefined;
    const d = iso.fractionDigits;
    return {
      ms: split.ms,
      subMsNs: split.subMsNs,
      precision: d <= 3 ? 'MILLISECOND' : d <= 6 ? 'MICROSECOND' : 'NANOSECOND',
    };
  }
  if (value && typeof value === 'object' && Number.isSafeInteger(value.ms) && value.ms >= 0) {
    const sub =
      Number.isInteger(value.subMsNs) && value.subMsNs >= 0 && value.subMsNs < 1e6 ? value.subMsNs : 0;
    return { ms: value.ms, subMsNs: sub, precision: value.precision ?? 'MILLISECOND' };
  }
  return undefined;
}

/**
 * Make a FIX adapter. Throws `VcpConfigError` when neither `recorder` nor
 * `onEvent` is given, or `onEvent` comes without `policy`.
 */
export function createFixAdapter(options: FixAdapterOptions): FixAdapter {
  const { recorder, onEvent, policy } = options ?? {};
  if (!recorder && !onEvent) {
    throw new VcpConfigError(
      'createFixAdapter needs a `recorder` or an `onEvent` callback to send events to',
    );
  }
  if (onEvent && !recorder && !policy) {
    throw new VcpConfigError(
      'createFixAdapter with `onEvent` needs a `policy` (createPolicy({ policyId, tier }))',
    );
  }
  if (onEvent && typeof onEvent !== 'function') throw new VcpConfigError('`onEvent` must be a function');
  const mapper = createFixMapper(options);
  const clock = options.clock ?? systemClock;
  const precision =
    options.precision ??
    (policy ? TIER_PROFILES[policy.conformance_tier]?.precision : undefined) ??
    'MILLISECOND';
  const fromMessage = options.timeSource === 'message';
  const externalStatus = options.clockSyncStatus ?? 'BEST_EFFORT';
  const maxRaw = Math.max(16, options.maxRawChars ?? 512);
  const maxBytes = options.parser?.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  let warned = false;
  const onError =
    options.onError ??
    ((e: unknown) => {
      if (warned) return;
      warned = true;
      process.emitWarning(
        `vcp FIX adapter: ${e instanceof Error ? e.message : String(e)} (later failures are counted in stats().internalErrors)`,
      );
    });
  const counts = { messages: 0, parsed: 0, parseErrors: 0, emitted: 0, internalErrors: 0 };
  let lastTime: FixTime | undefined;

  // The draft's timestamp comes from this one-reading clock, set per message.
  let stamp: TimestampPair = { timestamp_int: '0', timestamp_iso: '1970-01-01T00:00:00.000Z' };
  let stampStatus: ClockSyncStatus = externalStatus;
  let stampPrecision: TimestampPrecision = precision;
  const stampClock: VcpClock = {
    get clockSyncStatus() {
      return stampStatus;
    },
    now: () => stamp,
  };

  const emit = (e: MappedEvent) => {
    if (recorder) {
      recorder.record(e.eventType, e.payload, {
        eventId: e.eventId,
        traceId: e.traceId,
        venueId: e.venueId,
        symbol: e.symbol,
        accountId: e.accountId,
      });
    } else {
      const draft = draftEvent(e.eventType, e.payload, {
        policy: policy!,
        traceId: e.traceId,
        venueId: e.venueId,
        symbol: e.symbol,
        accountId: e.accountId,
        precision: stampPrecision,
        clock: stampClock,
        newId: () => e.eventId,
      });
      onEvent!(draft);
    }
    counts.emitted++;
  };

  return {
    onMessage(raw, meta) {
      counts.messages++;
      try {
        const parsed: FixParseResult =
          meta?.size !== undefined && meta.size > maxBytes
            ? {
                ok: false,
                error: {
                  code: 'too-large',
                  reason: `message is ${meta.size} bytes, over the ${maxBytes}-byte limit`,
                },
              }
            : parseFixMessage(raw, options.parser);
        // The event time of this message.
        let time = meta?.receivedAt !== undefined ? toFixTime(meta.receivedAt) : undefined;
        if (!time && fromMessage) {
          time = (parsed.ok ? parseFixTimestamp(parsed.message.get(TAG.SendingTime)) : undefined) ?? lastTime;
        }
        if (time) {
          lastTime = time;
          stamp = formatTimestamp(time.ms, time.subMsNs, time.precision);
          stampStatus = externalStatus;
          stampPrecision = time.precision;
        } else if (!recorder) {
          stamp = clock.now(precision);
          stampStatus = clock.clockSyncStatus;
          stampPrecision = precision;
        }
        const seed = meta?.idSeed;
        let digest: Buffer | undefined;
        let index = 0;
        const idMs = time ? time.ms : recorder ? Date.now() : Number(stamp.timestamp_int.slice(0, -6) || '0');
        const ctx: MapContext = {
          newId:
            seed === undefined
              ? uuidv7
              : () => {
                  digest ??= seedDigest(seed);
                  return deterministicUuidV7(idMs, digest, index++);
                },
          direction: meta?.direction,
          raw: () => printableRaw(raw, maxRaw),
          rawLength: meta?.size ?? (typeof raw === 'string' ? raw.length : (raw?.byteLength ?? 0)),
          log: meta?.log,
        };
        if (!parsed.ok) {
          counts.parseErrors++;
          emit(mapper.parseError(parsed.error, ctx));
          return;
        }
        counts.parsed++;
        for (const e of mapper.map(parsed.message, ctx)) emit(e);
      } catch (e) {
        counts.internalErrors++;
        try {
          onError(e);
        } catch {
          // A throwing error handler must not reach the FIX engine either.
        }
      }
    },
    stats() {
      return { ...counts, ...mapper.stats() };
    },
  };
}
