/**
 * The recorder (DESIGN "recorder" layer, decision 9): capture points call
 * `record()`, which only builds the draft (ids, timestamps, trace) and queues
 * it. A drain loop, started with `setImmediate` and never on the caller's
 * stack, then validates, seals (canonical JSON, hash, chain, signature) and
 * hands batches to the sink, in capture order, one batch at a time, sealing
 * the next batch while the sink works on the current one.
 *
 * Failure rules:
 * - `record()` never throws. A draft that breaks a rule (a JS number in
 *   `trade_data`, a cycle, a BigInt, a function, NaN, an event over
 *   `maxEventBytes`) is not sealed: an `ERR_SYSTEM` event takes its place,
 *   naming the field and the rule, with `correlated_event_id` = the refused
 *   event's id, and `stats().invalid` counts it. A clock, id generator or
 *   payload getter that throws inside `record()` is counted
 *   (`internalErrors`) and captured as an `ERR_SYSTEM` event built from the
 *   system clock.
 * - The queue is bounded (`queue.max`). When full, `whenFull` decides:
 *   `'drop-newest'` (default) refuses the new event, `'drop-oldest'` drops
 *   the oldest queued one, `'block'` keeps everything and makes
 *   `backpressure()` wait (see below). Every drop is counted, and once the
 *   queue has room again an `ERR_SYSTEM` "n events dropped" event goes into
 *   the log itself, so the audit trail shows the hole.
 * - A failed sink write is retried with exponential backoff and jitter, for
 *   as long as it takes (the queue policy bounds memory meanwhile); put
 *   `withRetry`/`withCircuitBreaker`/`withSpool` around the sink for faster
 *   failover to disk. Events the sink refuses as invalid (non-retryable) are
 *   counted (`rejected`) and kept in `<spoolDir>/vcp-rejected-*.jsonl`; when
 *   the sink names them (`SinkRejectionError`, the HTTP sink's), only those,
 *   the rest of the batch counts as written, and a sink that already
 *   dead-lettered them (`keptIn`) is not duplicated.
 *
 * `'block'` mode: JavaScript cannot block a synchronous caller, so
 * `record()` still queues past `max` (up to `hardMax`, default 10 × max,
 * after which it drops and counts), and `await recorder.backpressure()`
 * resolves once the queue is below `max` again. Async callers (decorated
 * async methods, middleware) await it to slow down instead of losing events.
 *
 * Signing: with a `Signer` each event is signed on the event loop while it
 * is sealed; with a `createWorkerSigner()` signer, batches are signed on a
 * worker thread while the next batch is hashed (the exit path and
 * `durability: 'sync'` sign on the calling thread, so no event leaves unsigned).
 *
 * The payload object is kept by reference until it is sealed (usually
 * within a millisecond): do not change it after `record()`. What is written
 * is what was hashed (the sinks write the canonical text made at sealing).
 */

import { currentStore } from '../context/trace-store.ts';
import { draftEvent, type EventOptions } from '../core/builder.ts';
import { systemClock, type VcpClock } from '../core/clock.ts';
import { type HashAlgo, headerSettingsIssue, type Tier, type TimestampPrecision } from '../core/enums.ts';
import { type ValidationIssue, VcpConfigError, VcpIoError } from '../core/errors.ts';
import type { EventType } from '../core/event-types.ts';
import { createPolicy } from '../core/policy.ts';
import type { DraftEvent, PolicyIdentification, VcpEvent, VcpPayload } from '../core/types.ts';
import { isUuid, uuidv7 } from '../core/uuidv7.ts';
import { createHashChain, type HashChain } from '../integrity/chain.ts';
import type { Signer } from '../integrity/sign.ts';
import { SinkRejectionError, writeDeadLetterFile } from '../sinks/dead-letter.ts';
import { describeError, isRetryable } from '../sinks/errors.ts';
import { backoffDelay, Sleeper } from '../sinks/retry.ts';
import { MIN_SEALED_EVENT_BYTES, type Sink, sealingLimit } from '../sinks/sink.ts';
import { spooledEventsOf } from '../sinks/spool.ts';
import { type ExitParticipant, registerExitHooks } from './exit-hooks.ts';
import { type ClaimedSpool, claimExitSpools, removeSpoolFile, writeSpoolFileSync } from './exit-spool.ts';
import { RingQueue } from './queue.ts';
import { createSealer, policyIssue, type Sealer } from './sealer.ts';
import type { RecorderStats, RecordOptions, VcpRecorder } from './types.ts';
import { type BatchSigner, isBatchSigner } from './worker-signer.ts';

/** What to do with a new event when the queue is full. */
export type QueuePolicy = 'drop-newest' | 'drop-oldest' | 'block';

/** Default {@link RecorderOptions.maxEventBytes}: 1 MiB, the longest line `vcp verify` reads by default. */
const MAX_EVENT_BYTES = 1024 * 1024;
/** Smallest {@link RecorderOptions.maxEventBytes}: room for the ERR_SYSTEM event that replaces a refused one. */
const MIN_EVENT_BYTES = MIN_SEALED_EVENT_BYTES;

/**
 * The recorder's event size limit: `maxEventBytes` (default 1 MiB), but never over what the sink's
 * destination accepts (`sink.maxEventBytes`, e.g. the sidecar's `--max-event`): an event the
 * destination refused would be missing from the log, and the next event's `prev_hash` would point
 * at it (`vcp verify`: chain-gap, INVALID).
 */
