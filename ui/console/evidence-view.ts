/** How a local check is shown: a banner in words, then each step with ✓ or ✗. */
import type { Evidence } from '../lib/evidence.ts';
import { banner, h } from './dom.ts';
import type { Item } from './evidence-loader.ts';

/** The verdict of one event's evidence, in words. */
export function evidenceBanner(item: Item): HTMLElement {
  if (item.error) return banner('bad', `Could not check: ${item.error}`);
  if (item.pending)
    return banner(
      'warn',
      'Not yet covered by a signed checkpoint: this event is newer than the last anchor. Check again after the next one.',
    );
  const ev = item.evidence;
  if (!ev) return banner('wait', 'Checking…');
  if (ev.verified)
    return banner(
      'ok',
      h('strong', null, 'Verified locally. '),
      `This browser recomputed the event hash, walked the inclusion proof to the root, and checked that root's Ed25519 signature against the pinned key (tree size ${ev.checkpoint?.treeSize}).`,
    );
  const failed = ev.steps.find((s) => s.required && !s.ok);
  return banner('bad', h('strong', null, 'Verification FAILED: '), `${failed?.what}: ${failed?.detail}`);
}

/** The steps as a list. */
export function stepList(ev: Evidence): HTMLElement {
  return h(
    'ol',
    { class: 'steps' },
    ev.steps.map((s) =>
      h(
        'li',
        { class: s.ok ? 'ok' : s.required ? 'bad' : 'info' },
        h('span', { class: 'mark', 'aria-hidden': 'true' }, s.ok ? '✓' : s.required ? '✗' : '·'),
        h('strong', null, `${s.what}${s.ok ? '' : s.required ? ' — failed' : ''}: `),
        s.detail,
      ),
    ),
  );
}
