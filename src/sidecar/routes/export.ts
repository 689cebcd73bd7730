/**
 * `GET /vcp/export[?from=&to=]`: the log as JSON Lines in export format v2
 * (docs/sidecar-api.md), one segment —
 *
 * 1. a `vcp_export` META line (origin, range `from`..`to` exclusive,
 *    `tree_size` = `to`, signing key, mode, policy; `partition` in cluster mode);
 * 2. the events `from`..`to`-1 in leaf order (each with the anchor covering
 *    it filled in);
 * 3. the anchor records whose roots the log's first `to` leaves rebuild
 *    (each with its signed `checkpoint`);
 * 4. last, a checkpoint signed now over exactly leaves 0..`to`-1, binding
 *    the META line (`vcp-meta`): a verifier can tell a cut or edited export
 *    from the one this sidecar wrote.
 *
 * Streams with backpressure, so a large log costs constant memory.
 * A partial export (`from > 0`) verifies as "indexes 0..from-1 missing": the
 * tree can only be rebuilt from the first leaf.
 */
import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { AnchorRecord } from '../../core/types.ts';
import { signCheckpoint } from '../../integrity/checkpoint/index.ts';
import { exportLine } from '../../integrity/export-format.ts';
import {
  buildExportMeta,
  checkpointLine,
  metaLine,
  PRODUCERS,
  sidecarOrigin,
} from '../../integrity/export-meta.ts';
import type { SidecarContext } from '../context.ts';
import { HttpError, intParam } from '../http.ts';
import { withAnchor } from './query.ts';

const CHUNK_BYTES = 64 * 1024;

/** Handle `GET /vcp/export`. */
export async function handleExport(
  ctx: SidecarContext,
  res: ServerResponse,
  params: URLSearchParams,
): Promise<void> {
  const size = ctx.tree.size;
  const from = intParam(params, 'from') ?? 0;
  const to = intParam(params, 'to') ?? size;
  if (from > to || to > size) {
    throw new HttpError(400, 'validation', `need 0 ≤ from ≤ to ≤ ${size} (the tree size)`, {
      errors: [{ path: from > to ? 'from' : 'to', rule: 'range', message: `0 ≤ from ≤ to ≤ ${size}` }],
    });
  }
  // Anchors whose roots these events rebuild (from the first leaf up to `to`), by tree size.
  const anchors: AnchorRecord[] = ctx.tree.anchorsBySize.filter((a) => a.tree_size <= to);
  const origin = sidecarOrigin(ctx.signer.keyId, ctx.partition);
  const meta = buildExportMeta(
    {
      origin,
      producer: PRODUCERS.sidecar,
      merkleMode: ctx.tree.mode,
      policyId: ctx.config.policyId,
      from,
      to,
      treeSize: to,
      // Cluster mode: one export per partition, each its own tree (its events and anchors carry `partition` too).
      ...(ctx.partition !== undefined ? { partition: ctx.partition } : {}),
    },
    ctx.signer,
  );
  res.writeHead(200, {
    'content-type': 'application/x-ndjson; charset=utf-8',
    'cache-control': 'no-store',
    'content-disposition': 'attachment; filename="vcp-export.jsonl"',
  });
  let closed = false;
  res.on('close', () => {
    closed = true;
  });
  let buf = `${metaLine(meta)}\n`;
  const flush = async () => {
    if (buf.length === 0) return;
    const ok = res.write(buf);
    buf = '';
    if (!ok && !closed) await once(res, 'drain');
  };
  // The covering anchor of each event: the smallest exported tree_size above its index; walks forward with the events.
  const covering = anchors;
  let c = 0;
  let next = from;
  for await (const ev of ctx.store.scan(from, to)) {
    if (closed) break;
    if (ev.index !== next++) break; // a hole in the store: never sign over it (checked below)
    while (c < covering.length && covering[c]!.tree_size <= ev.index) c++;
    buf += `${exportLine({ kind: 'event', event: withAnchor(ev.event, covering[c]) })}\n`;
    if (buf.length >= CHUNK_BYTES) await flush();
  }
  for (const anchor of anchors) buf += `${exportLine({ kind: 'anchor', anchor })}\n`;
  if (!closed && next !== to) {
    // Never sign a checkpoint over events this export did not hold: cut the response short instead.
    ctx.log(`export ${from}..${to}: the store gave events only up to index ${next - 1}; export aborted`);
    res.destroy(new Error('store scan ended early'));
    return;
  }
  if (!closed) {
    // Noted durably first: recovery must never go below a size a signed checkpoint was handed out for.
    await ctx.store.noteSignedSize?.(to);
    // Signed now, over exactly the range written: leaves 0..to-1 (append-only, so stable while streaming).
    const note = signCheckpoint(
      {
        origin,
        treeSize: to,
        rootHex: ctx.tree.root(to),
        mode: ctx.tree.mode,
        meta,
        ...(ctx.partition !== undefined ? { partition: ctx.partition } : {}),
      },
      ctx.signer,
    );
    buf += `${checkpointLine(note)}\n`;
    await flush();
    res.end();
  }
}
