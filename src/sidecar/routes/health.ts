/**
 * `GET /health` (a superset of the guide's) and `GET /metrics` (Prometheus).
 */
import type { ServerResponse } from 'node:http';
import type { SidecarContext } from '../context.ts';
import { sendJson } from '../http.ts';
import { PROMETHEUS_CONTENT_TYPE, renderStoreMetrics } from '../metrics.ts';
import { storeHealthOf } from '../store/store-health.ts';

/**
 * The /health body. `status` is `healthy` (the integration guide's value), `degraded` (anchor lag beyond the
 * tier's interval), `failing` (the store refuses writes: lock lost, fsync
 * failed, the scrub found damage; `store_problem` says why; or the last write
 * failed and none has succeeded since: `last_write_failure`) or `shutting_down`.
 */
export function healthBody(ctx: SidecarContext): Record<string, unknown> {
  const tree = ctx.tree;
  const last = ctx.anchoring.lastAnchor() ?? tree.lastAnchor;
  const lag = ctx.anchoring.lagMs();
  const limit = ctx.config.anchorIntervalMs;
  const storage = storeHealthOf(ctx.store);
  const lastFailure = ctx.writer.lastFailure;
  const status = ctx.shuttingDown
    ? 'shutting_down'
    : (storage && !storage.writable) || lastFailure
      ? 'failing'
      : lag > limit
        ? 'degraded'
        : 'healthy';
  const body: Record<string, unknown> = {
    status,
    pending_events: tree.size - tree.anchoredSize,
    queue_depth: ctx.writer.depth,
    current_root: tree.root(),
    tree_size: tree.size,
    merkle_mode: tree.mode,
    last_anchor: last
      ? {
          anchor_id: last.anchor_id,
          merkle_root: last.merkle_root,
          tree_size: last.tree_size,
          event_count: last.event_count,
          anchored_at: last.anchored_at,
          target: last.anchor_target?.type,
        }
      : null,
    anchor_lag_ms: lag,
    anchor_lag_limit_ms: limit,
    store: ctx.store.name,
    tier: ctx.config.tier,
    strict: ctx.config.strict,
    // The request limits: a client (`openHttpSink`, `vcp tap --sidecar`) seals nothing larger than the events taken here.
    max_event_bytes: ctx.config.limits.maxEventBytes,
    max_batch_events: ctx.config.limits.maxBatchEvents,
    signing_key_id: ctx.signer.keyId,
    uptime_s: Math.round((Date.now() - ctx.startedAt) / 1000),
  };
  if (lastFailure) body.last_write_failure = lastFailure;
  if (storage) {
    body.store_writable = storage.writable;
    if (storage.problem) body.store_problem = storage.problem;
    if (storage.scrub) body.scrub = storage.scrub;
  }
  const extra = ctx.anchoring.health?.();
  if (extra) body.anchoring = extra;
  return body;
}

/**
 * `GET /health`: 200 while serving, 503 during shutdown or while the store refuses writes.
 * `full: false` (a request that fails the access check: foreign Host without a token, no
 * token) answers `{status}` only; store path, tree and root are not for anonymous callers.
 */
export function handleHealth(ctx: SidecarContext, res: ServerResponse, full = true): void {
  const body = healthBody(ctx);
  const code = ctx.shuttingDown || body.status === 'failing' ? 503 : 200;
  sendJson(res, code, full ? body : { status: body.status });
}

/** `GET /metrics`. */
export function handleMetrics(ctx: SidecarContext, res: ServerResponse): void {
  const text = ctx.metrics.render() + renderStoreMetrics(storeHealthOf(ctx.store));
  res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
