/**
 * The file store's in-memory index: event_id → leaf index, and leaf index →
 * where its record lies (segment number, byte offset, length). Rebuilt from
 * the segments on every start; nothing to keep consistent on disk.
 *
 * Trade-off (documented in the API doc): everything lives in typed arrays,
 * off the JavaScript heap (so the garbage collector never walks millions of
 * id strings): event ids, which validation guarantees are UUIDs, are kept as
 * 128-bit keys in an open-addressing table, about 20–40 bytes per event, plus
 * 16 bytes of location. Ten million events cost about 1.2 GB with the Merkle
 * tree's 64 bytes per event. Start-up reads every segment once (checksums are
 * verified anyway, so the index comes almost free). Deployments beyond that
 * use the PostgreSQL store, whose index lives in the database.
 */

/** Where one record lies. */
export interface RecordLocation {
  segment: number;
  offset: number;
  length: number;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Open-addressing hash table from 128-bit UUIDs (as four 32-bit words) to
 * leaf indexes; linear probing, grown at 70 % load. Ids that are not UUIDs
 * (never accepted by the sidecar, but possible in hand-made logs) go to a
 * plain Map.
 */
export class UuidTable {
  #keys = new Uint32Array(4 * 1024);
  /** index + 1; 0 marks an empty slot. */
  #vals = new Uint32Array(1024);
  #mask = 1023;
  #count = 0;
  #other = new Map<string, number>();

  /** Number of ids held. */
  get size(): number {
    return this.#count + this.#other.size;
  }

  get(id: string): number | undefined {
    if (id.length !== 36 || !UUID_RE.test(id)) return this.#other.get(id.toLowerCase());
    const w0 = Number.parseInt(id.slice(0, 8), 16);
    const w1 = Number.parseInt(id.slice(9, 13) + id.slice(14, 18), 16);
    const w2 = Number.parseInt(id.slice(19, 23) + id.slice(24, 28), 16);
    const w3 = Number.parseInt(id.slice(28, 36), 16);
    const keys = this.#keys;
    for (let slot = hash(w0, w1, w2, w3) & this.#mask; ; slot = (slot + 1) & this.#mask) {
      const v = this.#vals[slot]!;
      if (v === 0) return undefined;
      const k = slot * 4;
      if (keys[k] === w0 && keys[k + 1] === w1 && keys[k + 2] === w2 && keys[k + 3] === w3) return v - 1;
    }
  }

  set(id: string, index: number): void {
    if (id.length !== 36 || !UUID_RE.test(id)) {
      this.#other.set(id.toLowerCase(), index);
      return;
    }
    if ((this.#count + 1) * 10 > (this.#mask + 1) * 7) this.#grow();
    this.#insert(
      Number.parseInt(id.slice(0, 8), 16),
      Number.parseInt(id.slice(9, 13) + id.slice(14, 18), 16),
      Number.parseInt(id.slice(19, 23) + id.slice(24, 28), 16),
      Number.parseInt(id.slice(28, 36), 16),
      index + 1,
    );
  }

  #insert(w0: number, w1: number, w2: number, w3: number, value: number): void {
    const keys = this.#keys;
    for (let slot = hash(w0, w1, w2, w3) & this.#mask; ; slot = (slot + 1) & this.#mask) {
      const k = slot * 4;
      if (this.#vals[slot] === 0) {
        keys[k] = w0;
        keys[k + 1] = w1;
        keys[k + 2] = w2;
        keys[k + 3] = w3;
        this.#vals[slot] = value;
        this.#count++;
        return;
      }
      if (keys[k] === w0 && keys[k + 1] === w1 && keys[k + 2] === w2 && keys[k + 3] === w3) {
        this.#vals[slot] = value;
        return;
      }
    }
  }

  #grow(): void {
    const oldKeys = this.#keys;
    const oldVals = this.#vals;
    const cap = (this.#mask + 1) * 2;
    this.#keys = new Uint32Array(4 * cap);
    this.#vals = new Uint32Array(cap);
    this.#mask = cap - 1;
    this.#count = 0;
    for (let slot = 0; slot < oldVals.length; slot++) {
      const v = oldVals[slot]!;
      if (v !== 0) {
        const k = slot * 4;
        this.#insert(oldKeys[k]!, oldKeys[k + 1]!, oldKeys[k + 2]!, oldKeys[k + 3]!, v);
      }
    }
  }
}

/** Mix the four words (UUIDv7s share their leading time bits, so every word counts). */
function hash(w0: number, w1: number, w2: number, w3: number): number {
  let h = Math.imul(w0 ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ w1 ^ (h >>> 15), 0xc2b2ae35);
  h = Math.imul(h ^ w2 ^ (h >>> 13), 0x85ebca6b);
  h = Math.imul(h ^ w3 ^ (h >>> 16), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Growable columns of record locations plus the id table. */
export class EventIndex {
  #ids = new UuidTable();
  #segment = new Uint32Array(1024);
  #offset = new Float64Array(1024);
  #length = new Uint32Array(1024);
  #size = 0;

  /** Number of indexed events. */
  get size(): number {
    return this.#size;
  }

  /** Leaf index of an event id (ids are compared case-insensitively, as UUIDs). */
  indexOf(eventId: string): number | undefined {
    return this.#ids.get(eventId);
  }

  /** Location of the record at leaf `index` (caller checks the range). */
  locate(index: number): RecordLocation {
    return { segment: this.#segment[index]!, offset: this.#offset[index]!, length: this.#length[index]! };
  }

  /** Record the next event's location; its leaf index is the current size. */
  push(eventId: string, segment: number, offset: number, length: number): void {
    const i = this.#size;
    if (i === this.#segment.length) this.#grow();
    this.#segment[i] = segment;
    this.#offset[i] = offset;
    this.#length[i] = length;
    this.#ids.set(eventId, i);
    this.#size = i + 1;
  }

  #grow(): void {
    const cap = this.#segment.length * 2;
    const seg = new Uint32Array(cap);
    seg.set(this.#segment);
    const off = new Float64Array(cap);
    off.set(this.#offset);
    const len = new Uint32Array(cap);
    len.set(this.#length);
    this.#segment = seg;
    this.#offset = off;
    this.#length = len;
  }
}
