/**
 * The HTTP API of a cluster-mode sidecar: the queries of docs/sidecar-api.md
 * over the partitions this member owns, each answered by the partition's
 * own log with the single-log route handlers (routes/*), so proofs, exports
 * and anchors are exactly those of a one-tree sidecar, plus `partition`.
 *
 * - `GET /health` — the member, the group, and each owned partition;
 * - `GET /vcp/events/:id`, `GET /vcp/events/:id/proof` — looked up in every
 *   open partition (an event lives in exactly one: its trace id's);
 * - `GET /vcp/export?partition=N`, `GET /vcp/checkpoint?partition=N`,
 *   `GET /vcp/consistency?partition=N&…` —
 *   one partition's tree (required: each partition is its own tree);
 * - `GET /vcp/anchors[?partition=N]`, `POST /vcp/anchor[?partition=N]` —
 *   one partition, or every open one;
 * - `POST /vcp/log` — 405: events reach a cluster through the Kafka topic
 *   (`KafkaSink`), never over HTTP, so that every event has exactly one
 *   partition, one tree and one writer.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { VcpEvent } from '../../core/types.ts';
import type { SidecarContext } from '../context.ts';
import { HttpError, intParam, sendJson } from '../http.ts';
import { checkAccess, methodNotAllowed, shuttingDown } from '../http-server.ts';
import { PROMETHEUS_CONTENT_TYPE } from '../metrics.ts';
import { handleCheckpoint } from '../routes/checkpoint.ts';
import { handleExport } from '../routes/export.ts';
import { eventIdParam, handleConsistency, handleProof, withAnchor } from '../routes/query.ts';
import type { KafkaIngest } from './ingest-url.ts';

/** What the routes need of the cluster sidecar. */
export interface ClusterView {
  readonly ingest: KafkaIngest;
  readonly shuttingDown: boolean;
  /** Partitions owned by this member whose log is open, sorted. */
  open(): { partition: number; ctx: SidecarContext }[];
  /** Partitions owned by this member (open or still opening), sorted. */
  owned(): number[];
  /** `GET /health`: status code and body. */
  health(): Promise<{ status: number; body: Record<string, unknown> }>;
  /** `GET /metrics` text. */
  metrics(): string;
  log(line: string): void;
}

const EVENTS_PREFIX = '/vcp/events/';

