/**
 * What one export line is: an event, an anchor record, a checkpoint, the
 * metadata that opens a segment, or something else. Lines that could be
 * read two ways (an event with `Header` beside `header`, an anchor line with
 * an event in it) are refused as ambiguous, never resolved by a silent choice.
 */
import { VcpValidationError } from '../core/errors.ts';
import { canonicalTextsOf } from '../integrity/canonical-span.ts';
import { parseJsonStrict, parseStrictJson } from '../integrity/strict-json.ts';
import { type Finding, finding } from './findings.ts';

/** A line, classified. */
export type ExportRecord =
  | {
      kind: 'event';
      value: Record<string, unknown>;
      /** The line's own `header` and `payload` texts when they are their RFC 8785 form (canonical-span.ts). */
      canonical?: readonly [string, string];
    }
  | { kind: 'anchor'; value: unknown }
  | { kind: 'checkpoint'; note: unknown }
  | { kind: 'meta'; value: Record<string, unknown> };

const SNAKE_EVENT_KEYS = new Set(['header', 'payload', 'security', 'policy_identification']);
const PASCAL_EVENT_KEYS = new Set(['Header', 'Payload', 'Security', 'PolicyIdentification', 'Signature']);

/** The line as a PascalCase event when it is one (strict checks but numbers as written), else `undefined`. */
function pascalEvent(text: string): Record<string, unknown> | undefined {
  try {
    const v = parseStrictJson(text, { inexactNumbers: true }) as Record<string, unknown> | null;
    return v && typeof v === 'object' && 'Header' in v && !('header' in v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Parse and classify one line; a finding instead when it cannot be read unambiguously. */
export function classifyLine(text: string, line: number): ExportRecord | Finding {
  let value: unknown;
  let parts: number[] | undefined;
  try {
    ({ value, canonicalParts: parts } = parseJsonStrict(text, {
      canonicalNumbers: true,
      canonicalParts: true,
    }));
  } catch (e) {
    // Other producers' PascalCase events hash Python's re-serialisation, not RFC 8785 text: their numbers are
    // read losslessly by the profile, so only the strict checks other than number spelling apply to them.
    const foreign =
      e instanceof VcpValidationError &&
      /^number-(form|precision)$/.test(e.issues[0]?.rule ?? '') &&
      pascalEvent(text);
    if (foreign) return { kind: 'event', value: foreign };
    if (e instanceof VcpValidationError) {
      const issue = e.issues[0];
      const code =
        issue?.rule === 'number-form' || issue?.rule === 'number-precision'
          ? 'non-canonical-number'
          : issue?.rule === 'forbidden-key'
            ? 'forbidden-key'
            : 'unreadable-line';
      const at = issue?.path ? ` at ${issue.path}` : '';
      return finding(code, `${issue?.message ?? e.message}${at}`, { line });
    }
    return finding('unreadable-line', String(e), { line });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return finding('unknown-line', 'not a JSON object', { line });
  }
  const v = value as Record<string, unknown>;
  const keys = Object.keys(v);
  const only = (k: string) => keys.length === 1 && keys[0] === k;
  if ('header' in v || 'Header' in v) {
    const snake = 'header' in v;
    const allowed = snake ? SNAKE_EVENT_KEYS : PASCAL_EVENT_KEYS;
    // PascalCase producers put module objects (ErrorDetails, VCP-XREF) beside Header when there is no Payload.
    const extra = keys.filter((k) => !allowed.has(k) && (snake || 'Payload' in v || /^[a-z_]+$/.test(k)));
    if (extra.length)
      return finding(
        'shadow-keys',
        `event line has top-level key(s) ${extra.map((k) => JSON.stringify(k)).join(', ')} beside ${snake ? '"header"' : '"Header"'}: two readings of one event are refused`,
        { line },
      );
    const canonical = snake ? canonicalTextsOf(text, parts, 0) : undefined;
    return canonical ? { kind: 'event', value: v, canonical } : { kind: 'event', value: v };
  }
  if (only('anchor_record')) return { kind: 'anchor', value: v.anchor_record };
  if (only('vcp_checkpoint')) {
    const cp = v.vcp_checkpoint as Record<string, unknown> | null;
    if (!cp || typeof cp !== 'object' || Object.keys(cp).join() !== 'note')
      return finding('checkpoint-malformed', 'vcp_checkpoint holds exactly one field, "note"', { line });
    return { kind: 'checkpoint', note: cp.note };
  }
  if (only('vcp_export')) {
    const meta = v.vcp_export;
    if (!meta || typeof meta !== 'object' || Array.isArray(meta))
      return finding('bad-metadata', 'vcp_export is not an object', { line });
    return { kind: 'meta', value: meta as Record<string, unknown> };
  }
  // A bare anchor record (an --anchors file of the older format).
  if ('merkle_root' in v && 'tree_size' in v && 'signature' in v) return { kind: 'anchor', value: v };
  return finding(
    'unknown-line',
    `neither an event, an anchor record, a checkpoint nor export metadata (keys ${keys.slice(0, 5).join(', ')})`,
    { line },
  );
}
