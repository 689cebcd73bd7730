/**
 * The RFC 6962 / RFC 9162 §2.1 Merkle hashing scheme (DESIGN decision 4).
 *
 *   empty tree  = SHA-256("")
 *   leaf hash   = SHA-256(0x00 ‖ leaf data)      (leaf data = the 32 raw bytes of an EventHash)
 *   node hash   = SHA-256(0x01 ‖ left ‖ right)
 *
 * The 0x00 / 0x01 prefixes keep a leaf from ever being mistaken for an inner
 * node (second-preimage protection). Both Merkle modes (`rfc6962`, `vcp-dup`)
 * use this same hasher; they differ only in the tree shape.
 *
 * The public functions take and return lowercase hex (the wire form). The
 * `_`-prefixed functions are internal: `_hashLeaf` / `_hashChildren` work on
 * bytes of any length; the `_…Bin` ones on 32-byte hashes held as latin1
 * strings (`_Bin`), the form the tree and the verifiers use on hot paths.
 */

import * as nodeCrypto from 'node:crypto';
import { VcpValidationError } from '../../core/errors.ts';

/** Length in bytes of every hash in the tree (SHA-256). */
export const HASH_SIZE = 32;

/** Root of the empty tree, SHA-256 of no bytes (RFC 6962 §2.1), as lowercase hex. */
export const EMPTY_ROOT_HEX = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** Root of the empty tree as a `_Bin` (see below). Internal. */
export const _EMPTY_ROOT_BIN: string = Buffer.from(EMPTY_ROOT_HEX, 'hex').toString('latin1');

// `crypto.hash` (one-shot, Node ≥ 21.7 / 20.12) skips the Hash object.
const oneShot: ((algorithm: string, data: NodeJS.ArrayBufferView, encoding: string) => unknown) | undefined =
  typeof nodeCrypto.hash === 'function' ? (nodeCrypto.hash as never) : undefined;

function sha256(data: Uint8Array): Buffer {
  if (oneShot !== undefined) return oneShot('sha256', data, 'buffer') as Buffer;
  return nodeCrypto.createHash('sha256').update(data).digest();
}

/**
 * A 32-byte hash held as a 32-character latin1 ("binary") string, one char a
 * byte. The tree, the proof makers and the verifiers work on these: node:crypto
 * returns a digest as a short string about 3× faster than as a Buffer (no
 * ArrayBuffer to allocate and collect: ~0.3 µs against ~0.85 µs a node here),
 * and strings compare with `===`. Internal.
 */
export type _Bin = string;

function sha256Bin(data: Uint8Array): _Bin {
  if (oneShot !== undefined) return oneShot('sha256', data, 'latin1') as string;
  return nodeCrypto.createHash('sha256').update(data).digest('binary'); // 'binary' = latin1
}

// Scratch buffers: prefix byte + one or two hashes. Reusing them is safe
// because hashing reads its input synchronously.
const leafScratch = Buffer.alloc(1 + HASH_SIZE);
leafScratch[0] = 0x00;
const nodeScratch = Buffer.alloc(1 + 2 * HASH_SIZE);
nodeScratch[0] = 0x01;
const convScratch = Buffer.alloc(HASH_SIZE);

/** SHA-256(0x00 ‖ data) for leaf data of any length (RFC 6962 leaves need not be 32 bytes). */
export function _hashLeaf(data: Uint8Array): Buffer {
  const buf = Buffer.allocUnsafe(1 + data.length);
  buf[0] = 0x00;
  buf.set(data, 1);
  return sha256(buf);
}

/** SHA-256(0x01 ‖ left ‖ right) on bytes of any length (the hasher test vectors use short ones). */
export function _hashChildren(left: Uint8Array, right: Uint8Array): Buffer {
  const buf = Buffer.allocUnsafe(1 + left.length + right.length);
  buf[0] = 0x01;
  buf.set(left, 1);
  buf.set(right, 1 + left.length);
  return sha256(buf);
}

/** SHA-256(0x00 ‖ data) as a `_Bin`. Internal. */
export function _leafBin(data: Uint8Array): _Bin {
  if (data.length !== HASH_SIZE) return sha256Bin(Buffer.concat([leafScratch.subarray(0, 1), data]));
  leafScratch.set(data, 1);
  return sha256Bin(leafScratch);
}

/**
 * SHA-256(0x00 ‖ bytes of `hex`) as a `_Bin`, where `hex` must be a 32-byte
 * hash in hex (either case); `undefined` when it is not. Never throws. Internal.
 */
export function _leafBinFromHex(hex: unknown): _Bin | undefined {
  return _writeHashHex(hex, leafScratch, 1) ? sha256Bin(leafScratch) : undefined;
}

/** SHA-256(0x01 ‖ left ‖ right) of two `_Bin` hashes. Internal. */
export function _nodeBin(left: _Bin, right: _Bin): _Bin {
  nodeScratch.write(left, 1, HASH_SIZE, 'latin1');
  nodeScratch.write(right, 1 + HASH_SIZE, HASH_SIZE, 'latin1');
  return sha256Bin(nodeScratch);
}

