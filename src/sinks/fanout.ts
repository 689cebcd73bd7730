/**
 * The fan-out sink: one stream of sealed events to several sinks.
 *
 * Two modes:
 * - `'all'` (default): a write succeeds when every sink has the batch. If one
 *   fails the write fails, and when the recorder retries the same batch, the
 *   sinks that already have it are skipped (no duplicate lines in a file
 *   because the HTTP sink next to it was down).
 * - `'primary'`: the first sink decides; the others are best effort. Their
 *   writes are chained behind each other (one at a time per sink, in order),
 *   at most `maxPending` batches deep; a failure, or a batch skipped because
 *   a secondary fell that far behind, is counted and reported to `onError`,
 *   never silently dropped and never failing the write.
 */
import { VcpConfigError } from '../core/errors.ts';
import type { VcpEvent } from '../core/types.ts';
import { describeError, isRetryable, SinkError } from './errors.ts';
import type { Sink } from './sink.ts';
import { spooledEventsOf } from './spool.ts';

/** Options of {@link FanoutSink}. */
export interface FanoutSinkOptions {
  /** `'all'` (default): every sink must succeed. `'primary'`: the first must, the rest are best effort. */
  mode?: 'all' | 'primary';
  /** Best-effort batches a slow secondary may have queued before later ones are skipped (default 64). */
  maxPending?: number;
  /** Told about every secondary failure or skipped batch (`'primary'` mode). */
  onError?: (sink: Sink, error: unknown, events: readonly VcpEvent[]) => void;
}

interface Secondary {
  sink: Sink;
  tail: Promise<void>;
  pending: number;
  failed: number;
  skipped: number;
}

/** Writes every batch to several sinks. */
export class FanoutSink implements Sink {
  readonly name: string;
  /** The sinks, primary first. */
  readonly sinks: readonly Sink[];
  /** The smallest limit of the sinks (every one must take each event; see {@link Sink.maxEventBytes}). */
  readonly maxEventBytes?: number;
  readonly writeSync?: (events: readonly VcpEvent[]) => void;
  /** Passes the recorder's signer on to every sink that takes one (a FileSink signs checkpoints with it). */
  readonly attachSigner?: Sink['attachSigner'];
  readonly #mode: 'all' | 'primary';
  readonly #maxPending: number;
  readonly #onError: FanoutSinkOptions['onError'];
  readonly #secondaries: Secondary[];
  /** `'all'` mode: which sinks already hold a batch that failed elsewhere (by batch identity). */
  readonly #done = new WeakMap<readonly VcpEvent[], Set<Sink>>();

  constructor(sinks: readonly Sink[], options: FanoutSinkOptions = {}) {
    if (!Array.isArray(sinks) || sinks.length === 0)
      throw new VcpConfigError('FanoutSink needs at least one sink');
    for (const s of sinks) {
      if (!s || typeof s.write !== 'function')
        throw new VcpConfigError('FanoutSink: every entry must be a Sink');
    }
    this.sinks = [...sinks];
    this.#mode = options.mode ?? 'all';
    if (this.#mode !== 'all' && this.#mode !== 'primary') {
      throw new VcpConfigError(`FanoutSink mode must be 'all' or 'primary', not ${String(this.#mode)}`);
    }
    this.#maxPending = options.maxPending ?? 64;
    this.#onError = options.onError;
    this.name = `fanout(${this.sinks.map((s) => s.name).join(',')})`;
    const limits = this.sinks.flatMap((s) => (s.maxEventBytes === undefined ? [] : [s.maxEventBytes]));
    if (limits.length > 0) this.maxEventBytes = Math.min(...limits);
    this.#secondaries =
      this.#mode === 'primary'
        ? this.sinks
            .slice(1)
            .map((sink) => ({ sink, tail: Promise.resolve(), pending: 0, failed: 0, skipped: 0 }))
        : [];
    if (this.sinks.some((s) => typeof s.attachSigner === 'function')) {
      this.attachSigner = (signer, info) => {
        for (const s of this.sinks) s.attachSigner?.(signer, info);
      };
    }
    // Synchronous only if every sink that must succeed can write synchronously.
    const required = this.#mode === 'all' ? this.sinks : this.sinks.slice(0, 1);
    if (required.every((s) => typeof s.writeSync === 'function')) {
      this.writeSync = (events) => {
        for (const s of this.sinks) {
          if (s.writeSync) {
            try {
              s.writeSync(events);
            } catch (e) {
              if (required.includes(s)) throw e;
              this.#report(s, e, events);
            }
          }
        }
      };
    }
  }

  async write(events: readonly VcpEvent[]): Promise<void> {
    if (this.#mode === 'primary') {
      for (const sec of this.#secondaries) this.#enqueue(sec, events);
      await this.sinks[0]!.write(events);
      return;
    }
    const done = this.#done.get(events) ?? new Set<Sink>();
    const results = await Promise.allSettled(
      this.sinks.map(async (s) => {
        if (done.has(s)) return;
        await s.write(events);
        done.add(s);
      }),
    );
    const failures = results.flatMap((r, i) =>
      r.status === 'rejected' ? [{ sink: this.sinks[i]!, error: r.reason }] : [],
    );
    if (failures.length === 0) {
      this.#done.delete(events);
      return;
    }
    this.#done.set(events, done);
    if (failures.length === 1) throw failures[0]!.error;
    throw new SinkError(
      `${this.name}: ${failures.length} sinks failed: ${failures.map((f) => `${f.sink.name}: ${describeError(f.error)}`).join('; ')}`,
      { retryable: failures.every((f) => isRetryable(f.error)), cause: failures[0]!.error },
    );
  }

  /** Per secondary (`'primary'` mode): failed and skipped batches. */
  stats(): { sink: string; failed: number; skipped: number; pending: number }[] {
    return this.#secondaries.map((s) => ({
      sink: s.sink.name,
      failed: s.failed,
      skipped: s.skipped,
      pending: s.pending,
    }));
  }

  /** Events spooled to disk by any sink below (for the recorder's `stats().spooled`). */
  spooledEvents(): number {
    let n = 0;
    for (const s of this.sinks) n += spooledEventsOf(s);
    return n;
  }

  async flush(): Promise<void> {
    await Promise.all(this.#secondaries.map((s) => s.tail));
    await Promise.all(this.sinks.map((s) => s.flush?.()));
  }

  async close(): Promise<void> {
    await Promise.all(this.#secondaries.map((s) => s.tail));
    const results = await Promise.allSettled(this.sinks.map((s) => s.close()));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }

  #enqueue(sec: Secondary, events: readonly VcpEvent[]): void {
    if (sec.pending >= this.#maxPending) {
      sec.skipped++;
      this.#report(
        sec.sink,
        new SinkError(`${sec.sink.name}: ${sec.pending} batches behind; batch skipped`, {
          retryable: true,
          reason: 'behind',
        }),
        events,
      );
      return;
    }
    sec.pending++;
    sec.tail = sec.tail.then(async () => {
      try {
        await sec.sink.write(events);
      } catch (e) {
        sec.failed++;
        this.#report(sec.sink, e, events);
      } finally {
        sec.pending--;
      }
    });
  }

  #report(sink: Sink, error: unknown, events: readonly VcpEvent[]): void {
    try {
      if (this.#onError) this.#onError(sink, error, events);
      else
        process.emitWarning(
          `vcp fanout: ${sink.name} failed (${events.length} events): ${describeError(error)}`,
          { code: 'VCP_FANOUT' },
        );
    } catch {}
  }
}
