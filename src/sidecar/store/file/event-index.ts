/**
 * The file store's in-memory index: event_id → leaf index, and leaf index →
 * where its record lies (segment number, byte offset, length). Rebuilt from
 * the segments on every start; nothing to keep consistent on disk.
 *
 * Trade-off (documented in the API doc): everything lives in typed arrays,
 * off the JavaScript heap (so the garbage collector never walks millions of
 * id strings), in fixed-size chunks rather than doubling arrays (a doubling
 * array holds up to twice what it uses, and three times while it is copied):
 * per event, 16 bytes of location and the id as a 128-bit key (validation
 * guarantees UUIDs), plus 4 bytes per slot of a hash table of leaf indexes
 * kept 35–70 % full: about 40 bytes per event, so ten million events cost
 * about 1 GB with the Merkle tree's 64 bytes per event. Start-up reads every
 * segment once (checksums are verified anyway, so the index comes almost
 * free). Deployments beyond that use the PostgreSQL store, whose index lives
 * in the database.
 */

/** Where one record lies. */
export interface RecordLocation {
  segment: number;
  offset: number;
  length: number;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Entries per column chunk (a power of two). */
const CHUNK = 4096;
const CHUNK_SHIFT = 12;

/** Growable column of unsigned 32-bit values, in fixed chunks (never copied as it grows). */
class Uint32Column {
  #chunks: Uint32Array[] = [];
  #width: number;

  /** @param width values per entry */
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

  get(i: number): number {
    return this.#chunks[i >>> CHUNK_SHIFT]![(i & (CHUNK - 1)) * this.#width]!;
  }
}

/** Number of independent hash tables: each grows on its own, so a growth copies 1/SHARDS of the index. */
const SHARDS = 64;
const SHARD_SHIFT = 26; // the top 6 bits of the hash pick the shard
const SHARD_INITIAL = 16; // slots per shard before its first growth

/**
 * Map from 128-bit UUIDs (as four 32-bit words) to leaf indexes. The keys
 * are stored once per index, in a dense column; the hash tables (open
 * addressing, linear probing, grown at 70 % load) hold only `index + 1`,
 * 0 marking an empty slot, and compare through the column. Ids that are not
 * UUIDs (never accepted by the sidecar, but possible in hand-made logs) go
 * to a plain Map.
 */
export class UuidTable {
  /** Key of each index, four words. */
  #keys = new Uint32Column(4);
  #shards = Array.from({ length: SHARDS }, () => new Uint32Array(SHARD_INITIAL));
  #counts = new Uint32Array(SHARDS);
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
    const h = hash(w0, w1, w2, w3);
    const table = this.#shards[h >>> SHARD_SHIFT]!;
    const mask = table.length - 1;
    for (let slot = h & mask; ; slot = (slot + 1) & mask) {
      const v = table[slot]!;
      if (v === 0) return undefined;
      if (this.#keyIs(v - 1, w0, w1, w2, w3)) return v - 1;
    }
  }

  /** Map `id` to `index`; an index holds one id for good (its key is kept by index). */
  set(id: string, index: number): void {
    if (id.length !== 36 || !UUID_RE.test(id)) {
      this.#other.set(id.toLowerCase(), index);
      return;
    }
    const w0 = Number.parseInt(id.slice(0, 8), 16);
    const w1 = Number.parseInt(id.slice(9, 13) + id.slice(14, 18), 16);
    const w2 = Number.parseInt(id.slice(19, 23) + id.slice(24, 28), 16);
    const w3 = Number.parseInt(id.slice(28, 36), 16);
    const chunk = this.#keys.chunk(index);
    const k = this.#keys.at(index);
    chunk[k] = w0;
    chunk[k + 1] = w1;
    chunk[k + 2] = w2;
    chunk[k + 3] = w3;
    const h = hash(w0, w1, w2, w3);
    const s = h >>> SHARD_SHIFT;
    let table: Uint32Array = this.#shards[s]!;
    if ((this.#counts[s]! + 1) * 10 > table.length * 7) table = this.#grow(s);
    const mask = table.length - 1;
    for (let slot = h & mask; ; slot = (slot + 1) & mask) {
      const v = table[slot]!;
      if (v === 0) {
        table[slot] = index + 1;
        this.#counts[s]!++;
        this.#count++;
        return;
      }
      if (this.#keyIs(v - 1, w0, w1, w2, w3)) {
        table[slot] = index + 1; // the id moves to its new index (or stays)
        return;
      }
    }
  }

  #keyIs(index: number, w0: number, w1: number, w2: number, w3: number): boolean {
    const chunk = this.#keys.chunk(index);
    const k = this.#keys.at(index);
    return chunk[k] === w0 && chunk[k + 1] === w1 && chunk[k + 2] === w2 && chunk[k + 3] === w3;
  }

  /** Double shard `s`, re-inserting its indexes by their stored keys. */
  #grow(s: number): Uint32Array {
    const old = this.#shards[s]!;
    const table = new Uint32Array(old.length * 2);
    const mask = table.length - 1;
    for (const v of old) {
      if (v === 0) continue;
      const chunk = this.#keys.chunk(v - 1);
      const k = this.#keys.at(v - 1);
      let slot = hash(chunk[k]!, chunk[k + 1]!, chunk[k + 2]!, chunk[k + 3]!) & mask;
      while (table[slot] !== 0) slot = (slot + 1) & mask;
      table[slot] = v;
    }
    this.#shards[s] = table;
    return table;
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

/** Columns of record locations plus the id table, all in fixed chunks. */
export class EventIndex {
  #ids = new UuidTable();
  #segment = new Uint32Column();
  #length = new Uint32Column();
  #offset: Float64Array[] = [];
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
    return {
      segment: this.#segment.get(index),
      offset: this.#offset[index >>> CHUNK_SHIFT]![index & (CHUNK - 1)]!,
      length: this.#length.get(index),
    };
  }

  /** Record the next event's location; its leaf index is the current size. */
  push(eventId: string, segment: number, offset: number, length: number): void {
    const i = this.#size;
    const k = i & (CHUNK - 1);
    this.#segment.chunk(i)[k] = segment;
    this.#length.chunk(i)[k] = length;
    if ((i & (CHUNK - 1)) === 0) this.#offset.push(new Float64Array(CHUNK));
    this.#offset[i >>> CHUNK_SHIFT]![k] = offset;
    this.#ids.set(eventId, i);
    this.#size = i + 1;
  }
}
