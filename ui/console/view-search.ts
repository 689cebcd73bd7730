/**
 * Search by trace id, order id, symbol, event type and time range
 * (`GET /vcp/search`: newest first, a bounded window per request, "older"
 * continues below). The query lives in the address (#/search?…), so a
 * search can be bookmarked and the back button works.
 */
import { getJson } from './api.ts';
import { banner, h, replace } from './dom.ts';
import { eventRoute, link, traceRoute, typeBadge } from './format.ts';

/** A search hit. */
export interface Hit {
  index: number;
  event_id: string;
  trace_id?: string;
  event_type?: string;
  timestamp_iso?: string;
  symbol?: string;
  order_id?: string;
  side?: string;
  price?: string;
  quantity?: string;
  executed_qty?: string;
}

/** The answer. */
export interface SearchAnswer {
  events: Hit[];
  scanned: { from: number; to: number };
  tree_size: number;
  next_before?: number;
}

const FIELDS = [
  ['trace_id', 'Trace id'],
  ['order_id', 'Order id'],
  ['symbol', 'Symbol'],
  ['event_type', 'Event type'],
] as const;

function isoOrEmpty(local: string): string {
  if (!local) return '';
  const t = new Date(local);
  return Number.isNaN(t.getTime()) ? '' : t.toISOString();
}

/** Render the search page for `query`. */
export function showSearch(main: HTMLElement, query: URLSearchParams): void {
  const results = h('div', { id: 'results', 'aria-live': 'polite' });
  const inputs = new Map<string, HTMLInputElement>();
  const field = (name: string, label: string, type = 'text') => {
    const input = h('input', {
      id: `q-${name}`,
      name,
      type,
      value: query.get(name) ?? '',
      autocomplete: 'off',
    });
    if (type === 'datetime-local' && query.get(name)) input.value = (query.get(name) ?? '').slice(0, 16);
    inputs.set(name, input);
    return h('div', { class: 'field' }, h('label', { for: `q-${name}` }, label), input);
  };
  const form = h(
    'form',
    {
      class: 'search',
      role: 'search',
      onsubmit: (e: Event) => {
        e.preventDefault();
        const p = new URLSearchParams();
        for (const [k, el] of inputs) {
          const v = el.type === 'datetime-local' ? el.value : el.value.trim();
          if (v) p.set(k, v);
        }
        location.hash = `#/search?${p}`;
      },
    },
    FIELDS.map(([k, l]) => field(k, l)),
    field('since', 'From (local time)', 'datetime-local'),
    field('until', 'To (local time)', 'datetime-local'),
    h('div', { class: 'field actions' }, h('button', { type: 'submit' }, 'Search')),
  );
  replace(main, h('h1', null, 'Search'), form, results);
  if ([...query.keys()].length > 0) void run(results, query);
}

async function run(results: HTMLElement, query: URLSearchParams, before?: number): Promise<void> {
  const params: Record<string, string | number | undefined> = { limit: 100, before };
  for (const [k] of FIELDS) params[k] = query.get(k) ?? undefined;
  params.since = isoOrEmpty(query.get('since') ?? '');
  params.until = isoOrEmpty(query.get('until') ?? '');
  if (before === undefined) replace(results, banner('wait', 'Searching…'));
  try {
    const a = await getJson<SearchAnswer>('/vcp/search', params);
    if (before === undefined) replace(results);
    results.querySelector('.more')?.remove();
    results.append(
      h(
        'p',
        { class: 'muted' },
        `${a.events.length} match(es) among events ${a.scanned.from}..${Math.max(a.scanned.from, a.scanned.to - 1)} of ${a.tree_size}.`,
      ),
      hitTable(a.events),
    );
    if (a.next_before !== undefined)
      results.append(
        h(
          'button',
          { class: 'more', type: 'button', onclick: () => void run(results, query, a.next_before) },
          'Search older events',
        ),
      );
  } catch (e) {
    replace(results, banner('bad', (e as Error).message));
  }
}

/** Hits as a table (newest first). */
export function hitTable(hits: Hit[]): HTMLElement {
  return h(
    'div',
    { class: 'scroll' },
    h(
      'table',
      { class: 'hits' },
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          ['Time', 'Type', 'Symbol', 'Order', 'Trade', 'Trace', 'Event'].map((t) =>
            h('th', { scope: 'col' }, t),
          ),
        ),
      ),
      h(
        'tbody',
        null,
        hits.map((e) =>
          h(
            'tr',
            null,
            h('td', null, e.timestamp_iso ?? ''),
            h('td', null, typeBadge(e.event_type)),
            h('td', null, e.symbol ?? ''),
            h('td', null, e.order_id ?? ''),
            h(
              'td',
              null,
              [e.side, e.executed_qty ?? e.quantity, e.price ? `@ ${e.price}` : ''].filter(Boolean).join(' '),
            ),
            h(
              'td',
              null,
              e.trace_id
                ? link(traceRoute(e.trace_id), `${e.trace_id.slice(0, 13)}…`, { title: e.trace_id })
                : '',
            ),
            h(
              'td',
              null,
              link(eventRoute(e.event_id), `#${e.index}`, { 'aria-label': `event ${e.event_id}` }),
            ),
          ),
        ),
      ),
    ),
  );
}
