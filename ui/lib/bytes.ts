/**
 * Byte helpers for the browser code (no Buffer there): hex, base64, UTF-8,
 * concatenation. Every decoder returns `undefined` for malformed input.
 */

const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;
const B64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

/** Lowercase hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

/** Bytes of a hex string (either case); `undefined` when it is not hex. */
export function fromHex(hex: unknown): Uint8Array | undefined {
  if (typeof hex !== 'string' || !HEX_RE.test(hex)) return undefined;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Bytes of canonical base64; `undefined` for anything else (as the Node side refuses it). */
export function fromBase64(b64: unknown): Uint8Array | undefined {
  if (typeof b64 !== 'string' || b64.length % 4 !== 0 || !B64_RE.test(b64)) return undefined;
  let bin: string;
  try {
    bin = atob(b64);
  } catch {
    return undefined;
  }
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return toBase64(out) === b64 ? out : undefined;
}

/** Base64 of bytes. */
export function toBase64(bytes: Uint8Array): string {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

/** UTF-8 bytes of a string. */
export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** Concatenate byte arrays. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** SHA-256 with WebCrypto (`crypto.subtle`: secure contexts only — https or localhost). */
export async function sha256(data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>));
}
