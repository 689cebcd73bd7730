/**
 * A cap on how many large request bodies the sidecar reads and parses at
 * once.
 *
 * Each large body costs its buffer, its decoded text and its parsed values
 * (for an 8 MiB batch, tens of MB) and a stretch of event-loop time; 32 at
 * once stalled the server for a minute and took 1.5 GB. Requests whose body
 * is declared (Content-Length) above `thresholdBytes`, or not declared at
 * all (chunked), need a permit: at most `maxConcurrent` hold one; the next
 * `maxWaiting` wait in order, at most `maxWaitMs`, their bodies unread (TCP
 * flow control keeps them in the client); anyone beyond gets 503 with
 * Retry-After at once. Small bodies (the http sink's batches) never wait.
 */
import type { IncomingMessage } from 'node:http';
import { HttpError } from './http.ts';

/** Options of {@link BodyGate}. */
export interface BodyGateOptions {
  /** Bodies larger than this (or of unknown size) need a permit (default 1 MiB). */
  thresholdBytes?: number;
  /** Permits (default 1: a large body's parse holds the event loop; two at once only lengthen the stall). */
  maxConcurrent?: number;
  /** Requests that may wait for a permit (default 16). */
  maxWaiting?: number;
  /** Longest wait for a permit before 503 (default 2 s). */
  maxWaitMs?: number;
}

/** The defaults of {@link BodyGateOptions}. */
export const BODY_GATE_DEFAULTS: Required<BodyGateOptions> = {
  thresholdBytes: 1024 * 1024,
  maxConcurrent: 1,
  maxWaiting: 16,
  maxWaitMs: 2000,
};

interface Waiter {
  grant: () => void;
  timer: NodeJS.Timeout;
}

/** See the module comment. */
export class BodyGate {
  readonly #o: Required<BodyGateOptions>;
  #held = 0;
  readonly #waiting: Waiter[] = [];

  constructor(options: BodyGateOptions = {}) {
    this.#o = { ...BODY_GATE_DEFAULTS, ...options };
  }

  /** Permits held now (for /metrics and tests). */
  get held(): number {
    return this.#held;
  }

  /** Requests waiting now. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Does this request's body need a permit? */
  needsPermit(req: IncomingMessage): boolean {
    const declared = req.headers['content-length'];
    if (declared === undefined) return req.headers['transfer-encoding'] !== undefined;
    return Number(declared) > this.#o.thresholdBytes;
  }

  /**
   * Run `handle` (which reads and parses the body) holding a permit when the
   * body is large. Throws 503 `overloaded` when no permit comes in time.
   */
  async run<T>(req: IncomingMessage, handle: () => Promise<T>): Promise<T> {
    if (!this.needsPermit(req)) return handle();
    await this.#acquire();
    try {
      return await handle();
    } finally {
      this.#release();
    }
  }

  #acquire(): Promise<void> {
    if (this.#held < this.#o.maxConcurrent) {
      this.#held++;
      return Promise.resolve();
    }
    if (this.#waiting.length >= this.#o.maxWaiting) return Promise.reject(overloaded(this.#o));
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        grant: () => {
          clearTimeout(w.timer);
          resolve();
        },
        timer: setTimeout(() => {
          const k = this.#waiting.indexOf(w);
          if (k !== -1) this.#waiting.splice(k, 1);
          reject(overloaded(this.#o));
        }, this.#o.maxWaitMs),
      };
      this.#waiting.push(w);
    });
  }

  #release(): void {
    const next = this.#waiting.shift();
    // The permit passes straight to the next waiter (held count unchanged).
    if (next) next.grant();
    else this.#held--;
  }
}

function overloaded(o: Required<BodyGateOptions>): HttpError {
  return new HttpError(
    503,
    'overloaded',
    `too many large request bodies at once (over ${o.thresholdBytes} bytes: ${o.maxConcurrent} at a time, ${o.maxWaiting} waiting); retry shortly, or send smaller batches`,
    {},
    { 'retry-after': '1' },
  );
}