function eventLimit(option: number | undefined, sink: Sink): number {
  if (option !== undefined && (!Number.isInteger(option) || option < MIN_EVENT_BYTES)) {
    throw new VcpConfigError(
      `maxEventBytes must be an integer of at least ${MIN_EVENT_BYTES}: the ERR_SYSTEM event that takes a refused event's place must fit too`,
    );
  }
  const sinkLimit = sealingLimit(sink, 'a recorder', "ERR_SYSTEM event that takes a refused event's place");
  if (sinkLimit === undefined) return option ?? MAX_EVENT_BYTES;
  if (option !== undefined && option > sinkLimit) {
    throw new VcpConfigError(
      `maxEventBytes ${option} is more than the sink ${sink.name} takes (${sinkLimit} bytes, e.g. the sidecar's --max-event): ` +
        'events between the two would be refused there and missing from the log. Lower maxEventBytes, or raise the ' +
        "sink's limit to match its destination (createHttpSink({ maxEventBytes }) with the sidecar's --max-event)",
    );
  }
  return option ?? Math.min(MAX_EVENT_BYTES, sinkLimit);
}

/** Bytes a batch signer adds to a sealed event's line: its signature (64 bytes, base64), algorithm and key id. */
function signatureFieldsBytes(keyId: string): number {
  return Buffer.byteLength(
    `,"signature":"${'A'.repeat(88)}","sign_algo":"ED25519","signing_key_id":${JSON.stringify(keyId)}`,
  );
}

/** Options of {@link createRecorder}. */
export interface RecorderOptions {
  /** Where sealed events go. */
  sink: Sink;
  /** The policy block (from `createPolicy`); or give `policyId` (+ `tier`). */
  policy?: PolicyIdentification;
  policyId?: string;
  /** Conformance tier when built from `policyId` (default SILVER); sets the timestamp precision. */
  tier?: Tier;
  /**
   * Sign every event (Ed25519 over the event hash). A signer from `createWorkerSigner`
   * signs off the main thread while the recorder hashes the next batch.
   */
  signer?: Signer;
  /** EventHash algorithm (default SHA256). */
  hashAlgo?: HashAlgo;
  /**
   * Hash chain (`prev_hash`): `true` starts one at genesis, a `HashChain` resumes one.
   * Default: the policy's `hash_chain_validation` flag (false for policies built here).
   */
  chain?: boolean | HashChain;
  /** The bounded queue. */
  queue?: {
    /** Most events waiting to be sealed (default 10 000). */
    max?: number;
    /** Policy when full (default `'drop-newest'`). */
    whenFull?: QueuePolicy;
    /** `'block'` mode only: past this many, events are dropped after all (default 10 × max). */
    hardMax?: number;
  };
  /** Events per sealing batch and sink write (default 128). */
  batchSize?: number;
  /** Header timestamps (default the system clock). */
  clock?: VcpClock;
  /** Event ids (default UUIDv7). */
  newId?: () => string;
  /** Header defaults; `RecordOptions` override them per event. */
  venueId?: string;
  accountId?: string;
  /** Default symbol, used when neither the call nor `payload.trade_data.symbol` gives one. */
  symbol?: string;
  operatorId?: string;
  /** Timestamp precision (default: the tier's). */
  precision?: TimestampPrecision;
  /** JS numbers in `trade_data`/`vcp_risk`: `'reject'` (default, they become ERR_SYSTEM) or `'convert'`. */
  numbers?: 'reject' | 'convert';
  /**
   * Largest event sealed, in bytes of the JSON line sinks write (header, payload, security and
   * policy, a batch signer's signature included); a larger one becomes an `ERR_SYSTEM` event
   * (`max-size`). At least 4 KiB. Default: 1 MiB (the longest line `vcp verify` reads by default),
   * or the sink's {@link Sink.maxEventBytes} when smaller (an HTTP sink's is the sidecar's
   * `--max-event`, 128 KiB by default). `createRecorder` refuses a value over the sink's limit:
   * the destination would refuse those events, and they would be missing from the log.
   */
  maxEventBytes?: number;
  /**
   * `'async'` (default): `record()` queues, sealing and I/O happen later.
   * `'sync'`: `record()` seals and writes with `sink.writeSync` (fsync for the file sink)
   * before returning; the sink must have `writeSync`. Slow (one fsync a call), durable.
   */
  durability?: 'async' | 'sync';
  /** Install the shared `beforeExit`/`exit` hooks (default true). See exit-hooks.ts. */
  exitHooks?: boolean;
  /** Install SIGTERM/SIGINT handlers that flush, then exit with 128 + signal (default false). */
  handleSignals?: boolean;
  /** Longest a signal-triggered flush may take, ms (default 5000). */
  signalTimeoutMs?: number;
  /**
   * Directory for the recorder's exit spool and refused events. Exit spools of
   * earlier runs found here are sent first. Without it, events that cannot be
   * written at exit are counted and reported on stderr (and lost).
   */
  spoolDir?: string;
  /** How long `close()` waits for the sink before spooling what is left, ms (default 10 000). */
  closeTimeoutMs?: number;
  /** Backoff of the recorder's own retries of a failed sink write (default 100 ms → 5 s). */
  retry?: { minDelayMs?: number; maxDelayMs?: number };
  /**
   * Told about every problem the recorder absorbs (sink errors, refused events,
   * invalid drafts, drops, internal failures). Default: a process warning, at
   * most one per kind every 30 s. Must not throw (if it does, it is ignored).
   */
  onError?: (error: unknown, info: RecorderErrorInfo) => void;
}

/** Context of an `onError` report. */
export interface RecorderErrorInfo {
  kind: 'sink' | 'rejected' | 'invalid' | 'dropped' | 'internal' | 'exit';
  /** Events concerned. */
  count: number;
  sink: string;
}