/**
 * SHA-256(0x01 ‖ src[start .. start+64]): the parent of two adjacent 32-byte
 * hashes stored back to back. Internal (tree appends).
 */
export function _nodeBinAdjacent(src: Buffer, start: number): _Bin {
  src.copy(nodeScratch, 1, start, start + 2 * HASH_SIZE);
  return sha256Bin(nodeScratch);
}

/** A 32-byte hash in hex (either case) as a `_Bin`; `undefined` for anything else. Never throws. Internal. */
export function _binFromHex(hex: unknown): _Bin | undefined {
  return _writeHashHex(hex, convScratch, 0) ? convScratch.toString('latin1', 0, HASH_SIZE) : undefined;
}

/**
 * Decode a 32-byte hash given as 64 hex digits (either case) into `into` at `at`; false (bytes there
 * garbled) for anything else. The one place hex hashes become bytes, for the tree and the stores' leaf
 * lists. Internal.
 */
export function _writeHashHex(hex: unknown, into: Buffer, at: number): boolean {
  // Buffer#write(…, 'hex') reads a UTF-16 code unit by its low byte ('\u0161' as 'a') and stops at the first
  // non-hex pair: 64 UTF-8 bytes for 64 units means all are ASCII, then 32 bytes written means all were digits.
  return (
    typeof hex === 'string' &&
    hex.length === 2 * HASH_SIZE &&
    Buffer.byteLength(hex, 'utf8') === 2 * HASH_SIZE &&
    into.write(hex, at, HASH_SIZE, 'hex') === HASH_SIZE
  );
}

/** A `_Bin` as lowercase hex. Internal. */
export function _binToHex(bin: _Bin): string {
  convScratch.write(bin, 0, HASH_SIZE, 'latin1');
  return convScratch.toString('hex', 0, HASH_SIZE);
}

/** 32 bytes as a `_Bin`. Internal. */
export function _binFromBytes(bytes: Uint8Array): _Bin {
  convScratch.set(bytes.subarray(0, HASH_SIZE), 0);
  return convScratch.toString('latin1', 0, HASH_SIZE);
}

/**
 * Decode a 32-byte hash given as 64 hex digits (either case); `undefined` for
 * anything else: other types, other lengths, non-hex characters. Never throws.
 */
export function _parseHash(hex: unknown): Buffer | undefined {
  const buf = Buffer.allocUnsafe(HASH_SIZE);
  return _writeHashHex(hex, buf, 0) ? buf : undefined;
}

/** `true` when `value` is a 32-byte hash written as 64 hex digits (either case). */
export function isHash32Hex(value: unknown): value is string {
  return _binFromHex(value) !== undefined;
}

/** The `VcpValidationError` for a value that is not 64 hex digits. Internal. */
export function _hex32Error(value: unknown, path: string): VcpValidationError {
  return new VcpValidationError({
    path,
    rule: 'hex32',
    message: `expected a 32-byte hash as 64 hex digits, got ${describe(value)}`,
  });
}

/**
 * RFC 6962 leaf hash of an EventHash: SHA-256(0x00 ‖ the 32 bytes of `eventHashHex`),
 * as lowercase hex. Upper-case input is accepted.
 *
 * @throws VcpValidationError (path `eventHash`, rule `hex32`) unless given 64 hex digits.
 */
export function leafHash(eventHashHex: string): string {
  const h = _leafBinFromHex(eventHashHex);
  if (h === undefined) throw _hex32Error(eventHashHex, 'eventHash');
  return _binToHex(h);
}

/**
 * RFC 6962 inner node hash SHA-256(0x01 ‖ left ‖ right) of two 32-byte hashes
 * given as hex, returned as lowercase hex.
 *
 * @throws VcpValidationError (path `left` or `right`, rule `hex32`) unless each is 64 hex digits.
 */
export function nodeHash(leftHex: string, rightHex: string): string {
  const left = _binFromHex(leftHex);
  if (left === undefined) throw _hex32Error(leftHex, 'left');
  const right = _binFromHex(rightHex);
  if (right === undefined) throw _hex32Error(rightHex, 'right');
  return _binToHex(_nodeBin(left, right));
}

/** Short description of a bad value for error messages (never echoes long input, never throws). */
function describe(value: unknown): string {
  try {
    if (typeof value === 'string') {
      return value.length <= 70
        ? `${JSON.stringify(value)} (${value.length} chars)`
        : `a ${value.length}-char string`;
    }
    if (value === null) return 'null';
    if (Array.isArray(value)) return 'an array';
    if (value instanceof Uint8Array) return 'bytes (pass hex)';
    if (typeof value === 'object') return 'an object';
    if (typeof value === 'function') return 'a function';
    return `${typeof value} ${String(value)}`;
  } catch {
    return `an unreadable ${typeof value}`; // e.g. a revoked Proxy
  }
}
