/**
 * UUIDv7 (RFC 9562 §5.7) with the §6.2 monotonic guarantee: ids made by one
 * generator are strictly increasing, even thousands in one millisecond.
 *
 * Layout: 48-bit Unix ms | ver 7 | 12-bit rand_a | var 10 | 62-bit rand_b.
 * Within one millisecond rand_a‖rand_b (74 bits) works as a counter seeded
 * randomly and advanced by a random step (RFC 9562 §6.2 method 2 with a
 * random increment), so ids stay unguessable. When the counter would
 * overflow, or the clock steps back, the timestamp field is advanced past the
 * last one used ("increment the timestamp", §6.2).
 */
import { randomFillSync } from 'node:crypto';

/** Source of Unix milliseconds. */
export type MsClock = () => number;
/** Fills a byte array with random bytes. */
export type RandomSource = (bytes: Uint8Array) => void;

const defaultRandom: RandomSource = (b) => randomFillSync(b);

/**
 * Make an independent UUIDv7 generator with its own monotonic state.
 * `clock` returns Unix milliseconds (default `Date.now`); `random` fills
 * bytes (default `crypto.randomFillSync`). Fixed sources make ids
 * deterministic for tests.
 */
export function createUuidV7Generator(
  clock: MsClock = Date.now,
  random: RandomSource = defaultRandom,
): () => string {
  // Random bytes are drawn from a pool: one syscall per 4 KiB, not per id.
  const pool = new Uint8Array(4096);
  let pos = pool.length;
  const byte = (): number => {
    if (pos >= pool.length) {
      random(pool);
      pos = 0;
    }
    return pool[pos++]!;
  };

  let lastMs = -1;
  let a = 0; // rand_a, 12 bits
  let bHi = 0; // top 30 bits of rand_b (its first bit is kept 0 at seeding: headroom)
  let bLo = 0; // low 32 bits of rand_b

  const seed = (): void => {
    a = ((byte() << 8) | byte()) & 0x0fff;
    bHi = ((byte() << 24) | (byte() << 16) | (byte() << 8) | byte()) & 0x1fffffff;
    bLo = ((byte() << 24) | (byte() << 16) | (byte() << 8) | byte()) >>> 0;
  };

  /** Advance the 74-bit counter by a random step in 1..65536; false on overflow. */
  const step = (): boolean => {
    bLo += 1 + ((byte() << 8) | byte());
    if (bLo <= 0xffffffff) return true;
    bLo -= 0x100000000;
    if (++bHi <= 0x3fffffff) return true;
    bHi = 0;
    return ++a <= 0x0fff;
  };

  return () => {
    const now = Math.floor(clock());
    if (now > lastMs) {
      lastMs = now;
      seed();
    } else if (!step()) {
      lastMs++;
      seed();
    }
    return format(lastMs, a, bHi, bLo);
  };
}

const HEX2: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** 8 hex digits of a 32-bit unsigned value, through a byte table (no toString/padStart per id). */
function hex8(n: number): string {
  return HEX2[(n >>> 24) & 0xff]! + HEX2[(n >>> 16) & 0xff]! + HEX2[(n >>> 8) & 0xff]! + HEX2[n & 0xff]!;
}

function format(ms: number, a: number, bHi: number, bLo: number): string {
  // 48-bit ms: the top 16 bits and the low 32 bits (ms < 2^48 fits a double exactly).
  const msHi = Math.floor(ms / 0x100000000);
  const msLo = ms >>> 0;
  const top = HEX2[(msHi >>> 8) & 0xff]! + HEX2[msHi & 0xff]! + hex8(msLo);
  const ver = 0x7000 | a;
  const hi = hex8((0x80000000 | bHi) >>> 0); // variant bits 10, then 30 bits
  return `${top.slice(0, 8)}-${top.slice(8)}-${HEX2[ver >>> 8]}${HEX2[ver & 0xff]}-${hi.slice(0, 4)}-${hi.slice(4)}${hex8(bLo)}`;
}

/**
 * A new UUIDv7, strictly greater (as a string and as bytes) than every id
 * this function returned before in this process.
 */
export const uuidv7: () => string = createUuidV7Generator();

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const UUIDV7_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/** 1 for the code units (below 128) of hex digits: either case, or lowercase only. */
const HEX_DIGIT = new Uint8Array(128);
for (const c of '0123456789abcdefABCDEF') HEX_DIGIT[c.charCodeAt(0)] = 1;
const LOWER_HEX_DIGIT = new Uint8Array(128);
for (const c of '0123456789abcdef') LOWER_HEX_DIGIT[c.charCodeAt(0)] = 1;

/** The 8-4-4-4-12 form with every digit in `digits`. */
function uuidShaped(value: unknown, digits: Uint8Array): value is string {
  if (typeof value !== 'string' || value.length !== 36) return false;
  for (let i = 0; i < 36; i++) {
    const c = value.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 0x2d) return false;
    } else if (c >= 128 || digits[c] !== 1) return false;
  }
  return true;
}

/**
 * True for any UUID in the 8-4-4-4-12 hex form (any version). A loop over a table, not
 * `UUID_RE`: it runs on every sealed event, and measured here several times faster than the
 * case-insensitive RegExp (tests check both agree).
 */
export function isUuid(value: unknown): value is string {
  return uuidShaped(value, HEX_DIGIT);
}

/** {@link isUuid} with lowercase digits only: the form this package writes. */
export function isLowercaseUuid(value: unknown): boolean {
  return uuidShaped(value, LOWER_HEX_DIGIT);
}

/** The RegExp form of {@link isUuid}. Internal: exported so tests can compare the two. */
export function _isUuidRe(value: unknown): value is string {
  return typeof value === 'string' && UUID_RE.test(value);
}

/** True for a UUID whose version is 7 and variant is RFC 9562's. */
export function isUuidV7(value: unknown): value is string {
  return typeof value === 'string' && UUIDV7_RE.test(value);
}

/** The Unix-ms timestamp encoded in a UUIDv7, or `undefined` if `id` is not one. */
export function uuidv7Timestamp(id: string): number | undefined {
  if (!isUuidV7(id)) return undefined;
  return Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}

/** The version nibble of a UUID string, or `undefined`. */
export function uuidVersion(id: string): number | undefined {
  if (!isUuid(id)) return undefined;
  return Number.parseInt(id[14]!, 16);
}
