/**
 * `POST /vcp/log`: one event, a JSON array, or NDJSON → 201 once durable.
 * See docs/sidecar-api.md for the answers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SidecarContext } from '../context.ts';
import { HttpError, readBody, sendJson } from '../http.ts';
import { bodyKindOf, type PreparedEvent, parseLogBody, prepareEvents } from '../ingest.ts';
import { IngestRefusal } from '../ingest-pool.ts';

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
  const options = {
    strict: ctx.config.strict,
    maxBatchEvents: limits.maxBatchEvents,
    maxEventBytes: limits.maxEventBytes,
  };
  let count = 1;
  try {
    const body = await readBody(req, limits.maxBodyBytes);
    const receivedAt = new Date().toISOString();
    let prepared: PreparedEvent[];
    let batch: boolean;
    const pool = ctx.ingestPool;
    // The inline path runs synchronously up to `submit`, so the commit queue's depth and the
    // thread's jobs are all the other work in progress.
    if (pool?.wants(body.length, ctx.writer.depth > 0)) {
      // A large body while others are in progress: parsed, validated and hashed on an ingest thread (ingest-pool.ts).
      try {
        ({ events: prepared, batch, count } = await pool.prepare(body, kind, options));
      } catch (e) {
        if (!(e instanceof IngestRefusal)) throw e;
        count = e.count;
        throw e.error;
      }
    } else {
      const parsed = parseLogBody(body, kind, limits);
      count = parsed.items.length;
      batch = parsed.batch;
      prepared = prepareEvents(parsed, options);
    }
    const results = await ctx.writer.submit(prepared, batch, receivedAt);
    if (batch) sendJson(res, 201, { status: 'ok', count: results.length, results });
    else sendJson(res, 201, results[0]);
  } catch (e) {
    if (e instanceof HttpError && e.error !== 'conflict' && e.status !== 503)
      ctx.metrics.reject(e.error, count);
    throw e;
  }
}
