/**
 * Per-event Ed25519 signatures over the raw EventHash bytes (base64 or hex,
 * as producers write them). An event signed by a trusted key proves nothing
 * about completeness on its own (a checkpoint does that), but a bad
 * signature is a change, and an unsigned or foreign-signed event among
 * events a trusted key signed is an insertion.
 */
import type { KeyObject } from 'node:crypto';
import { verifySignature } from '../../integrity/sign.ts';
import { type Finding, finding } from '../findings.ts';
import { decodeSignatureText } from '../profiles.ts';

const OUR_KEY_ID = /^[0-9a-f]{32}$/;
type Where = { line: number; event_id?: string };

/** The trusted key a signature names: ours by fingerprint; other producers' ids (or none) try every trusted key. */
export function candidateKeys(keys: Map<string, KeyObject>, keyId: string | undefined): KeyObject[] {
  if (keyId !== undefined && keys.has(keyId)) return [keys.get(keyId)!];
  if (keyId !== undefined && OUR_KEY_ID.test(keyId)) return [];
  return [...keys.values()];
}

/**
 * What one event's signature shows, judged alone (pure, so a worker thread can judge it):
 * a finding now, a note kept until it is known whether other events were signed, or a trusted signature.
 */
export type SignatureOutcome = { ok: true } | { finding: Finding } | { pending: string };

/** The outcome of an event without a signature. */
export const NOT_SIGNED: SignatureOutcome = { pending: 'is not signed' };

/** Judge one event's signature against the trusted keys. */
export function judgeSignature(
  keys: Map<string, KeyObject>,
  signature: unknown,
  keyId: string | undefined,
  hash: string | undefined,
  where: Where,
): SignatureOutcome {
  if (signature === undefined) return NOT_SIGNED;
  const bytes = decodeSignatureText(signature);
  if (!bytes)
    return {
      finding: finding('signature-invalid', 'the signature is neither 64 bytes of base64 nor of hex', where),
    };
  const candidates = candidateKeys(keys, keyId);
  if (candidates.length === 0)
    return { pending: `is signed by key ${keyId ?? '(unnamed)'}, which is not trusted` };
  const b64 = bytes.toString('base64');
  if (hash && candidates.some((k) => verifySignature(hash, b64, k))) return { ok: true };
  if (keyId !== undefined && keys.has(keyId))
    return {
      finding: finding(
        'signature-invalid',
        `the Ed25519 signature by trusted key ${keyId} does not verify over the event hash`,
        where,
      ),
    };
  return { pending: `is signed${keyId ? ` (key id ${keyId})` : ''} by no trusted key` };
}

/** Stateful: unsigned events are judged once it is known whether others were signed. */
export class SignatureCheck {
  readonly #keys: Map<string, KeyObject>;
  trustedSigned = 0;
  #notTrusted: { where: Where; why: string }[] = [];
  #overflow = 0;

  constructor(keys: Map<string, KeyObject>) {
    this.#keys = keys;
  }

  push(signature: unknown, keyId: string | undefined, hash: string | undefined, where: Where): Finding[] {
    return this.record(judgeSignature(this.#keys, signature, keyId, hash, where), where);
  }

  /** Account for an outcome judged here or on a worker thread. */
  record(outcome: SignatureOutcome, where: Where): Finding[] {
    if ('ok' in outcome) {
      this.trustedSigned++;
      return [];
    }
    if ('finding' in outcome) return [outcome.finding];
    this.#remember(where, outcome.pending);
    return [];
  }

  #remember(where: Where, why: string): void {
    // Only the first few are kept for the report; the count is what matters.
    if (this.#notTrusted.length < 1000) this.#notTrusted.push({ where, why });
    else this.#overflow++;
  }

  /** Unsigned or foreign-signed events, judged against the rest. */
  finish(): Finding[] {
    if (this.trustedSigned === 0) return []; // nobody signs per event: checkpoints bind them
    const out = this.#notTrusted.map(({ where, why }) =>
      finding(
        'unsigned-among-signed',
        `this event ${why}, among ${this.trustedSigned} events signed by a trusted key`,
        where,
      ),
    );
    if (this.#overflow)
      out.push(
        finding('unsigned-among-signed', `… and ${this.#overflow} more events not signed by a trusted key`),
      );
    return out;
  }
}