/** Route one request (errors are thrown as HttpError and answered by the server). */
export async function dispatchCluster(
  view: ClusterView,
  check: ((authorization: string | undefined) => boolean) | undefined,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const method = req.method ?? 'GET';
  if (path === '/health') {
    if (method !== 'GET' && method !== 'HEAD') throw methodNotAllowed('GET');
    const { status, body } = await view.health();
    sendJson(res, status, body);
    return;
  }
  if (view.shuttingDown) throw shuttingDown();
  checkAccess(check, req);
  const params = new URLSearchParams(q === -1 ? '' : url.slice(q + 1));
  switch (path) {
    case '/vcp/log':
      throw new HttpError(
        405,
        'kafka_ingest',
        `this sidecar runs in cluster mode and takes events from Kafka topic ${view.ingest.topic} only; ` +
          'send them there (KafkaSink: key = trace id, value = the sealed event), not over HTTP',
        { topic: view.ingest.topic, group: view.ingest.groupId },
        { allow: '' },
      );
    case '/vcp/anchor':
      if (method !== 'POST') throw methodNotAllowed('POST');
      return anchorPartitions(view, res, params);
    case '/metrics': {
      if (method !== 'GET') throw methodNotAllowed('GET');
      const text = view.metrics();
      res.writeHead(200, {
        'content-type': PROMETHEUS_CONTENT_TYPE,
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
      return;
    }
    case '/vcp/anchors': {
      if (method !== 'GET') throw methodNotAllowed('GET');
      const selected = selectPartitions(view, params);
      sendJson(res, 200, { anchors: selected.flatMap((p) => p.ctx.tree.anchors) });
      return;
    }
    case '/vcp/consistency':
      if (method !== 'GET') throw methodNotAllowed('GET');
      return handleConsistency(onePartition(view, params), res, params);
    case '/vcp/export':
      if (method !== 'GET') throw methodNotAllowed('GET');
      return handleExport(onePartition(view, params), res, params);
    case '/vcp/checkpoint':
      if (method !== 'GET') throw methodNotAllowed('GET');
      return handleCheckpoint(onePartition(view, params), res);
  }
  if (path.startsWith(EVENTS_PREFIX)) {
    if (method !== 'GET') throw methodNotAllowed('GET');
    const rest = path.slice(EVENTS_PREFIX.length);
    const proof = rest.endsWith('/proof');
    const rawId = proof ? rest.slice(0, -'/proof'.length) : rest;
    if (proof || !rawId.includes('/')) {
      const id = eventIdParam(rawId);
      const found = await findEvent(view, id);
      if (!found)
        throw new HttpError(
          404,
          'not_found',
          `no event with event_id ${id} in partitions ${listOf(view.owned())} (owned by this member)`,
        );
      if (proof) return handleProof(found.ctx, res, rawId, params);
      sendJson(res, 200, withAnchor(found.event, found.ctx.tree.coveringAnchor(found.index)));
      return;
    }
  }
  throw new HttpError(404, 'not_found', `no route ${method} ${path.slice(0, 100)}`);
}

function listOf(partitions: number[]): string {
  return partitions.length ? partitions.join(', ') : '(none)';
}

/** The event in whichever open partition holds it. */
async function findEvent(
  view: ClusterView,
  id: string,
): Promise<{ ctx: SidecarContext; event: VcpEvent; index: number } | undefined> {
  for (const { ctx } of view.open()) {
    const stored = await ctx.store.getById(id);
    if (stored && stored.index < ctx.tree.size) return { ctx, event: stored.event, index: stored.index };
  }
  return undefined;
}

/** `?partition=N` (one open partition) or every open partition. */
function selectPartitions(
  view: ClusterView,
  params: URLSearchParams,
): { partition: number; ctx: SidecarContext }[] {
  const n = intParam(params, 'partition');
  if (n === undefined) return view.open();
  return [{ partition: n, ctx: onePartition(view, params) }];
}

/** The open partition named by `?partition=N` (required). */
function onePartition(view: ClusterView, params: URLSearchParams): SidecarContext {
  const n = intParam(params, 'partition');
  const open = view.open();
  if (n === undefined) {
    throw new HttpError(
      400,
      'validation',
      `query parameter partition is required: each partition has its own tree (open here: ${listOf(open.map((p) => p.partition))})`,
      { errors: [{ path: 'partition', rule: 'required', message: 'partition is required in cluster mode' }] },
    );
  }
  const found = open.find((p) => p.partition === n);
  if (!found) {
    throw new HttpError(
      404,
      'partition_not_here',
      `partition ${n} is not open on this member (open: ${listOf(open.map((p) => p.partition))}); ` +
        `another member of group ${view.ingest.groupId} owns it, or it is still opening`,
      { partition: n, open: open.map((p) => p.partition), owned: view.owned() },
    );
  }
  return found.ctx;
}

/** `POST /vcp/anchor[?partition=N]`: close the current batch of each selected partition now. */
async function anchorPartitions(
  view: ClusterView,
  res: ServerResponse,
  params: URLSearchParams,
): Promise<void> {
  const selected = selectPartitions(view, params);
  const results = await Promise.all(
    selected.map(async ({ partition, ctx }) => {
      try {
        const out = await ctx.anchoring.anchorNow();
        if (!out) return { partition, unchanged: true, tree_size: 0, event_count: 0 };
        return { ...out.record, partition, ...(out.unchanged ? { unchanged: true } : {}) };
      } catch (e) {
        view.log(`partition ${partition}: anchoring failed: ${(e as Error).message}`);
        return { partition, failed: true as const };
      }
    }),
  );
  const failed = results.filter((r) => 'failed' in r).map((r) => r.partition);
  if (failed.length) {
    throw new HttpError(
      503,
      'anchoring_failed',
      `the anchor record of partition(s) ${failed.join(', ')} could not be made or stored; see the sidecar log`,
      { failed, anchors: results.filter((r) => !('failed' in r)) },
      { 'retry-after': '5' },
    );
  }
  const made = results.some((r) => !('unchanged' in r));
  sendJson(res, made ? 201 : 200, { status: 'ok', anchors: results });
}
