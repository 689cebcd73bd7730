/**
 * Ed25519 signatures over EventHashes and Merkle roots (DESIGN decision 5).
 *
 * What is signed is the RAW 32 bytes of the hash (the hex text decoded), and
 * the signature travels as standard base64 with padding (88 characters), next
 * to the `signing_key_id` of the key (see `keyId` in keys.ts).
 *
 * Signing and verification run on `node:crypto` (OpenSSL), with the private
 * key held as a `KeyObject` built once. Verification is strict RFC 8032
 * (cofactorless equation, S < L, canonical encodings) and, beyond the RFC,
 * refuses small-order public keys and small-order R, as libsodium does. Those
 * rules are checked here, before OpenSSL runs, because OpenSSL's own checks
 * changed between 3.0 (Node 22) and 3.5 (Node 24): with these checks both give
 * the same verdict on every edge-case vector.
 *
 * Verification functions never throw: malformed input of any type gives `false`.
 */

import type { KeyObject } from 'node:crypto';
import * as nodeCrypto from 'node:crypto';
import { inspect } from 'node:util';
import { VcpValidationError } from '../core/errors.ts';
import {
  type Ed25519Jwk,
  exportPublicKey,
  isStrictPoint,
  type KeyExportFormat,
  keyId,
  type LoadPrivateKeyOptions,
  loadPrivateKey,
  loadPublicKey,
  type PrivateKeyInput,
  type PublicKeyInput,
  publicKeyFromRaw,
} from './keys.ts';

/** Signature algorithm name as written in `security.sign_algo` (VCP v1.1 §1.5.1 SignAlgo). */
export const SIGN_ALGO = 'ED25519';

/** Length of an Ed25519 signature in bytes, and of its base64 text. */
export const SIGNATURE_LENGTH = 64;
/** Length of the base64 text of a signature (with `==` padding). */
export const SIGNATURE_BASE64_LENGTH = 88;

/** Something that signs 32-byte hashes with one Ed25519 key. */
export interface Signer {
  /** `signing_key_id`: fingerprint of the public key (32 hex chars). */
  readonly keyId: string;
  /** Always `'ED25519'`. */
  readonly algorithm: typeof SIGN_ALGO;
  /** The public key, for verifiers. */
  readonly publicKey: KeyObject;
  /**
   * Sign a 32-byte hash (bytes, or 64 hex chars) and return the signature as
   * base64. Anything else throws `VcpValidationError` (path `hash`, rule `hash32`).
   */
  sign(hash32: Uint8Array | string): string;
  /** As `sign`, returning the 64 raw signature bytes. */
  signBytes(hash32: Uint8Array | string): Buffer;
  /** Sign an arbitrary message (a signed note's text); returns the 64 raw signature bytes. */
  signMessage(message: Uint8Array): Buffer;
  /** The public key as SPKI PEM, 64 hex chars, or a JWK. */
  exportPublicKey(format: 'pem' | 'hex'): string;
  exportPublicKey(format: 'jwk'): Ed25519Jwk;
  exportPublicKey(format: KeyExportFormat): string | Ed25519Jwk;
}

const HEX64_RE = /^[0-9a-fA-F]{64}$/;

class Ed25519Signer implements Signer {
  readonly keyId: string;
  readonly algorithm = SIGN_ALGO;
  readonly publicKey: KeyObject;
  // A private field: not enumerable, not in JSON, not in util.inspect.
  readonly #privateKey: KeyObject;

  constructor(privateKey: KeyObject) {
    this.#privateKey = privateKey;
    this.publicKey = nodeCrypto.createPublicKey(privateKey);
    this.keyId = keyId(this.publicKey);
  }

