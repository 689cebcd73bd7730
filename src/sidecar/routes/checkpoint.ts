/**
 * `GET /vcp/checkpoint`: the newest signed checkpoint of this log —
 * `{ note, origin, tree_size, root, merkle_mode, signed_at }`.
 *
 * That is the one signed with the newest anchor record. Before the first
 * anchor (or for a record made before records carried checkpoints) one is
 * signed on the spot over the current tree (resp. the record's root), and
 * cached: the same tree size is never signed twice, and a new one is signed
 * at most once a second (a slightly older checkpoint is still a true one).
 */
import type { ServerResponse } from 'node:http';
import { signCheckpoint } from '../../integrity/checkpoint/index.ts';
import { sidecarOrigin } from '../../integrity/export-meta.ts';
import { type CheckpointBody, describeCheckpoint } from '../checkpoints.ts';
import type { SidecarContext } from '../context.ts';
import { sendJson } from '../http.ts';

/** Shortest time between two checkpoints signed on demand, ms. */
export const ON_DEMAND_MIN_INTERVAL_MS = 1000;

interface Cached {
  size: number;
  root: string;
  body: CheckpointBody;
  atMs: number;
}

// One cache per log (a cluster member serves one context per partition).
const cache = new WeakMap<SidecarContext, Cached>();

/** The newest checkpoint of `ctx`'s log (see the module comment). */
export function newestCheckpoint(ctx: SidecarContext, nowMs = Date.now()): CheckpointBody {
  const last = ctx.tree.lastAnchor;
  if (last?.checkpoint) return describeCheckpoint(last.checkpoint);
  const size = last ? last.tree_size : ctx.tree.size;
  const root = last ? last.merkle_root : ctx.tree.root(size);
  const hit = cache.get(ctx);
  if (hit && hit.size === size && hit.root === root) return hit.body;
  // A growing tree before its first anchor: at most one new signature a second.
  if (!last && hit && hit.size <= size && nowMs - hit.atMs < ON_DEMAND_MIN_INTERVAL_MS) return hit.body;
  const note = signCheckpoint(
    {
      origin: sidecarOrigin(ctx.signer.keyId, ctx.partition),
      treeSize: size,
      rootHex: root,
      mode: ctx.tree.mode,
      time: new Date(nowMs),
      ...(ctx.partition !== undefined ? { partition: ctx.partition } : {}),
    },
    ctx.signer,
  );
  const body = describeCheckpoint(note);
  cache.set(ctx, { size, root, body, atMs: nowMs });
  return body;
}

/** Handle `GET /vcp/checkpoint`. */
export async function handleCheckpoint(ctx: SidecarContext, res: ServerResponse): Promise<void> {
  const body = newestCheckpoint(ctx);
  // A checkpoint signed on demand (no anchor yet) is a promise too: noted before anyone sees it.
  if (!ctx.tree.lastAnchor?.checkpoint) await ctx.store.noteSignedSize?.(body.tree_size);
  sendJson(res, 200, ctx.partition !== undefined ? { ...body, partition: ctx.partition } : body);
}