/** `stats()` of this recorder: the `RecorderStats` contract plus detail counters. */
export interface RecorderStatsDetail extends RecorderStats {
  /** Events the sink refused as invalid (not retried; kept in `<spoolDir>/vcp-rejected-*.jsonl`). */
  rejected: number;
  /** Failures inside `record()` (clock, id generator, payload getter threw), each captured as ERR_SYSTEM. */
  internalErrors: number;
  /** Events from earlier runs' exit spools delivered to the sink. */
  replayed: number;
}

/** A sealed batch in the pipeline. */
interface Batch {
  events: VcpEvent[];
  /** Queue positions [start, end) this batch retires. */
  start: number;
  end: number;
  /** Finished (written, refused, or taken over by the exit path). */
  done: boolean;
  /** Worker signing in progress (resolves when the signatures are in the events). */
  signing?: Promise<void>;
  /** Signatures still missing (worker signing not finished). */
  unsigned?: boolean;
}

interface PendingDrops {
  count: number;
  byType: Map<string, number>;
  firstAt: number;
  lastAt: number;
  firstId: string | undefined;
  lastId: string | undefined;
}

const RESOLVED = Promise.resolve();
const DEFAULT_POLICY_COMPONENT = 'vcp-recorder';

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Bounded, and without lone surrogates (which canonical JSON refuses): safe inside an ERR_SYSTEM event. */
function wellFormed(s: string, max = 500): string {
  const t = s.length > max ? `${s.slice(0, max)}…` : s;
  return t.replace(LONE_SURROGATE, '\uFFFD');
}

function safeString(v: unknown, max = 256): string | undefined {
  return typeof v === 'string' && v.length <= max ? wellFormed(v, max) : undefined;
}

function applySignature(event: VcpEvent, signature: string, keyId: string): void {
  const s = event.security;
  s.signature = signature;
  s.sign_algo = 'ED25519';
  s.signing_key_id = keyId;
}

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The recorder; make one with {@link createRecorder}. */
export class Recorder implements VcpRecorder {
  /** The sink events go to. */
  readonly sink: Sink;
  /** The policy block every event carries. */
  readonly policy: PolicyIdentification;
  readonly #queue: RingQueue<DraftEvent>;
  readonly #max: number;
  readonly #hardMax: number;
  readonly #whenFull: QueuePolicy;
  readonly #batchSize: number;
  readonly #sealer: Sealer;
  readonly #batchSigner: BatchSigner | undefined;
  readonly #sync: boolean;
  readonly #spoolDir: string | undefined;
  readonly #closeTimeoutMs: number;
  readonly #retry: { minDelayMs: number; maxDelayMs: number };
  readonly #onError: RecorderOptions['onError'];
  readonly #sleeper = new Sleeper();
  readonly #unregister: (() => void) | undefined;
  readonly #lastWarned = new Map<string, number>();

  // Draft building (reused options object: no allocation per call).
  readonly #draftOpts: EventOptions;
  readonly #newId: () => string;
  #forcedId: string | undefined;
  readonly #venueId: string | undefined;
  readonly #accountId: string | undefined;
  readonly #symbol: string | undefined;
  readonly #operatorId: string | undefined;

  // Counters.
  #recorded = 0;
  #sealed = 0;
  #written = 0;
  #dropped = 0;
  #invalid = 0;
  #sinkErrors = 0;
  #extractorErrors = 0;
  #rejected = 0;
  #internalErrors = 0;
  #replayed = 0;
  #exitSpooled = 0;

  // Pipeline state. Positions count drafts that entered the queue.
  #enqueued = 0;
  /** Drafts that left the queue (taken for sealing or dropped), in FIFO order. */
  #left = 0;
  readonly #pipeline: Batch[] = [];
  #replay: ClaimedSpool[] = [];
  #drops: PendingDrops | undefined;
  #draining = false;
  #scheduled = false;
  #closing = false;
  /** Set when close() gave up waiting: nothing more is sent to the sink. */
  #stopped = false;
  #closePromise: Promise<void> | undefined;
  /** Flush waiters; `report`: drops were pending at flush time, so it waits for their report too. */
  #flushWaiters: { target: number; report: boolean; resolve: () => void }[] = [];
  #bpWaiters: (() => void)[] = [];

