/**
 * `GET /vcp/export[?from=&to=]`: the log as JSON Lines in the export format
 * `vcp verify` reads — a `vcp_export` line, the events in leaf order (each
 * with the anchor covering it filled in), then the anchor records whose
 * roots the exported events can rebuild. Streams with backpressure, so a
 * large log costs constant memory.
 *
 * A partial export (`from > 0`) verifies as "indexes 0..from-1 missing": the
 * tree can only be rebuilt from the first leaf.
 */
import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { AnchorRecord } from '../../core/types.ts';
import { type ExportMeta, exportLine } from '../../integrity/export-format.ts';
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
  const meta: ExportMeta = {
    format: 'vcp-export',
    version: 1,
    created_at: new Date().toISOString(),
    merkle_mode: ctx.tree.mode,
    policy_id: ctx.config.policyId,
    producer: 'vcp-instrument sidecar',
    store: ctx.store.name,
    from,
    to,
    tree_size: size,
    signing_key_id: ctx.signer.keyId,
    signing_public_key: ctx.signer.exportPublicKey('hex'),
  };
  // Cluster mode: one export per partition, each its own tree (its events and anchors carry `partition` too).
  if (ctx.partition !== undefined) meta.partition = ctx.partition;
  res.writeHead(200, {
    'content-type': 'application/x-ndjson; charset=utf-8',
    'cache-control': 'no-store',
    'content-disposition': 'attachment; filename="vcp-export.jsonl"',
  });
  let closed = false;
  res.on('close', () => {
    closed = true;
  });
  let buf = `${exportLine({ kind: 'meta', meta })}\n`;
  const flush = async () => {
    if (buf.length === 0) return;
    const ok = res.write(buf);
    buf = '';
    if (!ok && !closed) await once(res, 'drain');
  };
  // The covering anchor of each event: the smallest exported tree_size above its index; walks forward with the events.
  const covering = anchors;
  let c = 0;
  for await (const ev of ctx.store.scan(from, to)) {
    if (closed) break;
    while (c < covering.length && covering[c]!.tree_size <= ev.index) c++;
    buf += `${exportLine({ kind: 'event', event: withAnchor(ev.event, covering[c]) })}\n`;
    if (buf.length >= CHUNK_BYTES) await flush();
  }
  for (const anchor of anchors) buf += `${exportLine({ kind: 'anchor', anchor })}\n`;
  if (!closed) {
    await flush();
    res.end();
  }
}
