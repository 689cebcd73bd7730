/**
 * Read-only queries: an event, its inclusion proof, a consistency proof
 * between two tree sizes, and the anchor records.
 */
import type { ServerResponse } from 'node:http';
import type { AnchorRecord, VcpEvent } from '../../core/types.ts';
import type { SidecarContext } from '../context.ts';
import { HttpError, intParam, sendJson } from '../http.ts';

const MAX_ID_LENGTH = 128;

/** Decode the `:id` path segment; 400 for malformed escapes or absurd lengths. */
export function eventIdParam(raw: string): string {
  let id: string;
  try {
    id = decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, 'validation', 'the event id in the path is not valid percent-encoding', {
      errors: [{ path: 'id', rule: 'uri', message: 'malformed percent-encoding' }],
    });
  }
  if (id.length === 0 || id.length > MAX_ID_LENGTH) {
    throw new HttpError(400, 'validation', `an event id has 1 to ${MAX_ID_LENGTH} characters`, {
      errors: [{ path: 'id', rule: 'length', message: `1 to ${MAX_ID_LENGTH} characters` }],
    });
  }
  return id;
}

/** The event with the anchor that covers it filled in (`merkle_root`, `anchor_reference`). */
export function withAnchor(event: VcpEvent, anchor: AnchorRecord | undefined): VcpEvent {
  if (!anchor) return event;
  return {
    ...event,
    security: { ...event.security, merkle_root: anchor.merkle_root, anchor_reference: anchor.anchor_id },
  };
}

function notFound(id: string): HttpError {
  return new HttpError(404, 'not_found', `no event with event_id ${id.slice(0, MAX_ID_LENGTH)}`);
}

/** `GET /vcp/events/:id`. */
export async function handleGetEvent(ctx: SidecarContext, res: ServerResponse, rawId: string): Promise<void> {
  const id = eventIdParam(rawId);
  const stored = await ctx.store.getById(id);
  if (!stored || stored.index >= ctx.tree.size) throw notFound(id);
  sendJson(res, 200, withAnchor(stored.event, ctx.tree.coveringAnchor(stored.index)));
}

/**
 * `GET /vcp/events/:id/proof[?size=n]`: against the latest anchor covering it, or the current tree if none.
 * In cluster mode the answer names the partition whose tree the proof is in.
 */
export async function handleProof(
  ctx: SidecarContext,
  res: ServerResponse,
  rawId: string,
  params: URLSearchParams,
): Promise<void> {
  const id = eventIdParam(rawId);
  const stored = await ctx.store.getById(id);
  const tree = ctx.tree;
  if (!stored || stored.index >= tree.size) throw notFound(id);
  const index = stored.index;
  let size = intParam(params, 'size');
  let anchor: AnchorRecord | undefined;
  if (size === undefined) {
    const latest = tree.lastAnchor;
    anchor = latest && latest.tree_size > index ? latest : undefined;
    size = anchor ? anchor.tree_size : tree.size;
  } else {
    if (size <= index || size > tree.size) {
      throw new HttpError(
        400,
        'validation',
        `size must be between ${index + 1} (this event's index + 1) and ${tree.size} (the tree size)`,
        {
          errors: [{ path: 'size', rule: 'range', message: `${index + 1} ≤ size ≤ ${tree.size}` }],
        },
      );
    }
    anchor = tree.anchorAtSize(size);
  }
  const body: Record<string, unknown> = {
    event_id: stored.eventId,
    event_hash: stored.eventHash,
    merkle_index: index,
    tree_size: size,
    merkle_root: tree.root(size),
    merkle_mode: tree.mode,
    proof: tree.tree.inclusionProof(index, size),
    anchored: anchor !== undefined,
  };
  if (anchor) body.anchor_id = anchor.anchor_id;
  if (ctx.partition !== undefined) body.partition = ctx.partition;
  sendJson(res, 200, body);
}

/** `GET /vcp/consistency?from=m&to=n` (to defaults to the current size). */
export function handleConsistency(ctx: SidecarContext, res: ServerResponse, params: URLSearchParams): void {
  const tree = ctx.tree;
  const from = intParam(params, 'from');
  const to = intParam(params, 'to') ?? tree.size;
  if (from === undefined) {
    throw new HttpError(400, 'validation', 'query parameter from is required', {
      errors: [{ path: 'from', rule: 'required', message: 'from is required' }],
    });
  }
  if (from < 1 || from > to || to > tree.size) {
    throw new HttpError(400, 'validation', `need 1 ≤ from ≤ to ≤ ${tree.size} (the tree size)`, {
      errors: [
        {
          path: from < 1 || from > to ? 'from' : 'to',
          rule: 'range',
          message: `1 ≤ from ≤ to ≤ ${tree.size}`,
        },
      ],
    });
  }
  sendJson(res, 200, {
    from,
    to,
    from_root: tree.root(from),
    to_root: tree.root(to),
    merkle_mode: tree.mode,
    proof: tree.tree.consistencyProof(from, to),
    ...(ctx.partition !== undefined ? { partition: ctx.partition } : {}),
  });
}

/** `GET /vcp/anchors`. */
export function handleAnchors(ctx: SidecarContext, res: ServerResponse): void {
  sendJson(res, 200, { anchors: ctx.tree.anchors });
}
