/**
 * Internal: remembers the write a sink has in flight, so `flush()` and
 * `close()` can wait for it without ever throwing its error a second time.
 */
export class InflightWrite {
  #current: Promise<void> | undefined;

  /** Run `work` as the write in flight; resolves or rejects as it does. */
  async track<T>(work: Promise<T>): Promise<T> {
    const settled = work.then(
      () => {},
      () => {},
    );
    this.#current = settled;
    try {
      return await work;
    } finally {
      if (this.#current === settled) this.#current = undefined;
    }
  }

  /** Resolves once the write in flight (if any) has settled, whatever its outcome. */
  settled(): Promise<void> {
    return this.#current ?? Promise.resolve();
  }
}
