/**
 * The background scrub of the file store: reread every segment from disk,
 * check each record's checksum, framing and leaf index (and that it lies
 * where the in-memory index says), and recompute the RFC 6962 root at every
 * anchor's tree size, comparing it with the root that anchor signed. Bit rot
 * found here would otherwise surface only when someone asks for that event
 * or proof, or at the next start.
 *
 * Memory stays flat: segments are read in 256 KiB chunks and the root is kept
 * as a stack of perfect subtree hashes (O(log n)).
 */
import { hash } from 'node:crypto';
import { type FileHandle, open } from 'node:fs/promises';
import type { AnchorRecord } from '../../../core/types.ts';
import { checkRecord } from './record.ts';
import { parseHead } from './segment-check.ts';

/** Bytes read (and checked) between two turns of the event loop: a few ms of work, so ingest never waits long. */
const CHUNK_BYTES = 256 * 1024;
const NL = 0x0a;
/** Problems kept in a report (the first ones matter; the count says the rest). */
const MAX_PROBLEMS = 20;

/** The result of the last scrub, as /health and /metrics show it. */
export interface ScrubStatus {
  /** When the last scrub finished (ISO 8601), or null before the first. */
  last_run: string | null;
  /** Whether it found nothing wrong (null before the first). */
  ok: boolean | null;
  /** What it found (at most 20, then a count). */
  problems: string[];
  /** Records it reread. */
  events_checked: number;
  /** Anchor roots it recomputed and compared. */
  anchors_checked: number;
  /** Seconds between scrubs (0: off). */
  interval_s: number;
}

/** What a scrub reads: the segments (up to their durable size) and where the index puts each record. */
export interface ScrubInput {
  segments: readonly { no: number; path: string; size: number }[];
  /** Records the index holds (the scrub checks exactly these). */
  expected: number;
  /** Where the in-memory index puts leaf `i`. */
  locate(i: number): { segment: number; offset: number; length: number };
  anchors: readonly AnchorRecord[];
  /** True once the store closes: stop early. */
  stopped(): boolean;
}

/** RFC 6962 root of a growing list of leaves, kept as perfect subtrees. */
class RootAccumulator {
  /** stack[k] covers 2^heights[k] leaves; heights strictly decrease. */
  readonly #stack: Buffer[] = [];
  readonly #heights: number[] = [];
  /** Reused hash inputs: 0x00 ‖ leaf and 0x01 ‖ left ‖ right. */
  readonly #leaf = Buffer.alloc(33, 0);
  readonly #node = Buffer.alloc(65, 1);
  size = 0;

