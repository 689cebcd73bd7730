/**
 * The HTTP sink: batches of sealed events to the sidecar's `POST /vcp/log`
 * (docs/sidecar-api.md) over an undici `Pool` with keep-alive connections.
 *
 * `HttpSink` makes one attempt per write and classifies the outcome, so the
 * composable wrappers can act on it:
 * - 2xx: acknowledged (duplicates, i.e. replays the sidecar already had, are counted);
 * - 408, 429, 5xx (503 `storage_unavailable` / `shutting_down`), connection errors
 *   and timeouts: retryable, `Retry-After` honoured by `withRetry` and the spool;
 * - 401, 403, 404, 405, 415: retryable too: the events are fine and the fault is the
 *   configuration (token, URL, a proxy in the way), which an operator can fix;
 *   dropping good audit events over a wrong URL would be worse than holding them.
 *   A warning says so once per incident (until the next success);
 * - a refusal of named items (400 `validation`, 409 `conflict` = that event_id is
 *   stored with other content, 413 `what: "event"`): the sidecar refuses the whole
 *   batch and names the bad items, so the sink resends the others at once and
 *   sets aside only the named ones ("one bad item never takes good ones with it");
 * - 413 for the batch or body: split in halves and sent again; a refusal naming no
 *   item: halved until the refused events are isolated;
 * - the write then fails with a {@link SinkRejectionError} listing exactly the
 *   refused events (written to `deadLetterDir` when set), after one warning for
 *   the incident; `stats()` counts them.
 *
 * undici does not retry a POST by itself (it is not idempotent), so nothing
 * is retried behind our back; retries come from `withRetry`. Each batch
 * carries an `Idempotency-Key` derived from its event ids (the same batch,
 * the same key); the sidecar dedups by `event_id` anyway.
 *
 * `createHttpSink` composes the usual stack: spool(breaker(retry(http))).
 */
import { createHash } from 'node:crypto';
import { inspect } from 'node:util';
import { Pool } from 'undici';
import { VcpConfigError } from '../core/errors.ts';
import type { VcpEvent } from '../core/types.ts';
import { describeRejection, type HttpRejection, namedItems, parseRejection } from './_http-refusal.ts';
import { type EncodeScratch, encodeEvents } from './_jsonl.ts';
import { type CircuitBreakerOptions, withCircuitBreaker } from './circuit-breaker.ts';
import { type Refusal, SinkRejectionError, writeDeadLetterFile } from './dead-letter.ts';
import { describeError, SinkError } from './errors.ts';
import { type RetryOptions, withRetry } from './retry.ts';
import { type Sink, sidecarEventLimit } from './sink.ts';
import { type SpoolOptions, withSpool } from './spool.ts';

export type { HttpRejection } from './_http-refusal.ts';

/** Options of {@link HttpSink}. */
export interface HttpSinkOptions {
  /**
   * The sidecar: an origin (`http://127.0.0.1:8080`, the path is then `path`) or a
   * full URL of the log endpoint (`http://host:8080/vcp/log`).
   */
  url: string;
  /** Endpoint path when `url` is an origin (default `/vcp/log`). */
  path?: string;
  /** Bearer token (sent as `Authorization: Bearer …`; never logged or printed). */
  token?: string;
  /** Keep-alive connections in the pool (default 4). */
  connections?: number;
  /** Time allowed for the response headers and for the body, each, ms (default 10 000). */
  timeoutMs?: number;
  /** Batches larger than this are sent as several requests (default {@link DEFAULT_HTTP_BATCH_EVENTS}, 1000 events). */
  maxBatchEvents?: number;
  /**
   * The sidecar's `--max-event`: the largest event it stores, in bytes of its JSON line (default
   * 128 KiB, the sidecar's default). A recorder or tap writing to this sink seals nothing larger
   * (see {@link Sink.maxEventBytes}); set it when the sidecar runs with another `--max-event`.
   */
  maxEventBytes?: number;
  /**
   * Where refused events are written (`vcp-dead-letter-*.jsonl`, with the reasons;
   * see `vcp spool`). Without it they only travel up in the {@link SinkRejectionError}.
   */
  deadLetterDir?: string;
  /** Told about events the sidecar refused (once per write, with the last refusal's details). */
  onRejected?: (events: readonly VcpEvent[], rejection: HttpRejection) => void;
  /** Told what an operator should know (default: `process.emitWarning`). Must not throw. */
  onWarning?: (message: string, code: string) => void;
  /** Extra request headers. */
  headers?: Record<string, string>;
}