  constructor(options: RecorderOptions) {
    if (!options || typeof options !== 'object')
      throw new VcpConfigError('createRecorder needs an options object');
    const sink = options.sink;
    if (!sink || typeof sink.write !== 'function' || typeof sink.close !== 'function') {
      throw new VcpConfigError(
        'createRecorder needs a sink ({ write(events), close() }), e.g. new MemorySink()',
      );
    }
    this.sink = sink;
    const chainOpt = options.chain;
    let policy = options.policy;
    if (!policy) {
      if (!options.policyId) {
        throw new VcpConfigError(
          "createRecorder needs `policy` (createPolicy({...})) or `policyId` (e.g. 'com.example.trading:algo-v2')",
        );
      }
      policy = createPolicy({
        policyId: options.policyId,
        tier: options.tier,
        hashChain: chainOpt !== undefined && chainOpt !== false,
      });
    }
    this.policy = policy;
    // A policy the sealer refuses would refuse every event, its ERR_SYSTEM replacements included.
    const badPolicy = policyIssue(policy);
    if (badPolicy) {
      throw new VcpConfigError(
        `the policy cannot be recorded: ${badPolicy.path} [${badPolicy.rule}] ${badPolicy.message}`,
      );
    }
    const chain: HashChain | undefined =
      chainOpt === undefined
        ? policy.verification_depth?.hash_chain_validation === true
          ? createHashChain()
          : undefined
        : chainOpt === true
          ? createHashChain()
          : chainOpt === false
            ? undefined
            : chainOpt;

    const q = options.queue ?? {};
    this.#max = q.max ?? 10_000;
    if (!Number.isInteger(this.#max) || this.#max < 1)
      throw new VcpConfigError('queue.max must be a positive integer');
    this.#whenFull = q.whenFull ?? 'drop-newest';
    if (!['drop-newest', 'drop-oldest', 'block'].includes(this.#whenFull)) {
      throw new VcpConfigError(
        `queue.whenFull must be 'drop-newest', 'drop-oldest' or 'block', not ${String(this.#whenFull)}`,
      );
    }
    this.#hardMax = Math.max(this.#max, q.hardMax ?? this.#max * 10);
    this.#batchSize = options.batchSize ?? 128;
    if (!Number.isInteger(this.#batchSize) || this.#batchSize < 1)
      throw new VcpConfigError('batchSize must be a positive integer');
    this.#queue = new RingQueue(Math.min(this.#max, 1024));
    this.#sync = options.durability === 'sync';
    if (options.durability !== undefined && options.durability !== 'sync' && options.durability !== 'async') {
      throw new VcpConfigError(`durability must be 'async' or 'sync', not ${String(options.durability)}`);
    }
    if (this.#sync && typeof sink.writeSync !== 'function') {
      throw new VcpConfigError(
        `durability 'sync' needs a sink that can write synchronously (writeSync); ${sink.name} cannot`,
      );
    }
    if (options.numbers !== undefined && options.numbers !== 'reject' && options.numbers !== 'convert') {
      throw new VcpConfigError(`numbers must be 'reject' or 'convert', not ${String(options.numbers)}`);
    }
    this.#batchSigner = isBatchSigner(options.signer) ? options.signer : undefined;
    const maxEventBytes = eventLimit(options.maxEventBytes, sink);
    this.#sealer = createSealer({
      // A batch signer signs whole batches on its workers, after sealing: its fields are counted now.
      signer: isBatchSigner(options.signer) ? undefined : options.signer,
      laterBytes: this.#batchSigner ? signatureFieldsBytes(this.#batchSigner.keyId) : 0,
      chain,
      maxEventBytes,
      numbers: options.numbers,
      // Every draft comes from record(): its header is ours, only the caller's parts need checking.
      validate: 'own-draft',
    });
    this.#spoolDir = options.spoolDir;
    this.#closeTimeoutMs = options.closeTimeoutMs ?? 10_000;
    this.#retry = {
      minDelayMs: options.retry?.minDelayMs ?? 100,
      maxDelayMs: options.retry?.maxDelayMs ?? 5000,
    };
    this.#onError = options.onError;

    this.#newId = options.newId ?? uuidv7;
    this.#venueId = options.venueId;
    this.#accountId = options.accountId;
    this.#symbol = options.symbol;
    this.#operatorId = options.operatorId;
    // Header values every event takes from the options: a bad one would have every event refused.
    const badSetting = headerSettingsIssue({
      clockSyncStatus: options.clock === undefined ? undefined : (options.clock.clockSyncStatus ?? 'missing'),
      hashAlgo: options.hashAlgo,
      precision: options.precision,
    });
    if (badSetting) throw new VcpConfigError(badSetting.replace(/^clockSyncStatus/, 'clock.clockSyncStatus'));
    this.#draftOpts = {
      policy,
      clock: options.clock ?? systemClock,
      precision: options.precision,
      hashAlgo: options.hashAlgo ?? 'SHA256',
      newId: () => {
        const forced = this.#forcedId;
        if (forced !== undefined) {
          this.#forcedId = undefined;
          return forced;
        }
        return this.#newId();
      },
      traceId: undefined,
      venueId: undefined,
      symbol: undefined,
      accountId: undefined,
      operatorId: undefined,
    };

    // Sinks that write signed checkpoints (the FileSink) sign them with the events' key.
    if (options.signer)
      sink.attachSigner?.(options.signer, {
        policyId: policy.policy_id,
        hashAlgo: options.hashAlgo ?? 'SHA256',
      });
    if (this.#spoolDir) {
      this.#replay = claimExitSpools(this.#spoolDir).filter((c) => {
        if (c.events.length > 0) return true;
        removeSpoolFile(c.path);
        return false;
      });
      if (this.#replay.length > 0) this.#kick();
    }
    if (options.exitHooks !== false) {
      const participant: ExitParticipant = {
        onBeforeExit: () => this.#onBeforeExit(),
        onExit: () => this.#spoolPendingSync('exit'),
        flushForSignal: () => this.flush(),
        signalTimeoutMs: options.signalTimeoutMs ?? 5000,
      };
      this.#unregister = registerExitHooks(participant, { handleSignals: options.handleSignals === true });
    }
  }

  // -- the caller's path ------------------------------------------------------

  record(eventType: EventType, payload: VcpPayload, options?: RecordOptions): string | undefined {
    let store: ReturnType<typeof currentStore>;
    try {
      this.#recorded++;
      if (this.#closing) {
        this.#dropped++;
        return undefined;
      }
      if (this.#queue.length >= this.#max && !this.#sync) {
        if (this.#whenFull === 'drop-oldest') {
          const old = this.#queue.shift()!;
          this.#left++;
          this.#noteDrop(old.header.event_type, old.header.event_id);
        } else if (this.#whenFull === 'drop-newest' || this.#queue.length >= this.#hardMax) {
          this.#noteDrop(eventType, undefined);
          return undefined;
        }
      }
      store = currentStore();
      const o = this.#draftOpts;
      if (options === undefined) {
        o.traceId = store?.traceId;
        o.venueId = this.#venueId;
        o.accountId = this.#accountId;
        o.operatorId = this.#operatorId;
        o.symbol = this.#symbol === undefined ? undefined : (payload?.trade_data?.symbol ?? this.#symbol);
      } else {
        o.traceId = options.traceId ?? store?.traceId;
        o.venueId = options.venueId ?? this.#venueId;
        o.accountId = options.accountId ?? this.#accountId;
        o.operatorId = options.operatorId ?? this.#operatorId;
        o.symbol =
          options.symbol ??
          (this.#symbol === undefined ? undefined : (payload?.trade_data?.symbol ?? this.#symbol));
        this.#forcedId = options.eventId;
      }
      const draft = draftEvent(eventType, payload, o);
      this.#forcedId = undefined;
      const id = draft.header.event_id;
      this.#accept(draft);
      if (store) store.lastEventId = id;
      return id;
    } catch (error) {
      this.#forcedId = undefined;
      return this.#captureFailure(eventType, error, store);
    }
  }

