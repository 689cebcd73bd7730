/**
 * The event hashes a store reports on opening (the Merkle tree's leaves, in
 * index order), as 32 bytes each in fixed chunks rather than as hex strings.
 *
 * Why: a store with ten million events used to hand over ten million
 * 64-character strings, ~880 MB on the JavaScript heap for the moment the tree
 * is rebuilt, enough to exhaust a container's heap limit on restart. Here it
 * is 320 MB outside the heap, released once the tree holds them.
 */
import { VcpIoError } from '../../core/errors.ts';
import { _writeHashHex } from '../../integrity/merkle/hasher.ts';

const CHUNK = 4096; // hashes per chunk (128 KiB)
const HASH_BYTES = 32;

/** An append-only list of 32-byte event hashes. */
export class EventHashList {
  #chunks: Buffer[] = [];
  #length = 0;

  /** @param hashes hex hashes to start with (tests, small logs) */
  constructor(hashes: Iterable<string> = []) {
    for (const h of hashes) this.push(h);
  }

  get length(): number {
    return this.#length;
  }

  /**
   * Append a hash given as 64 hex digits (either case).
   * @throws VcpIoError for anything else (a store's record that is not what it checked).
   */
  push(hex: string): void {
    const i = this.#length;
    const k = i % CHUNK;
    if (i === this.#chunks.length * CHUNK) this.#chunks.push(Buffer.allocUnsafe(CHUNK * HASH_BYTES));
    const chunk = this.#chunks[this.#chunks.length - 1]!;
    if (!_writeHashHex(hex, chunk, k * HASH_BYTES)) {
      throw new VcpIoError(
        `event hash ${i} is not 64 hex digits: ${JSON.stringify(String(hex).slice(0, 80))}`,
      );
    }
    this.#length = i + 1;
  }

  /** The 32 bytes of hash `i` (a view into the list: copy it to keep it). */
  bytes(i: number): Buffer {
    // Past the end a chunk holds stale bytes, and a custom store could ask: say so instead.
    if (!Number.isInteger(i) || i < 0 || i >= this.#length)
      throw new RangeError(`event hash ${i} is not in the list (${this.#length} hashes)`);
    const at = (i % CHUNK) * HASH_BYTES;
    return this.#chunks[Math.floor(i / CHUNK)]!.subarray(at, at + HASH_BYTES);
  }

  /** Hash `i` as lowercase hex. */
  at(i: number): string {
    return this.bytes(i).toString('hex');
  }

  /** The hashes as lowercase hex, in order. */
  *[Symbol.iterator](): IterableIterator<string> {
    for (let i = 0; i < this.#length; i++) yield this.at(i);
  }

  /** Release the memory (the tree holds the leaves now). */
  clear(): void {
    this.#chunks = [];
    this.#length = 0;
  }
}
