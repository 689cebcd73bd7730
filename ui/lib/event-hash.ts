/**
 * The v1.1 EventHash recomputed in the browser (spec §6.1, DESIGN decision 2):
 * hex(SHA-256(JCS(header) ‖ JCS(payload) [‖ prev_hash])), prev_hash appended
 * unless it is the genesis value. WebCrypto has no SHA3-256 or BLAKE3: events
 * hashed with those are reported as not checkable here.
 */
import { sha256, toHex, utf8 } from './bytes.ts';
import { canonicalize } from './jcs.ts';

const GENESIS = '0'.repeat(64);
const HEX64 = /^[0-9a-f]{64}$/;

/** Recompute; `{ error }` when the event cannot be hashed here. */
export async function recomputeEventHash(event: {
  header?: unknown;
  payload?: unknown;
  security?: Record<string, unknown>;
}): Promise<{ hash: string } | { error: string }> {
  const sec = event.security ?? {};
  const header = (event.header ?? {}) as Record<string, unknown>;
  const algo = sec.hash_algo ?? header.hash_algo ?? 'SHA256';
  if (algo !== 'SHA256')
    return { error: `hash_algo ${String(algo)} cannot be checked in the browser (SHA256 only)` };
  let text: string;
  try {
    text = canonicalize(event.header) + canonicalize(event.payload);
  } catch (e) {
    return { error: `cannot canonicalise: ${(e as Error).message}` };
  }
  const prev = sec.prev_hash;
  if (typeof prev === 'string' && HEX64.test(prev) && prev !== GENESIS) text += prev;
  return { hash: toHex(await sha256(utf8(text))) };
}
