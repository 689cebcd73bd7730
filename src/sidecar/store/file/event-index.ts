/**
 * The file store's in-memory index: event_id → leaf index, and leaf index →
 * where its record lies (segment number, byte offset, length). Rebuilt from
 * the segments on every start; nothing to keep consistent on disk.
 *
 * Trade-off (documented in the API doc): everything lives in typed arrays,
 * off the JavaScript heap (so the garbage collector never walks millions of
 * id strings), in fixed-size chunks rather than doubling arrays (a doubling
 * array holds up to twice what it uses, and three times while it is copied):
 * per event, 16 bytes of location and, in a {@link UuidTable}, the id as a
 * 128-bit key (validation guarantees UUIDs), its leaf index and an 8-byte
 * slot (with the key's hash) of a hash table kept 35–70 % full: about 50
 * bytes per event, so ten million events cost about 1.1 GB with the Merkle
 * tree's 64 bytes per event. Start-up reads every
 * segment once (checksums are verified anyway, so the index comes almost
 * free). Deployments beyond that use the PostgreSQL store, whose index lives
 * in the database.
 */

import { Uint32Column } from '../../../core/uint32-column.ts';
import { UuidTable } from '../../../core/word-key-table.ts';

/** Where one record lies. */
export interface RecordLocation {
  segment: number;
  offset: number;
  length: number;
}

/** 2^32, for offsets kept as two 32-bit words (segments may pass 4 GiB: --segment-size has no upper bound). */
const WORD = 0x1_0000_0000;

/** Record locations plus the id table, all in fixed chunks. */
export class EventIndex {
  #ids = new UuidTable();
  /** Per event: segment, length, offset low word, offset high word (16 bytes, one chunk lookup). */
  #locations = new Uint32Column(4);
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
    const c = this.#locations.chunk(index);
    const k = this.#locations.at(index);
    return { segment: c[k]!, offset: c[k + 3]! * WORD + c[k + 2]!, length: c[k + 1]! };
  }

  /** Record the next event's location; its leaf index is the current size. */
  push(eventId: string, segment: number, offset: number, length: number): void {
    const i = this.#size;
    const c = this.#locations.chunk(i);
    const k = this.#locations.at(i);
    c[k] = segment;
    c[k + 1] = length;
    c[k + 2] = offset % WORD;
    c[k + 3] = Math.floor(offset / WORD);
    this.#ids.set(eventId, i);
    this.#size = i + 1;
  }
}
