/**
 * Internal: reading the sidecar's refusal of a batch (docs/sidecar-api.md).
 *
 * A batch is all-or-nothing at the sidecar, and its answer names the items:
 * - `400 {"error":"validation","errors":[{"path":"[3].header.event_id","rule","message"}…],"error_count"}`
 *   (at most 100 listed; `error_count` is the total);
 * - `409 {"error":"conflict","errors":[{"path":"[i].header.event_id","rule":"conflict",…}]}`:
 *   that event_id is stored with other content (a duplicate with the same content is a 201);
 * - `413 {"error":"payload_too_large","what":"event","path":"[i]"}` for one oversized event,
 *   `"what":"batch"|"body"` for the request as a whole.
 * The body comes from the network: bounded, and indexes outside the batch are ignored.
 */
import type { RefusalReason } from './dead-letter.ts';

/** What the sidecar said when it refused a batch. */
export interface HttpRejection {
  status: number;
  /** The sidecar's error code (`validation`, `conflict`, `payload_too_large`, …). */
  error?: string;
  message?: string;
  /** Per-field problems, paths like `[3].header.event_id` (index into the refused batch). */
  errors?: { path: string; rule: string; message: string }[];
  /** 413: what was too large (`event`, `batch`, `body`). */
  what?: string;
  /** 413 `what: "event"`: which item (`[3]`). */
  path?: string;
  /** The raw body when it was not the documented JSON (first 2 000 characters). */
  body?: string;
}

const MAX_BODY_CHARS = 1_000_000;
const ITEM_RE = /^\[(\d{1,9})\](?:\.(.*))?$/;

/** Parse a refusal body; never throws. */
export function parseRejection(status: number, text: string): HttpRejection {
  if (text.length > MAX_BODY_CHARS) return { status, body: text.slice(0, 2000) };
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch {
    return { status, body: text.slice(0, 2000) };
  }
  if (j === null || typeof j !== 'object' || Array.isArray(j)) return { status, body: text.slice(0, 2000) };
  const o = j as Record<string, unknown>;
  const out: HttpRejection = { status };
  if (typeof o.error === 'string') out.error = o.error.slice(0, 100);
  if (typeof o.message === 'string') out.message = o.message.slice(0, 1000);
  if (typeof o.what === 'string') out.what = o.what.slice(0, 20);
  if (typeof o.path === 'string') out.path = o.path.slice(0, 200);
  if (Array.isArray(o.errors)) {
    out.errors = o.errors
      .slice(0, 1000)
      .filter((e): e is Record<string, unknown> => e !== null && typeof e === 'object')
      .map((e) => ({
        path: String(e.path ?? '').slice(0, 300),
        rule: String(e.rule ?? '').slice(0, 60),
        message: String(e.message ?? '').slice(0, 1000),
      }));
  }
  return out;
}

/**
 * The items of a batch of `size` a refusal names, each with its reasons
 * (paths made relative to the event). Empty when it names none (a refusal of
 * the request as a whole).
 */
export function namedItems(info: HttpRejection, size: number): Map<number, RefusalReason[]> {
  const named = new Map<number, RefusalReason[]>();
  const add = (path: string, rule: string, message: string) => {
    const m = ITEM_RE.exec(path);
    if (!m) return;
    const i = Number(m[1]);
    if (i >= size) return;
    const list = named.get(i) ?? [];
    if (list.length === 0) named.set(i, list);
    list.push({ path: m[2] ?? '', rule, message });
  };
  for (const e of info.errors ?? []) add(e.path, e.rule, e.message);
  if (info.status === 413 && info.what === 'event' && info.path !== undefined) {
    add(info.path, 'max-size', info.message ?? 'the event is larger than the sidecar accepts');
  }
  return named;
}

/** A one-line summary of a refusal for messages and warnings. */
export function describeRejection(info: HttpRejection): string {
  const first = info.errors?.[0];
  return `HTTP ${info.status}${info.error ? ` ${info.error}` : ''}${info.message ? `: ${info.message}` : ''}${first ? ` (${first.path}: ${first.message} [${first.rule}])` : ''}`;
}
