/**
 * A FIFO ring buffer: O(1) push and shift (an array's `shift` is O(n) once it
 * is large), no allocation per item in steady state, and memory that stays
 * at the high-water mark instead of creeping. Grows by doubling when full
 * (the recorder bounds it by policy, except in `block` mode).
 */
export class RingQueue<T> {
  #buf: (T | undefined)[];
  #head = 0;
  #length = 0;
  #mask: number;

  /** @param capacity initial slots (rounded up to a power of two). */
  constructor(capacity = 1024) {
    let cap = 16;
    while (cap < capacity) cap *= 2;
    this.#buf = new Array(cap);
    this.#mask = cap - 1;
  }

  /** Items queued. */
  get length(): number {
    return this.#length;
  }

  /** Add at the tail. */
  push(item: T): void {
    if (this.#length === this.#buf.length) this.#grow();
    this.#buf[(this.#head + this.#length) & this.#mask] = item;
    this.#length++;
  }

  /** Remove and return the head, or `undefined` when empty. */
  shift(): T | undefined {
    if (this.#length === 0) return undefined;
    const item = this.#buf[this.#head];
    this.#buf[this.#head] = undefined; // let it be collected
    this.#head = (this.#head + 1) & this.#mask;
    this.#length--;
    return item;
  }

  /** Remove up to `n` items from the head, in order. */
  take(n: number): T[] {
    const count = Math.min(n, this.#length);
    const out = new Array<T>(count);
    for (let i = 0; i < count; i++) out[i] = this.shift() as T;
    return out;
  }

  /** Remove and return everything, in order. */
  drain(): T[] {
    return this.take(this.#length);
  }

  #grow(): void {
    const old = this.#buf;
    const next = new Array<T | undefined>(old.length * 2);
    for (let i = 0; i < this.#length; i++) next[i] = old[(this.#head + i) & this.#mask];
    this.#buf = next;
    this.#head = 0;
    this.#mask = next.length - 1;
  }
}