  push(eventHashHex: string): void {
    this.#leaf.write(eventHashHex, 1, 32, 'hex');
    let node = sha256(this.#leaf);
    let h = 0;
    while (this.#heights.length && this.#heights.at(-1) === h) {
      node = this.#join(this.#stack.pop()!, node);
      this.#heights.pop();
      h++;
    }
    this.#stack.push(node);
    this.#heights.push(h);
    this.size++;
  }

  /** Root of the leaves pushed so far (RFC 6962: fold the subtrees right to left). */
  root(): string {
    if (this.#stack.length === 0) return sha256(Buffer.alloc(0)).toString('hex');
    let r = this.#stack.at(-1)!;
    for (let k = this.#stack.length - 2; k >= 0; k--) r = this.#join(this.#stack[k]!, r);
    return r.toString('hex');
  }

  #join(left: Buffer, right: Buffer): Buffer {
    left.copy(this.#node, 1);
    right.copy(this.#node, 33);
    return sha256(this.#node);
  }
}

function sha256(b: Buffer): Buffer {
  return hash('sha256', b, 'buffer');
}

/** Reread and check everything; resolves to the problems found (empty: all good) and the counts. */
export async function scrubSegments(
  input: ScrubInput,
): Promise<{ problems: string[]; events: number; anchors: number }> {
  const problems: string[] = [];
  let dropped = 0;
  const problem = (text: string) => {
    if (problems.length < MAX_PROBLEMS) problems.push(text);
    else dropped++;
  };
  const targets = input.anchors
    .filter((a) => (a.merkle_mode ?? 'rfc6962') === 'rfc6962' && a.tree_size > 0)
    .sort((a, b) => a.tree_size - b.tree_size);
  let nextTarget = 0;
  let anchorsChecked = 0;
  const acc = new RootAccumulator();
  const checkAnchors = () => {
    while (nextTarget < targets.length && targets[nextTarget]!.tree_size === acc.size) {
      const a = targets[nextTarget++]!;
      const root = acc.root();
      anchorsChecked++;
      if (root !== a.merkle_root) {
        problem(
          `the root recomputed from the segments at tree_size ${a.tree_size} is ${root}, but anchor ${a.anchor_id} signed ${a.merkle_root}`,
        );
      }
    }
  };
  let leaf = 0;
  let broken = false;
  for (const seg of input.segments) {
    if (broken || input.stopped() || leaf >= input.expected) break;
    let h: FileHandle | undefined;
    try {
      h = await open(seg.path, 'r');
      let pos = 0;
      let carry = Buffer.alloc(0);
      while (pos < seg.size && !broken && !input.stopped()) {
        const want = Math.min(CHUNK_BYTES, seg.size - pos);
        const chunk = Buffer.allocUnsafe(want);
        const { bytesRead } = await h.read(chunk, 0, want, pos);
        if (bytesRead === 0) {
          problem(`${seg.path} is shorter than the ${seg.size} bytes already stored in it (ends at ${pos})`);
          broken = true;
          break;
        }
        const base = pos - carry.length;
        const buf = carry.length
          ? Buffer.concat([carry, chunk.subarray(0, bytesRead)])
          : chunk.subarray(0, bytesRead);
        pos += bytesRead;
        let at = 0;
        while (at < buf.length) {
          const nl = buf.indexOf(NL, at);
          if (nl === -1) break;
          const offset = base + at;
          const json = checkRecord(buf, at, nl + 1);
          const head = typeof json === 'string' ? undefined : parseHead(json);
          const loc = leaf < input.expected ? input.locate(leaf) : undefined;
          if (typeof json === 'string' || !head || head.index !== leaf) {
            const why =
              typeof json === 'string'
                ? json
                : !head
                  ? 'not an event record'
                  : `leaf index ${head.index}, expected ${leaf}`;
            problem(`${seg.path} at byte offset ${offset}: ${why} (the record of merkle_index ${leaf})`);
            broken = true;
            break;
          }
          if (!loc || loc.segment !== seg.no || loc.offset !== offset || loc.length !== nl + 1 - at) {
            problem(
              `${seg.path} at byte offset ${offset}: merkle_index ${leaf} is not where the index puts it`,
            );
            broken = true;
            break;
          }
          acc.push(head.eventHash);
          leaf++;
          checkAnchors();
          at = nl + 1;
        }
        carry = Buffer.from(buf.subarray(at));
      }
      if (!broken && !input.stopped() && carry.length) {
        problem(
          `${seg.path} at byte offset ${seg.size - carry.length}: incomplete record inside the stored part`,
        );
        broken = true;
      }
    } catch (e) {
      problem(`cannot read ${seg.path}: ${(e as Error).message}`);
      broken = true;
    } finally {
      await h?.close().catch(() => {});
    }
  }
  if (!broken && !input.stopped() && leaf !== input.expected) {
    problem(`the segments hold ${leaf} records, the index ${input.expected}`);
  }
  if (!broken && !input.stopped()) {
    for (let k = nextTarget; k < targets.length; k++) {
      const a = targets[k]!;
      if (a.tree_size > leaf)
        problem(
          `anchor ${a.anchor_id} covers tree_size ${a.tree_size}, but the segments hold ${leaf} records`,
        );
    }
  }
  if (dropped) problems.push(`… and ${dropped} more problem(s)`);
  return { problems, events: leaf, anchors: anchorsChecked };
}
