/**
 * The HTTP sink: batches of sealed events to the sidecar's `POST /vcp/log`
 * (docs/sidecar-api.md) over an undici `Pool` with keep-alive connections.
 *
 * `HttpSink` makes one attempt per write and classifies the outcome, so the
 * composable wrappers can act on it:
 * - 2xx: acknowledged (duplicates, i.e. replays the sidecar already had, are counted);
 * - 408, 429, 5xx, connection errors and timeouts: retryable (`Retry-After` honoured);
 * - 401, 403, 404, 405: retryable too: the events are fine and the fault is the
 *   configuration (token, URL), which an operator can fix; dropping good
 *   audit events over a wrong token would be worse than holding them;
 * - 413 on a batch: split in halves and sent again; on a single event, refused;
 * - any other 4xx (400 validation, 409 conflict, 415): the events are refused.
 *   `onRejected` is told (with the sidecar's `errors` list), they are counted,
 *   and the write fails with a non-retryable `SinkError`. Never retried.
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
import { encodeEvents } from './_jsonl.ts';
import { type CircuitBreakerOptions, withCircuitBreaker } from './circuit-breaker.ts';
import { describeError, SinkError } from './errors.ts';
import { type RetryOptions, withRetry } from './retry.ts';
import type { Sink } from './sink.ts';
import { type SpoolOptions, withSpool } from './spool.ts';

/** What the sidecar said when it refused a batch. */
export interface HttpRejection {
  status: number;
  /** The sidecar's error code (`validation`, `conflict`, `payload_too_large`, …). */
  error?: string;
  message?: string;
  /** Per-field problems, paths like `[3].header.event_id` (index into the refused batch). */
  errors?: { path: string; rule: string; message: string }[];
  /** The raw body when it was not the documented JSON (first 2 000 characters). */
  body?: string;
}

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
  /** Batches larger than this are sent as several requests (default 1000 events). */
  maxBatchEvents?: number;
  /** Told about events the sidecar refused (they are not retried). */
  onRejected?: (events: readonly VcpEvent[], rejection: HttpRejection) => void;
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
  /** Events refused (4xx other than 408/429/401/403/404/405). */
  rejected: number;
  /** Requests that failed in a retryable way. */
  failures: number;
}

function parseRetryAfter(value: string | string[] | undefined): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** Idempotency-Key of a batch: the same events give the same key. */
export function batchKey(events: readonly VcpEvent[]): string {
  const h = createHash('sha256');
  for (const e of events) h.update(String(e?.header?.event_id)).update('\n');
  return `vcp-${h.digest('hex').slice(0, 32)}`;
}

/** One attempt per write to the sidecar's batch endpoint; see the module comment. */
export class HttpSink implements Sink {
  readonly name: string;
  readonly #pool: Pool;
  readonly #path: string;
  readonly #headers: Record<string, string>;
  readonly #timeoutMs: number;
  readonly #maxBatch: number;
  readonly #onRejected: HttpSinkOptions['onRejected'];
  readonly #stats: HttpSinkStats = { requests: 0, acknowledged: 0, duplicates: 0, rejected: 0, failures: 0 };
  #closed = false;

  constructor(options: HttpSinkOptions) {
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
    this.#path = url.pathname !== '/' ? url.pathname + url.search : (options.path ?? '/vcp/log');
    this.name = `http:${url.host}${this.#path}`;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#maxBatch = Math.max(1, options.maxBatchEvents ?? 1000);
    this.#onRejected = options.onRejected;
    this.#headers = { ...options.headers, 'content-type': 'application/json' };
    if (options.token) this.#headers.authorization = `Bearer ${options.token}`;
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

  async write(events: readonly VcpEvent[]): Promise<void> {
    if (this.#closed) throw new SinkError(`${this.name} is closed`, { retryable: false, reason: 'closed' });
    for (let i = 0; i < events.length; i += this.#maxBatch) {
      await this.#send(events.length <= this.#maxBatch ? events : events.slice(i, i + this.#maxBatch));
    }
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

  async #send(events: readonly VcpEvent[]): Promise<void> {
    const body = encodeEvents(events, '[', ',', ']');
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
    if (status >= 200 && status < 300) {
      this.#stats.acknowledged += events.length;
      this.#stats.duplicates += countDuplicates(text);
      return;
    }
    if (status === 413 && events.length > 1) {
      const mid = events.length >>> 1;
      await this.#send(events.slice(0, mid));
      await this.#send(events.slice(mid));
      return;
    }
    const retryable =
      status === 408 ||
      status === 425 ||
      status === 429 ||
      status >= 500 ||
      status < 400 ||
      [401, 403, 404, 405].includes(status);
    const info = parseRejection(status, text);
    const detail = `${info.error ?? ''}${info.message ? `: ${info.message}` : ''}`;
    if (retryable) {
      this.#stats.failures++;
      throw new SinkError(`${this.name}: HTTP ${status}${detail ? ` ${detail}` : ''}`, {
        retryable: true,
        status,
        reason: `http_${status}`,
        retryAfterMs: parseRetryAfter(res.headers['retry-after']),
      });
    }
    this.#stats.rejected += events.length;
    try {
      this.#onRejected?.(events, info);
    } catch {}
    const first = info.errors?.[0];
    throw new SinkError(
      `${this.name}: the sidecar refused ${events.length} event(s) with HTTP ${status}${detail ? ` ${detail}` : ''}${first ? ` (${first.path}: ${first.message} [${first.rule}])` : ''}`,
      { retryable: false, status, reason: 'rejected' },
    );
  }
}

function parseRejection(status: number, text: string): HttpRejection {
  try {
    const j = JSON.parse(text) as Record<string, unknown>;
    const out: HttpRejection = { status };
    if (typeof j.error === 'string') out.error = j.error;
    if (typeof j.message === 'string') out.message = j.message;
    if (Array.isArray(j.errors)) out.errors = j.errors as HttpRejection['errors'];
    return out;
  } catch {
    return { status, body: text.slice(0, 2000) };
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
 */
export function createHttpSink(options: CreateHttpSinkOptions): Sink {
  let sink: Sink = new HttpSink(options);
  if (options.retry !== false) sink = withRetry(sink, { retries: 3, maxDelayMs: 2000, ...options.retry });
  if (options.breaker !== false)
    sink = withCircuitBreaker(sink, { resetTimeoutMs: 5000, ...options.breaker });
  if (options.spoolDir) sink = withSpool(sink, { ...options.spool, dir: options.spoolDir });
  return sink;
}
