/**
 * `withCircuitBreaker(sink)`: after `failureThreshold` failed writes in a row
 * the circuit opens and writes fail at once (no waiting on a dead
 * downstream, so a spool behind it takes over immediately); after
 * `resetTimeoutMs` one probe write is let through (half-open): success
 * closes the circuit, failure opens it again.
 *
 * Only downstream-health failures count (retryable ones by default): a 400
 * for bad events means the downstream is up and answering.
 */
import type { VcpEvent } from '../core/types.ts';
import { isRetryable, SinkError } from './errors.ts';
import type { Sink } from './sink.ts';

/** State of a circuit breaker. */
export type CircuitState = 'closed' | 'open' | 'half-open';

/** Options of {@link withCircuitBreaker}. */
export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit (default 5). */
  failureThreshold?: number;
  /** How long the circuit stays open before a probe, ms (default 10 000). */
  resetTimeoutMs?: number;
  /** Which errors count as the downstream failing (default: retryable ones). */
  isFailure?: (error: unknown) => boolean;
  /** Told on every state change. */
  onStateChange?: (state: CircuitState, previous: CircuitState) => void;
  /** Time source, ms (tests). */
  now?: () => number;
}

/** The sink {@link withCircuitBreaker} returns. */
export class CircuitBreakerSink implements Sink {
  readonly name: string;
  readonly inner: Sink;
  /** The wrapped sink's limit (see {@link Sink.maxEventBytes}). */
  readonly maxEventBytes?: number;
  readonly writeSync?: (events: readonly VcpEvent[]) => void;
  /** Passes the recorder's signer on to the wrapped sink (a FileSink signs checkpoints with it). */
  readonly attachSigner?: Sink['attachSigner'];
  readonly #threshold: number;
  readonly #resetMs: number;
  readonly #isFailure: (error: unknown) => boolean;
  readonly #onChange: ((s: CircuitState, p: CircuitState) => void) | undefined;
  readonly #now: () => number;
  #state: CircuitState = 'closed';
  #failures = 0;
  #openedAt = 0;
  #probing = false;
  #opened = 0;
  #shortCircuited = 0;

  constructor(inner: Sink, options: CircuitBreakerOptions = {}) {
    this.inner = inner;
    this.name = `breaker(${inner.name})`;
    this.maxEventBytes = inner.maxEventBytes;
    this.#threshold = Math.max(1, options.failureThreshold ?? 5);
    this.#resetMs = Math.max(0, options.resetTimeoutMs ?? 10_000);
    this.#isFailure = options.isFailure ?? isRetryable;
    this.#onChange = options.onStateChange;
    this.#now = options.now ?? Date.now;
    if (inner.writeSync) this.writeSync = (events) => inner.writeSync!(events);
    if (inner.attachSigner) this.attachSigner = (signer, info) => inner.attachSigner!(signer, info);
  }

  /** The current state (an open circuit past its timeout reads as half-open). */
  get state(): CircuitState {
    if (this.#state === 'open' && this.#now() - this.#openedAt >= this.#resetMs) return 'half-open';
    return this.#state;
  }

  async write(events: readonly VcpEvent[]): Promise<void> {
    if (this.#state === 'open') {
      const waited = this.#now() - this.#openedAt;
      if (waited < this.#resetMs) throw this.#reject(this.#resetMs - waited);
      this.#set('half-open');
    }
    if (this.#state === 'half-open') {
      if (this.#probing) throw this.#reject(this.#resetMs);
      this.#probing = true;
    }
    try {
      await this.inner.write(events);
    } catch (error) {
      this.#probing = false;
      if (this.#isFailure(error)) this.#fail();
      else this.#succeed();
      throw error;
    }
    this.#probing = false;
    this.#succeed();
  }

  /** Times the circuit opened and writes refused while open. */
  stats(): { state: CircuitState; opened: number; shortCircuited: number; failures: number } {
    return {
      state: this.state,
      opened: this.#opened,
      shortCircuited: this.#shortCircuited,
      failures: this.#failures,
    };
  }

  async flush(): Promise<void> {
    await this.inner.flush?.();
  }

  async close(): Promise<void> {
    await this.inner.close();
  }

  #reject(retryAfterMs: number): SinkError {
    this.#shortCircuited++;
    return new SinkError(`${this.inner.name}: circuit open after ${this.#threshold} failures; not trying`, {
      retryable: true,
      reason: 'circuit_open',
      retryAfterMs,
    });
  }

  #fail(): void {
    this.#failures++;
    if (this.#state === 'half-open' || this.#failures >= this.#threshold) {
      this.#openedAt = this.#now();
      if (this.#state !== 'open') this.#opened++;
      this.#set('open');
    }
  }

  #succeed(): void {
    this.#failures = 0;
    this.#set('closed');
  }

  #set(state: CircuitState): void {
    const previous = this.#state;
    if (previous === state) return;
    this.#state = state;
    this.#onChange?.(state, previous);
  }
}

/** Wrap `sink` in a circuit breaker. */
export function withCircuitBreaker(sink: Sink, options: CircuitBreakerOptions = {}): CircuitBreakerSink {
  return new CircuitBreakerSink(sink, options);
}
