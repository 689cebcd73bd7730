/**
 * Per-event Ed25519 signatures over the raw EventHash bytes. An event signed
 * by a trusted key proves nothing about completeness on its own (a
 * checkpoint does that), but a bad signature is a change, and an unsigned or
 * foreign-signed event among events a trusted key signed is an insertion.
 */
import type { KeyObject } from 'node:crypto';
import { verifySignature } from '../../integrity/sign.ts';
import { type Finding, finding } from '../findings.ts';

/** Stateful: unsigned events are judged once it is known whether others were signed. */
export class SignatureCheck {
  readonly #keys: Map<string, KeyObject>;
  trustedSigned = 0;
  #notTrusted: { where: { line: number; event_id?: string }; why: string }[] = [];

  constructor(keys: Map<string, KeyObject>) {
    this.#keys = keys;
  }

  push(
    security: Record<string, unknown>,
    hash: string | undefined,
    where: { line: number; event_id?: string },
  ): Finding[] {
    const sig = security.signature;
    if (sig === undefined) {
      this.#remember(where, 'is not signed');
      return [];
    }
    const kid = typeof security.signing_key_id === 'string' ? security.signing_key_id : undefined;
    const key = kid ? this.#keys.get(kid) : undefined;
    if (!key) {
      this.#remember(where, `is signed by key ${kid ?? '(no signing_key_id)'}, which is not trusted`);
      return [];
    }
    if (!hash || !verifySignature(hash, sig, key))
      return [
        finding(
          'signature-invalid',
          `the Ed25519 signature by trusted key ${kid} does not verify over event_hash`,
          where,
        ),
      ];
    this.trustedSigned++;
    return [];
  }

  #remember(where: { line: number; event_id?: string }, why: string): void {
    // Only the first few are kept for the report; the count is what matters.
    if (this.#notTrusted.length < 1000) this.#notTrusted.push({ where, why });
    else this.#overflow++;
  }
  #overflow = 0;

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
