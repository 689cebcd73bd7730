/**
 * EventHash (spec v1.1 §6.1, DESIGN decision 2):
 *
 *   event_hash = hex( H( JCS(header) ‖ JCS(payload) [‖ prev_hash] ) )
 *
 * `prev_hash` (its hex text) is appended only when chaining and it is not the
 * genesis value `"0"×64`. `security` and `policy_identification` are not
 * hashed. The verifier can also recompute the variants other producers use,
 * selected by name (see {@link HashVariant}).
 */
import type { HashAlgo } from '../core/enums.ts';
import { VcpValidationError } from '../core/errors.ts';
import { isLowerHex64 } from '../core/hex.ts';
import { canonicalize } from './canonical.ts';
import { digest, digestHex } from './digest.ts';

/** The genesis `prev_hash`: 64 zeros. */
export const GENESIS_HASH = '0'.repeat(64);

/** Options of {@link computeEventHash}. */
export interface EventHashOptions {
  /** Hash algorithm (default `SHA256`). */
  algo?: HashAlgo;
  /** The previous event's hash when chaining (64 lowercase hex); the genesis value adds nothing. */
  prevHash?: string;
}

/** The hashed parts of an event. */
export interface HashableEvent {
  header: unknown;
  payload: unknown;
}

/**
 * Compute the v1.1 EventHash of `{ header, payload }`; lowercase hex.
 * Throws `VcpCanonicalizationError` if header or payload cannot be
 * canonicalised, `VcpValidationError` for a malformed `prevHash` or algorithm.
 */
export function computeEventHash(event: HashableEvent, options: EventHashOptions = {}): string {
  if (event === null || typeof event !== 'object') {
    throw new VcpValidationError({
      path: '',
      rule: 'object',
      message: 'computeEventHash needs { header, payload }',
    });
  }
  return eventHashOfCanonical(canonicalize(event.header), canonicalize(event.payload), options);
}

/**
 * The EventHash of a header and payload already in RFC 8785 form (`JCS(header)`, `JCS(payload)`),
 * for callers that need those texts as well as the hash. Same checks and result as
 * {@link computeEventHash} over the objects they came from.
 */
export function eventHashOfCanonical(
  headerJcs: string,
  payloadJcs: string,
  options: EventHashOptions = {},
): string {
  const algo = options.algo ?? 'SHA256';
  let input = headerJcs + payloadJcs;
  const prev = options.prevHash;
  if (prev !== undefined) {
    if (!isLowerHex64(prev)) {
      throw new VcpValidationError({
        path: 'prevHash',
        rule: 'hex32',
        message: 'prevHash must be 64 lowercase hex characters',
      });
    }
    if (prev !== GENESIS_HASH) input += prev;
  }
  return digestHex(algo, input);
}

/**
 * Hashing conventions in circulation, for the verifier:
 * - `vcp-1.1` — this package and spec v1.1 §6.1 (the default);
 * - `vcp-1.0-sdk` — the v1.0 SDK spec §3.5.2 and the VCP Conformance Test Guide v1.0, Test HCH-003:
 *   H(algo byte ‖ JCS(header) ‖ JCS(payload) ‖ prev_hash), the algo byte being 0x00 SHA256,
 *   0x01 SHA3_256, 0x02 BLAKE3 (see {@link computeEventHashVariant} for prev_hash);
 * - `guide-sidecar` — the integration guide's sidecar: SHA-256 of Python
 *   `json.dumps({"header":…, "payload":…}, sort_keys=True, separators=(',', ':'))`.
 */
export const HASH_VARIANTS = ['vcp-1.1', 'vcp-1.0-sdk', 'guide-sidecar'] as const;
/** One of {@link HASH_VARIANTS}. */
export type HashVariant = (typeof HASH_VARIANTS)[number];

const ALGO_BYTE: Record<HashAlgo, number> = { SHA256: 0x00, SHA3_256: 0x01, BLAKE3: 0x02 };

