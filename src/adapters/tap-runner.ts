/**
 * What the Kafka and Redis taps share: a batch of messages becomes a batch of
 * sealed events, which is written to the sink until the sink acknowledged it;
 * only then does the tap commit its Kafka offsets or XACK its Redis entries
 * (at-least-once).
 *
 * Every event is a pure function of (message, tap configuration), so that
 * reading a message again after a crash makes the *same* event, byte for
 * byte, which the sidecar stores once:
 * - `event_id` from the message's position (`sourceEventId`), `trace_id`
 *   from the order's key (`traceIdFromKey`), or the event id when there is none;
 * - `timestamp_int` / `timestamp_iso` from the message's own timestamp (Kafka
 *   record time, Redis entry id), `MILLISECOND` precision, never the tap's clock;
 * - no hash chain: `prev_hash` would depend on what the tap happened to
 *   process before, which differs between a run and its replay (the sidecar's
 *   Merkle tree gives the ordering proof instead);
 * - Ed25519 signatures (when a key is given) are deterministic.
 *
 * A message that cannot be mapped, or whose mapped event is invalid (a float
 * noise price, an unknown event type, a lone surrogate…), becomes an
 * `ERR_PARSE` event with the same derived id, carrying the raw message
 * (truncated): recorded, committed like the rest, never stalling the stream.
 *
 * Delivery: retryable sink failures (sidecar down, timeout) are retried
 * forever with capped backoff — the log upstream is the buffer, so waiting is
 * right and dropping is not. A non-retryable failure (the sidecar refused the
 * events) stops the tap with a {@link TapDeliveryError}: committing would lose
 * them, and retrying cannot help.
 */

import {
  type ClockSyncStatus,
  type HashAlgo,
  headerSettingsIssue,
  TIMESTAMP_PRECISIONS,
  type Tier,
} from '../core/enums.ts';
import { type ValidationIssue, VcpConfigError, VcpIoError, VcpValidationError } from '../core/errors.ts';
import { EVENT_TYPE_CODES } from '../core/event-types.ts';
import { createPolicy } from '../core/policy.ts';
import { formatTimestamp, splitTimestampInt } from '../core/timestamp.ts';
import type { DraftEvent, PolicyIdentification, VcpEvent, VcpHeader, VcpPayload } from '../core/types.ts';
import { validateOwnDraft } from '../core/validate.ts';
import type { Signer } from '../integrity/sign.ts';
import { createSealer, policyIssue, type Sealer } from '../recorder/sealer.ts';
import { describeError, isRetryable, retryAfterOf } from '../sinks/errors.ts';
import { backoffDelay, Sleeper } from '../sinks/retry.ts';
import { type Sink, sealingLimit } from '../sinks/sink.ts';
import { GenerationalCache } from './_lru.ts';
import {
  createDefaultMapping,
  type MappedEvent,
  type MessageMapping,
  parseErrorPayload,
  sourceRef,
  TapMappingError,
  type TapMessage,
  wellFormed,
} from './message-mapping.ts';
import { sourceEventId, traceIdFromKey } from './source-ids.ts';

/**
 * Batches a tap keeps at its sink at once unless told otherwise (`maxInflight`). With 4, the sidecar has
 * a batch to work on while the tap maps and seals, and another on its ingest thread: in eight interleaved
 * pairs of runs into a sidecar on 2 cores (bench/_tap-profile.ts, 100 000 events) 4 beat 2 every time,
 * by 6–9 % for Kafka and 1–13 % for Redis.
 */
export const DEFAULT_TAP_INFLIGHT = 4;

/** Options every tap takes. */
export interface TapRunnerOptions {
  /** Where the events go (the sidecar's HTTP sink, a file, memory…). Closed by the tap's `stop()`. */
  sink: Sink;
  /** The policy block; or give `policyId` (+ `tier`). */
  policy?: PolicyIdentification;
  policyId?: string;
  tier?: Tier;
  /** Sign each event's hash (Ed25519). Without it the sidecar signs (Silver delegated signing). */
  signer?: Signer;
  /** Message → event (default: the guide's mapping, {@link createDefaultMapping}). */
  mapping?: MessageMapping;
  /**
   * Mixed into every derived event id. Give taps reading different clusters different
   * namespaces when they feed one sidecar (default empty).
   */
  idNamespace?: string;
  /** Mixed into trace ids derived from order keys (default empty: the same order id, the same trace, whatever the source). */
  traceNamespace?: string;
  /** Declared in `clock_sync_status` (default `BEST_EFFORT`: the timestamps are the producers' or the broker's). */
  clockSyncStatus?: ClockSyncStatus;
  venueId?: string;
  accountId?: string;
  hashAlgo?: HashAlgo;
  /** Raw message bytes kept in an `ERR_PARSE` event (default 4096). */
  maxRawBytes?: number;
  /** Add `payload.source_message` (topic/partition/offset or stream/entry id) to every event (default true). */
  includeSource?: boolean;
  /** Backoff between delivery attempts while the sink is down, ms (default 100 → 5000). */
  retryMinDelayMs?: number;
  retryMaxDelayMs?: number;
  /** Told about each failed delivery attempt that will be retried. */
  onSinkError?: (error: unknown, attempt: number, delayMs: number) => void;
}

