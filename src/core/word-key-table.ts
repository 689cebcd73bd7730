/**
 * Hash tables of fixed-width binary keys (UUIDs, SHA-256 hashes) kept in
 * typed arrays, for the indexes that hold one entry per event: the sidecar's
 * id index and the verifier's duplicate-id and hash-chain checks.
 *
 * Why not a `Map<string, number>`: a million 36- or 64-character keys cost
 * 90–110 bytes each on the JavaScript heap, and every major collection walks
 * them all. Here an entry costs its key's bytes, a 4-byte value and an
 * 8-byte slot (the entry number and the key's 32-bit hash) in a table kept
 * 35–70 % full, outside the heap; the tables are 64 shards that grow one at a
 * time, so a growth copies 1/64 of the index and nothing is ever held twice.
 * Keys and values live in fixed chunks.
 *
 * The hash in each slot spares a probe that meets another key the read of
 * that key, which lies anywhere in the keys column (in an index of a million
 * keys, a cache miss each), and lets a growth place every entry again without
 * reading its key or hashing it anew. Measured on 1 M random keys against the
 * table without it: inserts 215–252 against 426–544 ns, misses 163–196
 * against 251–285 ns, hits the same.
 */

import { HEX_ANY_CASE, HEX_LOWER } from './hex.ts';
import { Uint32Column } from './uint32-column.ts';

/** Independent tables: each grows on its own. */
const SHARDS = 64;
const SHARD_SHIFT = 26; // the top 6 bits of the hash pick the shard
const SHARD_INITIAL = 16; // slots per shard before its first growth

/**
 * Map from keys of `width` 32-bit words to unsigned 32-bit values. Open
 * addressing with linear probing; the slots hold `entry + 1` (0: empty) and,
 * beside it, the key's hash; keys compare through the keys column, so a slot
 * is 8 bytes whatever the key.
 */
export class WordKeyTable {
  readonly width: number;
  readonly #keys: Uint32Column;
  readonly #values = new Uint32Column(1);
  readonly #shards = Array.from({ length: SHARDS }, () => new Uint32Array(SHARD_INITIAL));
  /** Per shard, the hash of the key in each slot of {@link #shards}' table (0 where the slot is empty). */
  readonly #hashes: Uint32Array[] = Array.from({ length: SHARDS }, () => new Uint32Array(SHARD_INITIAL));
  readonly #counts = new Uint32Array(SHARDS);
  #size = 0;

  /** @param width key size in 32-bit words (4 for a UUID, 8 for a SHA-256 hash) */
  constructor(width: number) {
    if (!Number.isInteger(width) || width < 1)
      throw new RangeError(`key width must be a positive integer, got ${width}`);
    this.width = width;
    this.#keys = new Uint32Column(width);
  }

  /** Number of keys held. */
  get size(): number {
    return this.#size;
  }

  /** The value of `key` (its first `width` words, each taken as unsigned 32 bits, `>>> 0`), or undefined. */
  get(key: ArrayLike<number>): number | undefined {
    const entry = this.#find(key, hashWords(key, this.width));
    if (entry < 0) return undefined;
    return this.#values.chunk(entry)[this.#values.at(entry)];
  }

  /** Set the value of `key` (values are unsigned 32-bit integers). */
  set(key: ArrayLike<number>, value: number): void {
    const h = hashWords(key, this.width);
    const found = this.#find(key, h);
    if (found >= 0) this.#values.chunk(found)[this.#values.at(found)] = value;
    else this.#insert(key, h, value, -1 - found);
  }

  /**
   * The value of `key` if it is held (left unchanged); otherwise add it with `value` and return undefined. One
   * probe for what `get` then `set` would do in two (a duplicate check, then recording a first sighting).
   */
  getOrSet(key: ArrayLike<number>, value: number): number | undefined {
    const h = hashWords(key, this.width);
    const found = this.#find(key, h);
    if (found >= 0) return this.#values.chunk(found)[this.#values.at(found)];
    this.#insert(key, h, value, -1 - found);
    return undefined;
  }

  /** Add a key known to be absent, whose hash is `h`, in the empty `slot` where {@link #find} stopped. */
  #insert(key: ArrayLike<number>, h: number, value: number, slot: number): void {
    const entry = this.#size++;
    const chunk = this.#keys.chunk(entry);
    const k = this.#keys.at(entry);
    for (let w = 0; w < this.width; w++) chunk[k + w] = key[w]!;
    this.#values.chunk(entry)[this.#values.at(entry)] = value;
    const s = h >>> SHARD_SHIFT;
    let table = this.#shards[s]!;
    if ((this.#counts[s]! + 1) * 10 > table.length * 7) {
      // A grown table puts the key elsewhere: search its slot again.
      this.#grow(s);
      table = this.#shards[s]!;
      const mask = table.length - 1;
      slot = h & mask;
      while (table[slot] !== 0) slot = (slot + 1) & mask;
    }
    this.#counts[s]!++;
    table[slot] = entry + 1;
    this.#hashes[s]![slot] = h;
  }

