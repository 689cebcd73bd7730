/**
 * A growable column of unsigned 32-bit values (`width` per entry) in fixed
 * chunks: unlike a typed array that doubles, it never holds more than one
 * spare chunk and is never copied as it grows. For the per-event columns of
 * the sidecar's index and the verifier.
 */

/** Entries per column chunk (a power of two). */
const CHUNK = 4096;
const CHUNK_SHIFT = 12;

/** Growable column of unsigned 32-bit values, `width` per entry, in fixed chunks (never copied as it grows). */
export class Uint32Column {
  #chunks: Uint32Array[] = [];
  readonly #width: number;

  /** @param width values per entry (default 1) */
  constructor(width = 1) {
    this.#width = width;
  }

  /** Chunk holding entry `i`, allocated on first use; its values start at {@link at}(i). */
  chunk(i: number): Uint32Array {
    const c = i >>> CHUNK_SHIFT;
    let chunk = this.#chunks[c];
    if (chunk === undefined) {
      chunk = new Uint32Array(CHUNK * this.#width);
      this.#chunks[c] = chunk;
    }
    return chunk;
  }

  /** Position of entry `i`'s first value in its chunk. */
  at(i: number): number {
    return (i & (CHUNK - 1)) * this.#width;
  }
}
