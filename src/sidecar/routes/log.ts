/**
 * `POST /vcp/log`: one event, a JSON array, or NDJSON → 201 once durable.
 * See docs/sidecar-api.md for the answers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SidecarContext } from '../context.ts';
import { HttpError, readBody, sendJson } from '../http.ts';
import { bodyKindOf, parseLogBody, prepareEvents } from '../ingest.ts';

/** Handle `POST /vcp/log`. Throws HttpError for every refusal (the server answers it). */
export async function handleLog(
  ctx: SidecarContext,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const kind = bodyKindOf(req.headers['content-type']);
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
    throw new HttpError(
      415,
      'unsupported_media_type',
      `Content-Encoding ${encoding} is not accepted; send the body uncompressed`,
    );
  }
  const limits = ctx.config.limits;
  let count = 1;
  try {
    const body = await readBody(req, limits.maxBodyBytes);
    const receivedAt = new Date().toISOString();
    const parsed = parseLogBody(body, kind, limits);
    count = parsed.items.length;
    const prepared = prepareEvents(parsed, {
      strict: ctx.config.strict,
      maxBatchEvents: limits.maxBatchEvents,
      maxEventBytes: limits.maxEventBytes,
    });
    const results = await ctx.writer.submit(prepared, parsed.batch, receivedAt);
    if (parsed.batch) sendJson(res, 201, { status: 'ok', count: results.length, results });
    else sendJson(res, 201, results[0]);
  } catch (e) {
    if (e instanceof HttpError && e.error !== 'conflict' && e.status !== 503)
      ctx.metrics.reject(e.error, count);
    throw e;
  }
}
