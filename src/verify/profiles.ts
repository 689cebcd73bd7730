/**
 * Hashing and field conventions of the VCP producers in circulation, in one
 * place. A profile says where an event keeps its hash, previous hash and
 * signature, how the hash is recomputed, which Merkle tree shape its
 * producer builds, and whether it is weaker than RFC 8785.
 *
 * | profile | producer | hash input |
 * |---|---|---|
 * | `vcp-1.1` | this package, spec v1.1 §6.1 | JCS(header) ‖ JCS(payload) [‖ prev_hash] |
 * | `vcp-1.0-sdk` | v1.0 SDK spec §3.5.2 | algo byte ‖ JCS(header) ‖ JCS(payload) ‖ prev_hash |
 * | `guide-sidecar` | the integration guide's Python sidecar | json.dumps({header, payload}, sort_keys, compact) |
 * | `rta-python` | veritaschain/vcp-rta-reference | json.dumps(Header, sort_keys) + json.dumps(Payload, sort_keys), default separators |
 * | `ctrader-header-hash` | veritaschain/vcp-ctrader-rta-reference | compact json.dumps of Header without EventHash + the rest of the event |
 * | `nasdaq-whole-event` | veritaschain/vcp-nasdaq-rta-reference (and IBKR) | compact json.dumps of the whole event without Signature and Header.EventHash |
 */
import { createHash } from 'node:crypto';
import { HASH_ALGOS, type HashAlgo, type MerkleMode } from '../core/enums.ts';
import { isLowerHex64 } from '../core/hex.ts';
import { computeEventHashVariant, eventHashOfCanonical, type HashVariant } from '../integrity/event-hash.ts';
import type { EventView } from '../integrity/normalize.ts';
import { pythonDumps } from '../integrity/python-json.ts';

/** What an event claims about itself, wherever its producer put it. */
export interface EventFacts {
  claimedHash: unknown;
  prevHash: unknown;
  /** Signature text as written (`undefined`: unsigned). */
  signature: unknown;
  keyId: string | undefined;
  /** Tree position and anchor fields (`merkle_index`, `partition`, `anchor_reference`, `merkle_root`). */
  placement: Record<string, unknown>;
}

/** One convention. */
export interface Profile {
  name: string;
  /** Who produces it. */
  producer: string;
  /** Why it is weaker than RFC 8785, when it is. */
  weaker?: string;
  form: 'snake_case' | 'PascalCase';
  /** The tree shape its producer builds. */
  merkleMode: MerkleMode;
  /** Numbers must keep their source text (the hash is over Python's re-serialisation). */
  lossless: boolean;
  facts(view: EventView, raw: Record<string, unknown>): EventFacts;
  /**
   * The hash of `raw` (parsed losslessly when `lossless`) under this convention. `canonical`: the line's
   * `header` and `payload` texts when they already are their RFC 8785 form (the same text
   * `canonicalize` would write for `view.rawHeader` and `view.rawPayload`).
   */
  recompute(
    view: EventView,
    raw: Record<string, unknown>,
    facts: EventFacts,
    canonical?: readonly [string, string],
  ): string;
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
const obj = (v: unknown): Record<string, unknown> =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
const without = (o: Record<string, unknown>, ...keys: string[]) =>
  Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k)));

/** Facts of events that keep them in `security` / `Security` (this package, the v1.0 SDK, RTA). */
function securityFacts(view: EventView): EventFacts {
  const sec = view.security ?? {};
  return {
    claimedHash: sec.event_hash,
    prevHash: sec.prev_hash,
    signature: sec.signature,
    keyId: typeof sec.signing_key_id === 'string' ? sec.signing_key_id : undefined,
    placement: sec,
  };
}

/** Facts of events that keep the hashes in `Header` and the signature at the top (cTrader, Nasdaq, IBKR). */
function headerFacts(_view: EventView, raw: Record<string, unknown>): EventFacts {
  const h = obj(raw.Header);
  const sig = raw.Signature;
  const s = obj(sig);
  return {
    claimedHash: h.EventHash,
    prevHash: h.PrevHash === null ? undefined : h.PrevHash,
    signature:
      sig === undefined || sig === null || (typeof sig === 'object' && !('Value' in s))
        ? undefined
        : typeof sig === 'string'
          ? sig
          : s.Value,
    keyId: typeof s.KeyID === 'string' ? s.KeyID : undefined,
    placement: {},
  };
}

