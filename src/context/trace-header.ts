/**
 * Reading trace ids from incoming requests: W3C `traceparent` or our own
 * `x-vcp-trace-id`. Anything malformed is ignored (a new UUIDv7 is made by
 * the caller): a header from the outside world never becomes an id unchecked.
 */
import { isLowercaseUuid, isUuid } from '../core/uuidv7.ts';

/** Header our middleware reads and echoes. */
export const TRACE_HEADER = 'x-vcp-trace-id';

// version-traceid-parentid-flags, lowercase hex; version ff is invalid; all-zero ids are invalid.
const TRACEPARENT_RE = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?$/;

/**
 * The trace id in a W3C `traceparent` header, formatted as a UUID
 * (8-4-4-4-12) so every trace id in VCP has one shape; `undefined` if invalid.
 */
export function traceIdFromTraceparent(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length > 512) return undefined;
  const m = TRACEPARENT_RE.exec(value.trim());
  if (!m) return undefined;
  const [, version, traceId, parentId] = m;
  if (version === 'ff' || /^0+$/.test(traceId!) || /^0+$/.test(parentId!)) return undefined;
  // Version 00 has exactly four fields; future versions may append more.
  if (version === '00' && value.trim().length !== 55) return undefined;
  const t = traceId!;
  return `${t.slice(0, 8)}-${t.slice(8, 12)}-${t.slice(12, 16)}-${t.slice(16, 20)}-${t.slice(20)}`;
}

/** A trace id from `x-vcp-trace-id`: a UUID (any version), lowercased; `undefined` if not one. */
export function traceIdFromVcpHeader(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  // The form our own services send (36 characters, lowercase): taken as is, without a regex,
  // a trim or a lowercased copy (this runs on every request).
  if (isLowercaseUuid(value)) return value;
  const v = value.trim();
  return isUuid(v) ? v.toLowerCase() : undefined;
}

/**
 * Pick the trace id of an incoming request: `x-vcp-trace-id` first (our own
 * services set it), then `traceparent`. Header values may be arrays (Node
 * joins duplicates differently per header); only the first is considered.
 */
export function traceIdFromHeaders(
  headers: Record<string, string | string[] | undefined>,
): string | undefined {
  const vcp = headers[TRACE_HEADER];
  if (vcp !== undefined) {
    const id = traceIdFromVcpHeader(typeof vcp === 'string' ? vcp : vcp[0]);
    if (id !== undefined) return id;
  }
  const tp = headers.traceparent;
  return tp === undefined ? undefined : traceIdFromTraceparent(typeof tp === 'string' ? tp : tp[0]);
}
