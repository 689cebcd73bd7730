/**
 * The Ed25519 public key the browser pins: read from hex, base64, an SPKI
 * PEM or a JWK (what `vcp keygen` and the sidecar's signing.pub hold), with
 * its key id (the first 32 hex of SHA-256 of the raw key, as src/integrity/keys.ts).
 */
import { fromBase64, fromHex, sha256, toHex } from './bytes.ts';
import { isCanonicalS, isStrictPoint } from './ed25519-strict.ts';

/** A pinned key. */
export interface PinnedKey {
  /** The 32 raw bytes. */
  raw: Uint8Array;
  /** Key id (fingerprint) as the rest of the package prints it. */
  keyId: string;
}

// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): SEQUENCE { SEQUENCE { OID 1.3.101.112 }, BIT STRING }.
const SPKI_PREFIX = '302a300506032b6570032100';

/** Parse a public key text; throws an Error saying which forms are accepted. */
export async function parsePublicKey(text: string): Promise<PinnedKey> {
  const t = text.trim();
  let raw: Uint8Array | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(t)) raw = fromHex(t);
  else if (t.startsWith('-----BEGIN PUBLIC KEY-----')) {
    const body = t.replace(/-----(BEGIN|END) PUBLIC KEY-----/g, '').replace(/\s+/g, '');
    const der = fromBase64(body);
    if (der && der.length === 44 && toHex(der.subarray(0, 12)) === SPKI_PREFIX) raw = der.subarray(12);
  } else if (t.startsWith('{')) {
    try {
      const jwk = JSON.parse(t) as { kty?: unknown; crv?: unknown; x?: unknown };
      if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519' && typeof jwk.x === 'string') {
        const b64 = jwk.x.replace(/-/g, '+').replace(/_/g, '/');
        raw = fromBase64(b64.padEnd(Math.ceil(b64.length / 4) * 4, '='));
      }
    } catch {
      raw = undefined;
    }
  } else raw = fromBase64(t);
  if (raw?.length !== 32)
    throw new Error(
      'not an Ed25519 public key: paste 64 hex characters, the base64 of 32 bytes, a PEM "PUBLIC KEY" or a JWK',
    );
  if (!isStrictPoint(raw))
    throw new Error('this public key is a weak (small-order or non-canonical) point and is refused');
  return { raw, keyId: toHex(await sha256(raw)).slice(0, 32) };
}

/** Verify an Ed25519 signature with WebCrypto (`false` for anything malformed or unsupported). */
export async function verifyEd25519(
  raw: Uint8Array,
  signature: Uint8Array,
  message: Uint8Array,
): Promise<boolean> {
  if (raw.length !== 32 || signature.length !== 64) return false;
  // WebCrypto's own rules are laxer than RFC 8032 strict verification (see ed25519-strict.ts).
  if (!isStrictPoint(raw) || !isStrictPoint(signature.subarray(0, 32)) || !isCanonicalS(signature))
    return false;
  try {
    const key = await crypto.subtle.importKey(
      'raw',
      raw as Uint8Array<ArrayBuffer>,
      { name: 'Ed25519' },
      false,
      ['verify'],
    );
    return await crypto.subtle.verify(
      { name: 'Ed25519' },
      key,
      signature as Uint8Array<ArrayBuffer>,
      message as Uint8Array<ArrayBuffer>,
    );
  } catch {
    return false;
  }
}
