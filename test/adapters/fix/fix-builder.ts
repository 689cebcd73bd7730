/**
 * Test helper: build FIX messages with a correct BodyLength (9) and
 * CheckSum (10), computed here the slow, obvious way (bytes of the body;
 * sum of all bytes before "10=" mod 256, with SOH as 0x01).
 */

/** A field as written: [tag, value]. */
export type Field = [number | string, string | number];

/** Build one message: BeginString, then `fields` (35 first), with 9 and 10 computed. */
export function buildFix(
  beginString: string,
  fields: Field[],
  options: { delimiter?: '\x01' | '|' } = {},
): string {
  const d = options.delimiter ?? '\x01';
  const body = fields.map(([t, v]) => `${t}=${v}\x01`).join('');
  const bodyLength = Buffer.byteLength(body, 'latin1');
  const head = `8=${beginString}\x019=${bodyLength}\x01${body}`;
  let sum = 0;
  for (const b of Buffer.from(head, 'latin1')) sum += b;
  const msg = `${head}10=${String(sum % 256).padStart(3, '0')}\x01`;
  return d === '\x01' ? msg : msg.replace(/\x01/g, d);
}

/** Checksum of a whole SOH message, recomputed independently (for hand-checked fixtures). */
export function checksumOf(message: string): string {
  const at = message.lastIndexOf('10=');
  let sum = 0;
  for (const b of Buffer.from(message.slice(0, at).replace(/\|/g, '\x01'), 'latin1')) sum += b;
  return String(sum % 256).padStart(3, '0');
}

/** SOH → '|' for readable assertions. */
export const pipes = (s: string): string => s.replace(/\x01/g, '|');
