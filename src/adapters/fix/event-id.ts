/**
 * Deterministic event ids for replays: a UUIDv7 whose 48-bit time field is
 * the event's own time and whose 74 "random" bits are the first bits of
 * SHA-256(seed) — for the 2nd, 3rd… event made from one input, of
 * SHA-256(SHA-256(seed) ‖ 0x00 ‖ index). The same log replayed twice gives
 * the same ids, so the sidecar's idempotent ingest (dedup by `event_id`)
 * stores each event once; different messages, or different events made from
 * one message, get different ids.
 *
 * Such ids are valid UUIDv7 (version 7, RFC 9562 variant) and sort by
 * millisecond; within one millisecond their order is the hash's, not the
 * log's (RFC 9562 makes monotonicity within a millisecond optional). They
 * are not secret: anyone with the log can recompute them.
 */
import { createHash, hash } from 'node:crypto';

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Hash a seed (its UTF-8 bytes) once; derive any number of ids from it with {@link deterministicUuidV7}. */
export function seedDigest(seed: string): Buffer {
  return hash('sha256', seed, 'buffer');
}

/**
 * A UUIDv7 for Unix millisecond `ms` derived from `seed` (a string, or
 * its {@link seedDigest}) and `index` (0, 1, … for the
 * events made from one input).
 */
export function deterministicUuidV7(ms: number, seed: string | Uint8Array, index = 0): string {
  const base = typeof seed === 'string' ? seedDigest(seed) : seed;
  const h = index === 0 ? base : createHash('sha256').update(base).update(`\u0000${index}`).digest();
  const t = Math.max(0, Math.min(Math.floor(ms), 2 ** 48 - 1));
  const msHex = t.toString(16).padStart(12, '0');
  const b6 = 0x70 | (h[0]! & 0x0f); // version 7
  const b8 = 0x80 | (h[2]! & 0x3f); // variant 10
  return (
    `${msHex.slice(0, 8)}-${msHex.slice(8)}-` +
    `${HEX[b6]}${HEX[h[1]!]}-${HEX[b8]}${HEX[h[3]!]}-` +
    `${HEX[h[4]!]}${HEX[h[5]!]}${HEX[h[6]!]}${HEX[h[7]!]}${HEX[h[8]!]}${HEX[h[9]!]}`
  );
}