/** Counters of an {@link HttpSink}. */
export interface HttpSinkStats {
  requests: number;
  /** Events acknowledged with 2xx. */
  acknowledged: number;
  /** Of those, events the sidecar already had (replays). */
  duplicates: number;
  /** Events refused for good (each one is a dead letter). */
  rejected: number;
  /** Of those, events written to `deadLetterDir`. */
  deadLettered: number;
  /** Writes in which the sidecar refused events (incidents; one warning each). */
  rejections: number;
  /** Requests that failed in a retryable way. */
  failures: number;
}

/** Statuses that mean "the configuration is wrong", not "the events are". */
const CONFIG_STATUSES = new Set([401, 403, 404, 405, 415]);

function parseRetryAfter(value: string | string[] | undefined): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** Idempotency-Key of a batch: the same events give the same key. */
export function batchKey(events: readonly VcpEvent[]): string {
  // SHA-256 of every id followed by `\n`, hashed as one text (one call instead of two per event).
  const ids = new Array<string>(events.length);
  for (let i = 0; i < events.length; i++) ids[i] = String(events[i]?.header?.event_id);
  const text = ids.length > 0 ? `${ids.join('\n')}\n` : '';
  return `vcp-${createHash('sha256').update(text).digest('hex').slice(0, 32)}`;
}

/** The sink's batch size when `maxBatchEvents` is not given. */
export const DEFAULT_HTTP_BATCH_EVENTS = 1000;

/** Where warnings go without `onWarning`: `process.emitWarning` with their code. */
export function defaultWarning(message: string, code: string): void {
  process.emitWarning(message, { code });
}

/**
 * The sink's URL, checked with its token as the sink's constructor checks them (before anything is sent).
 * @throws VcpConfigError naming the fault.
 */
