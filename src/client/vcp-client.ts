/**
 * `VcpClient`: the integration guide's REST and async client patterns
 * (Patterns 1 and 5) in TypeScript over undici.
 *
 * Each call builds, seals and sends one event and resolves with the sealed
 * event and the sidecar's acknowledgement (`event_hash`, `merkle_index`,
 * `warnings`). Unlike the recorder, the caller waits for the sidecar: use it
 * where the acknowledgement matters; use the recorder + HttpSink where the
 * trading path must not wait.
 *
 * - trace: the `traceId` argument, else the current trace (context store), else the event's own id;
 * - batching: calls made within `batch.maxDelayMs` share one POST (up to `batch.maxEvents`);
 * - retries: 5xx, 408, 429 and connection errors, with exponential backoff and
 *   jitter (safe: the sidecar dedups by `event_id`);
 * - 4xx: a {@link VcpHttpError} naming the sidecar's error and each bad field;
 *   in a batch only the events at fault are refused, the others are sent again.
 */
import { Pool } from 'undici';
import { currentTrace } from '../context/trace-store.ts';
import { draftEvent, type EventOptions } from '../core/builder.ts';
import { systemClock, type VcpClock } from '../core/clock.ts';
import { toDecimalString } from '../core/decimal.ts';
import type { HashAlgo, Severity, Tier } from '../core/enums.ts';
import { VcpConfigError, VcpError, VcpValidationError } from '../core/errors.ts';
import { ERROR_DEFAULT_SEVERITY, type ErrorEventType, type EventType } from '../core/event-types.ts';
import { createPolicy } from '../core/policy.ts';
import type { PolicyIdentification, VcpEvent, VcpPayload } from '../core/types.ts';
import { validateEvent } from '../core/validate.ts';
import { createHashChain, type HashChain } from '../integrity/chain.ts';
import { sealEvent } from '../integrity/seal.ts';
import type { Signer } from '../integrity/sign.ts';
import { backoffDelay } from '../sinks/retry.ts';

/** The sidecar's answer for one event (docs/sidecar-api.md). */
export interface SidecarAck {
  status: 'ok';
  event_id: string;
  event_hash: string;
  merkle_index: number;
  warnings?: { path: string; rule: string; message: string }[];
  duplicate?: boolean;
}

/** What every `log*` call resolves with. */
export interface LoggedEvent {
  event: VcpEvent;
  ack: SidecarAck;
}

/** The sidecar refused a request (4xx), or kept failing until retries ran out. */
export class VcpHttpError extends VcpError {
  /** HTTP status (0 when the sidecar could not be reached). */
  readonly status: number;
  /** The sidecar's error code, e.g. `validation`, `conflict`, `unauthorized`. */
  readonly error: string | undefined;
  /** Field problems of this event (paths relative to the event). */
  readonly issues: { path: string; rule: string; message: string }[];

  constructor(
    status: number,
    error: string | undefined,
    message: string,
    issues: VcpHttpError['issues'] = [],
  ) {
    super('VCP_HTTP', message);
    this.status = status;
    this.error = error;
    this.issues = issues;
  }
}

/** Options of {@link VcpClient}. */
export interface VcpClientOptions {
  /** `<reverse-domain>:<local-id>` or `local:<org>:<id>` (spec §5.5). */
  policyId: string;
  /** Default `http://localhost:8080`, as in the guide. */
  sidecarUrl?: string;
  /** Default `SILVER`, as in the guide. */
  tier?: Tier;
  /** Bearer token of the sidecar. */
  token?: string;
  /** Sign every event (Gold/Platinum: client-side signing). */
  signer?: Signer;
  /** Hash-chain this client's events (then batches are sent one at a time, in order). */
  chain?: boolean;
  hashAlgo?: HashAlgo;
  venueId?: string;
  accountId?: string;
  clock?: VcpClock;
  /** Group calls into one POST: up to `maxEvents` (default 1: no batching) waiting at most `maxDelayMs` (default 2). */
  batch?: { maxEvents?: number; maxDelayMs?: number };
  /** Requests in flight (pool connections), default 4. */
  concurrency?: number;
  /** Per request, ms (default 5 000, the guide's timeout). */
  timeoutMs?: number;
  /** Attempts per batch for retryable failures (default 5) and the backoff bounds. */
  retry?: { attempts?: number; minDelayMs?: number; maxDelayMs?: number };
}

