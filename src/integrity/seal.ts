/**
 * Sealing turns a draft into a finished event: EventHash (optionally chained),
 * then an Ed25519 signature over the hash's 32 raw bytes.
 */
import type { HashAlgo } from '../core/enums.ts';
import type { DraftEvent, VcpEvent, VcpSecurity } from '../core/types.ts';
import type { HashChain } from './chain.ts';
import { computeEventHash } from './event-hash.ts';
import type { Signer } from './sign.ts';

/** Options of {@link sealEvent}. */
export interface SealOptions {
  /** Signs the event hash; without one the event carries no signature (Silver "delegated" signing happens later). */
  signer?: Signer;
  /** Chain state: when given, `prev_hash` is written and included in the hash, and the chain advances. */
  chain?: HashChain;
  /** Hash algorithm (default: the header's `hash_algo`, else SHA256). */
  algo?: HashAlgo;
}

/**
 * Seal a draft: compute `security.event_hash` (and `prev_hash` when chaining),
 * sign it when a signer is given, and return the complete event. The draft's
 * header and payload objects are reused, not copied.
 */
export function sealEvent(draft: DraftEvent, options: SealOptions = {}): VcpEvent {
  const algo = options.algo ?? draft.header.hash_algo ?? 'SHA256';
  const chain = options.chain;
  const prevHash = chain?.prev;
  const eventHash = computeEventHash(draft, prevHash === undefined ? { algo } : { algo, prevHash });
  const security: VcpSecurity = { version: '1.1', event_hash: eventHash, hash_algo: algo };
  if (prevHash !== undefined) security.prev_hash = prevHash;
  if (options.signer) {
    security.signature = options.signer.sign(eventHash);
    security.sign_algo = 'ED25519';
    security.signing_key_id = options.signer.keyId;
  }
  chain?.advance(eventHash);
  return {
    header: draft.header,
    payload: draft.payload,
    security,
    policy_identification: draft.policy_identification,
  };
}