/**
 * Recompute an event hash under a named convention (see {@link HASH_VARIANTS}).
 *
 * `vcp-1.0-sdk` and `prev_hash`: the text of `options.prevHash` is appended exactly as given,
 * the genesis value `"0"×64` included (unlike `vcp-1.1`, which drops it), and nothing is
 * appended when it is absent (an unchained event). This is what the guide's HCH-003 computes:
 * `calculate_expected_hash(header, payload, security.get('prev_hash', ''), algo)` appends the
 * event's own `security.prev_hash`, defaulting to the empty string; HCH-001 and every genesis
 * example of the guide (VCP_EXAMPLE_PAYLOADS §2–§8, Appendix A.3) carry `"0"×64` explicitly, so a
 * genesis event hashes with 64 zeros appended and only an event without the field hashes without.
 * Vectors: test/conformance/fixtures/guide-v1.0 (the guide's own Python run over its examples).
 */
export function computeEventHashVariant(
  variant: HashVariant,
  event: HashableEvent,
  options: EventHashOptions = {},
): string {
  switch (variant) {
    case 'vcp-1.1':
      return computeEventHash(event, options);
    case 'vcp-1.0-sdk': {
      const algo = options.algo ?? 'SHA256';
      const prev = options.prevHash;
      if (prev !== undefined && !isLowerHex64(prev)) {
        throw new VcpValidationError({
          path: 'prevHash',
          rule: 'hex32',
          message: 'prevHash must be 64 lowercase hex characters',
        });
      }
      // Absent: an unchained event, nothing appended (HCH-003's `security.get('prev_hash', '')`).
      const text = canonicalize(event.header) + canonicalize(event.payload) + (prev ?? '');
      const body = Buffer.from(text, 'utf8');
      const input = Buffer.allocUnsafe(body.length + 1);
      input[0] = ALGO_BYTE[algo];
      body.copy(input, 1);
      return digest(algo, input).toString('hex');
    }
    case 'guide-sidecar':
      return digestHex('SHA256', pythonJsonDumpsSorted({ header: event.header, payload: event.payload }));
    default:
      throw new VcpValidationError({
        path: 'variant',
        rule: 'hash-variant',
        message: `unknown hash variant "${String(variant)}"; use one of ${HASH_VARIANTS.join(', ')}`,
      });
  }
}

/**
 * Python's `json.dumps(v, sort_keys=True, separators=(',', ':'))`:
 * keys sorted by code point, `ensure_ascii` escaping (`\uXXXX` for every
 * non-ASCII UTF-16 unit), Python's float repr. Integral floats cannot be told
 * from ints once parsed by JavaScript, so they are written as ints.
 */
export function pythonJsonDumpsSorted(value: unknown, depth = 0): string {
  if (depth > 1000)
    throw new VcpValidationError({ path: '', rule: 'depth', message: 'value nested too deeply' });
  if (value === null) return 'null';
  if (value === true) return 'true';
  if (value === false) return 'false';
  if (typeof value === 'number') return pythonFloat(value);
  if (typeof value === 'string') return pythonString(value);
  if (Array.isArray(value)) return `[${value.map((v) => pythonJsonDumpsSorted(v, depth + 1)).join(',')}]`;
  if (typeof value === 'object') {
    const keys = Object.keys(value).sort(compareCodePoints);
    const obj = value as Record<string, unknown>;
    return `{${keys.map((k) => `${pythonString(k)}:${pythonJsonDumpsSorted(obj[k], depth + 1)}`).join(',')}}`;
  }
  throw new VcpValidationError({ path: '', rule: 'json', message: `cannot serialise a ${typeof value}` });
}

function compareCodePoints(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done || y.done) return x.done === y.done ? 0 : x.done ? -1 : 1;
    const d = x.value.codePointAt(0)! - y.value.codePointAt(0)!;
    if (d !== 0) return d;
  }
}

function pythonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x08) out += '\\b';
    else if (c === 0x0c) out += '\\f';
    else if (c < 0x20 || c > 0x7e) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += s[i];
  }
  return `${out}"`;
}

function pythonFloat(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Number.POSITIVE_INFINITY) return 'Infinity';
  if (n === Number.NEGATIVE_INFINITY) return '-Infinity';
  if (Number.isInteger(n) && Math.abs(n) < 1e16) return Object.is(n, -0) ? '0' : String(n);
  // Python repr: shortest round-trip digits; exponent form below 1e-4 and from 1e16, as e-05 / e+16.
  const abs = Math.abs(n);
  if (abs >= 1e-4 && abs < 1e16) return String(n);
  const [mant = '', exp = '0'] = n.toExponential().split('e');
  const e = Number(exp);
  return `${mant}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
}
