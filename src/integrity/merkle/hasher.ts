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
 * `_`-prefixed functions work on bytes and are what the tree and the verifiers
 * call on their hot paths.
 */

import * as nodeCrypto from 'node:crypto';
import { VcpValidationError } from '../../core/errors.ts';

/** Length in bytes of every hash in the tree (SHA-256). */
export const HASH_SIZE = 32;

/** Root of the empty tree, SHA-256 of no bytes (RFC 6962 §2.1), as lowercase hex. */
export const EMPTY_ROOT_HEX = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** Root of the empty tree as bytes. Internal: callers must not mutate it. */
export const _EMPTY_ROOT: Buffer = Buffer.from(EMPTY_ROOT_HEX, 'hex');

// `crypto.hash` (one-shot, Node ≥ 21.7 / 20.12) skips the Hash object: about
// 1.5× faster than createHash().update().digest() for a 65-byte node.
const oneShot: ((algorithm: string, data: NodeJS.ArrayBufferView, encoding: 'buffer') => Buffer) | undefined =
  typeof nodeCrypto.hash === 'function' ? (nodeCrypto.hash as never) : undefined;

function sha256(data: Uint8Array): Buffer {
  if (oneShot !== undefined) return oneShot('sha256', data, 'buffer');
  return nodeCrypto.createHash('sha256').update(data).digest();
}

// Scratch buffers: prefix byte + one or two hashes. Reusing them is safe
// because hashing copies its input synchronously.
const leafScratch = Buffer.alloc(1 + HASH_SIZE);
leafScratch[0] = 0x00;
const nodeScratch = Buffer.alloc(1 + 2 * HASH_SIZE);
nodeScratch[0] = 0x01;

/** SHA-256(0x00 ‖ data) for leaf data of any length (RFC 6962 leaves need not be 32 bytes). */
export function _hashLeaf(data: Uint8Array): Buffer {
  if (data.length === HASH_SIZE) {
    leafScratch.set(data, 1);
    return sha256(leafScratch);
  }
  const buf = Buffer.allocUnsafe(1 + data.length);
  buf[0] = 0x00;
  buf.set(data, 1);
  return sha256(buf);
}

/** SHA-256(0x01 ‖ left ‖ right). Inputs are normally 32-byte hashes; other lengths are hashed as given. */
export function _hashChildren(left: Uint8Array, right: Uint8Array): Buffer {
  if (left.length === HASH_SIZE && right.length === HASH_SIZE) {
    nodeScratch.set(left, 1);
    nodeScratch.set(right, 1 + HASH_SIZE);
    return sha256(nodeScratch);
  }
  const buf = Buffer.allocUnsafe(1 + left.length + right.length);
  buf[0] = 0x01;
  buf.set(left, 1);
  buf.set(right, 1 + left.length);
  return sha256(buf);
}

/**
 * SHA-256(0x01 ‖ src[start .. start+64]): the parent of two adjacent 32-byte
 * hashes stored back to back, without allocating a view. Internal (tree appends).
 */
export function _hashAdjacent(src: Buffer, start: number): Buffer {
  src.copy(nodeScratch, 1, start, start + 2 * HASH_SIZE);
  return sha256(nodeScratch);
}

/**
 * SHA-256(0x00 ‖ bytes of `hex`) where `hex` must be a 32-byte hash in hex;
 * `undefined` when it is not (never throws). Internal (tree appends).
 */
export function _hashLeafHex(hex: unknown): Buffer | undefined {
  // Buffer#write stops at the first non-hex pair, so 32 bytes written from a
  // 64-character string means all 64 characters were hex digits.
  if (typeof hex !== 'string' || hex.length !== 2 * HASH_SIZE) return undefined;
  if (leafScratch.write(hex, 1, HASH_SIZE, 'hex') !== HASH_SIZE) return undefined;
  return sha256(leafScratch);
}

/**
 * Decode a 32-byte hash given as 64 hex digits (either case); `undefined` for
 * anything else: other types, other lengths, non-hex characters. Never throws.
 */
export function _parseHash(hex: unknown): Buffer | undefined {
  if (typeof hex !== 'string' || hex.length !== 2 * HASH_SIZE) return undefined;
  const buf = Buffer.allocUnsafe(HASH_SIZE);
  if (buf.write(hex, 0, HASH_SIZE, 'hex') !== HASH_SIZE) return undefined;
  return buf;
}

/** `true` when `value` is a 32-byte hash written as 64 hex digits (either case). */
export function isHash32Hex(value: unknown): value is string {
  return _parseHash(value) !== undefined;
}

/**
 * Decode a 32-byte hash from hex or throw `VcpValidationError` (rule `hex32`)
 * naming `path`. Internal: shared by the tree and the hex helpers below.
 */
export function _requireHash(hex: unknown, path: string): Buffer {
  const buf = _parseHash(hex);
  if (buf === undefined) throw _hex32Error(hex, path);
  return buf;
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
  const h = _hashLeafHex(eventHashHex);
  if (h === undefined) throw _hex32Error(eventHashHex, 'eventHash');
  return h.toString('hex');
}

/**
 * RFC 6962 inner node hash SHA-256(0x01 ‖ left ‖ right) of two 32-byte hashes
 * given as hex, returned as lowercase hex.
 *
 * @throws VcpValidationError (path `left` or `right`, rule `hex32`) unless each is 64 hex digits.
 */
export function nodeHash(leftHex: string, rightHex: string): string {
  const left = _requireHash(leftHex, 'left');
  const right = _requireHash(rightHex, 'right');
  return _hashChildren(left, right).toString('hex');
}

/** Short description of a bad value for error messages (never echoes long input). */
function describe(value: unknown): string {
  if (typeof value === 'string') {
    return value.length <= 70 ? `${JSON.stringify(value)} (${value.length} chars)` : `a ${value.length}-char string`;
  }
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array) return 'bytes (pass hex)';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'function') return 'a function';
  return `${typeof value} ${String(value)}`;
}
