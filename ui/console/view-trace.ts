/**
 * A trace's timeline: every event of the trace found in the log (searched
 * back window by window, at most {@link MAX_WINDOWS} windows), oldest first,
 * SIG → ORD → ACK → EXE, each with its trade fields and, once checked, ✓ or ✗.
 */
import { getJson } from './api.ts';
import { banner, h, replace } from './dom.ts';
import { loadEvidence } from './evidence-loader.ts';
import { eventRoute, link, typeBadge } from './format.ts';
import type { Pin } from './pin.ts';
import type { Hit, SearchAnswer } from './view-search.ts';

/** Most search windows read for one trace (each is SEARCH_SCAN_WINDOW events on the server). */
export const MAX_WINDOWS = 40;
/** Most events shown for one trace. */
export const MAX_TRACE_EVENTS = 500;

/** Every event of a trace (newest first from the API; returned oldest first). */
export async function findTrace(traceId: string): Promise<{ hits: Hit[]; complete: boolean }> {
  const hits: Hit[] = [];
  let before: number | undefined;
  for (let i = 0; i < MAX_WINDOWS; i++) {
    const a = await getJson<SearchAnswer>('/vcp/search', { trace_id: traceId, limit: 500, before });
    hits.push(...a.events);
    if (a.next_before === undefined) return { hits: hits.reverse(), complete: true };
    if (hits.length >= MAX_TRACE_EVENTS) break;
    before = a.next_before;
  }
  return { hits: hits.slice(0, MAX_TRACE_EVENTS).reverse(), complete: false };
}

/** Render the trace page. */
export async function showTrace(main: HTMLElement, traceId: string, pin: Pin): Promise<void> {
  replace(main, h('h1', null, 'Trace'), banner('wait', 'Searching the log for this trace…'));
  try {
    const { hits, complete } = await findTrace(traceId);
    const status = h('div', { 'aria-live': 'polite' });
    const marks = new Map<string, HTMLElement>();
    const list = h(
      'ol',
      { class: 'timeline' },
      hits.map((e) => {
        const mark = h('span', { class: 'mark', 'aria-label': 'not checked yet' }, '…');
        marks.set(e.event_id, mark);
        return h(
          'li',
          { 'data-event': e.event_id },
          mark,
          typeBadge(e.event_type),
          h('span', { class: 'time' }, e.timestamp_iso ?? ''),
          h(
            'span',
            { class: 'trade' },
            [
              e.symbol,
              e.side,
              e.executed_qty ?? e.quantity,
              e.price ? `@ ${e.price}` : '',
              e.order_id ? `order ${e.order_id}` : '',
            ]
              .filter(Boolean)
              .join(' '),
          ),
          link(eventRoute(e.event_id), 'details', { 'aria-label': `details of event ${e.event_id}` }),
        );
      }),
    );
    const verify = async () => {
      replace(status, banner('wait', `Checking ${hits.length} event(s) in this browser…`));
      const loaded = await loadEvidence(
        hits.map((x) => x.event_id),
        pin,
      );
      let ok = 0;
      for (const it of loaded.items) {
        const m = marks.get(it.id)!;
        const good = it.evidence?.verified === true;
        if (good) ok++;
        m.textContent = good ? '✓' : it.pending ? '⏳' : '✗';
        m.className = `mark ${good ? 'ok' : it.pending ? 'warn' : 'bad'}`;
        m.setAttribute(
          'aria-label',
          good ? 'verified locally' : it.pending ? 'not yet checkpointed' : 'failed',
        );
        m.closest('li')?.classList.toggle('failed', !good && !it.pending);
      }
      const pending = loaded.items.filter((i) => i.pending).length;
      const bad = loaded.items.length - ok - pending;
      replace(
        status,
        bad
          ? banner(
              'bad',
              `Verification FAILED for ${bad} of ${loaded.items.length} event(s); open them for the reason.`,
            )
          : banner(
              'ok',
              `${ok} event(s) verified locally${pending ? `; ${pending} not yet covered by a checkpoint` : ''}.`,
            ),
      );
    };
    replace(
      main,
      h('h1', null, 'Trace ', h('span', { class: 'mono small' }, traceId)),
      complete
        ? null
        : banner(
            'warn',
            `Showing the first ${hits.length} events found; the search stopped before the start of the log.`,
          ),
      h(
        'p',
        null,
        `${hits.length} event(s), oldest first. Each event can be verified here; that the list holds every event of the trace is the server's word — only a verified export proves completeness.`,
      ),
      h(
        'p',
        { class: 'actions' },
        h('button', { type: 'button', onclick: () => void verify() }, 'Verify all locally'),
        ' ',
        link(`/certificate/trace/${encodeURIComponent(traceId)}`, 'Evidence certificate for the trace', {
          class: 'button',
        }),
      ),
      status,
      list,
    );
  } catch (err) {
    replace(main, h('h1', null, 'Trace'), banner('bad', (err as Error).message));
  }
}