  /**
   * Resolves when the queue is below `queue.max` (at once when it already is).
   * For `'block'` mode: async callers `await recorder.backpressure()` to slow down
   * instead of queueing without end. Never rejects.
   */
  backpressure(): Promise<void> {
    if (this.#queue.length < this.#max || this.#closing) return RESOLVED;
    return new Promise((resolve) => this.#bpWaiters.push(resolve));
  }

  noteExtractorError(): void {
    this.#extractorErrors++;
  }

  stats(): RecorderStatsDetail {
    let inPipeline = 0;
    for (const b of this.#pipeline) if (!b.done) inPipeline += b.events.length;
    let spooled = this.#exitSpooled;
    try {
      spooled += spooledEventsOf(this.sink);
    } catch {}
    return {
      recorded: this.#recorded,
      sealed: this.#sealed,
      written: this.#written,
      dropped: this.#dropped,
      invalid: this.#invalid,
      sinkErrors: this.#sinkErrors,
      queued: this.#queue.length + inPipeline,
      spooled,
      extractorErrors: this.#extractorErrors,
      rejected: this.#rejected,
      internalErrors: this.#internalErrors,
      replayed: this.#replayed,
    };
  }

  /**
   * Resolve when everything recorded so far has been written by the sink (or
   * spooled), and the sink flushed. With `timeoutMs`, reject with a
   * `VcpIoError` saying what is still pending if that takes longer.
   */
  async flush(options: { timeoutMs?: number } = {}): Promise<void> {
    const target = this.#enqueued;
    const report = this.#drops !== undefined;
    if (report || !this.#reached(target)) {
      this.#kick();
      const reached = new Promise<void>((resolve) => this.#flushWaiters.push({ target, report, resolve }));
      if (options.timeoutMs === undefined) await reached;
      else {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), options.timeoutMs);
        });
        const outcome = await Promise.race([reached, timeout]);
        clearTimeout(timer);
        if (outcome === 'timeout') {
          throw new VcpIoError(
            `flush timed out after ${options.timeoutMs} ms: ${this.stats().queued} events still pending for ${this.sink.name}`,
          );
        }
      }
    }
    await this.sink.flush?.();
  }

  /**
   * Stop accepting events (later `record` calls count as dropped), drain the
   * queue to the sink (waiting at most `closeTimeoutMs`; what is left then is
   * written synchronously or to the exit spool), then close the sink.
   */
  close(): Promise<void> {
    if (this.#closePromise) return this.#closePromise;
    this.#closing = true;
    this.#closePromise = (async () => {
      // Whoever waits for room will not get it any more.
      const waiters = this.#bpWaiters;
      this.#bpWaiters = [];
      for (const w of waiters) w();
      try {
        await this.flush({ timeoutMs: this.#closeTimeoutMs });
      } catch {
        this.#spoolPendingSync('close');
      }
      this.#stopped = true;
      this.#sleeper.wake();
      this.#unregister?.();
      try {
        await this.sink.close();
      } catch (e) {
        this.#report(e, { kind: 'sink', count: 0, sink: this.sink.name });
      }
    })();
    return this.#closePromise;
  }

  // -- queueing -------------------------------------------------------------------

  #accept(draft: DraftEvent): void {
    if (this.#sync && this.#queue.length === 0 && this.#pipeline.length === 0 && this.#replay.length === 0) {
      this.#writeNowSync(draft);
      return;
    }
    this.#queue.push(draft);
    this.#enqueued++;
    this.#kick();
  }

  /** `durability: 'sync'`: seal and write before returning; on failure fall back to the async path. */
  #writeNowSync(draft: DraftEvent): void {
    const pos = this.#enqueued++;
    this.#left++;
    const events = this.#sealAll([draft]);
    this.#signSync(events);
    try {
      this.sink.writeSync!(events);
      this.#written += events.length;
    } catch (e) {
      this.#sinkErrors++;
      this.#report(e, { kind: 'sink', count: events.length, sink: this.sink.name });
      // Keep order: this batch goes first, and later events queue behind it.
      const batch: Batch = { events, start: pos, end: pos + 1, done: false };
      this.#pipeline.push(batch);
      this.#kick();
    }
  }