  /** Entry number of `key`; else −1 − the empty slot where the search ended (where the key would go). */
  #find(key: ArrayLike<number>, h: number): number {
    const s = h >>> SHARD_SHIFT;
    const table = this.#shards[s]!;
    const hashes = this.#hashes[s]!;
    const mask = table.length - 1;
    const width = this.width;
    for (let slot = h & mask; ; slot = (slot + 1) & mask) {
      const v = table[slot]!;
      if (v === 0) return -1 - slot;
      if (hashes[slot] !== h) continue;
      const chunk = this.#keys.chunk(v - 1);
      const k = this.#keys.at(v - 1);
      let w = 0;
      // `>>> 0`: a key word compares as the unsigned value the keys column stores (and the hash mixes), so a
      // signed word (`x | 0`, an Int32Array) or one past 2^32 finds its entry instead of adding a second one.
      while (w < width && chunk[k + w] === key[w]! >>> 0) w++;
      if (w === width) return v - 1;
    }
  }

  /** Double shard `s`, placing its entries again by their stored hashes (no key is read). */
  #grow(s: number): void {
    const old = this.#shards[s]!;
    const oldHashes = this.#hashes[s]!;
    const table = new Uint32Array(old.length * 2);
    const hashes = new Uint32Array(table.length);
    const mask = table.length - 1;
    for (let i = 0; i < old.length; i++) {
      const v = old[i]!;
      if (v === 0) continue;
      const h = oldHashes[i]!;
      let slot = h & mask;
      while (table[slot] !== 0) slot = (slot + 1) & mask;
      table[slot] = v;
      hashes[slot] = h;
    }
    this.#shards[s] = table;
    this.#hashes[s] = hashes;
  }
}

/** Mix every word of the key (UUIDv7s share their leading time bits, so every word counts). */
function hashWords(key: ArrayLike<number>, width: number): number {
  let h = 0x9e3779b9;
  for (let w = 0; w < width; w++) {
    h = Math.imul(h ^ key[w]!, 0x85ebca6b);
    h ^= h >>> 15;
  }
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * The 8 hex digits of `text` from `at` as an unsigned 32-bit word, passing over the character at `skip` (a UUID's
 * dash) when it falls among them; -1 if one is not a digit of `digits`. A hand loop: ~5× faster than slicing and
 * `parseInt`.
 */
function hexWord(text: string, at: number, skip: number, digits: Int8Array): number {
  let word = 0;
  for (let n = 0; n < 8; n++, at++) {
    if (at === skip) at++;
    const c = text.charCodeAt(at);
    const v = c < 128 ? digits[c]! : -1;
    if (v < 0) return -1;
    word = (word << 4) | v;
  }
  return word >>> 0;
}

/**
 * `into.length` × 8 lowercase hex digits (a SHA-256 hash: 64 into 8 words) as 32-bit words; false, with
 * `into` garbled, if `hex` is anything else.
 */
export function hexToWords(hex: string, into: Uint32Array): boolean {
  if (hex.length !== into.length * 8) return false;
  for (let w = 0; w < into.length; w++) {
    const word = hexWord(hex, w * 8, -1, HEX_LOWER);
    if (word < 0) return false;
    into[w] = word;
  }
  return true;
}

/** Where a UUID's four words start, and the dash inside each (-1: none). */
const UUID_WORDS = [0, -1, 9, 13, 19, 23, 28, -1];

/** A UUID (8-4-4-4-12 hex digits, lower case or, with `anyCase`, either) as four words; false for anything else. */
export function uuidToWords(id: string, into: Uint32Array, anyCase: boolean): boolean {
  if (id.length !== 36) return false;
  if (
    id.charCodeAt(8) !== 45 ||
    id.charCodeAt(13) !== 45 ||
    id.charCodeAt(18) !== 45 ||
    id.charCodeAt(23) !== 45
  )
    return false;
  const digits = anyCase ? HEX_ANY_CASE : HEX_LOWER;
  for (let w = 0; w < 4; w++) {
    const word = hexWord(id, UUID_WORDS[2 * w]!, UUID_WORDS[2 * w + 1]!, digits);
    if (word < 0) return false;
    into[w] = word;
  }
  return true;
}

/** Four words (as {@link uuidToWords} made them) as a lowercase UUID. */
export function wordsToUuid(words: ArrayLike<number>, at = 0): string {
  const hex =
    words[at]!.toString(16).padStart(8, '0') +
    words[at + 1]!.toString(16).padStart(8, '0') +
    words[at + 2]!.toString(16).padStart(8, '0') +
    words[at + 3]!.toString(16).padStart(8, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Map from event ids to unsigned 32-bit values: UUIDs as 128-bit keys in a
 * {@link WordKeyTable}, anything else (never accepted by the sidecar, but
 * possible in hand-made or hostile logs) in a plain Map.
 */
export class UuidTable {
  readonly #table = new WordKeyTable(4);
  readonly #other = new Map<string, number>();
  readonly #key = new Uint32Array(4);
  readonly #caseInsensitive: boolean;

  /**
   * @param options `caseInsensitive` (default true): `ABC…` and `abc…` are one id, as UUIDs are (RFC 9562);
   *   false: ids are compared exactly, as strings.
   */
  constructor(options: { caseInsensitive?: boolean } = {}) {
    this.#caseInsensitive = options.caseInsensitive ?? true;
  }

  /** Number of ids held. */
  get size(): number {
    return this.#table.size + this.#other.size;
  }

  get(id: string): number | undefined {
    if (uuidToWords(id, this.#key, this.#caseInsensitive)) return this.#table.get(this.#key);
    return this.#other.get(this.#caseInsensitive ? id.toLowerCase() : id);
  }

  set(id: string, value: number): void {
    if (uuidToWords(id, this.#key, this.#caseInsensitive)) this.#table.set(this.#key, value);
    else this.#other.set(this.#caseInsensitive ? id.toLowerCase() : id, value);
  }

  /** The value of `id` if it is held (left unchanged); otherwise add it with `value` and return undefined. */
  getOrSet(id: string, value: number): number | undefined {
    if (uuidToWords(id, this.#key, this.#caseInsensitive)) return this.#table.getOrSet(this.#key, value);
    const key = this.#caseInsensitive ? id.toLowerCase() : id;
    const held = this.#other.get(key);
    if (held === undefined) this.#other.set(key, value);
    return held;
  }
}
