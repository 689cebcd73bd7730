/**
 * `GET /vcp/search`: find events by trace id, order id, symbol, event type
 * and time range, for the console. Read-only and bounded: one request scans
 * at most {@link SEARCH_SCAN_WINDOW} events, newest first, below `before`
 * (default: the tree size), and answers at most `limit` matches with
 * `next_before` to continue further back. No index is kept: the store's own
 * scan is the source, so what is found is what is stored.
 */
import type { ServerResponse } from 'node:http';
import type { VcpEvent } from '../../core/types.ts';
import type { SidecarContext } from '../context.ts';
import { HttpError, intParam, sendJson } from '../http.ts';

/** Most events one search request reads from the store. */
export const SEARCH_SCAN_WINDOW = 50_000;
/** Most matches one answer holds. */
export const SEARCH_MAX_LIMIT = 500;
const MAX_TEXT = 128;
const TEXT_FIELDS = ['trace_id', 'order_id', 'symbol', 'event_type'] as const;

/** One match: the fields a result list and a timeline show. */
export interface SearchHit {
  index: number;
  event_id: string;
  trace_id?: string;
  event_type?: string;
  timestamp_iso?: string;
  timestamp_int?: string;
  symbol?: string;
  order_id?: string;
  side?: string;
  price?: string;
  quantity?: string;
  executed_qty?: string;
}

interface Query {
  trace_id?: string;
  order_id?: string;
  symbol?: string;
  event_type?: string;
  since?: bigint;
  until?: bigint;
}

function bad(path: string, rule: string, message: string): HttpError {
  return new HttpError(400, 'validation', `${path}: ${message}`, { errors: [{ path, rule, message }] });
}

function timeParam(params: URLSearchParams, name: string): bigint | undefined {
  const raw = params.get(name);
  if (raw === null || raw === '') return undefined;
  if (raw.length > 40) throw bad(name, 'time', 'an ISO 8601 time (at most 40 characters)');
  // Date.parse keeps milliseconds only: the fraction is read to the nanosecond, as events are stamped.
  const frac = /\.(\d+)/.exec(raw);
  if (frac && frac[1]!.length > 9) throw bad(name, 'time', 'at most 9 fraction digits');
  const ms = Date.parse(frac ? raw.replace(frac[0], '') : raw);
  if (Number.isNaN(ms)) throw bad(name, 'time', `"${raw}" is not an ISO 8601 time`);
  return BigInt(ms) * 1_000_000n + BigInt((frac?.[1] ?? '').padEnd(9, '0'));
}

/** Parse and bound the query; 400 naming the parameter otherwise. */
export function parseSearch(params: URLSearchParams): { q: Query; limit: number; before?: number } {
  const q: Query = {};
  for (const f of TEXT_FIELDS) {
    const v = params.get(f);
    if (v === null || v === '') continue;
    if (v.length > MAX_TEXT) throw bad(f, 'length', `at most ${MAX_TEXT} characters`);
    q[f] = v;
  }
  const since = timeParam(params, 'since');
  const until = timeParam(params, 'until');
  if (since !== undefined) q.since = since;
  if (until !== undefined) q.until = until;
  if (since !== undefined && until !== undefined && since > until)
    throw bad('since', 'range', 'since is after until');
  const limit = intParam(params, 'limit') ?? 50;
  if (limit < 1 || limit > SEARCH_MAX_LIMIT) throw bad('limit', 'range', `1 ≤ limit ≤ ${SEARCH_MAX_LIMIT}`);
  const before = intParam(params, 'before');
  return { q, limit, ...(before !== undefined ? { before } : {}) };
}

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

function hitOf(index: number, e: VcpEvent): SearchHit {
  const h = e.header as unknown as Record<string, unknown>;
  const td = ((e.payload as Record<string, unknown> | undefined)?.trade_data ?? {}) as Record<
    string,
    unknown
  >;
  const hit: SearchHit = { index, event_id: String(h.event_id) };
  const put = (k: keyof SearchHit, v: unknown) => {
    const s = str(v);
    if (s !== undefined) (hit as unknown as Record<string, string>)[k] = s.slice(0, 200);
  };
  put('trace_id', h.trace_id);
  put('event_type', h.event_type);
  put('timestamp_iso', h.timestamp_iso);
  put('timestamp_int', h.timestamp_int);
  put('symbol', h.symbol ?? td.symbol);
  for (const k of ['order_id', 'side', 'price', 'quantity', 'executed_qty'] as const) put(k, td[k]);
  return hit;
}

function matches(q: Query, hit: SearchHit): boolean {
  if (q.trace_id !== undefined && hit.trace_id !== q.trace_id) return false;
  if (q.order_id !== undefined && hit.order_id !== q.order_id) return false;
  if (q.symbol !== undefined && hit.symbol !== q.symbol) return false;
  if (q.event_type !== undefined && hit.event_type !== q.event_type) return false;
  if (q.since !== undefined || q.until !== undefined) {
    if (!hit.timestamp_int || !/^\d{1,20}$/.test(hit.timestamp_int)) return false;
    const t = BigInt(hit.timestamp_int);
    if (q.since !== undefined && t < q.since) return false;
    if (q.until !== undefined && t > q.until) return false;
  }
  return true;
}

/** Handle `GET /vcp/search`. */
export async function handleSearch(
  ctx: SidecarContext,
  res: ServerResponse,
  params: URLSearchParams,
): Promise<void> {
  const { q, limit, before: asked } = parseSearch(params);
  const size = ctx.tree.size;
  const before = Math.min(asked ?? size, size);
  const from = Math.max(0, before - SEARCH_SCAN_WINDOW);
  const found: SearchHit[] = [];
  for await (const ev of ctx.store.scan(from, before)) {
    const hit = hitOf(ev.index, ev.event);
    if (matches(q, hit)) found.push(hit);
  }
  // Newest first; beyond `limit`, continue below the oldest one answered.
  found.reverse();
  const events = found.slice(0, limit);
  const more = found.length > limit ? events[events.length - 1]!.index : from > 0 ? from : undefined;
  sendJson(res, 200, {
    events,
    scanned: { from, to: before },
    tree_size: size,
    ...(more !== undefined ? { next_before: more } : {}),
  });
}
