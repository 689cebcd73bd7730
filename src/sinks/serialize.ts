/**
 * One event → one line of JSON, for every sink that writes text (file,
 * spool, HTTP).
 *
 * When the recorder seals an event it already has the RFC 8785 text of the
 * header and payload (that is what it hashed); it marks the event with it
 * (integrity/sealed-mark.ts), and the sinks reuse it instead of serializing
 * the payload a second time. That halves the serialization work, and the
 * bytes written are exactly the bytes hashed, even if the caller mutates its
 * payload object after `record()`. Events without the mark (built elsewhere,
 * copied, or parsed back from a spool) go through `JSON.stringify`.
 */
import type { PolicyIdentification, VcpEvent } from '../core/types.ts';
import { sealedTexts } from '../integrity/sealed-mark.ts';

const policyJson = new WeakMap<object, string>();

/** A policy's JSON text, made once per policy object (a recorder's policy is never changed after creation). */
export function policyText(policy: PolicyIdentification): string {
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
  const sealed = sealedTexts(event);
  if (sealed === undefined) return JSON.stringify(event);
  return eventLine(event, sealed.headerJcs, sealed.payloadJcs, true);
}

/**
 * The event as one line of JSON with the given RFC 8785 texts as its header and payload, then its
 * `security` and `policy_identification` (each only when present). `sharedPolicy`: the policy object is a
 * recorder's, never changed, so its text is cached per object.
 */
export function eventLine(
  event: Pick<VcpEvent, 'policy_identification'> & { security?: VcpEvent['security'] },
  headerJcs: string,
  payloadJcs: string,
  sharedPolicy = false,
): string {
  let out = '{"header":' + headerJcs + ',"payload":' + payloadJcs;
  if (event.security !== undefined) out += ',"security":' + JSON.stringify(event.security);
  const policy = event.policy_identification;
  if (policy !== undefined) {
    out += ',"policy_identification":' + (sharedPolicy ? policyText(policy) : JSON.stringify(policy));
  }
  return out + '}';
}

/**
 * Write `serializeEvent(event)` followed by `sep` into `buf` at `off` as UTF-8, the header and
 * payload taken as the flat text that was hashed (no re-serialisation). Returns the new offset, or -1 when `buf` may lack room
 * (nothing meaningful was written then; the caller grows the buffer and calls again). The room
 * check assumes the worst case of 3 bytes per UTF-16 code unit.
 */
export function writeEventLine(buf: Buffer, off: number, event: VcpEvent, sep: string): number {
  // One write of the line (a rope of a dozen flat pieces: its flattening is one copy) costs less
  // than a native call per piece.
  const line = serializeEvent(event) + sep;
  if (buf.length - off < line.length * 3) return -1;
  return off + buf.write(line, off);
}
