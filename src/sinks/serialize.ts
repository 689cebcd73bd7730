/**
 * One event → one line of JSON, for every sink that writes text (file,
 * spool, HTTP).
 *
 * When the recorder seals an event it already has the RFC 8785 text of the
 * header and payload (that is what it hashed); it attaches it here, and the
 * sinks reuse it instead of serializing the payload a second time. That
 * halves the serialization work, and the bytes written are exactly the bytes
 * hashed, even if the caller mutates its payload object after `record()`.
 * Events without attached text (built elsewhere, or parsed back from a
 * spool) go through `JSON.stringify`.
 */
import type { PolicyIdentification, VcpEvent } from '../core/types.ts';

/**
 * Where the text lives: a non-enumerable symbol property of the event, so it is
 * invisible to JSON.stringify, Object.keys, spread copies and test equality,
 * and costs ~0.25 µs to attach (a WeakMap entry costs ~1 µs and burdens the GC).
 */
const CANONICAL = Symbol.for('vcp-instrument.canonical-text');
const policyJson = new WeakMap<object, string>();

/**
 * Remember the canonical text of a sealed event's header and payload (the
 * hashed bytes) so sinks can write them as they are.
 */
export function attachCanonicalText(event: VcpEvent, headerJcs: string, payloadJcs: string): void {
  Object.defineProperty(event, CANONICAL, { value: '{"header":' + headerJcs + ',"payload":' + payloadJcs });
}

function policyText(policy: PolicyIdentification): string {
  if (policy === null || typeof policy !== 'object') return JSON.stringify(policy) ?? 'null';
  let text = policyJson.get(policy);
  if (text === undefined) {
    // One policy object is shared by every event of a recorder (and never changed after
    // creation): serialize it once.
    text = JSON.stringify(policy);
    policyJson.set(policy, text);
  }
  return text;
}

/** The event as one line of JSON (no trailing newline). */
export function serializeEvent(event: VcpEvent): string {
  const prefix = (event as unknown as Record<symbol, string | undefined>)[CANONICAL];
  if (typeof prefix !== 'string') return JSON.stringify(event);
  let out = prefix + ',"security":' + JSON.stringify(event.security);
  if (event.policy_identification !== undefined) {
    out += ',"policy_identification":' + policyText(event.policy_identification);
  }
  return out + '}';
}
