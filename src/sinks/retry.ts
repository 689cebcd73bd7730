/**
 * `withRetry(sink)`: retry failed writes with exponential backoff and jitter,
 * as a small wrapper around any sink (undici-interceptor style), so retry
 * policy lives in one place instead of inside every sink.
 *
 * Only retryable failures are retried (see `isRetryable`: a 400 "these events
 * are invalid" is passed through at once). A `Retry-After` hint from the
 * downstream lengthens the wait. Waits use unref'd timers: a retry loop alone
 * never keeps a process alive, and `close()` cuts a wait short.
 */
import type { VcpEvent } from '../core/types.ts';
import { isRetryable, retryAfterOf, SinkError } from './errors.ts';
import type { Sink } from './sink.ts';

/** Options of {@link withRetry}. */
export interface RetryOptions {
  /** Attempts after the first (default 5). */
  retries?: number;
  /** Backoff base, ms (default 100). */
  minDelayMs?: number;
  /** Backoff cap, ms (default 10 000). */
  maxDelayMs?: number;
  /** Growth per attempt (default 2). */
  factor?: number;
  /**
   * `'full'` (default): a uniform random wait in [0, backoff] ("full jitter", spreads
   * clients best); `'equal'`: backoff/2 + random(backoff/2); `'none'`: exactly backoff.
   */
  jitter?: 'full' | 'equal' | 'none';
  /** Longest `Retry-After` honoured, ms (default 60 000). */
  maxRetryAfterMs?: number;
  /** Decide whether to retry (default {@link isRetryable}). */
  shouldRetry?: (error: unknown, attempt: number) => boolean;
  /** Told before each wait (for logs and metrics). */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** Random source in [0, 1) (tests make it fixed). */
  random?: () => number;
}

/** Settings of {@link backoffDelay}. */
export type BackoffOptions = Pick<RetryOptions, 'minDelayMs' | 'maxDelayMs' | 'factor' | 'jitter' | 'random'>;

/** Wait before retry number `attempt` (0 = the first retry), ms. */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const min = options.minDelayMs ?? 100;
  const max = options.maxDelayMs ?? 10_000;
  const factor = options.factor ?? 2;
  const random = options.random ?? Math.random;
  const cap = Math.min(max, min * factor ** Math.min(attempt, 64));
  switch (options.jitter ?? 'full') {
    case 'none':
      return cap;
    case 'equal':
      return cap / 2 + random() * (cap / 2);
    default:
      return random() * cap;
  }
}

/**
 * A sleep that an owner can cut short; the timer is unref'd so waiting alone
 * never keeps the process alive.
 */
export class Sleeper {
  readonly #pending = new Set<() => void>();

  /** Wait `ms`; resolves `false` if `wake()` ended it early. */
  sleep(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const done = (early: boolean) => {
        clearTimeout(timer);
        this.#pending.delete(wake);
        resolve(!early);
      };
      const wake = () => done(true);
      const timer = setTimeout(() => done(false), Math.max(0, ms));
      timer.unref();
      this.#pending.add(wake);
    });
  }

  /** End every current sleep now. */
  wake(): void {
    for (const w of [...this.#pending]) w();
  }
}

/** The sink {@link withRetry} returns. */
export class RetrySink implements Sink {
  readonly name: string;
  readonly inner: Sink;
  /** The wrapped sink's limit (see {@link Sink.maxEventBytes}). */
  readonly maxEventBytes?: number;
  readonly writeSync?: (events: readonly VcpEvent[]) => void;
  /** Passes the recorder's signer on to the wrapped sink (a FileSink signs checkpoints with it). */
  readonly attachSigner?: Sink['attachSigner'];
  readonly #opts: RetryOptions;
  readonly #sleeper = new Sleeper();
  #closed = false;
  #retries = 0;
  #gaveUp = 0;

  constructor(inner: Sink, options: RetryOptions = {}) {
    this.inner = inner;
    this.name = `retry(${inner.name})`;
    this.maxEventBytes = inner.maxEventBytes;
    this.#opts = options;
    if (inner.writeSync) this.writeSync = (events) => inner.writeSync!(events);
    if (inner.attachSigner) this.attachSigner = (signer, info) => inner.attachSigner!(signer, info);
  }

  async write(events: readonly VcpEvent[]): Promise<void> {
    const retries = this.#opts.retries ?? 5;
    const shouldRetry = this.#opts.shouldRetry ?? ((e: unknown) => isRetryable(e));
    for (let attempt = 0; ; attempt++) {
      try {
        await this.inner.write(events);
        return;
      } catch (error) {
        if (this.#closed || attempt >= retries || !shouldRetry(error, attempt)) {
          if (attempt > 0) this.#gaveUp++;
          throw error;
        }
        let delay = backoffDelay(attempt, this.#opts);
        const hint = retryAfterOf(error);
        if (hint !== undefined) delay = Math.max(delay, Math.min(hint, this.#opts.maxRetryAfterMs ?? 60_000));
        this.#retries++;
        this.#opts.onRetry?.(error, attempt + 1, delay);
        const slept = await this.#sleeper.sleep(delay);
        if (!slept) {
          throw new SinkError(`${this.name}: closed while waiting to retry`, {
            retryable: true,
            reason: 'closed',
            cause: error,
          });
        }
      }
    }
  }

  /** Retries made so far and writes given up after retrying. */
  stats(): { retries: number; gaveUp: number } {
    return { retries: this.#retries, gaveUp: this.#gaveUp };
  }

  async flush(): Promise<void> {
    await this.inner.flush?.();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#sleeper.wake();
    await this.inner.close();
  }
}

/** Wrap `sink` so failed writes are retried with exponential backoff and jitter. */
export function withRetry(sink: Sink, options: RetryOptions = {}): RetrySink {
  return new RetrySink(sink, options);
}
