/**
 * Ed25519 key loading, export and fingerprints (DESIGN decision 5).
 *
 * Keys become `node:crypto` `KeyObject`s once, at load time (building one costs
 * more than a signature), and are then reused. Accepted forms:
 *
 * | form | private key | public key |
 * |---|---|---|
 * | PEM | PKCS#8 `BEGIN PRIVATE KEY` (`BEGIN ENCRYPTED PRIVATE KEY` with a passphrase) | SPKI `BEGIN PUBLIC KEY` |
 * | JWK (object or JSON text) | `{kty:'OKP', crv:'Ed25519', d, x?}` | `{kty:'OKP', crv:'Ed25519', x}` |
 * | hex | 64 chars (32-byte seed) or 128 chars (seed ‖ public key, as libsodium/SUPERCOP) | 64 chars |
 * | bytes | 32 (seed), 64 (seed ‖ public) or DER PKCS#8; PEM/JWK/hex text as bytes | 32 (raw) or DER SPKI; text as bytes |
 *
 * Everything else throws `VcpCryptoError` with a message that names the form
 * expected and never contains key material (not even a prefix of it).
 *
 * Public keys are strict: a non-canonical encoding (y ≥ p) or a point of small
 * order (the 8 torsion points, for which anyone can forge signatures) is refused.
 *
 * `keyId` — the `signing_key_id` written next to each signature — is the first
 * 16 bytes (32 lowercase hex chars) of SHA-256 over the raw 32-byte public key.
 * This definition is part of the wire format: do not change it.
 */

import { isUtf8 } from 'node:buffer';
import type { KeyObject } from 'node:crypto';
import * as nodeCrypto from 'node:crypto';
import * as fs from 'node:fs';
import { VcpConfigError, VcpCryptoError } from '../core/errors.ts';

/**
 * An Ed25519 JSON Web Key (RFC 8037) as the `export*Key(…, 'jwk')` functions
 * return it: `x` is the base64url public key, `d` (private keys only) the seed.
 * Our own type, not `node:crypto`'s `JsonWebKey`, so that the declarations do
 * not depend on one @types/node release (that name left @types/node 26).
 * A type alias, not an interface, so that it is also a `JwkInput`.
 */
export type Ed25519Jwk = {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  d?: string;
};

/**
 * A JWK object as the load functions accept it: any object with string
 * members; `kty`, `crv`, `x` and `d` are checked when it is loaded. A
 * `node:crypto` `JsonWebKey` or a parsed JWK file fits.
 */
export interface JwkInput {
  readonly kty?: string;
  readonly crv?: string;
  readonly x?: string;
  readonly d?: string;
  readonly [member: string]: unknown;
}

/** Anything `loadPrivateKey` accepts. */
export type PrivateKeyInput = string | Uint8Array | JwkInput | KeyObject;

/** Anything `loadPublicKey` accepts. */
export type PublicKeyInput = string | Uint8Array | JwkInput | KeyObject;

/** Formats keys export to: PEM text, a JWK object, or lowercase hex of the raw 32 bytes. */
export type KeyExportFormat = 'pem' | 'jwk' | 'hex';

/** A freshly generated Ed25519 key pair and its `signing_key_id`. */
export interface Ed25519KeyPair {
  /** The private key (PKCS#8 inside; export with `exportPrivateKey`). */
  readonly privateKey: KeyObject;
  /** The matching public key. */
  readonly publicKey: KeyObject;
  /** `keyId(publicKey)`. */
  readonly keyId: string;
}

/** Options for loading a private key. */
export interface LoadPrivateKeyOptions {
  /** Passphrase for an `ENCRYPTED PRIVATE KEY` PEM. */
  passphrase?: string;
}

/** Length of a `keyId` in hex characters (128 bits). */
export const KEY_ID_HEX_LENGTH = 32;

/** Largest key file `load*KeyFile` reads; anything bigger is not a key. */
export const MAX_KEY_FILE_BYTES = 64 * 1024;

// DER prefixes for a bare 32-byte key (RFC 8410): PKCS#8 OneAsymmetricKey and SPKI.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

