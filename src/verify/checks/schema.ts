/**
 * Schema check of one event: a snake_case event must pass the same validation
 * the recorder applies; v1.1 conformance gaps (UUIDv4 ids, millisecond
 * timestamps) are noted, or refused with `strict`. PascalCase events from
 * other producers are read through the compatibility view.
 */

import { TIMESTAMP_PRECISIONS, type TimestampPrecision } from '../../core/enums.ts';
import { checkTimestampPair } from '../../core/timestamp.ts';
import { isUuid, isUuidV7 } from '../../core/uuidv7.ts';
import { validateEvent } from '../../core/validate.ts';
import type { EventView } from '../../integrity/normalize.ts';
import { type Finding, finding } from '../findings.ts';

/** Findings of the schema check (empty when the event passes). */
export function checkSchema(event: unknown, view: EventView, line: number, strict: boolean): Finding[] {
  const h = view.header;
  const where = { line, ...(typeof h.event_id === 'string' ? { event_id: h.event_id } : {}) };
  const out: Finding[] = [];
  const gap = (message: string) =>
    out.push(finding(strict ? 'schema-error' : 'conformance-gap', message, where));
  if (view.form === 'snake_case') {
    const { errors, warnings } = validateEvent(event);
    for (const e of errors) out.push(finding('schema-error', `${e.path}: ${e.message} [${e.rule}]`, where));
    for (const w of warnings) gap(`${w.path}: ${w.message} [${w.rule}]`);
    return out;
  }
  const missing = ['event_id', 'event_type', 'timestamp_int'].filter((f) => h[f] === undefined);
  if (missing.length) out.push(finding('schema-error', `Header lacks ${missing.join(', ')}`, where));
  if (!isUuidV7(h.event_id)) {
    if (isUuid(h.event_id)) gap(`EventID ${String(h.event_id)} is a UUID but not version 7`);
    else out.push(finding('schema-error', 'EventID is missing or not a UUID', where));
  }
  const precision = h.timestamp_precision as TimestampPrecision;
  if (TIMESTAMP_PRECISIONS.includes(precision)) {
    const problem = checkTimestampPair(h.timestamp_int, h.timestamp_iso, precision);
    if (problem) gap(problem);
  }
  return out;
}
