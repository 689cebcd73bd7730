/**
 * The check every hash field gets: 64 lowercase hex digits (SHA-256 and the
 * other 256-bit digests as written on the wire). A table walk, ~2.5× faster
 * than `/^[0-9a-f]{64}$/.test` here, and it runs several times per event in
 * the sidecar and the verifier.
 */

const LOWER_HEX = new Uint8Array(128);
for (const c of '0123456789abcdef') LOWER_HEX[c.charCodeAt(0)] = 1;

/** `true` when `value` is a string of exactly 64 lowercase hex digits (no coercion of other types). */
export function isLowerHex64(value: unknown): value is string {
  if (typeof value !== 'string' || value.length !== 64) return false;
  for (let i = 0; i < 64; i++) {
    const c = value.charCodeAt(i);
    if (c > 127 || LOWER_HEX[c] === 0) return false;
  }
  return true;
}