const HEX_RE = /^[0-9a-fA-F]*$/;
const B64URL_32_RE = /^[A-Za-z0-9_-]{43}$/;

/** Generate a new Ed25519 key pair with `node:crypto` (OS CSPRNG). */
export function generateKeyPair(): Ed25519KeyPair {
  const { privateKey, publicKey } = nodeCrypto.generateKeyPairSync('ed25519');
  return { privateKey, publicKey, keyId: keyId(publicKey) };
}

/**
 * Load an Ed25519 private key from PEM, JWK, hex, raw/DER bytes or a `KeyObject`
 * (see the module comment for the exact forms). Throws `VcpCryptoError` on
 * anything else: another key type (RSA, X25519, Ed448), a public key, a
 * truncated or odd-length hex string, a JWK whose `x` does not match its `d`.
 */
export function loadPrivateKey(input: PrivateKeyInput, options: LoadPrivateKeyOptions = {}): KeyObject {
  if (isKeyObject(input)) {
    if (input.type !== 'private') throw cryptoError(`expected a private key, got a ${input.type} key`);
    return requireEd25519(input, 'private');
  }
  if (typeof input === 'string') return privateFromText(input, options);
  if (input instanceof Uint8Array) return privateFromBytes(input, options);
  if (isPlainObject(input)) return privateFromJwk(input);
  throw cryptoError(`cannot load a private key from ${kind(input)}; expected PEM, JWK, hex or bytes`);
}

/**
 * Load an Ed25519 public key from PEM (SPKI), JWK, hex, raw/DER bytes or a
 * `KeyObject`. Refuses private keys (derive with `publicKeyOf` on purpose, so
 * private material is never handed around by mistake), other key types, and
 * weak keys (non-canonical or small-order points). Throws `VcpCryptoError`.
 */
export function loadPublicKey(input: PublicKeyInput): KeyObject {
  let key: KeyObject;
  if (isKeyObject(input)) {
    if (input.type !== 'public') {
      throw cryptoError(
        `expected a public key, got a ${input.type} key (use publicKeyOf() for a private key)`,
      );
    }
    key = requireEd25519(input, 'public');
  } else if (typeof input === 'string') {
    key = publicFromText(input);
  } else if (input instanceof Uint8Array) {
    key = publicFromBytes(input);
  } else if (isPlainObject(input)) {
    key = publicFromJwk(input);
  } else {
    throw cryptoError(`cannot load a public key from ${kind(input)}; expected PEM, JWK, hex or bytes`);
  }
  assertStrictPublicKey(key);
  return key;
}

/**
 * Build a public key from its raw 32 bytes (or 64 hex chars). Same strictness
 * as `loadPublicKey`. Throws `VcpCryptoError`.
 */
export function publicKeyFromRaw(raw: string | Uint8Array): KeyObject {
  let bytes: Uint8Array;
  if (typeof raw === 'string') {
    bytes = decodeHex(raw.trim(), 'public key');
  } else if (raw instanceof Uint8Array) {
    bytes = raw;
  } else {
    throw cryptoError(`cannot build a public key from ${kind(raw)}; expected 64 hex characters or 32 bytes`);
  }
  if (bytes.length !== 32) {
    throw cryptoError(`a raw Ed25519 public key is 32 bytes (64 hex characters), got ${bytes.length} bytes`);
  }
  assertStrictRaw(bytes);
  return rawPublic(bytes);
}

/** The public key of an Ed25519 private key (any `PrivateKeyInput`). */
export function publicKeyOf(privateKey: PrivateKeyInput): KeyObject {
  return nodeCrypto.createPublicKey(loadPrivateKey(privateKey));
}

/** The raw 32 bytes of an Ed25519 public key (any `PublicKeyInput`). */
export function publicKeyBytes(publicKey: PublicKeyInput): Buffer {
  const key = isKeyObject(publicKey) && publicKey.type === 'public' ? publicKey : loadPublicKey(publicKey);
  let raw = rawCache.get(key);
  if (raw === undefined) {
    requireEd25519(key, 'public');
    // JWK export is ~15× faster than DER export in Node 24 (no OpenSSL encoder lookup).
    raw = Buffer.from(key.export({ format: 'jwk' }).x as string, 'base64url');
    if (raw.length !== 32) throw cryptoError('public key export did not give 32 bytes');
    rawCache.set(key, raw);
  }
  return raw;
}
const rawCache = new WeakMap<KeyObject, Buffer>();