export function checkHttpSinkTarget(options: Pick<HttpSinkOptions, 'url' | 'token'>): URL {
  let url: URL;
  try {
    url = new URL(options?.url);
  } catch {
    throw new VcpConfigError(
      `HttpSink url must be an http(s) URL like http://127.0.0.1:8080, not ${String(options?.url)}`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new VcpConfigError(`HttpSink url must be http: or https:, not ${url.protocol}`);
  }
  if (options.token !== undefined && (typeof options.token !== 'string' || /[\r\n]/.test(options.token))) {
    throw new VcpConfigError('HttpSink token must be a string without line breaks');
  }
  return url;
}

/** One attempt per write to the sidecar's batch endpoint; see the module comment. */
export class HttpSink implements Sink {
  readonly name: string;
  /** The sidecar's `--max-event` ({@link HttpSinkOptions.maxEventBytes}). */
  readonly maxEventBytes: number;
  readonly #pool: Pool;
  readonly #path: string;
  readonly #headers: Record<string, string>;
  readonly #timeoutMs: number;
  readonly #maxBatch: number;
  readonly #deadLetterDir: string | undefined;
  readonly #onRejected: HttpSinkOptions['onRejected'];
  readonly #onWarning: (message: string, code: string) => void;
  readonly #stats: HttpSinkStats = {
    requests: 0,
    acknowledged: 0,
    duplicates: 0,
    rejected: 0,
    deadLettered: 0,
    rejections: 0,
    failures: 0,
  };
  /**
   * Encoding buffers free for the next request. A request's body is a view into one of them,
   * taken for that request alone; it comes back only after a 2xx whose answer was read (the
   * sidecar read the whole body, so no byte of it is still waiting to be sent). A fresh
   * buffer per request (~0.5 MB for 500 events) page-faults on every first touch.
   */
  readonly #scratches: EncodeScratch[] = [];
  readonly #maxScratches: number;
  /** The configuration fault being reported (status), until the next success. */
  #configFault: number | undefined;
  #closed = false;

  constructor(options: HttpSinkOptions) {
    const url = checkHttpSinkTarget(options);
    this.#path = url.pathname !== '/' ? url.pathname + url.search : (options.path ?? '/vcp/log');
    this.name = `http:${url.host}${this.#path}`;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#maxBatch = Math.max(1, options.maxBatchEvents ?? DEFAULT_HTTP_BATCH_EVENTS);
    this.maxEventBytes = sidecarEventLimit(options.maxEventBytes, 'HttpSink');
    this.#deadLetterDir = options.deadLetterDir;
    this.#onRejected = options.onRejected;
    this.#onWarning = options.onWarning ?? defaultWarning;
    this.#headers = { ...options.headers, 'content-type': 'application/json' };
    if (options.token) this.#headers.authorization = `Bearer ${options.token}`;
    this.#maxScratches = options.connections ?? 4;
    this.#pool = new Pool(url.origin, {
      connections: options.connections ?? 4,
      headersTimeout: this.#timeoutMs,
      bodyTimeout: this.#timeoutMs,
      connectTimeout: Math.min(this.#timeoutMs, 10_000),
    });
  }

  /** Counters since creation. */
  stats(): HttpSinkStats {
    return { ...this.#stats };
  }

  /**
   * Send `events` (in requests of at most `maxBatchEvents`). Resolves when all
   * were acknowledged; rejects with a {@link SinkRejectionError} naming the
   * refused ones when the sidecar refused some (all others were acknowledged),
   * or with a retryable {@link SinkError} (then nothing is known to be refused).
   */
  async write(events: readonly VcpEvent[]): Promise<void> {
    if (this.#closed) throw new SinkError(`${this.name} is closed`, { retryable: false, reason: 'closed' });
    const refused: Refusal[] = [];
    const last: { info?: HttpRejection } = {};
    let delivered = 0;
    for (let i = 0; i < events.length; i += this.#maxBatch) {
      const chunk = events.length <= this.#maxBatch ? events : events.slice(i, i + this.#maxBatch);
      delivered += await this.#deliver(chunk, refused, last);
    }
    if (refused.length > 0) this.#refuse(events.length, delivered, refused, last.info!);
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.close();
  }

  [inspect.custom](): string {
    return `HttpSink { ${this.name} }`;
  }

  toJSON(): { name: string } {
    return { name: this.name };
  }

  /**
   * Deliver `events` (one request, then the survivors of a refusal); returns how
   * many were acknowledged, adds the refused ones to `refused`. Throws a
   * retryable SinkError when the sidecar is unreachable or unavailable.
   */
  async #deliver(
    events: readonly VcpEvent[],
    refused: Refusal[],
    last: { info?: HttpRejection },
  ): Promise<number> {
    const { status, text, retryAfter } = await this.#post(events);
    if (status >= 200 && status < 300) {
      this.#stats.acknowledged += events.length;
      this.#stats.duplicates += countDuplicates(text);
      if (this.#configFault !== undefined) {
        this.#configFault = undefined;
        this.#onWarning(`vcp ${this.name}: the sidecar accepts events again`, 'VCP_HTTP_SINK');
      }
      return events.length;
    }
    const info = parseRejection(status, text);
    const retryable = status === 408 || status === 425 || status === 429 || status >= 500 || status < 400;
    if (retryable || CONFIG_STATUSES.has(status)) {
      this.#stats.failures++;
      if (CONFIG_STATUSES.has(status)) this.#noteConfigFault(status, info);
      throw new SinkError(`${this.name}: ${describeRejection(info)}`, {
        retryable: true,
        status,
        reason: `http_${status}`,
        retryAfterMs: retryAfter,
      });
    }
    // A refusal, for good. Items the sidecar named are set aside; the rest go again.
    last.info = info;
    const named = namedItems(info, events.length);
    if (named.size > 0) {
      const rest: VcpEvent[] = [];
      for (let i = 0; i < events.length; i++) {
        const reasons = named.get(i);
        if (reasons) refused.push({ event: events[i]!, status, reasons });
        else rest.push(events[i]!);
      }
      return rest.length > 0 ? this.#deliver(rest, refused, last) : 0;
    }
    if (events.length === 1) {
      const reasons = (info.errors ?? []).map((e) => ({ ...e, path: e.path.replace(/^\[0\]\.?/, '') }));
      if (reasons.length === 0)
        reasons.push({ path: '', rule: info.error ?? `http-${status}`, message: info.message ?? '' });
      refused.push({ event: events[0]!, status, reasons });
      return 0;
    }
    // 413 for the whole request, or a refusal naming no item: halve until isolated.
    const mid = events.length >>> 1;
    return (
      (await this.#deliver(events.slice(0, mid), refused, last)) +
      (await this.#deliver(events.slice(mid), refused, last))
    );
  }

  async #post(events: readonly VcpEvent[]): Promise<{ status: number; text: string; retryAfter?: number }> {
    const scratch = this.#scratches.pop() ?? { buf: undefined };
    const body = encodeEvents(events, '[', ',', ']', scratch);
    this.#stats.requests++;
    let res: Awaited<ReturnType<Pool['request']>>;
    try {
      res = await this.#pool.request({
        method: 'POST',
        path: this.#path,
        headers: { ...this.#headers, 'idempotency-key': batchKey(events) },
        body,
      });
    } catch (e) {
      this.#stats.failures++;
      throw new SinkError(`${this.name}: request failed: ${describeError(e)}`, {
        retryable: !this.#closed,
        reason: 'connection',
        cause: e,
      });
    }
    const status = res.statusCode;
    let text = '';
    try {
      text = await res.body.text();
      if (status >= 200 && status < 300 && this.#scratches.length < this.#maxScratches)
        this.#scratches.push(scratch);
    } catch (e) {
      if (status >= 200 && status < 300) {
        // Headers said yes but the body broke off: not known to be stored; send again (idempotent).
        this.#stats.failures++;
        throw new SinkError(`${this.name}: response body lost: ${describeError(e)}`, {
          retryable: true,
          reason: 'connection',
          cause: e,
        });
      }
    }
    return { status, text, retryAfter: parseRetryAfter(res.headers['retry-after']) };
  }

  #noteConfigFault(status: number, info: HttpRejection): void {
    if (this.#configFault === status) return;
    this.#configFault = status;
    const hint =
      status === 401 || status === 403
        ? 'check the token (Authorization: Bearer) and the Host the sidecar expects'
        : status === 415
          ? 'something between this process and the sidecar changes the request'
          : `the URL does not name a sidecar endpoint that takes events (POST /vcp/log; a cluster takes them from Kafka only)`;
    this.#onWarning(
      `vcp ${this.name}: ${describeRejection(info)}; ${hint}. Events are kept (retried or spooled), not dropped.`,
      'VCP_HTTP_SINK',
    );
  }

  /** Count, dead-letter and announce the refused events of one write, then throw. */
  #refuse(total: number, delivered: number, refused: Refusal[], info: HttpRejection): never {
    this.#stats.rejected += refused.length;
    this.#stats.rejections++;
    let keptIn: string | undefined;
    let keepFailed = '';
    if (this.#deadLetterDir) {
      try {
        keptIn = writeDeadLetterFile(this.#deadLetterDir, refused, this.name);
        this.#stats.deadLettered += refused.length;
      } catch (e) {
        keepFailed = `; could not write the dead-letter file: ${describeError(e)}`;
      }
    }
    const events = refused.map((r) => r.event);
    try {
      this.#onRejected?.(events, info);
    } catch {}
    const first = refused[0]!;
    const why = first.reasons[0];
    const message =
      `${this.name}: the sidecar refused ${refused.length} of ${total} event(s) (${describeRejection(info)}` +
      `${why ? `; first: event ${String(first.event?.header?.event_id).slice(0, 64)} ${why.path || '(event)'}: ${why.message} [${why.rule}]` : ''}); ` +
      `${delivered} delivered; the refused ones are dead letters${keptIn ? ` in ${keptIn} (see vcp spool show)` : ''}${keepFailed}`;
    try {
      this.#onWarning(message, 'VCP_DEAD_LETTER');
    } catch {}
    throw new SinkRejectionError(message, { refusals: refused, delivered, keptIn, status: info.status });
  }
}

