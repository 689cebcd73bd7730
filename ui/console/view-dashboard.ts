/**
 * Dashboard: tree size, ingest rate (measured here, from successive tree
 * sizes), anchor lag, anchors and their targets, and the newest checkpoint
 * with its signature checked in this browser.
 */
import { checkCheckpoint } from '../lib/checkpoint.ts';
import { getJson } from './api.ts';
import { banner, facts, h, mono, replace } from './dom.ts';
import type { CheckpointBody } from './evidence-loader.ts';
import { duration } from './format.ts';
import type { Pin } from './pin.ts';

interface Health {
  status: string;
  tree_size: number;
  pending_events: number;
  anchor_lag_ms: number;
  anchor_lag_limit_ms: number;
  tier: string;
  store: string;
  signing_key_id: string;
  last_anchor: { anchored_at: string; tree_size: number; target?: string } | null;
}

interface Target {
  type?: string;
  identifier?: string;
  status?: string;
  proof?: string;
}

const samples: { t: number; size: number }[] = [];

function targetsOf(a: Record<string, unknown>): Target[] {
  const list = [a.anchor_target, ...(Array.isArray(a.anchor_targets) ? a.anchor_targets : [])];
  return list.filter((t): t is Target => !!t && typeof t === 'object');
}

/** Render the dashboard into `main`; returns a function that stops its refresh. */
export function showDashboard(main: HTMLElement, pin: Pin): () => void {
  const body = h('div', null, banner('wait', 'Loading…'));
  replace(main, h('h1', null, 'Dashboard'), body);
  let stopped = false;
  const refresh = async () => {
    try {
      const [health, cp, anchors] = await Promise.all([
        getJson<Health>('/health'),
        getJson<CheckpointBody>('/vcp/checkpoint'),
        getJson<{ anchors: Record<string, unknown>[] }>('/vcp/anchors'),
      ]);
      const now = Date.now();
      samples.push({ t: now, size: health.tree_size });
      while (samples.length > 12) samples.shift();
      const first = samples[0]!;
      const rate =
        samples.length > 1 && now > first.t
          ? ((health.tree_size - first.size) * 1000) / (now - first.t)
          : undefined;
      const checked = await checkCheckpoint(cp.note, pin.key);
      const lagBad = health.anchor_lag_ms > health.anchor_lag_limit_ms;
      const targetKinds = new Map<string, Target>();
      for (const a of anchors.anchors)
        for (const t of targetsOf(a)) targetKinds.set(`${t.type}:${t.identifier}`, t);
      if (stopped) return;
      replace(
        body,
        h(
          'section',
          { class: 'cards', 'aria-label': 'Log state' },
          card('Events in the log', String(health.tree_size)),
          card('Ingest rate', rate === undefined ? 'measuring…' : `${rate.toFixed(1)} events/s`),
          card('Not yet anchored', String(health.pending_events)),
          card(
            'Anchor lag',
            `${duration(health.anchor_lag_ms)} (limit ${duration(health.anchor_lag_limit_ms)})`,
            lagBad ? 'bad' : 'ok',
          ),
          card('Status', health.status, health.status === 'healthy' ? 'ok' : 'bad'),
        ),
        h('h2', null, 'Newest checkpoint'),
        checked.ok
          ? banner('ok', `Signature verified locally against the pinned key ${pin.key.keyId}.`)
          : banner('bad', `Checkpoint NOT verified: ${checked.reason}`),
        facts([
          ['Log', checked.checkpoint?.origin ?? '—'],
          ['Tree size', String(checked.checkpoint?.treeSize ?? '—')],
          ['Root', mono(checked.checkpoint?.rootHex ?? '—')],
          ['Signed at', checked.checkpoint?.time ?? '—'],
        ]),
        h('h2', null, `Anchors (${anchors.anchors.length})`),
        h(
          'ul',
          { class: 'plain' },
          [...targetKinds.values()].map((t) =>
            h(
              'li',
              null,
              h('strong', null, t.type ?? '?'),
              ' ',
              t.identifier ?? '',
              t.type === 'TSA' ? ' (external time-stamp)' : ' (not external)',
            ),
          ),
        ),
        anchorTable(anchors.anchors.slice(-10).reverse()),
        h(
          'p',
          { class: 'muted' },
          `Tier ${health.tier}; store ${health.store}; sidecar key ${health.signing_key_id}. Refreshes every 5 s.`,
        ),
      );
    } catch (e) {
      if (!stopped) replace(body, banner('bad', (e as Error).message));
    }
  };
  void refresh();
  const timer = setInterval(refresh, 5000);
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}

function card(label: string, value: string, kind = ''): HTMLElement {
  return h(
    'div',
    { class: `card ${kind}` },
    h('div', { class: 'label' }, label),
    h('div', { class: 'value' }, value),
  );
}

function anchorTable(anchors: Record<string, unknown>[]): HTMLElement {
  return h(
    'div',
    { class: 'scroll' },
    h(
      'table',
      null,
      h('caption', null, 'Newest anchors'),
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          h('th', null, 'Anchored at'),
          h('th', null, 'Tree size'),
          h('th', null, 'Targets'),
          h('th', null, 'Root'),
        ),
      ),
      h(
        'tbody',
        null,
        anchors.map((a) =>
          h(
            'tr',
            null,
            h('td', null, String(a.anchored_at ?? '')),
            h('td', null, String(a.tree_size ?? '')),
            h(
              'td',
              null,
              targetsOf(a)
                .map((t) => `${t.type}${t.status ? ` ${t.status}` : ''}`)
                .join(', '),
            ),
            h('td', null, mono(String(a.merkle_root ?? '').slice(0, 16) + '…')),
          ),
        ),
      ),
    ),
  );
}
