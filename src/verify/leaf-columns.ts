/**
 * The verifier's per-leaf memory of where each event came from (its input
 * line and its event id), kept for the messages that name a leaf, in typed
 * chunks rather than JavaScript arrays: a million-event export kept a
 * million id strings alive (~70 bytes each) only to name one or two of them.
 */
import { Uint32Column } from '../core/uint32-column.ts';
import { uuidToWords, wordsToUuid } from '../core/word-key-table.ts';

/** Input line of each leaf, in order. */
export class LineColumn {
  readonly #lines = new Uint32Column();
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(line: number): void {
    const i = this.#length++;
    this.#lines.chunk(i)[this.#lines.at(i)] = line;
  }

  /** Line of leaf `i` (0-based within the segment), or undefined outside the column. */
  at(i: number): number | undefined {
    if (!Number.isInteger(i) || i < 0 || i >= this.#length) return undefined;
    return this.#lines.chunk(i)[this.#lines.at(i)];
  }
}

/**
 * Event id of each leaf, in order: lowercase UUIDs (what producers write) as
 * 16 bytes, any other string (or no id) aside in a Map, so every id comes
 * back exactly as it was read.
 */
export class IdColumn {
  readonly #words = new Uint32Column(4);
  readonly #other = new Map<number, string | undefined>();
  readonly #scratch = new Uint32Array(4);
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(id: string | undefined): void {
    const i = this.#length++;
    const key = this.#scratch;
    if (typeof id !== 'string' || !uuidToWords(id, key, false)) {
      this.#other.set(i, id);
      return;
    }
    const chunk = this.#words.chunk(i);
    chunk.set(key, this.#words.at(i));
  }

  /** Event id of leaf `i` (0-based within the segment), or undefined (outside the column, or none). */
  at(i: number): string | undefined {
    if (!Number.isInteger(i) || i < 0 || i >= this.#length) return undefined;
    if (this.#other.has(i)) return this.#other.get(i);
    return wordsToUuid(this.#words.chunk(i), this.#words.at(i));
  }
}