/**
 * The `signing_key_id` of a public key: lowercase hex of the first 16 bytes of
 * SHA-256(raw 32-byte public key), 32 characters. Stable across PEM, JWK and
 * hex forms of the same key.
 */
export function keyId(publicKey: PublicKeyInput): string {
  return nodeCrypto.hash('sha256', publicKeyBytes(publicKey), 'hex').slice(0, KEY_ID_HEX_LENGTH);
}

/** Export a public key as SPKI PEM text, a JWK `{kty, crv, x}` or 64 hex chars. */
export function exportPublicKey(publicKey: PublicKeyInput, format: 'pem' | 'hex'): string;
export function exportPublicKey(publicKey: PublicKeyInput, format: 'jwk'): Ed25519Jwk;
export function exportPublicKey(publicKey: PublicKeyInput, format: KeyExportFormat): string | Ed25519Jwk;
export function exportPublicKey(publicKey: PublicKeyInput, format: KeyExportFormat): string | Ed25519Jwk {
  const raw = publicKeyBytes(publicKey);
  if (format === 'hex') return raw.toString('hex');
  if (format === 'jwk') return { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') };
  if (format === 'pem') return rawPublic(raw).export({ format: 'pem', type: 'spki' }) as string;
  throw cryptoError(`unknown key export format ${kind(format)}; expected pem, jwk or hex`);
}

/**
 * Export a private key as PKCS#8 PEM text, a JWK `{kty, crv, d, x}` or the
 * 64-hex-char seed. The result is secret: store it with care, never log it.
 */
export function exportPrivateKey(privateKey: PrivateKeyInput, format: 'pem' | 'hex'): string;
export function exportPrivateKey(privateKey: PrivateKeyInput, format: 'jwk'): Ed25519Jwk;
export function exportPrivateKey(privateKey: PrivateKeyInput, format: KeyExportFormat): string | Ed25519Jwk;
export function exportPrivateKey(privateKey: PrivateKeyInput, format: KeyExportFormat): string | Ed25519Jwk {
  const key = loadPrivateKey(privateKey);
  if (format === 'pem') return key.export({ format: 'pem', type: 'pkcs8' }) as string;
  const jwk = key.export({ format: 'jwk' });
  if (format === 'hex') return Buffer.from(jwk.d as string, 'base64url').toString('hex');
  if (format === 'jwk') return { kty: 'OKP', crv: 'Ed25519', d: jwk.d as string, x: jwk.x as string };
  throw cryptoError(`unknown key export format ${kind(format)}; expected pem, jwk or hex`);
}

/**
 * Load a private key from a file holding PEM, JWK JSON, hex text, or raw/DER
 * bytes (the format is sniffed). A missing or unreadable file, or one larger
 * than `MAX_KEY_FILE_BYTES`, throws `VcpConfigError`; bad contents throw
 * `VcpCryptoError` naming the file (never its contents).
 */
export function loadPrivateKeyFile(path: string, options: LoadPrivateKeyOptions = {}): KeyObject {
  const bytes = readKeyFile(path);
  try {
    return loadPrivateKey(bytes, options);
  } catch (err) {
    throw rewrap(err, `key file ${path}`);
  } finally {
    bytes.fill(0);
  }
}

/** Load a public key from a file holding PEM, JWK JSON, hex text, or raw/DER bytes. Errors as `loadPrivateKeyFile`. */
export function loadPublicKeyFile(path: string): KeyObject {
  const bytes = readKeyFile(path);
  try {
    return loadPublicKey(bytes);
  } catch (err) {
    throw rewrap(err, `key file ${path}`);
  }
}

/**
 * Load a private key from the environment: `env[name]` holds the key itself
 * (PEM — literal `\n` escapes are accepted —, JWK JSON or hex), or, when it is
 * unset, `env[name + '_FILE']` holds a path to a key file (the Docker/Kubernetes
 * secrets convention). Neither set → `VcpConfigError` naming both variables.
 */
export function loadPrivateKeyFromEnv(
  name = 'VCP_SIGNING_KEY',
  env: Record<string, string | undefined> = process.env,
  options: LoadPrivateKeyOptions = {},
): KeyObject {
  const value = env[name];
  if (value !== undefined && value.trim() !== '') {
    const text = value.includes('-----BEGIN') ? value.replace(/\\n/g, '\n') : value;
    try {
      return loadPrivateKey(text, options);
    } catch (err) {
      throw rewrap(err, `environment variable ${name}`);
    }
  }
  const file = env[`${name}_FILE`];
  if (file !== undefined && file.trim() !== '') return loadPrivateKeyFile(file.trim(), options);
  throw new VcpConfigError(
    `no signing key: set ${name} (PEM, JWK or hex) or ${name}_FILE (a path to a key file)`,
  );
}

/**
 * `true` when `raw` is a 32-byte public key encoding that strict verification
 * accepts: canonical (y < p) and not one of the 8 small-order points (in any
 * sign-bit variant). Used for public keys and for the `R` half of signatures.
 */
export function isStrictPoint(raw: Uint8Array): boolean {
  if (raw.length !== 32) return false;
  return !isNonCanonicalY(raw) && !isSmallOrder(raw);
}

// ---------------------------------------------------------------------------
// internals

/** y (the low 255 bits, little-endian) ≥ p = 2^255 − 19. */
function isNonCanonicalY(b: Uint8Array): boolean {
  if ((b[31]! & 0x7f) !== 0x7f) return false;
  for (let i = 30; i >= 1; i--) if (b[i] !== 0xff) return false;
  return b[0]! >= 0xed;
}

// The y-coordinates of the 8 small-order points of edwards25519 (canonical
// encodings, sign bit clear): identity y=1, order 2 y=p−1, order 4 y=0, and the
// two order-8 y values. The sign bit is ignored when comparing, as libsodium
// does; y ≥ p variants are caught by the canonical check.
const SMALL_ORDER_Y = [
  '0100000000000000000000000000000000000000000000000000000000000000',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '0000000000000000000000000000000000000000000000000000000000000000',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
].map((h) => Buffer.from(h, 'hex'));

function isSmallOrder(b: Uint8Array): boolean {
  for (const y of SMALL_ORDER_Y) {
    let diff = (b[31]! & 0x7f) ^ y[31]!;
    for (let i = 0; i < 31 && diff === 0; i++) diff |= b[i]! ^ y[i]!;
    if (diff === 0) return true;
  }
  return false;
}

function assertStrictPublicKey(key: KeyObject): void {
  assertStrictRaw(publicKeyBytes(key));
}

function assertStrictRaw(raw: Uint8Array): void {
  if (isNonCanonicalY(raw)) throw cryptoError('public key is not canonically encoded (y ≥ p) and is refused');
  if (isSmallOrder(raw)) {
    throw cryptoError('public key is a small-order point (a weak key anyone can forge for) and is refused');
  }
}

/** A public KeyObject from 32 raw bytes, unchecked (callers check strictness). */
function rawPublic(raw: Uint8Array): KeyObject {
  // A PEM string is the fastest import Node offers (~8 µs against ~30 µs for DER or JWK
  // on Node 24): OpenSSL is told the type by the label instead of trying every decoder.
  const pem = `-----BEGIN PUBLIC KEY-----\n${Buffer.concat([SPKI_PREFIX, raw]).toString('base64')}\n-----END PUBLIC KEY-----\n`;
  try {
    return nodeCrypto.createPublicKey(pem);
  } catch (err) {
    throw cryptoError('public key bytes are not a valid Ed25519 point', err);
  }
}

function seedToPrivate(seed: Uint8Array): KeyObject {
  const der = Buffer.concat([PKCS8_PREFIX, seed]);
  try {
    return nodeCrypto.createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } finally {
    der.fill(0);
  }
}

/** A 64-byte secret key is seed ‖ public key; the second half must match the first. */
function seedAndPublicToPrivate(bytes: Uint8Array): KeyObject {
  const key = seedToPrivate(bytes.subarray(0, 32));
  const derived = publicKeyBytes(nodeCrypto.createPublicKey(key));
  if (!nodeCrypto.timingSafeEqual(derived, bytes.subarray(32, 64))) {
    throw cryptoError('64-byte secret key: the public half does not match the seed half');
  }
  return key;
}

function privateFromText(text: string, options: LoadPrivateKeyOptions): KeyObject {
  const t = text.trim();
  if (t === '') throw cryptoError('private key is empty');
  if (t.startsWith('-----BEGIN')) return privateFromPem(t, options);
  if (t.startsWith('{')) return privateFromJwk(parseJson(t));
  if (HEX_RE.test(t)) {
    const bytes = decodeHex(t, 'private key', [64, 128]);
    try {
      return bytes.length === 32 ? seedToPrivate(bytes) : seedAndPublicToPrivate(bytes);
    } finally {
      bytes.fill(0);
    }
  }
  throw cryptoError(
    'unrecognised private key format; expected PKCS#8 PEM, JWK JSON, or 64 hex characters (32-byte seed)',
  );
}

function privateFromPem(pem: string, options: LoadPrivateKeyOptions): KeyObject {
  const label = /^-----BEGIN ([A-Z0-9 ]+)-----/.exec(pem)?.[1] ?? '';
  if (label === 'PUBLIC KEY') throw cryptoError('this PEM is a public key; a private key is needed');
  if (label === 'ENCRYPTED PRIVATE KEY' && options.passphrase === undefined) {
    throw cryptoError('this PEM private key is encrypted; pass the passphrase');
  }
  if (label !== 'PRIVATE KEY' && label !== 'ENCRYPTED PRIVATE KEY') {
    throw cryptoError(
      `unsupported PEM type ${label ? `"${label.slice(0, 40)}"` : '(none)'}; expected "PRIVATE KEY" (PKCS#8)`,
    );
  }
  let key: KeyObject;
  try {
    key = nodeCrypto.createPrivateKey(
      options.passphrase === undefined
        ? { key: pem, format: 'pem' }
        : { key: pem, format: 'pem', passphrase: options.passphrase },
    );
  } catch (err) {
    throw cryptoError('PEM private key could not be parsed (corrupt, truncated, or wrong passphrase)', err);
  }
  return requireEd25519(key, 'private');
}

function privateFromBytes(bytes: Uint8Array, options: LoadPrivateKeyOptions): KeyObject {
  const text = asText(bytes);
  if (text !== undefined) return privateFromText(text, options);
  if (bytes.length === 32) return seedToPrivate(bytes);
  if (bytes.length === 64) return seedAndPublicToPrivate(bytes);
  if (isDerSequence(bytes)) {
    let key: KeyObject;
    try {
      key = nodeCrypto.createPrivateKey({ key: Buffer.from(bytes), format: 'der', type: 'pkcs8' });
    } catch (err) {
      throw cryptoError('DER private key could not be parsed as PKCS#8', err);
    }
    return requireEd25519(key, 'private');
  }
  throw cryptoError(
    `unrecognised private key bytes (${bytes.length} bytes); expected a 32-byte seed, DER PKCS#8, PEM, JWK or hex text`,
  );
}

function privateFromJwk(jwk: Record<string, unknown>): KeyObject {
  checkJwkHeader(jwk);
  if (jwk.d === undefined) throw cryptoError('this JWK is a public key (no "d"); a private key is needed');
  if (typeof jwk.d !== 'string' || !B64URL_32_RE.test(jwk.d)) {
    throw cryptoError('JWK "d" must be 43 base64url characters (a 32-byte seed)');
  }
  const seed = Buffer.from(jwk.d, 'base64url');
  try {
    const key = seedToPrivate(seed);
    if (jwk.x !== undefined) {
      const x = jwkX(jwk);
      if (!publicKeyBytes(nodeCrypto.createPublicKey(key)).equals(x)) {
        throw cryptoError('JWK "x" does not match the public key derived from "d"');
      }
    }
    return key;
  } finally {
    seed.fill(0);
  }
}

function publicFromText(text: string): KeyObject {
  const t = text.trim();
  if (t === '') throw cryptoError('public key is empty');
  if (t.startsWith('-----BEGIN')) {
    const label = /^-----BEGIN ([A-Z0-9 ]+)-----/.exec(t)?.[1] ?? '';
    if (label.includes('PRIVATE KEY')) {
      throw cryptoError('this PEM is a private key; give the public key (SPKI "BEGIN PUBLIC KEY")');
    }
    if (label !== 'PUBLIC KEY') {
      throw cryptoError(
        `unsupported PEM type ${label ? `"${label.slice(0, 40)}"` : '(none)'}; expected "PUBLIC KEY" (SPKI)`,
      );
    }
    let key: KeyObject;
    try {
      key = nodeCrypto.createPublicKey({ key: t, format: 'pem' });
    } catch (err) {
      throw cryptoError('PEM public key could not be parsed (corrupt or truncated)', err);
    }
    return requireEd25519(key, 'public');
  }
  if (t.startsWith('{')) return publicFromJwk(parseJson(t));
  if (HEX_RE.test(t)) return rawPublic(decodeHex(t, 'public key', [64]));
  throw cryptoError('unrecognised public key format; expected SPKI PEM, JWK JSON, or 64 hex characters');
}

function publicFromBytes(bytes: Uint8Array): KeyObject {
  const text = asText(bytes);
  if (text !== undefined) return publicFromText(text);
  if (bytes.length === 32) return rawPublic(bytes);
  if (isDerSequence(bytes)) {
    let key: KeyObject;
    try {
      key = nodeCrypto.createPublicKey({ key: Buffer.from(bytes), format: 'der', type: 'spki' });
    } catch (err) {
      throw cryptoError('DER public key could not be parsed as SPKI', err);
    }
    return requireEd25519(key, 'public');
  }
  throw cryptoError(
    `unrecognised public key bytes (${bytes.length} bytes); expected 32 raw bytes, DER SPKI, PEM, JWK or hex text`,
  );
}

function publicFromJwk(jwk: Record<string, unknown>): KeyObject {
  checkJwkHeader(jwk);
  if (jwk.d !== undefined) {
    throw cryptoError('this JWK contains a private part ("d"); give the public key only ({kty, crv, x})');
  }
  if (jwk.x === undefined) throw cryptoError('JWK has no "x" (the public key)');
  return rawPublic(jwkX(jwk));
}

function jwkX(jwk: Record<string, unknown>): Buffer {
  if (typeof jwk.x !== 'string' || !B64URL_32_RE.test(jwk.x)) {
    throw cryptoError('JWK "x" must be 43 base64url characters (a 32-byte public key)');
  }
  return Buffer.from(jwk.x, 'base64url');
}

function checkJwkHeader(jwk: Record<string, unknown>): void {
  if (jwk.kty !== 'OKP') throw cryptoError(`JWK "kty" must be "OKP" for Ed25519, got ${kind(jwk.kty)}`);
  if (jwk.crv !== 'Ed25519') throw cryptoError(`JWK "crv" must be "Ed25519", got ${kind(jwk.crv)}`);
}

function requireEd25519(key: KeyObject, type: 'private' | 'public'): KeyObject {
  if (key.asymmetricKeyType !== 'ed25519') {
    throw cryptoError(`expected an Ed25519 ${type} key, got ${key.asymmetricKeyType ?? 'a secret'} key`);
  }
  return key;
}

/**
 * Decode a hex string whose length must be one of `lengths` (in hex chars).
 * Errors give lengths only, never characters.
 */
function decodeHex(hex: string, what: string, lengths: number[] = [64]): Buffer {
  if (!HEX_RE.test(hex)) throw cryptoError(`${what} hex contains non-hex characters`);
  if (!lengths.includes(hex.length)) {
    const want = lengths.map((n) => `${n}`).join(' or ');
    throw cryptoError(`${what} hex must be ${want} characters, got ${hex.length}`);
  }
  return Buffer.from(hex, 'hex');
}

/** Bytes that are clearly text (PEM, JSON or hex), decoded; otherwise undefined. */
function asText(bytes: Uint8Array): string | undefined {
  let i = 0;
  while (i < bytes.length && isSpace(bytes[i]!)) i++;
  const first = bytes[i];
  if (first === undefined) return ''; // empty or whitespace only: reported as "empty"
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  // A leading '-' or '{' alone is not enough: 2 random seeds in 256 start with one. PEM and JWK are UTF-8
  // text without control characters, which a random 32-byte seed is with probability ~(95/256)^31 ≈ 1e-13.
  if (first === 0x2d /* - */ || first === 0x7b /* { */) return isPlainText(bytes) ? text : undefined;
  // Hex text: every non-space byte a hex digit. A random 32-byte seed passes with
  // probability (22/256)^32 ≈ 1e-34.
  return HEX_RE.test(text.trim()) ? text : undefined;
}

function isSpace(b: number): boolean {
  return b === 0x20 || (b >= 0x09 && b <= 0x0d);
}

/**
 * Whether `bytes` are one DER SEQUENCE whose length field covers exactly the rest: what a PKCS#8 or SPKI key file
 * holds. A first byte of 0x30 alone is not enough: 1 random raw key in 256 starts with it, and a truncated seed
 * must be named as such, not as a DER key that failed to parse.
 */
function isDerSequence(bytes: Uint8Array): boolean {
  if (bytes.length < 2 || bytes[0] !== 0x30) return false;
  const first = bytes[1]!;
  if (first < 0x80) return first === bytes.length - 2;
  const n = first & 0x7f; // long form: the number of length bytes that follow
  if (n < 1 || n > 2 || bytes.length < 2 + n) return false;
  let length = 0;
  for (let i = 0; i < n; i++) length = length * 256 + bytes[2 + i]!;
  return length === bytes.length - 2 - n;
}

/** Valid UTF-8 with no control characters but whitespace. */
function isPlainText(bytes: Uint8Array): boolean {
  for (const b of bytes) if ((b < 0x20 && !isSpace(b)) || b === 0x7f) return false;
  return isUtf8(bytes);
}

function parseJson(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // JSON.parse messages quote the input: never pass them on.
    throw cryptoError('key text starts with "{" but is not valid JSON (expected a JWK)');
  }
  if (!isPlainObject(value)) throw cryptoError('JWK must be a JSON object');
  return value;
}

