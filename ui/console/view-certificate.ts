/**
 * The evidence certificate of an event or a trace: a printable page and a
 * JSON Lines file (lib/certificate.ts) that `vcp verify` checks on its own.
 * It is only offered for what this browser verified: a failed or pending
 * event is named and left out.
 */
import { buildCertificate } from '../lib/certificate.ts';
import { banner, facts, h, mono, replace } from './dom.ts';
import { loadEvidence } from './evidence-loader.ts';
import { link, tradeLine, typeBadge } from './format.ts';
import { describePin, type Pin } from './pin.ts';
import { anchorItem, targets } from './view-event.ts';
import { findTrace } from './view-trace.ts';

/** Render the certificate of `kind` `id`. */
export async function showCertificate(
  main: HTMLElement,
  kind: 'event' | 'trace',
  id: string,
  pin: Pin,
): Promise<void> {
  replace(
    main,
    h('h1', null, 'Evidence certificate'),
    banner('wait', 'Gathering and checking the evidence…'),
  );
  try {
    const ids = kind === 'event' ? [id] : (await findTrace(id)).hits.map((x) => x.event_id);
    const loaded = await loadEvidence(ids, pin);
    const good = loaded.items.filter((i) => i.evidence?.verified);
    const left = loaded.items.filter((i) => !i.evidence?.verified);
    const cp = loaded.checked.checkpoint;
    if (!loaded.checked.ok || !cp || good.length === 0) {
      replace(
        main,
        h('h1', null, 'Evidence certificate'),
        banner(
          'bad',
          'No certificate: nothing here could be verified locally.',
          loaded.checked.ok ? '' : ` ${loaded.checked.reason}`,
        ),
        left.map((i) =>
          h(
            'p',
            null,
            `${i.id}: ${i.pending ? 'not yet covered by a checkpoint' : (i.error ?? i.evidence?.steps.find((s) => s.required && !s.ok)?.detail ?? 'failed')}`,
          ),
        ),
      );
      return;
    }
    const createdAt = new Date().toISOString();
    const text = buildCertificate({
      subject: { kind, id },
      checkpointNote: loaded.note,
      checkpoint: cp,
      items: good.map((i) => ({
        event: i.event!,
        leafIndex: i.evidence!.leaf!,
        proof: i.proof!.proof as string[],
      })),
      anchors: loaded.anchors,
      createdAt,
    });
    const file = `vcp-certificate-${kind}-${id.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 60)}.jsonl`;
    const href = URL.createObjectURL(new Blob([text], { type: 'application/x-ndjson' }));
    const external = loaded.anchors.some((a) => /TSA/.test(targets(a)));
    replace(
      main,
      h(
        'article',
        { class: 'certificate' },
        h('h1', null, `Evidence certificate — ${kind} `, h('span', { class: 'mono small' }, id)),
        banner(
          'ok',
          h('strong', null, 'Verified locally. '),
          `${good.length} event(s) are included, unchanged, in log ${cp.origin} at tree size ${cp.treeSize}, whose checkpoint is signed by key ${pin.key.keyId}${cp.time ? ` at ${cp.time}` : ''}.`,
        ),
        left.length
          ? banner(
              'warn',
              `${left.length} event(s) are not in this certificate: ${left.map((i) => `${i.id} (${i.pending ? 'not yet checkpointed' : 'failed'})`).join(', ')}.`,
            )
          : null,
        h(
          'p',
          { class: 'muted' },
          'A certificate proves that these events are in the log, unchanged, as of the checkpoint. It does not prove that no other events exist (for that, verify a full export).',
        ),
        facts([
          ['Subject', `${kind} ${id}`],
          ['Created', createdAt],
          ['Log', cp.origin],
          ['Tree size', String(cp.treeSize)],
          ['Root', mono(cp.rootHex)],
          ['Checkpoint signed', cp.time ?? '—'],
          ['Key', `${pin.key.keyId} — ${describePin(pin)}`],
          ['External time-stamp', external ? 'yes: RFC 3161 token(s) below' : 'none for this checkpoint'],
        ]),
        h('h2', null, 'Events'),
        h(
          'ol',
          { class: 'timeline' },
          good.map((i) =>
            h(
              'li',
              null,
              h('span', { class: 'mark ok' }, '✓'),
              typeBadge(i.event?.header?.event_type),
              h('span', { class: 'time' }, String(i.event?.header?.timestamp_iso ?? '')),
              h(
                'span',
                { class: 'trade' },
                tradeLine(i.event?.payload?.trade_data as Record<string, unknown>),
              ),
              h(
                'div',
                { class: 'mono small' },
                `event ${i.id} · leaf ${i.evidence?.leaf} · hash ${i.evidence?.eventHash}`,
              ),
            ),
          ),
        ),
        h('h2', null, 'Anchor receipts'),
        loaded.anchors.length
          ? h(
              'ul',
              { class: 'plain' },
              loaded.anchors.map((a, i) => anchorItem(a, loaded.anchorChecks[i]!)),
            )
          : h('p', null, 'No anchor record carries this checkpoint.'),
        h('h2', null, 'Check it yourself'),
        h(
          'pre',
          { class: 'wrap' },
          `vcp verify ${file} --pubkey <the key you trust>${external ? ' --tsa-cert <the TSA certificate you trust>' : ' --insecure-allow-local-anchors'}`,
        ),
        h(
          'p',
          { class: 'actions no-print' },
          h(
            'a',
            { class: 'button', href, download: file, id: 'download-certificate' },
            'Download the certificate (JSON Lines)',
          ),
          ' ',
          h('button', { type: 'button', onclick: () => window.print() }, 'Print'),
          ' ',
          link(
            kind === 'event' ? `/event/${encodeURIComponent(id)}` : `/trace/${encodeURIComponent(id)}`,
            'Back',
          ),
        ),
      ),
    );
  } catch (err) {
    replace(main, h('h1', null, 'Evidence certificate'), banner('bad', (err as Error).message));
  }
}
