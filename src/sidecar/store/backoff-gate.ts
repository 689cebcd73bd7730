/**
 * Reconnecting with backoff, for a store behind a network connection.
 *
 * After a lost connection the store does not hammer the database from every
 * request: calls inside the backoff window fail at once with
 * {@link StoreUnavailableError} (whose `retryAfterSeconds` is the time left),
 * and the first call after it is the probe. Each failed probe doubles the
 * window (with jitter, up to `maxMs`); the first success closes the gate.
 */
import { StoreUnavailableError } from './store-unavailable.ts';

/** Options of {@link BackoffGate}. */
export interface BackoffGateOptions {
  /** First window after a failure, ms (default 200). */
  baseMs?: number;
  /** Longest window, ms (default 2 000: one connection attempt that often costs the database nothing). */
  maxMs?: number;
  /** One line per state change (down, reconnected). */
  log?: (line: string) => void;
  /** Clock and randomness, for deterministic tests. */
  now?: () => number;
  random?: () => number;
}

/** The open/closed state of a store's connection. See the module comment. */
export class BackoffGate {
  readonly #what: string;
  readonly #baseMs: number;
  readonly #maxMs: number;
  readonly #log: (line: string) => void;
  readonly #now: () => number;
  readonly #random: () => number;
  #down: { since: number; failures: number; retryAt: number; reason: string } | undefined;

  constructor(what: string, options: BackoffGateOptions = {}) {
    this.#what = what;
    this.#baseMs = options.baseMs ?? 200;
    this.#maxMs = options.maxMs ?? 2000;
    this.#log = options.log ?? (() => {});
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
  }

  /** True while the last attempt failed and no later one succeeded. */
  get isDown(): boolean {
    return this.#down !== undefined;
  }

  /** Throws {@link StoreUnavailableError} inside the backoff window; otherwise lets the call try. */
  check(): void {
    const d = this.#down;
    if (!d) return;
    const left = d.retryAt - this.#now();
    if (left > 0) {
      throw new StoreUnavailableError(
        `${this.#what} unavailable for ${Math.round((this.#now() - d.since) / 100) / 10} s (${d.reason}); next attempt in ${Math.ceil(left)} ms`,
        left / 1000,
      );
    }
  }

  /** A call reached the database: close the gate. */
  up(): void {
    const d = this.#down;
    if (!d) return;
    this.#down = undefined;
    this.#log(
      `${this.#what}: reconnected after ${Math.round((this.#now() - d.since) / 100) / 10} s (${d.failures} failed attempt${d.failures === 1 ? '' : 's'})`,
    );
  }

  /** A call found the database out of reach: open (or widen) the window; returns the error to throw. */
  down(error: unknown, doing: string): StoreUnavailableError {
    const now = this.#now();
    const reason = error instanceof Error ? error.message : String(error);
    const open = this.#down;
    if (open && now < open.retryAt) {
      // Another call of the same attempt already failed and set the window: one doubling per attempt.
      return new StoreUnavailableError(
        `${this.#what} unavailable while ${doing}: ${reason}; next attempt in ${Math.ceil(open.retryAt - now)} ms`,
        (open.retryAt - now) / 1000,
        { cause: error },
      );
    }
    const failures = (this.#down?.failures ?? 0) + 1;
    const full = Math.min(this.#maxMs, this.#baseMs * 2 ** Math.min(failures - 1, 20));
    // Jitter: several sidecars (or pool clients) that lost the same server do not come back in step.
    const wait = full / 2 + (this.#random() * full) / 2;
    if (!this.#down)
      this.#log(`${this.#what}: connection lost while ${doing} (${reason}); retrying with backoff`);
    this.#down = { since: this.#down?.since ?? now, failures, retryAt: now + wait, reason };
    return new StoreUnavailableError(
      `${this.#what} unavailable while ${doing}: ${reason}; next attempt in ${Math.ceil(wait)} ms`,
      wait / 1000,
      { cause: error },
    );
  }
}
