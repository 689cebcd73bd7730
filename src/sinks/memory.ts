/**
 * The in-memory sink, for tests: keeps every sealed event in an array that
 * test code can inspect, filter by type, and wait on.
 */
import { VcpIoError } from '../core/errors.ts';
import type { EventType } from '../core/event-types.ts';
import type { VcpEvent } from '../core/types.ts';
import type { Sink } from './sink.ts';

interface Waiter {
  n: number;
  resolve: (events: readonly VcpEvent[]) => void;
}

/** Keeps sealed events in memory, in the order written. */
export class MemorySink implements Sink {
  readonly name = 'memory';
  readonly #events: VcpEvent[] = [];
  #waiters: Waiter[] = [];
  #closed = false;

  /** Every event written so far, oldest first (the live array; `clear()` empties it). */
  get events(): readonly VcpEvent[] {
    return this.#events;
  }

  /** The events of one type, in order. */
  ofType(type: EventType): VcpEvent[] {
    return this.#events.filter((e) => e.header.event_type === type);
  }

  /**
   * Resolve with the events once at least `n` have been written. Rejects with
   * a `VcpIoError` saying how many arrived if that takes longer than
   * `timeoutMs` (default 5000), so a test fails with a message instead of hanging.
   */
  waitFor(n: number, timeoutMs = 5000): Promise<readonly VcpEvent[]> {
    if (this.#events.length >= n) return Promise.resolve(this.#events);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        n,
        resolve: (events) => {
          clearTimeout(timer);
          resolve(events);
        },
      };
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(
          new VcpIoError(
            `MemorySink.waitFor: waited ${timeoutMs} ms for ${n} events, ${this.#events.length} arrived`,
          ),
        );
      }, timeoutMs);
      this.#waiters.push(waiter);
    });
  }

  /** Forget every event written so far. */
  clear(): void {
    this.#events.length = 0;
  }

  write(events: readonly VcpEvent[]): Promise<void> {
    if (this.#closed) return Promise.reject(new VcpIoError('MemorySink is closed'));
    this.#append(events);
    return Promise.resolve();
  }

  writeSync(events: readonly VcpEvent[]): void {
    this.#append(events);
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {
    this.#closed = true;
  }

  #append(events: readonly VcpEvent[]): void {
    for (const e of events) this.#events.push(e);
    if (this.#waiters.length === 0) return;
    const ready = this.#waiters.filter((w) => this.#events.length >= w.n);
    this.#waiters = this.#waiters.filter((w) => this.#events.length < w.n);
    for (const w of ready) w.resolve(this.#events);
  }
}
