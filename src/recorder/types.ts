/**
 * The recorder's public shape, kept apart from its implementation so the
 * capture layer (decorator, middleware, client, adapters) depends only on
 * this contract.
 */
import type { EventType } from '../core/event-types.ts';
import type { VcpPayload } from '../core/types.ts';

/** Per-event fields a capture point may set; everything else comes from the recorder's defaults. */
export interface RecordOptions {
  /** Trace id; default: the current trace from the context store, else the event's own id. */
  traceId?: string;
  venueId?: string;
  symbol?: string;
  accountId?: string;
  operatorId?: string;
  /** Use this event id instead of a new UUIDv7 (taps derive deterministic ids for idempotent replay). */
  eventId?: string;
}

/** Counters a recorder reports. Every dropped event is counted here, never silently lost. */
export interface RecorderStats {
  /** Events accepted by `record` (including those dropped later by policy). */
  recorded: number;
  /** Events sealed. */
  sealed: number;
  /** Events the sink acknowledged. */
  written: number;
  /** Events dropped because the queue was full (by `drop-newest` or `drop-oldest`). */
  dropped: number;
  /** Events that could not be sealed (invalid draft) and were replaced by an ERR_SYSTEM event. */
  invalid: number;
  /** Sink write failures (each retried or spooled). */
  sinkErrors: number;
  /** Events waiting in the queue now. */
  queued: number;
  /** Events currently in the on-disk spool, waiting for the sink. */
  spooled: number;
  /** Extractor failures reported by the decorator. */
  extractorErrors: number;
}

/** What capture points call. Implementations never throw into the caller. */
export interface VcpRecorder {
  /**
   * Capture an event: builds the draft (id, timestamps, trace) on the
   * caller's path and queues it; sealing and I/O happen later, in capture
   * order. Returns the event id, or `undefined` when the queue policy dropped it.
   */
  record(eventType: EventType, payload: VcpPayload, options?: RecordOptions): string | undefined;
  /** Resolve when everything recorded so far has been written by the sink (or spooled). */
  flush(): Promise<void>;
  /** Flush, then close the sink. Later `record` calls are counted as dropped. */
  close(): Promise<void>;
  stats(): RecorderStats;
  /** Count an extractor failure (the decorator also records an ERR_SYSTEM event). */
  noteExtractorError(): void;
}