/** Counters of a tap since it started. */
export interface TapStats {
  /** Messages read (including ones read again after a rebalance or a reclaim). */
  messages: number;
  /** Events delivered to the sink. */
  events: number;
  /** Of those, `ERR_PARSE` events for messages that could not be mapped. */
  parseErrors: number;
  /** Messages the mapping skipped on purpose (`null`). */
  skipped: number;
  /** Batches acknowledged by the sink. */
  batches: number;
  /** Messages committed (Kafka) or acknowledged (Redis). */
  committed: number;
  /** Failed delivery attempts that were retried. */
  sinkRetries: number;
  /** Entries reclaimed from dead consumers (Redis). */
  reclaimed: number;
  /** Commit/ack failures (the messages will be delivered again; their events are the same). */
  commitErrors: number;
}

/** The sink refused a batch for good: the tap stopped without committing it. */
export class TapDeliveryError extends VcpIoError {}

/** A batch of messages turned into events. */
export interface EventBatch {
  events: VcpEvent[];
  /** Messages that became no event (skipped by the mapping). */
  skipped: number;
  parseErrors: number;
}

/** Turns messages into sealed events and delivers them; one per tap. */
export class TapRunner {
  readonly sink: Sink;
  readonly #policy: PolicyIdentification;
  readonly #signer: Signer | undefined;
  readonly #mapping: MessageMapping;
  readonly #idNs: string;
  readonly #traceNs: string;
  readonly #clockSync: ClockSyncStatus;
  readonly #venue: string;
  readonly #account: string;
  readonly #hashAlgo: HashAlgo;
  readonly #maxRaw: number;
  readonly #includeSource: boolean;
  readonly #component: string;
  readonly #minDelay: number;
  readonly #maxDelay: number;
  readonly #onSinkError: TapRunnerOptions['onSinkError'];
  readonly #sleeper = new Sleeper();
  readonly stats: TapStats = {
    messages: 0,
    events: 0,
    parseErrors: 0,
    skipped: 0,
    batches: 0,
    committed: 0,
    sinkRetries: 0,
    reclaimed: 0,
    commitErrors: 0,
  };
  #abandoned = false;
  #onAbandon: (() => void) | undefined;
  readonly #abandonedSignal = new Promise<'abandoned'>((resolve) => {
    this.#onAbandon = () => resolve('abandoned');
  });
  #parseErrorCount = 0;
  /** Recent order key → trace id (a derivation costs a SHA-256; orders repeat). */
  readonly #traces = new GenerationalCache<string, string>(10_000);
  /**
   * The recorder's sealer (no chain, no validation: checkDraft ran): the same event as
   * `sealEvent`, plus the canonical text attached, so the sinks write the hashed bytes
   * instead of serializing every payload a second time.
   */
  readonly #sealer: Sealer;

  /** `component` names the tap in `ERR_PARSE` events (`vcp-tap-kafka`). */
  constructor(options: TapRunnerOptions, component: string) {
    if (!options || typeof options.sink?.write !== 'function') {
      throw new VcpConfigError(`${component}: give a sink ({ sink: new HttpSink({ url }) } or a FileSink)`);
    }
    if (!options.policy && !options.policyId) {
      throw new VcpConfigError(
        `${component}: give policyId (e.g. "com.example.trading:kafka-tap") or policy`,
      );
    }
    this.sink = options.sink;
    this.#policy = options.policy ?? createPolicy({ policyId: options.policyId!, tier: options.tier });
    // A policy the sealer refuses would refuse every event, its ERR_PARSE replacements included.
    const badPolicy = policyIssue(this.#policy);
    if (badPolicy) {
      throw new VcpConfigError(
        `${component}: the policy cannot be recorded: ${badPolicy.path} [${badPolicy.rule}] ${badPolicy.message}`,
      );
    }
    this.#signer = options.signer;
    this.#mapping = options.mapping ?? createDefaultMapping();
    this.#idNs = options.idNamespace ?? '';
    this.#traceNs = options.traceNamespace ?? '';
    this.#clockSync = options.clockSyncStatus ?? 'BEST_EFFORT';
    this.#venue = options.venueId ?? '';
    this.#account = options.accountId ?? '';
    this.#hashAlgo = options.hashAlgo ?? 'SHA256';
    const badSetting = headerSettingsIssue({ clockSyncStatus: this.#clockSync, hashAlgo: this.#hashAlgo });
    if (badSetting) throw new VcpConfigError(`${component}: ${badSetting}`);
    this.#maxRaw = Math.max(16, options.maxRawBytes ?? 4096);
    this.#includeSource = options.includeSource ?? true;
    this.#component = component;
    this.#minDelay = options.retryMinDelayMs ?? 100;
    this.#maxDelay = options.retryMaxDelayMs ?? 5000;
    this.#onSinkError = options.onSinkError;
    // Nothing larger than the sink's destination takes (a sidecar's --max-event): such a message
    // becomes an ERR_PARSE event, as a message that cannot be mapped does, instead of a refusal there.
    const limit = sealingLimit(this.sink, 'a tap', 'ERR_PARSE event of a message that cannot be recorded');
    this.#sealer = createSealer({ signer: this.#signer, validate: false, maxEventBytes: limit });
  }

  /** Turn messages into sealed events (never throws; bad messages become `ERR_PARSE` events). */
  toEvents(messages: readonly TapMessage[]): EventBatch {
    const events: VcpEvent[] = [];
    let skipped = 0;
    const before = this.#parseErrorCount;
    for (const m of messages) {
      const e = this.toEvent(m);
      if (e === null) skipped++;
      else events.push(e);
    }
    return { events, skipped, parseErrors: this.#parseErrorCount - before };
  }

  /**
   * The event of one message, or `null` when the mapping skips it. Same message,
   * same configuration: the same event (same id, same hash).
   */
  toEvent(message: TapMessage): VcpEvent | null {
    let mapped: MappedEvent | null | undefined;
    try {
      mapped = this.#mapping(message);
    } catch (e) {
      const code = (e as TapMappingError).errorCode ?? 'MAPPING_FAILED';
      return this.#parseError(message, code, describe(e));
    }
    if (mapped === null || mapped === undefined) return null;
    let draft: DraftEvent;
    try {
      draft = this.#draft(message, mapped);
    } catch (e) {
      const code = (e as TapMappingError).errorCode ?? 'MAPPING_FAILED';
      return this.#parseError(message, code, describe(e));
    }
    const errors = checkDraft(draft);
    if (errors.length > 0) {
      const first = errors[0]!;
      return this.#parseError(message, 'INVALID_EVENT', `${first.path}: ${first.message}`, errors);
    }
    try {
      return this.#seal(draft);
    } catch (e) {
      // e.g. a lone surrogate in a string: canonical JSON (RFC 8785) refuses it.
      return this.#parseError(message, 'INVALID_EVENT', describe(e));
    }
  }

  /**
   * The `ERR_SYNC` event recorded for a message the log lost before the tap
   * could read it (a Redis entry deleted or trimmed while pending): a gap,
   * named by its position, with the same derived id a normal event would have.
   */
  gapEvent(message: TapMessage, code: string, reason: string): VcpEvent {
    const ms = messageMs(message);
    const draft = this.#errorDraft(message, ms, {
      error_details: {
        error_code: code,
        error_message: wellFormed(reason),
        severity: 'WARNING',
        affected_component: this.#component,
      },
      source_message: sourceRef(message),
    });
    draft.header.event_type = 'ERR_SYNC';
    draft.header.event_type_code = EVENT_TYPE_CODES.ERR_SYNC;
    return this.#seal(draft);
  }

  /**
   * Write `events` to the sink until it acknowledges them. Retryable failures
   * are retried with backoff; returns `false` if the tap was abandoned
   * (`abandon()`, a hard stop) before that. A non-retryable failure throws
   * {@link TapDeliveryError}.
   */
  async deliver(events: readonly VcpEvent[]): Promise<boolean> {
    if (events.length === 0) return true;
    for (let attempt = 0; ; attempt++) {
      if (this.#abandoned) return false;
      try {
        // A write that never settles (a hung downstream) must not hold a hard stop.
        if ((await Promise.race([this.sink.write(events), this.#abandonedSignal])) === 'abandoned')
          return false;
        this.stats.events += events.length;
        this.stats.batches++;
        return true;
      } catch (error) {
        if (!isRetryable(error)) {
          throw new TapDeliveryError(
            `${this.#component}: ${this.sink.name} refused ${events.length} event(s); stopping without committing them (${describeError(error)})`,
            { cause: error },
          );
        }
        let delay = backoffDelay(attempt, {
          minDelayMs: this.#minDelay,
          maxDelayMs: this.#maxDelay,
          jitter: 'equal',
        });
        const hint = retryAfterOf(error);
        if (hint !== undefined) delay = Math.max(delay, Math.min(hint, 60_000));
        this.stats.sinkRetries++;
        try {
          this.#onSinkError?.(error, attempt + 1, delay);
        } catch {}
        if (this.#abandoned) return false;
        await this.#sleeper.sleep(delay);
      }
    }
  }

  /**
   * Wait for a tap's read loop to end after it was told to stop; past
   * `timeoutMs` the batch in flight is abandoned (not committed, read again
   * later). Resolves with the loop's failure, if it failed.
   */
  async finishLoop(loop: Promise<void> | undefined, timeoutMs: number): Promise<unknown> {
    const timer = setTimeout(() => this.abandon(), timeoutMs);
    try {
      await loop;
      return undefined;
    } catch (e) {
      return e;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Give up on the batch being delivered (a hard stop): `deliver` returns `false` at its next step. */
  abandon(): void {
    this.#abandoned = true;
    this.#onAbandon?.();
    this.#sleeper.wake();
  }

  /** True after {@link abandon}. */
  get abandoned(): boolean {
    return this.#abandoned;
  }

  // -- internals ------------------------------------------------------------

  /** Seal one draft; throws a VcpValidationError naming the field and rule when it cannot be. */
  #seal(draft: DraftEvent): VcpEvent {
    const r = this.#sealer.seal(draft);
    if (!r.ok) throw new VcpValidationError(r.issues);
    return r.event;
  }

  #draft(message: TapMessage, mapped: MappedEvent): DraftEvent {
    if (!Object.hasOwn(EVENT_TYPE_CODES, mapped.eventType)) {
      throw new TapMappingError(
        'UNKNOWN_EVENT_TYPE',
        'eventType',
        `"${String(mapped.eventType).slice(0, 40)}" is not a VCP event type`,
      );
    }
    let ms = messageMs(message);
    let sub = 0;
    const precision = mapped.precision ?? 'MILLISECOND';
    if (!TIMESTAMP_PRECISIONS.includes(precision)) {
      throw new TapMappingError(
        'INVALID_PRECISION',
        'precision',
        `must be one of ${TIMESTAMP_PRECISIONS.join(', ')}`,
      );
    }
    if (mapped.timestampNs !== undefined) {
      const split = splitTimestampInt(mapped.timestampNs);
      if (!split || split.ms > MAX_ISO_MS) {
        throw new TapMappingError(
          'INVALID_TIMESTAMP',
          'timestampNs',
          `"${String(mapped.timestampNs).slice(0, 40)}" is not ns since the epoch as a decimal string`,
        );
      }
      ms = split.ms;
      sub = split.subMsNs;
    }
    const ts = formatTimestamp(ms, sub, precision);
    const id = this.#eventId(message, ms);
    let payload: VcpPayload = mapped.payload;
    if (
      this.#includeSource &&
      payload &&
      typeof payload === 'object' &&
      !Object.hasOwn(payload, 'source_message')
    ) {
      payload = { ...payload, source_message: sourceRef(message) };
    }
    const header: VcpHeader = {
      event_id: id,
      trace_id: mapped.traceId ?? (mapped.traceKey !== undefined ? this.#traceId(mapped.traceKey) : id),
      timestamp_int: ts.timestamp_int,
      timestamp_iso: ts.timestamp_iso,
      event_type: mapped.eventType,
      event_type_code: EVENT_TYPE_CODES[mapped.eventType],
      timestamp_precision: precision,
      clock_sync_status: this.#clockSync,
      hash_algo: this.#hashAlgo,
      venue_id: mapped.venueId ?? this.#venue,
      symbol: mapped.symbol ?? symbolOf(payload),
      account_id: mapped.accountId ?? this.#account,
      vcp_version: '1.1',
    };
    if (mapped.operatorId !== undefined) header.operator_id = mapped.operatorId;
    return { header, payload, policy_identification: this.#policy };
  }

  #traceId(key: string): string {
    let id = this.#traces.get(key);
    if (id === undefined) {
      id = traceIdFromKey(key, this.#traceNs);
      this.#traces.set(key, id);
    }
    return id;
  }

  #eventId(message: TapMessage, ms: number): string {
    return sourceEventId(
      {
        transport: message.transport,
        stream: message.topic,
        partition: message.partition,
        position: message.offset,
      },
      ms,
      this.#idNs,
    );
  }

  #parseError(
    message: TapMessage,
    code: string,
    reason: string,
    issues?: readonly { path: string; rule: string; message: string }[],
  ): VcpEvent {
    this.#parseErrorCount++;
    const ms = messageMs(message);
    const payload = parseErrorPayload(message, {
      code,
      reason,
      component: this.#component,
      maxRawBytes: this.#maxRaw,
      issues,
    });
    const draft = this.#errorDraft(message, ms, payload);
    try {
      return this.#seal(draft);
    } catch {
      // Cannot happen with the sanitised payload above; if it does, record the fact without the raw data.
      const bare = this.#errorDraft(message, ms, {
        error_details: {
          error_code: code,
          error_message: 'the message could not be recorded, not even as raw data',
          severity: 'WARNING',
          affected_component: this.#component,
        },
        source_message: sourceRef(message),
      });
      return this.#seal(bare);
    }
  }

  #errorDraft(message: TapMessage, ms: number, payload: VcpPayload): DraftEvent {
    const ts = formatTimestamp(ms, 0, 'MILLISECOND');
    const id = this.#eventId(message, ms);
    return {
      header: {
        event_id: id,
        trace_id: id,
        timestamp_int: ts.timestamp_int,
        timestamp_iso: ts.timestamp_iso,
        event_type: 'ERR_PARSE',
        event_type_code: EVENT_TYPE_CODES.ERR_PARSE,
        timestamp_precision: 'MILLISECOND',
        clock_sync_status: this.#clockSync,
        hash_algo: this.#hashAlgo,
        venue_id: this.#venue,
        symbol: '',
        account_id: this.#account,
        vcp_version: '1.1',
      },
      payload,
      policy_identification: this.#policy,
    };
  }
}

/**
 * The problems of a draft built by {@link TapRunner}. Its header is made here
 * from checked parts (derived ids, formatted timestamps, a known event type),
 * so only what a mapping supplied is checked in it; the payload goes through
 * the shared rules of `validateEvent` (decimal strings, error_details, …) —
 * through `validateOwnDraft`, which checks the payload in full and skips the
 * header fields we just built (re-parsing timestamps, ids).
 */
function checkDraft(draft: DraftEvent): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const h = draft.header;
  for (const f of ['symbol', 'venue_id', 'account_id'] as const) {
    if (typeof h[f] !== 'string')
      issues.push({ path: `header.${f}`, rule: 'string', message: `${f} must be a string` });
  }
  if (h.operator_id !== undefined && typeof h.operator_id !== 'string') {
    issues.push({ path: 'header.operator_id', rule: 'string', message: 'operator_id must be a string' });
  }
  if (typeof h.trace_id !== 'string' || h.trace_id.length === 0 || h.trace_id.length > 128) {
    issues.push({
      path: 'header.trace_id',
      rule: 'string',
      message: 'trace_id must be a non-empty string of at most 128 characters',
    });
  }
  // The payload rules of validateEvent, without its header checks: run on a header of only
  // event_type those built and threw away a dozen issues per event (4 µs and garbage for the GC).
  for (const e of validateOwnDraft(draft)) if (e.path.startsWith('payload')) issues.push(e);
  return issues;
}

/** Year 9999: the last instant ISO 8601 (and `Date#toISOString`) writes with four year digits. */
const MAX_ISO_MS = 253_402_300_799_999;

/** The message's timestamp, or 0 when the source gave none usable (Kafka uses -1 for "none"). */
function messageMs(message: TapMessage): number {
  const ms = message.timestamp;
  return Number.isSafeInteger(ms) && ms >= 0 && ms <= MAX_ISO_MS ? ms : 0;
}

function symbolOf(payload: VcpPayload): string {
  const s = payload?.trade_data?.symbol;
  return typeof s === 'string' ? s : '';
}

function describe(e: unknown): string {
  if (e instanceof VcpValidationError && e.issues.length > 0) {
    return e.issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ');
  }
  return e instanceof Error ? e.message : describeError(e);
}

/** Milliseconds → a compact "1.2k/s"-style rate for progress lines. */
export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return '0/s';
  if (perSecond >= 10_000) return `${(perSecond / 1000).toFixed(1)}k/s`;
  return `${perSecond.toFixed(perSecond >= 100 ? 0 : 1)}/s`;
}