  #noteDrop(type: unknown, id: string | undefined): void {
    this.#dropped++;
    const now = Date.now();
    let d = this.#drops;
    if (!d) {
      d = { count: 0, byType: new Map(), firstAt: now, lastAt: now, firstId: id, lastId: id };
      this.#drops = d;
      this.#report(new VcpIoError('recorder queue full: dropping events'), {
        kind: 'dropped',
        count: 1,
        sink: this.sink.name,
      });
    }
    d.count++;
    d.lastAt = now;
    if (id !== undefined) {
      d.firstId ??= id;
      d.lastId = id;
    }
    const key = typeof type === 'string' ? type.slice(0, 20) : '?';
    d.byType.set(key, (d.byType.get(key) ?? 0) + 1);
  }

  /** Put the pending "n events dropped" report into the log, if there is room. */
  #reportDrops(force = false): void {
    const d = this.#drops;
    if (!d || (!force && this.#queue.length >= this.#max)) return;
    this.#drops = undefined;
    const byType: Record<string, string> = {};
    for (const [k, v] of d.byType) byType[wellFormed(k, 20)] = String(v);
    const details: Record<string, unknown> = {
      error_code: 'VCP_EVENTS_DROPPED',
      error_message: `${d.count} event(s) dropped: the recorder queue was full (queue.max ${this.#max}, policy ${this.#whenFull}); the sink (${this.sink.name}) could not keep up`,
      severity: 'CRITICAL',
      affected_component: DEFAULT_POLICY_COMPONENT,
      recovery_action:
        'raise queue.max, fix or speed up the sink, or use whenFull: block with backpressure()',
      dropped_count: String(d.count),
      dropped_by_type: byType,
      first_dropped_at: new Date(d.firstAt).toISOString(),
      last_dropped_at: new Date(d.lastAt).toISOString(),
    };
    if (d.firstId !== undefined && isUuid(d.firstId)) details.first_dropped_event_id = d.firstId;
    if (d.lastId !== undefined && isUuid(d.lastId)) details.last_dropped_event_id = d.lastId;
    const draft = this.#internalDraft({ error_details: details as never }, undefined);
    if (draft) {
      this.#queue.push(draft);
      this.#enqueued++;
    }
    // Flushes that began while drops were pending now wait for this report as well.
    for (const w of this.#flushWaiters) {
      if (w.report) {
        w.report = false;
        w.target = Math.max(w.target, this.#enqueued);
      }
    }
  }

  /** `record()` itself failed (clock, id generator, payload getter): capture that instead. */
  #captureFailure(
    eventType: unknown,
    error: unknown,
    store: ReturnType<typeof currentStore>,
  ): string | undefined {
    try {
      this.#internalErrors++;
      this.#report(error, { kind: 'internal', count: 1, sink: this.sink.name });
      if (this.#closing) return undefined;
      const type = typeof eventType === 'string' ? eventType.slice(0, 20) : typeof eventType;
      const traceId = safeString(store?.traceId, 128);
      const draft = this.#internalDraft(
        {
          error_details: {
            error_code: 'VCP_CAPTURE_FAILED',
            error_message: wellFormed(`could not capture a ${type} event: ${describeError(error)}`),
            severity: 'CRITICAL',
            affected_component: DEFAULT_POLICY_COMPONENT,
          },
        },
        traceId,
      );
      if (!draft) return undefined;
      this.#accept(draft);
      if (store) store.lastEventId = draft.header.event_id;
      return draft.header.event_id;
    } catch {
      return undefined;
    }
  }

  /**
   * An ERR_SYSTEM draft made by the recorder itself. Uses the configured clock
   * and ids, falling back to the system clock and UUIDv7 if those throw.
   */
  #internalDraft(payload: VcpPayload, traceId: string | undefined): DraftEvent | undefined {
    const base: EventOptions = {
      policy: this.policy,
      clock: this.#draftOpts.clock,
      precision: this.#draftOpts.precision,
      hashAlgo: this.#draftOpts.hashAlgo,
      newId: this.#newId,
      traceId,
      venueId: this.#venueId,
      accountId: this.#accountId,
      symbol: this.#symbol ?? '',
    };
    try {
      return draftEvent('ERR_SYSTEM', payload, base);
    } catch {
      try {
        return draftEvent('ERR_SYSTEM', payload, { ...base, clock: systemClock, newId: uuidv7 });
      } catch (e) {
        this.#internalErrors++;
        this.#report(e, { kind: 'internal', count: 1, sink: this.sink.name });
        return undefined;
      }
    }
  }

  // -- sealing ---------------------------------------------------------------------

  /** Seal drafts in order; an invalid one is replaced by its ERR_SYSTEM event. */
  #sealAll(drafts: DraftEvent[]): VcpEvent[] {
    const out: VcpEvent[] = [];
    for (const draft of drafts) {
      let result: ReturnType<Sealer['seal']>;
      try {
        result = this.#sealer.seal(draft);
      } catch (e) {
        result = {
          ok: false,
          issues: [{ path: '', rule: 'seal', message: `sealing failed: ${describeError(e)}` }],
        };
      }
      if (result.ok) {
        out.push(result.event);
        this.#sealed++;
        continue;
      }
      this.#invalid++;
      this.#report(
        new VcpIoError(result.issues.map((i) => `${i.path}: ${i.message} [${i.rule}]`).join('; ')),
        {
          kind: 'invalid',
          count: 1,
          sink: this.sink.name,
        },
      );
      const replacement = this.#invalidReplacement(draft, result.issues);
      let sealed: ReturnType<Sealer['seal']> | undefined;
      try {
        sealed = replacement ? this.#sealer.seal(replacement) : undefined;
      } catch {}
      if (sealed?.ok) {
        out.push(sealed.event);
        this.#sealed++;
      } else {
        this.#internalErrors++;
        this.#report(new VcpIoError('could not seal the ERR_SYSTEM event for an invalid draft'), {
          kind: 'internal',
          count: 1,
          sink: this.sink.name,
        });
      }
    }
    return out;
  }

  #invalidReplacement(bad: DraftEvent, issues: ValidationIssue[]): DraftEvent | undefined {
    const h = (bad?.header ?? {}) as unknown as Record<string, unknown>;
    const badId = safeString(h.event_id, 64);
    const type = safeString(h.event_type, 20) ?? typeof h.event_type;
    const list = issues.slice(0, 10).map((i) => ({
      path: wellFormed(String(i.path), 200),
      rule: wellFormed(String(i.rule), 50),
      message: wellFormed(String(i.message), 300),
    }));
    const first = list[0];
    const more = issues.length > 1 ? `; and ${issues.length - 1} more` : '';
    const details: Record<string, unknown> = {
      error_code: 'VCP_INVALID_EVENT',
      error_message: `${type} event ${badId ?? '?'} was not sealed: ${first ? `${first.path}: ${first.message} [${first.rule}]` : 'invalid'}${more}`,
      severity: 'CRITICAL',
      affected_component: DEFAULT_POLICY_COMPONENT,
      rejected_event_type: type,
      issues: list,
    };
    if (badId !== undefined && isUuid(badId)) details.correlated_event_id = badId;
    // The refused event's trace, unless the trace id itself is what broke a rule.
    const traceId = issues.some((i) => i.path === 'header.trace_id')
      ? undefined
      : safeString(h.trace_id, 128);
    const draft = this.#internalDraft({ error_details: details as never }, traceId || undefined);
    if (!draft) return undefined;
    // Keep the refused event's place in time (capture order), when its timestamps are sound.
    const timeBroken = issues.some((i) => i.path.startsWith('header.timestamp'));
    if (!timeBroken && typeof h.timestamp_int === 'string' && typeof h.timestamp_iso === 'string') {
      draft.header.timestamp_int = h.timestamp_int;
      draft.header.timestamp_iso = h.timestamp_iso;
      draft.header.timestamp_precision = bad.header.timestamp_precision;
    }
    for (const f of ['venue_id', 'symbol', 'account_id'] as const) {
      const v = safeString(h[f]);
      if (v !== undefined && !issues.some((i) => i.path === `header.${f}`)) draft.header[f] = v;
    }
    return draft;
  }

  // -- the drain loop -----------------------------------------------------------

  #kick(): void {
    if (this.#draining || this.#scheduled || this.#stopped) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#drain().catch((e) => this.#report(e, { kind: 'internal', count: 0, sink: this.sink.name }));
    });
  }

  /** Take the next batch off the queue and seal it (adds it to the pipeline). */
  #sealNext(): Batch | undefined {
    if (this.#queue.length === 0) return undefined;
    const start = this.#left;
    const drafts = this.#queue.take(this.#batchSize);
    this.#left += drafts.length;
    this.#onRoom();
    const batch: Batch = { events: this.#sealAll(drafts), start, end: start + drafts.length, done: false };
    if (this.#batchSigner && batch.events.length > 0) {
      batch.unsigned = true;
      batch.signing = this.#signOffThread(batch, this.#batchSigner);
    }
    this.#pipeline.push(batch);
    return batch;
  }

  /** The queue has room again: report drops, release backpressure. */
  #onRoom(): void {
    if (this.#queue.length >= this.#max) return;
    if (this.#drops) this.#reportDrops();
    if (this.#bpWaiters.length > 0) {
      const waiters = this.#bpWaiters;
      this.#bpWaiters = [];
      for (const w of waiters) w();
    }
  }

  async #drain(): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    try {
      // Earlier runs' exit spools go first.
      while (this.#replay.length > 0) {
        const claimed = this.#replay[0]!;
        const batch: Batch = { events: claimed.events, start: 0, end: 0, done: false };
        const ok = await this.#deliver(batch, true);
        if (!ok) return;
        removeSpoolFile(claimed.path);
        this.#replay.shift();
        this.#replayed += claimed.events.length;
        this.#checkWaiters();
      }
      // A batch that a synchronous write could not place goes before anything queued.
      let current = this.#pipeline.find((b) => !b.done) ?? this.#sealNext();
      while (current) {
        const writing = this.#deliver(current, false);
        // Seal the next batch while the sink works on this one.
        const next = this.#pipeline.length < 2 && this.#queue.length > 0 ? this.#sealNext() : undefined;
        await writing;
        if (this.#stopped) break;
        current = next ?? this.#pipeline.find((b) => !b.done) ?? this.#sealNext();
        if (current) await yieldToLoop();
      }
    } finally {
      this.#draining = false;
    }
    if (this.#queue.length > 0 || this.#pipeline.some((b) => !b.done)) this.#kick();
  }

  /**
   * Write a batch until the sink takes it (retrying with backoff) or refuses it
   * as invalid. Returns false if the batch was taken over meanwhile (exit/close).
   */
  async #deliver(batch: Batch, replay: boolean): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      if (batch.done || this.#stopped) return false;
      try {
        if (batch.signing) await batch.signing;
        if (batch.done || this.#stopped) return false;
        if (batch.events.length > 0) await this.sink.write(batch.events);
        if (batch.done) return false;
        if (!replay) this.#written += batch.events.length;
        this.#finish(batch);
        return true;
      } catch (error) {
        if (batch.done || this.#stopped) return false;
        this.#sinkErrors++;
        if (!isRetryable(error)) {
          // A SinkRejectionError names the refused events; the rest of the batch was delivered.
          const partial = error instanceof SinkRejectionError ? error : undefined;
          const refused = partial ? partial.refused : batch.events;
          this.#rejected += refused.length;
          if (partial && !replay) this.#written += Math.max(0, batch.events.length - refused.length);
          this.#report(error, { kind: 'rejected', count: refused.length, sink: this.sink.name });
          if (!partial?.keptIn) this.#keepRejected(refused, partial);
          this.#finish(batch);
          return true;
        }
        this.#report(error, { kind: 'sink', count: batch.events.length, sink: this.sink.name });
        await this.#sleeper.sleep(backoffDelay(attempt, this.#retry));
      }
    }
  }

  /** Sign a sealed batch on the batch signer's workers; falls back to this thread if they fail. */
  async #signOffThread(batch: Batch, signer: BatchSigner): Promise<void> {
    const hashes = batch.events.map((e) => e.security.event_hash);
    let sigs: string[] | undefined;
    try {
      sigs = await signer.signMany(hashes);
    } catch (e) {
      this.#report(e, { kind: 'internal', count: hashes.length, sink: this.sink.name });
    }
    // The exit path may have signed the batch synchronously meanwhile.
    if (!batch.unsigned) return;
    batch.unsigned = false;
    if (sigs && sigs.length === hashes.length) {
      for (let i = 0; i < sigs.length; i++) applySignature(batch.events[i]!, sigs[i]!, signer.keyId);
    } else this.#signSync(batch.events);
  }

  /** With a batch signer: sign events on this thread (exit path, sync durability, fallback). */
  #signSync(events: readonly VcpEvent[]): void {
    const signer = this.#batchSigner;
    if (!signer) return;
    for (const e of events) {
      if (e.security.signature === undefined)
        applySignature(e, signer.sign(e.security.event_hash), signer.keyId);
    }
  }

  #finish(batch: Batch): void {
    batch.done = true;
    const i = this.#pipeline.indexOf(batch);
    if (i >= 0) this.#pipeline.splice(i, 1);
    this.#checkWaiters();
  }

  #reached(target: number): boolean {
    if (this.#replay.length > 0) return false;
    const oldest = this.#pipeline.find((b) => !b.done);
    const mark = oldest ? oldest.start : this.#left;
    return mark >= target;
  }

  #checkWaiters(): void {
    if (this.#flushWaiters.length === 0) return;
    const ready = this.#flushWaiters.filter((w) => !w.report && this.#reached(w.target));
    if (ready.length === 0) return;
    this.#flushWaiters = this.#flushWaiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve();
  }

  #keepRejected(events: readonly VcpEvent[], why: SinkRejectionError | undefined): void {
    if (!this.#spoolDir || events.length === 0) return;
    try {
      if (why) writeDeadLetterFile(this.#spoolDir, why.refusals, this.sink.name, 'vcp-rejected');
      else writeSpoolFileSync(this.#spoolDir, events, 'vcp-rejected');
    } catch (e) {
      this.#report(e, { kind: 'exit', count: events.length, sink: this.sink.name });
    }
  }

  // -- exit ----------------------------------------------------------------------

  #onBeforeExit(): void {
    // The loop ran dry with work pending: the sink is stuck (its retries wait on unref'd
    // timers). Write what we hold now rather than lose it when the process ends.
    if (this.#queue.length > 0 || this.#pipeline.some((b) => !b.done)) this.#spoolPendingSync('beforeExit');
  }

  /**
   * Synchronously seal everything queued and write it, with everything sealed
   * but unacknowledged, via `sink.writeSync`, else to the exit spool file.
   */
  #spoolPendingSync(reason: 'exit' | 'beforeExit' | 'close'): void {
    try {
      const events: VcpEvent[] = [];
      for (const b of this.#pipeline) {
        if (b.done) continue;
        if (b.unsigned) {
          b.unsigned = false;
          this.#signSync(b.events);
        }
        events.push(...b.events);
      }
      if (this.#drops) this.#reportDrops(true);
      const drafts = this.#queue.drain();
      this.#left += drafts.length;
      if (drafts.length > 0) {
        const sealed = this.#sealAll(drafts);
        this.#signSync(sealed);
        events.push(...sealed);
      }
      for (const b of this.#pipeline) b.done = true;
      this.#pipeline.length = 0;
      this.#sleeper.wake();
      if (events.length > 0) this.#writeLastChance(events, reason);
      this.#checkWaiters();
    } catch (e) {
      this.#report(e, { kind: 'exit', count: 0, sink: this.sink.name });
    }
  }

  #writeLastChance(events: VcpEvent[], reason: string): void {
    if (typeof this.sink.writeSync === 'function') {
      try {
        this.sink.writeSync(events);
        this.#written += events.length;
        return;
      } catch (e) {
        this.#sinkErrors++;
        this.#report(e, { kind: 'exit', count: events.length, sink: this.sink.name });
      }
    }
    if (this.#spoolDir) {
      try {
        writeSpoolFileSync(this.#spoolDir, events);
        this.#exitSpooled += events.length;
        return;
      } catch (e) {
        this.#report(e, { kind: 'exit', count: events.length, sink: this.sink.name });
      }
    }
    this.#dropped += events.length;
    try {
      process.stderr.write(
        `vcp-instrument: ${events.length} sealed event(s) could not be written at ${reason}: ${this.sink.name} cannot write synchronously and no spoolDir is set; they are lost\n`,
      );
    } catch {}
  }

  // -- reporting ---------------------------------------------------------------

  #report(error: unknown, info: RecorderErrorInfo): void {
    try {
      if (this.#onError) {
        this.#onError(error, info);
        return;
      }
      const now = Date.now();
      const last = this.#lastWarned.get(info.kind) ?? 0;
      if (now - last < 30_000) return;
      this.#lastWarned.set(info.kind, now);
      process.emitWarning(`vcp recorder (${info.kind}, ${info.sink}): ${describeError(error)}`, {
        code: 'VCP_RECORDER',
      });
    } catch {}
  }
}

/**
 * Make a recorder. Throws `VcpConfigError` for a bad configuration (the only
 * time the recorder throws); after that, `record()` never throws.
 *
 * ```ts
 * const recorder = createRecorder({
 *   policyId: 'com.example.trading:algo-v2', tier: 'GOLD',
 *   sink: new FileSink({ path: 'audit/vcp.jsonl' }),
 *   signer, chain: true, spoolDir: 'audit/spool',
 * });
 * recorder.record('ORD', { trade_data: { order_id: 'O-1', price: '1.0850', quantity: '100000' } });
 * await recorder.close();
 * ```
 */
export function createRecorder(options: RecorderOptions): Recorder {
  return new Recorder(options);
}