  sign(hash32: Uint8Array | string): string {
    return nodeCrypto.sign(null, hashBytes(hash32), this.#privateKey).toString('base64');
  }

  signBytes(hash32: Uint8Array | string): Buffer {
    return nodeCrypto.sign(null, hashBytes(hash32), this.#privateKey);
  }

  signMessage(message: Uint8Array): Buffer {
    return nodeCrypto.sign(null, message, this.#privateKey);
  }

  exportPublicKey(format: 'pem' | 'hex'): string;
  exportPublicKey(format: 'jwk'): Ed25519Jwk;
  exportPublicKey(format: KeyExportFormat): string | Ed25519Jwk;
  exportPublicKey(format: KeyExportFormat): string | Ed25519Jwk {
    return exportPublicKey(this.publicKey, format);
  }

  toJSON(): { algorithm: string; keyId: string; publicKey: string } {
    return {
      algorithm: this.algorithm,
      keyId: this.keyId,
      publicKey: exportPublicKey(this.publicKey, 'hex'),
    };
  }

  [inspect.custom](): string {
    return `Signer { algorithm: 'ED25519', keyId: '${this.keyId}' }`;
  }
}

/**
 * A `Signer` for an Ed25519 private key in any form `loadPrivateKey` accepts
 * (PEM, JWK, hex seed, bytes, `KeyObject`). Throws `VcpCryptoError` on a bad key.
 */
export function createSigner(privateKey: PrivateKeyInput, options: LoadPrivateKeyOptions = {}): Signer {
  return new Ed25519Signer(loadPrivateKey(privateKey, options));
}

/** A `Signer` for a freshly generated key (tests, demos, ephemeral sidecars). */
export function generateSigningKey(): Signer {
  return new Ed25519Signer(nodeCrypto.generateKeyPairSync('ed25519').privateKey);
}

/**
 * Low level: sign an arbitrary message (any length) with an Ed25519 private
 * key (any `PrivateKeyInput`; pass a `KeyObject` on hot paths). Returns 64 bytes.
 */
export function signEd25519(message: Uint8Array, privateKey: PrivateKeyInput): Buffer {
  if (!(message instanceof Uint8Array)) {
    throw new VcpValidationError({ path: 'message', rule: 'bytes', message: 'message must be a Uint8Array' });
  }
  return nodeCrypto.sign(null, message, loadPrivateKey(privateKey));
}

/**
 * Verify a base64 Ed25519 signature over the raw 32 bytes of a hash.
 *
 * @param hash32Hex the EventHash / Merkle root: 64 hex chars (or 32 bytes).
 * @param signatureB64 standard base64 with padding, exactly 88 characters, canonical
 *   (no stray bits in the last character).
 * @param publicKey any `PublicKeyInput`; PEM/hex strings and raw bytes are cached.
 * @returns `true` only for a valid strict signature; `false` for anything else,
 *   including arguments of the wrong type. Never throws.
 */
export function verifySignature(hash32Hex: unknown, signatureB64: unknown, publicKey: unknown): boolean {
  try {
    let msg: Buffer;
    if (typeof hash32Hex === 'string') {
      if (!HEX64_RE.test(hash32Hex)) return false;
      msg = Buffer.from(hash32Hex, 'hex');
    } else if (hash32Hex instanceof Uint8Array && hash32Hex.length === 32) {
      msg = Buffer.from(hash32Hex);
    } else {
      return false;
    }
    const sig = decodeSignatureB64(signatureB64);
    if (sig === undefined) return false;
    const key = cachedPublicKey(publicKey);
    if (key === undefined) return false;
    return verifyStrict(msg, sig, key);
  } catch {
    return false;
  }
}

/**
 * Low level: strict Ed25519 verification of a message of any length against a
 * raw 32-byte public key (the form test vectors use). Never throws.
 */
export function verifyEd25519(message: unknown, signature: unknown, publicKeyRaw: unknown): boolean {
  try {
    if (!(message instanceof Uint8Array) || !(signature instanceof Uint8Array)) return false;
    if (!(publicKeyRaw instanceof Uint8Array) || publicKeyRaw.length !== 32) return false;
    if (signature.length !== SIGNATURE_LENGTH) return false;
    const key = cachedPublicKey(publicKeyRaw);
    if (key === undefined) return false;
    return verifyStrict(message, signature, key);
  } catch {
    return false;
  }
}

/**
 * Decode a signature's base64 text to its 64 bytes, or `undefined` unless it is
 * exactly 88 characters of canonical standard base64 (so one signature has one
 * text form). Never throws.
 */
export function decodeSignatureB64(text: unknown): Buffer | undefined {
  if (typeof text !== 'string' || text.length !== SIGNATURE_BASE64_LENGTH) return undefined;
  // Buffer's decoder skips junk characters and ignores non-zero padding bits: check both.
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length !== SIGNATURE_LENGTH || bytes.toString('base64') !== text) return undefined;
  return bytes;
}

// ---------------------------------------------------------------------------
// internals

// L = 2^252 + 27742317777372353535851937790883648493, little-endian.
const L_LE = Buffer.from('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010', 'hex');

/** S (the second half of the signature, little-endian) < L. */
function isCanonicalS(sig: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) {
    const s = sig[32 + i]!;
    const l = L_LE[i]!;
    if (s < l) return true;
    if (s > l) return false;
  }
  return false; // S == L
}

function verifyStrict(message: Uint8Array, sig: Uint8Array, key: KeyObject): boolean {
  if (sig.length !== SIGNATURE_LENGTH || !isCanonicalS(sig) || !isStrictPoint(sig.subarray(0, 32)))
    return false;
  return nodeCrypto.verify(null, message, key, sig);
}

function hashBytes(hash32: unknown): Uint8Array {
  if (typeof hash32 === 'string') {
    if (HEX64_RE.test(hash32)) return Buffer.from(hash32, 'hex');
  } else if (hash32 instanceof Uint8Array && hash32.length === 32) {
    return hash32;
  }
  throw new VcpValidationError({
    path: 'hash',
    rule: 'hash32',
    message: 'only a 32-byte hash is signed: give 64 hex characters or a 32-byte Uint8Array',
  });
}

// Verifiers see the same few keys again and again; building a KeyObject costs
// about as much as a verification, so keep the last few (bounded: hostile
// input cannot grow it without limit).
const KEY_CACHE_MAX = 256;
const keyCache = new Map<string, KeyObject | null>();
const objectKeyCache = new WeakMap<KeyObject, KeyObject | null>();

function cachedPublicKey(input: unknown): KeyObject | undefined {
  if (input instanceof nodeCrypto.KeyObject) {
    let k = objectKeyCache.get(input);
    if (k === undefined) {
      k = tryLoad(() => loadPublicKey(input));
      objectKeyCache.set(input, k);
    }
    return k ?? undefined;
  }
  let cacheKey: string;
  let load: () => KeyObject;
  if (typeof input === 'string') {
    if (input.length > 16_384) return undefined; // no key is this long
    cacheKey = `s:${input}`;
    load = () => loadPublicKey(input);
  } else if (input instanceof Uint8Array) {
    if (input.length > 16_384) return undefined;
    const bytes = Buffer.from(input); // copy: the caller may reuse its buffer
    cacheKey = `b:${bytes.toString('hex')}`;
    load = () => (bytes.length === 32 ? publicKeyFromRaw(bytes) : loadPublicKey(bytes));
  } else if (typeof input === 'object' && input !== null) {
    return tryLoad(() => loadPublicKey(input as PublicKeyInput)) ?? undefined; // JWK: not cached
  } else {
    return undefined;
  }
  let k = keyCache.get(cacheKey);
  if (k === undefined) {
    k = tryLoad(load);
    if (keyCache.size >= KEY_CACHE_MAX) keyCache.clear();
    keyCache.set(cacheKey, k);
  }
  return k ?? undefined;
}

function tryLoad(load: () => KeyObject): KeyObject | null {
  try {
    return load();
  } catch {
    return null; // a bad key verifies nothing; remembered so it is not re-parsed
  }
}