function variantProfile(name: HashVariant, producer: string, weaker?: string): Profile {
  return {
    name,
    producer,
    ...(weaker ? { weaker } : {}),
    form: 'snake_case',
    merkleMode: 'rfc6962',
    lossless: false,
    facts: securityFacts,
    recompute(view, _raw, facts, canonical) {
      const sec = view.security ?? {};
      const declared = HASH_ALGOS.includes(sec.hash_algo as HashAlgo) ? sec.hash_algo : view.header.hash_algo;
      const algo: HashAlgo = HASH_ALGOS.includes(declared as HashAlgo) ? (declared as HashAlgo) : 'SHA256';
      const prev = isLowerHex64(facts.prevHash) ? facts.prevHash : undefined;
      // RFC 8785 over the texts as found: what canonicalize would write for these very objects.
      if (name === 'vcp-1.1' && canonical !== undefined)
        return eventHashOfCanonical(canonical[0], canonical[1], {
          algo,
          ...(prev ? { prevHash: prev } : {}),
        });
      return computeEventHashVariant(
        name,
        { header: view.rawHeader, payload: view.rawPayload },
        { algo, ...(prev ? { prevHash: prev } : {}) },
      );
    },
  };
}

const COMPACT = { sortKeys: true, separators: [',', ':'] as const, ensureAscii: false };

/** Every known profile, in the order auto-detection tries them. */
export const PROFILES: readonly Profile[] = [
  variantProfile('vcp-1.1', 'vcp-instrument and VCP v1.1 producers (RFC 8785)'),
  variantProfile('vcp-1.0-sdk', 'the VCP v1.0 SDK (algorithm byte prefix)'),
  variantProfile(
    'guide-sidecar',
    "the integration guide's Python sidecar",
    'Python json.dumps(sort_keys=True), not RFC 8785: number text and escaping follow Python',
  ),
  {
    name: 'rta-python',
    producer: 'veritaschain/vcp-rta-reference (Python)',
    weaker:
      'Python json.dumps(sort_keys=True) with the default separators over Header then Payload, not RFC 8785: number text and escaping follow Python, and Header and Payload are not delimited',
    form: 'PascalCase',
    merkleMode: 'vcp-dup',
    lossless: true,
    facts: securityFacts,
    recompute: (_view, raw) =>
      sha256(pythonDumps(raw.Header, { sortKeys: true }) + pythonDumps(raw.Payload, { sortKeys: true })),
  },
  {
    name: 'ctrader-header-hash',
    producer: 'veritaschain/vcp-ctrader-rta-reference (C#, Python verifier)',
    weaker:
      'compact Python json.dumps of Header without EventHash followed by the rest of the event, not RFC 8785; PolicyIdentification, when present, is hashed too',
    form: 'PascalCase',
    merkleMode: 'vcp-dup',
    lossless: true,
    facts: headerFacts,
    recompute: (_view, raw) =>
      sha256(
        pythonDumps(without(obj(raw.Header), 'EventHash'), COMPACT) +
          pythonDumps(without(raw, 'Header'), COMPACT),
      ),
  },
  {
    name: 'nasdaq-whole-event',
    producer: 'veritaschain/vcp-nasdaq-rta-reference and vcp-ibkr-rta-reference',
    weaker:
      'compact Python json.dumps of the whole event without Signature and Header.EventHash, not RFC 8785',
    form: 'PascalCase',
    merkleMode: 'vcp-dup',
    lossless: true,
    facts: headerFacts,
    recompute(_view, raw) {
      const e = without(raw, 'Hash', 'hash', 'Signature', 'signature');
      if ('Header' in e) e.Header = without(obj(e.Header), 'EventHash');
      return sha256(pythonDumps(e, COMPACT));
    },
  },
];

/** Profile names, for `--profile`. */
export const PROFILE_NAMES = PROFILES.map((p) => p.name);

/** The profile of that name. */
export function profileByName(name: string): Profile | undefined {
  return PROFILES.find((p) => p.name === name);
}

/** Decode a signature written as base64 (88 chars) or hex (128 chars); `undefined` if it is neither. */
export function decodeSignatureText(text: unknown): Buffer | undefined {
  if (typeof text !== 'string') return undefined;
  if (/^[0-9a-fA-F]{128}$/.test(text)) return Buffer.from(text, 'hex');
  if (text.length === 88) {
    const b = Buffer.from(text, 'base64');
    if (b.length === 64 && b.toString('base64') === text) return b;
  }
  return undefined;
}
