/**
 * Internal: a bounded cache with O(1) everything, in two generations (the
 * scheme of quick-lru). New and touched entries go to the current
 * generation; when it is full, the previous generation is dropped whole
 * (`onEvict` told of each entry) and the current one becomes the previous.
 * An entry survives as long as it is touched at least once a generation, so
 * the least recently used go first. The `max` most recently used entries are
 * always kept; at most 2 × `max` are held.
 *
 * Why not one Map in insertion order with `keys().next()` to find the
 * oldest: V8 leaves deleted entries as holes at the front of a Map, and every
 * `keys().next()` walks over them — a bounded cache under steady churn became
 * the slowest part of the FIX replay.
 */
export class GenerationalCache<K, V> {
  readonly #capacity: number;
  readonly #onEvict: ((key: K, value: V) => void) | undefined;
  #current = new Map<K, V>();
  #previous = new Map<K, V>();

  /** @param max entries of one generation; @param onEvict told of each entry dropped for space. */
  constructor(max: number, onEvict?: (key: K, value: V) => void) {
    this.#capacity = Math.max(1, Math.floor(max));
    this.#onEvict = onEvict;
  }

  /** Entries held now. */
  get size(): number {
    return this.#current.size + this.#previous.size;
  }

  /** The value of `key` (and mark it recently used), or `undefined`. */
  get(key: K): V | undefined {
    const v = this.#current.get(key);
    if (v !== undefined || this.#current.has(key)) return v;
    if (!this.#previous.has(key)) return undefined;
    const old = this.#previous.get(key) as V;
    this.#previous.delete(key);
    this.#insert(key, old);
    return old;
  }

  /** True when `key` is held (does not mark it used). */
  has(key: K): boolean {
    return this.#current.has(key) || this.#previous.has(key);
  }

  /** Add or replace `key`, marking it recently used. */
  set(key: K, value: V): void {
    if (this.#current.has(key)) this.#current.set(key, value);
    else {
      this.#previous.delete(key);
      this.#insert(key, value);
    }
  }

  /** Remove `key` (not an eviction: `onEvict` is not told). */
  delete(key: K): boolean {
    return this.#current.delete(key) || this.#previous.delete(key);
  }

  #insert(key: K, value: V): void {
    if (this.#current.size >= this.#capacity) {
      const dropped = this.#previous;
      this.#previous = this.#current;
      this.#current = new Map();
      if (this.#onEvict) for (const [k, v] of dropped) this.#onEvict(k, v);
    }
    this.#current.set(key, value);
  }
}
