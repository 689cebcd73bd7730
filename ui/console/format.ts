/** Small formatting helpers shared by the console's views. */
import { type Child, h } from './dom.ts';

/** Link to a route. */
export function link(route: string, text: Child, attrs: Record<string, string> = {}): HTMLAnchorElement {
  return h('a', { href: `#${route}`, ...attrs }, text);
}

/** Route of an event page. */
export function eventRoute(id: string): string {
  return `/event/${encodeURIComponent(id)}`;
}

/** Route of a trace page. */
export function traceRoute(id: string): string {
  return `/trace/${encodeURIComponent(id)}`;
}

/** An event type as a coloured badge (SIG, ORD, ACK, EXE, REJ, ERR_…). */
export function typeBadge(type: unknown): HTMLElement {
  const t = String(type ?? '?');
  const family = /^(SIG|ORD|ACK|EXE|PRT|REJ|CXL|MOD|CLS|ERR)/.exec(t)?.[1]?.toLowerCase() ?? 'other';
  return h('span', { class: `badge t-${family}` }, t);
}

/** A duration in words. */
export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

/** The trade fields worth showing on a line, as "BUY 100 @ 1.0850 (order O-1)". */
export function tradeLine(t: Record<string, unknown> | undefined): string {
  if (!t) return '';
  const s = (k: string) => (typeof t[k] === 'string' || typeof t[k] === 'number' ? String(t[k]) : '');
  const parts = [
    s('side'),
    s('executed_qty') || s('quantity'),
    s('executed_price') || s('price') ? `@ ${s('executed_price') || s('price')}` : '',
  ];
  const order = s('order_id') ? `order ${s('order_id')}` : '';
  return [parts.filter(Boolean).join(' '), order, s('reject_reason') ? `reason ${s('reject_reason')}` : '']
    .filter(Boolean)
    .join(' · ');
}