function readKeyFile(path: string): Buffer {
  if (typeof path !== 'string' || path === '')
    throw new VcpConfigError('key file path must be a non-empty string');
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch (err) {
    throw new VcpConfigError(
      `cannot open key file ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
      {
        cause: err,
      },
    );
  }
  try {
    // Read at most MAX+1 bytes, whatever fstat says (devices and pipes report 0).
    const buf = Buffer.alloc(MAX_KEY_FILE_BYTES + 1);
    let n = 0;
    for (;;) {
      const got = fs.readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
      if (n === buf.length) {
        buf.fill(0);
        throw new VcpConfigError(`key file ${path} is larger than ${MAX_KEY_FILE_BYTES} bytes: not a key`);
      }
    }
    const out = Buffer.from(buf.subarray(0, n));
    buf.fill(0);
    return out;
  } catch (err) {
    if (err instanceof VcpConfigError) throw err;
    throw new VcpConfigError(
      `cannot read key file ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
      {
        cause: err,
      },
    );
  } finally {
    fs.closeSync(fd);
  }
}

function rewrap(err: unknown, where: string): unknown {
  if (err instanceof VcpCryptoError)
    return new VcpCryptoError(`${where}: ${err.message}`, { cause: err.cause });
  return err;
}

function isKeyObject(value: unknown): value is KeyObject {
  return value instanceof nodeCrypto.KeyObject;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)
  );
}

/** Describe a value's kind without echoing its content (it may be a secret). */
function kind(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string')
    return value.length <= 16 && /^[\w.-]*$/.test(value) ? `"${value}"` : 'a string';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

function cryptoError(message: string, cause?: unknown): VcpCryptoError {
  return new VcpCryptoError(message, cause === undefined ? undefined : { cause });
}
