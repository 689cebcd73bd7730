/**
 * Consistency between two checkpoints: both signatures checked against the
 * pinned key, then `GET /vcp/consistency` between their sizes, and the proof
 * walked here to the two *signed* roots (the roots in the answer are ignored).
 */
import { type Checkpoint, checkCheckpoint } from '../lib/checkpoint.ts';
import { verifyConsistency } from '../lib/merkle.ts';
import { getJson } from './api.ts';
import { banner, facts, h, mono, replace } from './dom.ts';
import type { CheckpointBody } from './evidence-loader.ts';
import type { Pin } from './pin.ts';

interface Choice {
  label: string;
  note: string;
}

/** Render the consistency page. */
export async function showConsistency(main: HTMLElement, pin: Pin): Promise<void> {
  replace(main, h('h1', null, 'Consistency between two checkpoints'), banner('wait', 'Loading checkpoints…'));
  try {
    const [newest, anchors] = await Promise.all([
      getJson<CheckpointBody>('/vcp/checkpoint'),
      getJson<{ anchors: Record<string, unknown>[] }>('/vcp/anchors'),
    ]);
    const choices: Choice[] = anchors.anchors
      .filter((a) => typeof a.checkpoint === 'string')
      .map((a) => ({
        label: `anchor at ${String(a.anchored_at)} — tree size ${String(a.tree_size)}`,
        note: a.checkpoint as string,
      }));
    if (!choices.some((c) => c.note === newest.note))
      choices.push({ label: `newest — tree size ${newest.tree_size}`, note: newest.note });
    const select = (id: string, label: string, pick: number) => {
      const s = h(
        'select',
        { id },
        choices.map((c, i) => h('option', { value: String(i), selected: i === pick }, c.label)),
        h('option', { value: 'paste' }, 'paste a signed note below…'),
      );
      return { s, field: h('div', { class: 'field' }, h('label', { for: id }, label), s) };
    };
    const a = select('cp-old', 'Older checkpoint', 0);
    const b = select('cp-new', 'Newer checkpoint', Math.max(0, choices.length - 1));
    const pasteA = h('textarea', {
      id: 'paste-old',
      rows: 6,
      'aria-label': 'Older checkpoint note (when pasting)',
    });
    const pasteB = h('textarea', {
      id: 'paste-new',
      rows: 6,
      'aria-label': 'Newer checkpoint note (when pasting)',
    });
    const out = h('div', { 'aria-live': 'polite' });
    const noteOf = (s: HTMLSelectElement, t: HTMLTextAreaElement) =>
      s.value === 'paste' ? `${t.value.replace(/\r\n/g, '\n').trimEnd()}\n` : choices[Number(s.value)]!.note;
    const run = async () => {
      replace(out, banner('wait', 'Checking…'));
      replace(out, await check(noteOf(a.s, pasteA), noteOf(b.s, pasteB), pin));
    };
    replace(
      main,
      h('h1', null, 'Consistency between two checkpoints'),
      h(
        'p',
        null,
        'Shows that the newer log extends the older one without changing or removing anything: both checkpoints must be signed by the pinned key, and the proof is checked in this browser.',
      ),
      h(
        'form',
        {
          onsubmit: (e: Event) => {
            e.preventDefault();
            void run();
          },
        },
        a.field,
        h('details', null, h('summary', null, 'Paste the older checkpoint'), pasteA),
        b.field,
        h('details', null, h('summary', null, 'Paste the newer checkpoint'), pasteB),
        h('div', { class: 'field actions' }, h('button', { type: 'submit' }, 'Check consistency')),
      ),
      out,
    );
  } catch (err) {
    replace(main, h('h1', null, 'Consistency'), banner('bad', (err as Error).message));
  }
}

async function check(oldNote: string, newNote: string, pin: Pin): Promise<HTMLElement> {
  const [o, n] = await Promise.all([checkCheckpoint(oldNote, pin.key), checkCheckpoint(newNote, pin.key)]);
  if (!o.ok) return banner('bad', `Older checkpoint NOT verified: ${o.reason}`);
  if (!n.ok) return banner('bad', `Newer checkpoint NOT verified: ${n.reason}`);
  const a: Checkpoint = o.checkpoint;
  const b: Checkpoint = n.checkpoint;
  if (a.origin !== b.origin)
    return banner('bad', `The checkpoints are of two logs: ${a.origin} and ${b.origin}`);
  if (a.treeSize > b.treeSize)
    return banner(
      'bad',
      `The "older" checkpoint (${a.treeSize}) is larger than the "newer" one (${b.treeSize}): swap them`,
    );
  let proof: string[] = [];
  if (a.treeSize > 0 && a.treeSize < b.treeSize) {
    const p = await getJson<{ proof: string[] }>('/vcp/consistency', { from: a.treeSize, to: b.treeSize });
    proof = p.proof;
  }
  const ok =
    a.treeSize === 0 ||
    (a.treeSize === b.treeSize
      ? a.rootHex === b.rootHex
      : await verifyConsistency(a.treeSize, b.treeSize, a.rootHex, b.rootHex, proof));
  return h(
    'div',
    null,
    ok
      ? banner(
          'ok',
          h('strong', null, 'Consistent, verified locally: '),
          `the log at ${b.treeSize} events extends the log at ${a.treeSize} without changing any of its first ${a.treeSize} events.`,
        )
      : banner(
          'bad',
          h('strong', null, 'NOT consistent: '),
          `the proof does not lead from the signed root at ${a.treeSize} to the signed root at ${b.treeSize}. The log was rewritten, or the server answered a wrong proof.`,
        ),
    facts([
      ['Older', `${a.treeSize} events, root `],
      ['', mono(a.rootHex)],
      ['Newer', `${b.treeSize} events, root `],
      ['', mono(b.rootHex)],
      ['Proof hashes', String(proof.length)],
    ]),
  );
}
