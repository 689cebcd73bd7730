/**
 * The strict RFC 8032 rules `vcp verify` applies (src/integrity/sign.ts,
 * keys.ts) and browsers' WebCrypto does not all apply: S < L, and neither the
 * public key nor R is a non-canonical or small-order point (as libsodium).
 * Chromium's WebCrypto accepts small-order keys and R (eprint 2020/1244
 * cases 0–2, 11); without these checks the console would call "verified"
 * what `vcp verify` refuses. Pure byte comparisons.
 */

// L = 2^252 + 27742317777372353535851937790883648493, little-endian.
const L_LE = hex('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010');
// y of the small-order points (sign bit clear): identity, order 2, order 4, the two of order 8.
const SMALL_ORDER_Y = [
  '0100000000000000000000000000000000000000000000000000000000000000',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '0000000000000000000000000000000000000000000000000000000000000000',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
].map(hex);

function hex(h: string): Uint8Array {
  return new Uint8Array((h.match(/../g) ?? []).map((b) => Number.parseInt(b, 16)));
}

/** S (second half of the signature, little-endian) < L. */
export function isCanonicalS(sig: Uint8Array): boolean {
  if (sig.length !== 64) return false;
  for (let i = 31; i >= 0; i--) {
    const s = sig[32 + i]!;
    const l = L_LE[i]!;
    if (s < l) return true;
    if (s > l) return false;
  }
  return false;
}

/** A 32-byte point encoding with y < p that is not one of the 8 small-order points (any sign bit). */
export function isStrictPoint(b: Uint8Array): boolean {
  if (b.length !== 32) return false;
  let high = (b[31]! & 0x7f) === 0x7f && b[0]! >= 0xed;
  for (let i = 1; i <= 30 && high; i++) if (b[i] !== 0xff) high = false;
  if (high) return false; // y ≥ p
  for (const y of SMALL_ORDER_Y) {
    let diff = (b[31]! & 0x7f) ^ y[31]!;
    for (let i = 0; i < 31 && diff === 0; i++) diff |= b[i]! ^ y[i]!;
    if (diff === 0) return false;
  }
  return true;
}