/** The guide's `log_order` parameters. Prices and quantities: decimal strings, or numbers (converted without float noise). */
export interface OrderParams {
  orderId: string;
  symbol: string;
  side: string;
  orderType: string;
  price: number | string;
  quantity: number | string;
  traceId?: string;
}

/** The guide's `log_execution` parameters. */
export interface ExecutionParams {
  orderId: string;
  symbol: string;
  side: string;
  execPrice: number | string;
  execQty: number | string;
  commission?: number | string;
  slippage?: number | string;
  traceId?: string;
}

/** The guide's `log_error` parameters. */
export interface ErrorParams {
  errorType: ErrorEventType;
  errorCode: string;
  errorMessage: string;
  /** Default: the type's default severity (spec §3.2.1). */
  severity?: Severity;
  component: string;
  correlatedId?: string;
  recoveryAction?: string;
  traceId?: string;
}

interface Pending {
  event: VcpEvent;
  resolve: (v: LoggedEvent) => void;
  reject: (e: unknown) => void;
}

const RETRYABLE_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

/** A client of the sidecar's REST API. */
export class VcpClient {
  readonly policy: PolicyIdentification;
  readonly #pool: Pool;
  readonly #path: string;
  readonly #headers: Record<string, string>;
  readonly #eventOptions: EventOptions;
  readonly #signer: Signer | undefined;
  readonly #chain: HashChain | undefined;
  readonly #maxBatch: number;
  readonly #maxDelayMs: number;
  readonly #timeoutMs: number;
  readonly #attempts: number;
  readonly #backoff: { minDelayMs: number; maxDelayMs: number };
  readonly #inFlightLimit: number;
  #queue: Pending[] = [];
  #timer: NodeJS.Timeout | undefined;
  #inFlight = new Set<Promise<void>>();
  #closed = false;

