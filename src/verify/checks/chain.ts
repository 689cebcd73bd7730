/**
 * Hash-chain continuity across possibly interleaved chains (a sidecar export
 * mixes producers): every non-genesis prev_hash must be the hash of an
 * earlier event, and no two events may claim the same predecessor.
 * Memory: one table entry per event hash seen (about 50 bytes, off the JavaScript heap).
 */
import { hexToWords, WordKeyTable } from '../../core/word-key-table.ts';
import { GENESIS_HASH } from '../../integrity/event-hash.ts';
import { type Finding, finding } from '../findings.ts';

/** Stateful chain checker: feed events in input order. */
export class ChainCheck {
  // Event hash → 2 × its line while no event links to it; → 2 × the line of the event that links to it + 1, once one
  // does (one table instead of two: a million-event export keeps one entry per event).
  readonly #seen = new WordKeyTable(8); // SHA-256 hashes as whole 256-bit keys
  readonly #own = new Uint32Array(8);
  readonly #prev = new Uint32Array(8);
  readonly #later = new Map<string, { line: number; event_id?: string }>(); // prev_hash not seen yet → who claims it
  linked = 0;

  /** Check one event's prev_hash; record its own hash. */
  push(prevHash: unknown, hash: string | undefined, where: { line: number; event_id?: string }): Finding[] {
    if (where.line > MAX_LINE)
      throw new RangeError(`the chain check indexes at most ${MAX_LINE} input lines`);
    const out: Finding[] = [];
    // Only well-formed hashes can be linked to (a prev_hash must be 64 lowercase hex characters). A hash seen
    // before stays as it was; #later can only hold a hash not seen yet.
    if (hash && hexToWords(hash, this.#own)) {
      // Most exports hold no forward link: skip hashing the key string for an empty map.
      const waiting = this.#later.size === 0 ? undefined : this.#later.get(hash);
      const value = waiting ? linkedBy(waiting.line) : 2 * where.line;
      if (this.#seen.getOrSet(this.#own, value) === undefined && waiting) {
        this.#later.delete(hash);
        out.push(
          finding(
            'chain-reordered',
            `this event links to the event at line ${where.line}, which comes after it`,
            waiting,
          ),
        );
      }
    }
    if (prevHash === undefined) return out;
    if (typeof prevHash !== 'string' || !hexToWords(prevHash, this.#prev)) {
      out.push(finding('chain-malformed', 'prev_hash is not 64 lowercase hex characters', where));
      return out;
    }
    if (prevHash === GENESIS_HASH) {
      this.linked++;
      return out;
    }
    const seen = this.#seen.get(this.#prev);
    const other = seen !== undefined && seen % 2 === 1 ? (seen - 1) / 2 : this.#later.get(prevHash)?.line;
    if (other !== undefined) {
      out.push(
        finding(
          'chain-fork',
          `fork: the event at line ${other} already links to ${prevHash.slice(0, 16)}…`,
          where,
        ),
      );
      return out;
    }
    if (seen !== undefined) {
      this.#seen.set(this.#prev, linkedBy(where.line));
      this.linked++;
    } else this.#later.set(prevHash, where);
    return out;
  }

  /** Predecessors never seen: removed events. */
  finish(): Finding[] {
    return [...this.#later.entries()].map(([prev, where]) =>
      finding(
        'chain-gap',
        `links to ${prev.slice(0, 16)}…, which is not the hash of any event in the input: at least one event before it was removed`,
        where,
      ),
    );
  }
}

/** The table's value for a hash that the event at `line` links to (odd; unlinked hashes hold 2 × their own line). */
function linkedBy(line: number): number {
  return 2 * line + 1;
}

/** Lines beyond this do not fit the table's 32-bit values as 2 × line + 1. */
const MAX_LINE = 0x7fff_ffff;
