/**
 * `POST /vcp/anchor`: close the current batch now and return its
 * AnchorRecord (201), or the latest one with `unchanged: true` (200) when
 * nothing arrived since.
 */
import type { ServerResponse } from 'node:http';
import type { SidecarContext } from '../context.ts';
import { HttpError, sendJson } from '../http.ts';

/** Handle `POST /vcp/anchor`. */
export async function handleAnchor(ctx: SidecarContext, res: ServerResponse): Promise<void> {
  let outcome: Awaited<ReturnType<SidecarContext['anchoring']['anchorNow']>>;
  try {
    outcome = await ctx.anchoring.anchorNow();
  } catch (e) {
    ctx.log(`anchoring failed: ${(e as Error).message}`);
    throw new HttpError(
      503,
      'anchoring_failed',
      'the anchor record could not be made or stored; see the sidecar log',
      {},
      { 'retry-after': '5' },
    );
  }
  if (!outcome) {
    sendJson(res, 200, {
      status: 'ok',
      unchanged: true,
      tree_size: 0,
      event_count: 0,
      message: 'no events to anchor yet',
    });
    return;
  }
  const body = { status: 'ok', ...outcome.record, ...(outcome.unchanged ? { unchanged: true } : {}) };
  sendJson(res, outcome.unchanged ? 200 : 201, body);
}