function countDuplicates(text: string): number {
  if (!text.includes('"duplicate"')) return 0;
  try {
    const j = JSON.parse(text) as { results?: { duplicate?: boolean }[]; duplicate?: boolean };
    if (Array.isArray(j.results)) return j.results.filter((r) => r?.duplicate === true).length;
    return j.duplicate === true ? 1 : 0;
  } catch {
    return 0;
  }
}

/** Options of {@link createHttpSink}: the HTTP sink plus the wrappers around it. */
export interface CreateHttpSinkOptions extends HttpSinkOptions {
  /** Retry policy (default: 3 retries, 100 ms → 2 s backoff with full jitter); `false` for none. */
  retry?: RetryOptions | false;
  /** Circuit breaker (default: opens after 5 failed writes, probes after 5 s); `false` for none. */
  breaker?: CircuitBreakerOptions | false;
  /** Spool directory: while the sidecar is down, events go here and are replayed in order. */
  spoolDir?: string;
  /** Further spool settings. */
  spool?: Omit<SpoolOptions, 'dir'>;
}

/**
 * The usual HTTP stack: `withSpool(withCircuitBreaker(withRetry(new HttpSink(o))))`
 * (the spool only when `spoolDir` is given). A write retries a few times with
 * backoff; repeated failures open the circuit so later writes go straight to
 * the spool without waiting; the spool replays in order once a probe succeeds.
 * Refused events are dead-lettered to `deadLetterDir`, by default `spoolDir`.
 */
export function createHttpSink(options: CreateHttpSinkOptions): Sink {
  let sink: Sink = new HttpSink({ ...options, deadLetterDir: options.deadLetterDir ?? options.spoolDir });
  if (options.retry !== false) sink = withRetry(sink, { retries: 3, maxDelayMs: 2000, ...options.retry });
  if (options.breaker !== false)
    sink = withCircuitBreaker(sink, { resetTimeoutMs: 5000, ...options.breaker });
  if (options.spoolDir) sink = withSpool(sink, { ...options.spool, dir: options.spoolDir });
  return sink;
}