  constructor(options: VcpClientOptions) {
    if (!options || typeof options.policyId !== 'string')
      throw new VcpConfigError('VcpClient needs { policyId }');
    this.policy = createPolicy({
      policyId: options.policyId,
      tier: options.tier ?? 'SILVER',
      hashChain: options.chain ?? false,
    });
    let url: URL;
    try {
      url = new URL(options.sidecarUrl ?? 'http://localhost:8080');
    } catch {
      throw new VcpConfigError(`sidecarUrl "${options.sidecarUrl}" is not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new VcpConfigError('sidecarUrl must be http(s)');
    const base = url.pathname.replace(/\/+$/, '');
    this.#path = base.endsWith('/vcp/log') ? base : `${base}/vcp/log`;
    const concurrency = options.concurrency ?? 4;
    this.#pool = new Pool(url.origin, { connections: concurrency, keepAliveTimeout: 30_000 });
    this.#headers = { 'content-type': 'application/json' };
    if (options.token) this.#headers.authorization = `Bearer ${options.token}`;
    this.#signer = options.signer;
    this.#chain = options.chain ? createHashChain() : undefined;
    this.#eventOptions = {
      policy: this.policy,
      clock: options.clock ?? systemClock,
      hashAlgo: options.hashAlgo ?? 'SHA256',
      ...(options.venueId !== undefined ? { venueId: options.venueId } : {}),
      ...(options.accountId !== undefined ? { accountId: options.accountId } : {}),
    };
    this.#maxBatch = Math.max(1, options.batch?.maxEvents ?? 1);
    this.#maxDelayMs = Math.max(0, options.batch?.maxDelayMs ?? 2);
    this.#timeoutMs = options.timeoutMs ?? 5_000;
    this.#attempts = Math.max(1, options.retry?.attempts ?? 5);
    this.#backoff = {
      minDelayMs: options.retry?.minDelayMs ?? 100,
      maxDelayMs: options.retry?.maxDelayMs ?? 5_000,
    };
    // A chain must arrive in order: one batch at a time.
    this.#inFlightLimit = this.#chain ? 1 : concurrency;
  }

  /**
   * Log one event. Rejects with `VcpValidationError` before sending when the
   * event is invalid (e.g. a float price), with {@link VcpHttpError} when the
   * sidecar refuses it or cannot be reached after the retries.
   */
  log(eventType: EventType, payload: VcpPayload, traceId?: string): Promise<LoggedEvent> {
    if (this.#closed) return Promise.reject(new VcpConfigError('VcpClient is closed'));
    let event: VcpEvent;
    try {
      const draft = draftEvent(eventType, payload, {
        ...this.#eventOptions,
        traceId: traceId ?? currentTrace(),
      });
      const { errors } = validateEvent(draft);
      if (errors.length) throw new VcpValidationError(errors);
      event = sealEvent(draft, { signer: this.#signer, chain: this.#chain });
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise<LoggedEvent>((resolve, reject) => {
      this.#queue.push({ event, resolve, reject });
      this.#schedule();
    });
  }

  /** The guide's `log_order`: an ORD event. */
  logOrder(p: OrderParams): Promise<LoggedEvent> {
    return this.log(
      'ORD',
      {
        trade_data: {
          order_id: p.orderId,
          symbol: p.symbol,
          side: p.side,
          order_type: p.orderType,
          price: decimal(p.price, 'price'),
          quantity: decimal(p.quantity, 'quantity'),
        },
      },
      p.traceId,
    );
  }

  /** The guide's `log_execution`: an EXE event (commission and slippage only when non-zero, as the guide does). */
  logExecution(p: ExecutionParams): Promise<LoggedEvent> {
    const trade: Record<string, string> = {
      order_id: p.orderId,
      symbol: p.symbol,
      side: p.side,
      execution_price: decimal(p.execPrice, 'execution_price'),
      executed_qty: decimal(p.execQty, 'executed_qty'),
    };
    if (p.commission !== undefined && Number(p.commission) !== 0)
      trade.commission = decimal(p.commission, 'commission');
    if (p.slippage !== undefined && Number(p.slippage) !== 0)
      trade.slippage = decimal(p.slippage, 'slippage');
    return this.log('EXE', { trade_data: trade }, p.traceId);
  }

  /** The guide's `log_error`: an `ERR_*` event with error_details. */
  logError(p: ErrorParams): Promise<LoggedEvent> {
    const details: NonNullable<VcpPayload['error_details']> = {
      error_code: p.errorCode,
      error_message: p.errorMessage,
      severity: p.severity ?? ERROR_DEFAULT_SEVERITY[p.errorType] ?? 'WARNING',
      affected_component: p.component,
    };
    if (p.correlatedId) details.correlated_event_id = p.correlatedId;
    if (p.recoveryAction) details.recovery_action = p.recoveryAction;
    return this.log(p.errorType, { error_details: details }, p.traceId);
  }

  /** Send whatever is waiting for its batch window and wait for every request in flight. */
  async flush(): Promise<void> {
    this.#drain(true);
    while (this.#inFlight.size || this.#queue.length) {
      await Promise.allSettled([...this.#inFlight]);
      this.#drain(true);
    }
  }

  /** Flush, then close the connections. Later calls reject. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.flush();
    this.#closed = true;
    await this.#pool.close();
  }

  #schedule(): void {
    if (this.#queue.length >= this.#maxBatch || this.#maxBatch === 1) {
      this.#drain(false);
      return;
    }
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      this.#drain(true);
    }, this.#maxDelayMs);
  }

  /** Start batches while there is room in flight; partial batches only when `all`. */
  #drain(all: boolean): void {
    if (this.#timer && all) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    while (this.#queue.length && this.#inFlight.size < this.#inFlightLimit) {
      if (!all && this.#queue.length < this.#maxBatch && this.#maxBatch > 1) break;
      const batch = this.#queue.splice(0, this.#maxBatch);
      const p = this.#send(batch).finally(() => {
        this.#inFlight.delete(p);
        if (this.#queue.length) this.#drain(this.#timer === undefined);
      });
      this.#inFlight.add(p);
    }
    if (this.#queue.length && !this.#timer && this.#inFlight.size < this.#inFlightLimit) this.#schedule();
  }

  async #send(batch: Pending[]): Promise<void> {
    let lastError: VcpHttpError | undefined;
    for (let attempt = 0; attempt < this.#attempts; attempt++) {
      if (attempt > 0) await sleep(backoffDelay(attempt - 1, this.#backoff));
      let status = 0;
      let body: {
        error?: string;
        message?: string;
        errors?: VcpHttpError['issues'];
        results?: SidecarAck[];
      } = {};
      try {
        const res = await this.#pool.request({
          path: this.#path,
          method: 'POST',
          headers: this.#headers,
          body: `[${batch.map((p) => JSON.stringify(p.event)).join(',')}]`,
          headersTimeout: this.#timeoutMs,
          bodyTimeout: this.#timeoutMs,
        });
        status = res.statusCode;
        const text = await res.body.text();
        try {
          body = text ? JSON.parse(text) : {};
        } catch {
          body = { message: text.slice(0, 200) };
        }
      } catch (e) {
        lastError = new VcpHttpError(0, 'unreachable', `sidecar unreachable: ${(e as Error).message}`);
        continue;
      }
      if (
        status >= 200 &&
        status < 300 &&
        Array.isArray(body.results) &&
        body.results.length === batch.length
      ) {
        for (const [i, p] of batch.entries()) p.resolve({ event: p.event, ack: body.results![i]! });
        return;
      }
      if (status >= 200 && status < 300) {
        lastError = new VcpHttpError(
          status,
          'bad_response',
          'the sidecar answered without one result per event',
        );
        break;
      }
      if (RETRYABLE_STATUS.has(status)) {
        lastError = new VcpHttpError(
          status,
          body.error,
          `sidecar answered ${status}: ${body.message ?? body.error ?? ''}`,
        );
        continue;
      }
      // 4xx: refuse the events at fault; send the others again (a batch is all-or-nothing at the sidecar).
      const byIndex = new Map<number, VcpHttpError['issues']>();
      for (const issue of body.errors ?? []) {
        const m = /^\[(\d+)\]\.?(.*)$/.exec(issue.path);
        if (m) {
          const list = byIndex.get(Number(m[1])) ?? [];
          list.push({ ...issue, path: m[2] ?? '' });
          byIndex.set(Number(m[1]), list);
        }
      }
      const message =
        `sidecar refused the event (${status} ${body.error ?? ''}): ${body.message ?? ''}`.trim();
      if (byIndex.size === 0 || batch.length === 1) {
        for (const [i, p] of batch.entries())
          p.reject(new VcpHttpError(status, body.error, message, byIndex.get(i) ?? body.errors ?? []));
        return;
      }
      const retry: Pending[] = [];
      batch.forEach((p, i) => {
        const issues = byIndex.get(i);
        if (issues) p.reject(new VcpHttpError(status, body.error, message, issues));
        else retry.push(p);
      });
      this.#queue.unshift(...retry);
      return;
    }
    const err = lastError ?? new VcpHttpError(0, 'unreachable', 'sidecar unreachable');
    for (const p of batch) p.reject(err);
  }
}

function decimal(value: number | string, field: string): string {
  return typeof value === 'number' ? toDecimalString(value, `payload.trade_data.${field}`) : value;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
