/**
 * Hash primitives for EventHash, PrevHash and anchors (DESIGN decision 2).
 *
 * SHA256 and SHA3_256 run on `node:crypto` (OpenSSL, SHA-NI where the CPU has
 * it: about 9× faster than pure JS on large inputs); BLAKE3, and any algorithm
 * this Node build lacks, run on `@noble/hashes`. Both back ends give the same
 * bytes; `_digestNoble` exists so tests can check that byte for byte.
 *
 * Strings are hashed as their UTF-8 bytes (a lone surrogate becomes U+FFFD,
 * the same in both back ends).
 */

import * as nodeCrypto from 'node:crypto';
import { blake3 } from '@noble/hashes/blake3.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { sha3_256 } from '@noble/hashes/sha3.js';
import { HASH_ALGOS, type HashAlgo } from '../core/enums.ts';
import { VcpValidationError } from '../core/errors.ts';

// The algorithm names live with the other v1.1 enumerations (spec §1.5.2).
export { HASH_ALGOS, type HashAlgo };

/** The default hash algorithm (spec v1.1: SHA256). */
export const DEFAULT_HASH_ALGO: HashAlgo = 'SHA256';

/** Output length in bytes of every supported algorithm (all three are 256-bit). */
export const DIGEST_LENGTH = 32;

/** `true` when `value` is one of `HASH_ALGOS` (exact, case-sensitive spelling). */
export function isHashAlgo(value: unknown): value is HashAlgo {
  return value === 'SHA256' || value === 'SHA3_256' || value === 'BLAKE3';
}

/**
 * Throw a `VcpValidationError` (path `algo`, rule `hash-algo`) unless `value`
 * is a supported `HashAlgo`. The message lists the allowed values.
 */
export function assertHashAlgo(value: unknown, path = 'algo'): asserts value is HashAlgo {
  if (!isHashAlgo(value)) {
    throw new VcpValidationError({
      path,
      rule: 'hash-algo',
      message: `unsupported hash algorithm ${describe(value)}; expected one of ${HASH_ALGOS.join(', ')}`,
    });
  }
}

const available = new Set(nodeCrypto.getHashes());
// `crypto.hash` (one-shot, Node ≥ 21.7 / 20.12) skips the Hash object: measured
// here ~1.3× faster than createHash().update().digest('hex') on a 1 KB event and
// ~3× on a 65-byte Merkle node (bench/hash.ts).
const oneShot:
  | ((algorithm: string, data: string | NodeJS.ArrayBufferView, encoding: 'hex' | 'latin1') => unknown)
  | undefined = typeof nodeCrypto.hash === 'function' ? (nodeCrypto.hash as never) : undefined;

/** node:crypto name for each algo, or undefined where this build lacks it (then noble is used). */
const NODE_NAME: Record<HashAlgo, string | undefined> = {
  SHA256: available.has('sha256') ? 'sha256' : undefined,
  SHA3_256: available.has('sha3-256') ? 'sha3-256' : undefined,
  BLAKE3: undefined,
};

const NOBLE: Record<HashAlgo, (data: Uint8Array) => Uint8Array> = {
  SHA256: sha256,
  SHA3_256: sha3_256,
  BLAKE3: blake3,
};

const utf8 = new TextEncoder();

/**
 * Hash `data` with `algo` and return the 32-byte digest.
 *
 * @param algo one of `HASH_ALGOS`; anything else throws `VcpValidationError` (rule `hash-algo`).
 * @param data bytes, or a string hashed as UTF-8; other types throw `VcpValidationError` (rule `bytes`).
 */
export function digest(algo: HashAlgo, data: string | Uint8Array): Buffer {
  checkData(data);
  const name = nodeName(algo);
  if (name !== undefined) {
    // One-shot to a latin1 string, then into a pooled Buffer: ~2× faster than asking
    // crypto.hash for 'buffer' (which allocates a fresh ArrayBuffer natively), and the
    // latin1 round trip is exact for every byte value.
    if (oneShot !== undefined) return Buffer.from(oneShot(name, data, 'latin1') as string, 'latin1');
    return nodeCrypto.createHash(name).update(data).digest();
  }
  const out = NOBLE[algo](toBytes(data));
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

/**
 * Hash `data` with `algo` and return the digest as 64 lowercase hex characters
 * (the form EventHash, PrevHash and Merkle roots take on the wire).
 *
 * Same argument rules as {@link digest}.
 */
export function digestHex(algo: HashAlgo, data: string | Uint8Array): string {
  // Fast path for the default: one call into OpenSSL, hex built natively.
  if (algo === 'SHA256' && oneShot !== undefined && NODE_NAME.SHA256 !== undefined) {
    if (typeof data !== 'string') checkData(data);
    return oneShot('sha256', data, 'hex') as string;
  }
  checkData(data);
  const name = nodeName(algo);
  if (name !== undefined) {
    if (oneShot !== undefined) return oneShot(name, data, 'hex') as string;
    return nodeCrypto.createHash(name).update(data).digest('hex');
  }
  return Buffer.from(NOBLE[algo](toBytes(data))).toString('hex');
}

/**
 * The pure-JS (`@noble/hashes`) digest, whatever `node:crypto` offers.
 * Internal: exported so tests can cross-check the two back ends byte for byte.
 */
export function _digestNoble(algo: HashAlgo, data: string | Uint8Array): Uint8Array {
  assertHashAlgo(algo);
  checkData(data);
  return NOBLE[algo](toBytes(data));
}

/** The node:crypto name to use for `algo`, undefined for noble; validates `algo`. */
function nodeName(algo: HashAlgo): string | undefined {
  if (algo === 'SHA256') return NODE_NAME.SHA256;
  if (algo === 'SHA3_256') return NODE_NAME.SHA3_256;
  if (algo === 'BLAKE3') return undefined;
  return assertHashAlgo(algo) as never; // always throws here
}

function checkData(data: unknown): void {
  if (typeof data === 'string' || data instanceof Uint8Array) return;
  throw new VcpValidationError({
    path: 'data',
    rule: 'bytes',
    message: `cannot hash ${describe(data)}; expected a string (hashed as UTF-8) or a Uint8Array`,
  });
}

function toBytes(data: string | Uint8Array): Uint8Array {
  return typeof data === 'string' ? utf8.encode(data) : data;
}

/** Short description of a bad value for error messages (never echoes long input). */
function describe(value: unknown): string {
  if (typeof value === 'string') return value.length <= 32 ? JSON.stringify(value) : 'a long string';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'function') return 'a function';
  return `${typeof value} ${String(value)}`;
}
