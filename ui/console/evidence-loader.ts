/**
 * Fetches what a local check needs — the newest signed checkpoint, each
 * event, its inclusion proof to exactly that checkpoint's tree size, the
 * checkpoint's anchor records — and checks it with lib/evidence.ts. Sizes
 * and roots are read from the signed note, never from the JSON beside it.
 */
import { type AnchorCheck, checkAnchorRecord } from '../lib/anchor.ts';
import { type CheckpointCheck, checkCheckpoint } from '../lib/checkpoint.ts';
import { type EventJson, type Evidence, type ProofJson, verifyEvidence } from '../lib/evidence.ts';
import { getJson } from './api.ts';
import type { Pin } from './pin.ts';

/** `GET /vcp/checkpoint`. */
export interface CheckpointBody {
  note: string;
  origin: string;
  tree_size: number;
  root: string;
  merkle_mode: string;
  signed_at: string | null;
}

/** One event's evidence, or why there is none. */
export interface Item {
  id: string;
  event?: EventJson;
  proof?: ProofJson;
  evidence?: Evidence;
  /** Newer than the newest checkpoint: nothing signed covers it yet. */
  pending?: boolean;
  error?: string;
}

/** Everything for a set of events. */
export interface Loaded {
  note: string;
  checked: CheckpointCheck;
  items: Item[];
  /** Anchor records whose tree size is the checkpoint's (their TSA receipts). */
  anchors: Record<string, unknown>[];
  /** Each anchor record checked here (signature by the pinned key, same root as the checkpoint). */
  anchorChecks: AnchorCheck[];
}

const CONCURRENCY = 6;

/** Load and check `ids` against the newest checkpoint. */
export async function loadEvidence(ids: string[], pin: Pin): Promise<Loaded> {
  const cp = await getJson<CheckpointBody>('/vcp/checkpoint');
  const checked = await checkCheckpoint(cp.note, pin.key);
  const size = checked.checkpoint?.treeSize;
  const items: Item[] = ids.map((id) => ({ id }));
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      try {
        const path = `/vcp/events/${encodeURIComponent(item.id)}`;
        item.event = await getJson<EventJson>(path);
        const index = item.event.security?.merkle_index;
        if (size === undefined) {
          item.error = 'no readable checkpoint';
          continue;
        }
        if (typeof index === 'number' && index >= size) {
          item.pending = true;
          continue;
        }
        item.proof = await getJson<ProofJson>(`${path}/proof`, { size });
        item.evidence = await verifyEvidence(item.event, item.proof, cp.note, pin.key, checked);
      } catch (e) {
        item.error = (e as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, items.length) }, worker));
  const all = await getJson<{ anchors: Record<string, unknown>[] }>('/vcp/anchors');
  const anchors = all.anchors.filter((a) => a.tree_size === size);
  const signed = checked.checkpoint;
  const anchorChecks = signed
    ? await Promise.all(anchors.map((a) => checkAnchorRecord(a, signed, pin.key)))
    : anchors.map(() => ({ ok: false, detail: 'no readable checkpoint' }));
  return { note: cp.note, checked, items, anchors, anchorChecks };
}
