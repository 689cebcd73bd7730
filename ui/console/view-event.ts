/**
 * An event page: the event, its inclusion proof to the newest signed
 * checkpoint and that checkpoint's anchors, all checked in this browser
 * ("verified locally" or what failed), then the raw JSON.
 */
import { banner, facts, h, mono, replace } from './dom.ts';
import { type Item, loadEvidence } from './evidence-loader.ts';
import { evidenceBanner, stepList } from './evidence-view.ts';
import { link, traceRoute, tradeLine, typeBadge } from './format.ts';
import type { Pin } from './pin.ts';

/** Render the page of event `id`. */
export async function showEvent(main: HTMLElement, id: string, pin: Pin): Promise<void> {
  replace(
    main,
    h('h1', null, 'Event'),
    banner('wait', 'Fetching the event, its proof and the newest checkpoint…'),
  );
  try {
    const loaded = await loadEvidence([id], pin);
    const item: Item = loaded.items[0]!;
    const e = item.event;
    const hd = e?.header ?? {};
    const trade = (e?.payload?.trade_data ?? undefined) as Record<string, unknown> | undefined;
    const ev = item.evidence;
    replace(
      main,
      h('h1', null, 'Event ', typeBadge(hd.event_type), ' ', h('span', { class: 'mono small' }, id)),
      evidenceBanner(item),
      e
        ? facts([
            ['Time', String(hd.timestamp_iso ?? '')],
            ['Symbol', String(hd.symbol ?? '')],
            ['Trade', tradeLine(trade) || '—'],
            ['Trace', typeof hd.trace_id === 'string' ? link(traceRoute(hd.trace_id), hd.trace_id) : '—'],
            ['Venue / account', `${String(hd.venue_id ?? '')} / ${String(hd.account_id ?? '')}`],
            ['Leaf', String(e.security?.merkle_index ?? '')],
            ['Event hash', mono(e.security?.event_hash)],
          ])
        : null,
      ev ? [h('h2', null, 'What was checked here'), stepList(ev)] : null,
      ev?.checkpoint
        ? [
            h('h2', null, 'Covering checkpoint'),
            facts([
              ['Log', ev.checkpoint.origin],
              ['Tree size', String(ev.checkpoint.treeSize)],
              ['Root', mono(ev.checkpoint.rootHex)],
              ['Signed at', ev.checkpoint.time ?? '—'],
              ['Pinned key', pin.key.keyId],
            ]),
            h('details', null, h('summary', null, 'Signed note'), h('pre', { class: 'wrap' }, loaded.note)),
            h('h2', null, 'Inclusion proof'),
            h(
              'ol',
              { class: 'proof', start: 1 },
              ((item.proof?.proof as string[]) ?? []).map((p) => h('li', null, mono(p))),
            ),
          ]
        : null,
      loaded.anchors.length
        ? [
            h('h2', null, 'Anchor receipts for this checkpoint'),
            h(
              'ul',
              { class: 'plain' },
              loaded.anchors.map((a, i) => anchorItem(a, loaded.anchorChecks[i]!)),
            ),
          ]
        : null,
      h(
        'p',
        { class: 'actions' },
        link(`/certificate/event/${encodeURIComponent(id)}`, 'Evidence certificate', { class: 'button' }),
      ),
      e
        ? h(
            'details',
            null,
            h('summary', null, 'Event JSON'),
            h('pre', { class: 'wrap' }, JSON.stringify(e, null, 2)),
          )
        : null,
    );
  } catch (err) {
    replace(main, h('h1', null, 'Event'), banner('bad', (err as Error).message));
  }
}

/** An anchor receipt with what was checked of it here. */
export function anchorItem(a: Record<string, unknown>, check: { ok: boolean; detail: string }): HTMLElement {
  return h(
    'li',
    { class: check.ok ? 'ok' : 'bad' },
    h('span', { class: `mark ${check.ok ? 'ok' : 'bad'}`, 'aria-hidden': 'true' }, check.ok ? '✓' : '✗'),
    ` ${String(a.anchor_id ?? '')} at ${String(a.anchored_at ?? '')}: ${targets(a)} — ${check.detail}`,
    /TSA/.test(targets(a))
      ? ' (its RFC 3161 token is checked by vcp verify --tsa-cert, not in the browser)'
      : '',
  );
}

/** The targets of an anchor record as text. */
export function targets(a: Record<string, unknown>): string {
  const list = [a.anchor_target, ...(Array.isArray(a.anchor_targets) ? a.anchor_targets : [])] as {
    type?: string;
    identifier?: string;
  }[];
  return list
    .filter((t) => t && typeof t === 'object')
    .map(
      (t) =>
        `${t.type}${t.identifier ? ` (${t.identifier})` : ''}${t.type === 'TSA' ? ' — RFC 3161 token included' : ''}`,
    )
    .join('; ');
}
