/**
 * Deterministic ids for events made from messages of a log (Kafka, Redis
 * Streams), so that reading the same message again — after a crash, a
 * rebalance, a reclaimed Redis entry — makes the same event, which the
 * sidecar then stores once (it deduplicates by `event_id`).
 *
 * **Event id** (`sourceEventId`): a UUIDv7 whose fields are
 * - `unix_ts_ms` (48 bits): the event's timestamp in ms (the Kafka message
 *   timestamp, or the ms part of a Redis entry id), clamped to 0..2^48-1;
 * - bytes 6–15: bytes 0–9 of
 *   `H = SHA-256("vcp-source-event/1" ‖ 0x00 ‖ namespace ‖ 0x00 ‖ transport ‖ 0x00 ‖ stream ‖ 0x00 ‖ partition ‖ 0x00 ‖ position)`
 *   (UTF-8; `partition` and the Kafka offset in decimal, `position` the offset
 *   or the Redis entry id), with the version nibble (high half of byte 6) set
 *   to 7 and the variant bits (top two of byte 8) set to 0b10 (RFC 9562 §5.7),
 *   so it is a valid UUIDv7 carrying 74 bits of H (`rand_a`, `rand_b`) —
 *   the way name-based UUIDs (v5, and v8 in RFC 9562 Appendix B.2) overlay
 *   version and variant on a hash.
 *
 * The ids sort by time like any UUIDv7, but, unlike the process's own
 * generator, two derived ids of the same millisecond are not ordered by
 * arrival (their low bits are a hash). 74 hash bits make an accidental
 * collision between two messages of the same millisecond negligible
 * (birthday bound ~2^37 messages in one ms). Give taps of different
 * clusters different `namespace`s when they feed one sidecar: the same
 * topic/partition/offset names a different message in another cluster.
 *
 * **Trace id** (`traceIdFromKey`): every event of one order shares a trace.
 * It is derived from the order's business key (by default `order_id`) as a
 * name-based UUIDv8 (RFC 9562 §5.8 and its Appendix B.2 example):
 * the first 128 bits of `SHA-256("vcp-trace/1" ‖ 0x00 ‖ namespace ‖ 0x00 ‖ key)`
 * with the version nibble set to 8 and the variant bits to 0b10. It is not a
 * UUIDv7 because a key has no time of its own, and inventing one would make
 * the time field lie; any producer (FIX adapter, Kafka tap, Redis tap, an
 * application) that derives trace ids from the same key and namespace puts
 * its events in the same trace.
 */
import * as nodeCrypto from 'node:crypto';

const MAX_MS = 2 ** 48 - 1;
const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

// One-shot `crypto.hash` (Node ≥ 21.7 / 20.12) is ~2.5× faster than createHash() on inputs this small.
const oneShot = (nodeCrypto as { hash?: (algo: string, data: string, out: 'buffer') => Buffer }).hash;

function sha256(text: string): Buffer {
  return oneShot
    ? oneShot('sha256', text, 'buffer')
    : nodeCrypto.createHash('sha256').update(text, 'utf8').digest();
}

function formatUuid(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) s += '-';
    s += HEX[b[i]!];
  }
  return s;
}

/** Where a message sits in its log: enough to name it uniquely and forever. */
export interface SourcePosition {
  /** `kafka`, `redis`, or another transport name. */
  transport: string;
  /** Kafka topic or Redis stream key. */
  stream: string;
  /** Kafka partition (0 for Redis streams). */
  partition: number;
  /** Kafka offset in decimal, or the Redis entry id (`1718000000000-0`). */
  position: string;
}

/**
 * The UUIDv7 event id of the message at `source` whose event time is
 * `timestampMs` (see the module comment for the exact layout). Same inputs,
 * same id, on every machine and every run.
 */
export function sourceEventId(source: SourcePosition, timestampMs: number, namespace = ''): string {
  const h = sha256(
    `vcp-source-event/1\0${namespace}\0${source.transport}\0${source.stream}\0${source.partition}\0${source.position}`,
  );
  let ms = Number.isFinite(timestampMs) ? Math.floor(timestampMs) : 0;
  if (ms < 0) ms = 0;
  if (ms > MAX_MS) ms = MAX_MS;
  const b = new Uint8Array(16);
  // 48-bit big-endian timestamp: split in a high 16 and a low 32 bits (no 64-bit ints needed).
  const hi = Math.floor(ms / 2 ** 32);
  const lo = ms >>> 0;
  b[0] = hi >>> 8;
  b[1] = hi & 0xff;
  b[2] = lo >>> 24;
  b[3] = (lo >>> 16) & 0xff;
  b[4] = (lo >>> 8) & 0xff;
  b[5] = lo & 0xff;
  b[6] = 0x70 | (h[0]! & 0x0f);
  b[7] = h[1]!;
  b[8] = 0x80 | (h[2]! & 0x3f);
  for (let i = 9; i < 16; i++) b[i] = h[i - 6]!;
  return formatUuid(b);
}

/**
 * The trace id shared by every event whose business key (e.g. an order id)
 * is `key`: a name-based UUIDv8 over SHA-256 (see the module comment).
 */
export function traceIdFromKey(key: string, namespace = ''): string {
  const h = sha256(`vcp-trace/1\0${namespace}\0${key}`);
  const b = new Uint8Array(h.subarray(0, 16));
  b[6] = 0x80 | (b[6]! & 0x0f);
  b[8] = 0x80 | (b[8]! & 0x3f);
  return formatUuid(b);
}
