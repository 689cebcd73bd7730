/**
 * The export format `vcp verify` reads and the sidecar's `/vcp/export` writes:
 * JSON Lines, one item a line —
 *
 * - an event (`{"header":…,"payload":…,"security":…}` or PascalCase `{"Header":…}`),
 * - an anchor record, wrapped: `{"anchor_record":{…}}` (a bare record with
 *   `merkle_root` and `tree_size` is accepted too),
 * - optional metadata: `{"vcp_export":{…}}`,
 * - a signed checkpoint (format v2): `{"vcp_checkpoint":{"note":"…"}}`.
 *
 * Anchor records may also come from a separate file in the same format.
 */
import { VcpValidationError } from '../core/errors.ts';
import { parseStrictJson } from './strict-json.ts';

/** Export metadata line. */
export interface ExportMeta {
  format: 'vcp-export';
  version: 1 | 2;
  created_at?: string;
  merkle_mode?: string;
  policy_id?: string;
  [key: string]: unknown;
}

/** One line that could not be read, with its 1-based line number. */
export interface LineError {
  line: number;
  message: string;
}

/** What {@link ExportReader} collected. */
export interface ParsedExport {
  events: unknown[];
  /** 1-based line number of each event, parallel to `events`. */
  eventLines: number[];
  anchors: unknown[];
  meta: ExportMeta[];
  /** `vcp_checkpoint` objects (`{ note }`), in file order (format v2). */
  checkpoints: unknown[];
  errors: LineError[];
}

/** Classify one parsed line. */
export function classifyExportItem(value: unknown): 'event' | 'anchor' | 'meta' | 'checkpoint' | 'unknown' {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'unknown';
  const v = value as Record<string, unknown>;
  if ('header' in v || 'Header' in v) return 'event';
  if ('anchor_record' in v) return 'anchor';
  if ('vcp_export' in v) return 'meta';
  if ('vcp_checkpoint' in v) return 'checkpoint';
  if ('merkle_root' in v && 'tree_size' in v) return 'anchor';
  return 'unknown';
}

/**
 * Incremental reader: feed lines in order, then take the result. Lines that
 * are not valid JSON (or hold duplicate keys) are recorded as errors and kept
 * as unreadable events, so positions stay aligned and nothing is dropped silently.
 */
export class ExportReader {
  readonly result: ParsedExport = {
    events: [],
    eventLines: [],
    anchors: [],
    meta: [],
    checkpoints: [],
    errors: [],
  };
  #line = 0;

  /** Add one line of text (without its newline). Blank lines are skipped. */
  push(text: string): void {
    this.#line++;
    const trimmed = text.trim();
    if (trimmed === '') return;
    let value: unknown;
    try {
      value = parseStrictJson(trimmed);
    } catch (e) {
      const message = e instanceof VcpValidationError ? (e.issues[0]?.message ?? e.message) : String(e);
      this.result.errors.push({ line: this.#line, message });
      this.result.events.push({ __unreadable: message });
      this.result.eventLines.push(this.#line);
      return;
    }
    switch (classifyExportItem(value)) {
      case 'event':
        this.result.events.push(value);
        this.result.eventLines.push(this.#line);
        break;
      case 'anchor': {
        const v = value as Record<string, unknown>;
        this.result.anchors.push('anchor_record' in v ? v.anchor_record : v);
        break;
      }
      case 'meta':
        this.result.meta.push((value as { vcp_export: ExportMeta }).vcp_export);
        break;
      case 'checkpoint':
        this.result.checkpoints.push((value as { vcp_checkpoint: unknown }).vcp_checkpoint);
        break;
      default:
        this.result.errors.push({
          line: this.#line,
          message: 'neither an event, an anchor record nor export metadata',
        });
        this.result.events.push({ __unreadable: 'unrecognised line' });
        this.result.eventLines.push(this.#line);
    }
  }
}

/** Parse a whole export held in memory (JSONL, or a JSON array of items). */
export function parseExport(text: string): ParsedExport {
  const reader = new ExportReader();
  const trimmed = text.trimStart();
  if (trimmed.startsWith('[')) {
    const items = parseStrictJson(trimmed);
    if (!Array.isArray(items))
      throw new VcpValidationError({ path: '', rule: 'json', message: 'expected a JSON array' });
    for (const item of items) reader.push(JSON.stringify(item));
    return reader.result;
  }
  for (const line of text.split('\n')) reader.push(line);
  return reader.result;
}

/** Serialise items as export lines. */
export function exportLine(
  item:
    | { kind: 'event'; event: unknown }
    | { kind: 'anchor'; anchor: unknown }
    | { kind: 'meta'; meta: ExportMeta },
): string {
  switch (item.kind) {
    case 'event':
      return JSON.stringify(item.event);
    case 'anchor':
      return JSON.stringify({ anchor_record: item.anchor });
    case 'meta':
      return JSON.stringify({ vcp_export: item.meta });
  }
}
