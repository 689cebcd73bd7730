/**
 * `GET` of a small JSON document from a sidecar, for the code that asks one (`vcp verify --sidecar` for its
 * checkpoint and proofs, `readSidecarLimits` for its event limits). One deadline covers the whole exchange and the body
 * is read up to a cap, so a slow, trickling or hostile server costs at most the deadline and the cap, never a
 * stalled command or its memory.
 */
import { request } from 'undici';

/** What {@link getSidecarJson} read: the status and the parsed body, whatever the status. */
export interface SidecarAnswer {
  status: number;
  body: unknown;
}

/**
 * GET `url` (with the bearer `token` when given, and any extra `headers`) and parse the answer as JSON.
 * @throws Error naming the cause: no answer within `timeoutMs`, a body over `maxBytes`, a body that is not JSON.
 */
export async function getSidecarJson(
  url: URL | string,
  token: string | undefined,
  limits: { timeoutMs: number; maxBytes: number; headers?: Record<string, string> | undefined },
): Promise<SidecarAnswer> {
  const res = await request(url, {
    method: 'GET',
    headers: { ...limits.headers, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    signal: AbortSignal.timeout(limits.timeoutMs),
  });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limits.maxBytes) {
      res.body.destroy();
      throw new Error(`answered more than ${limits.maxBytes} bytes (HTTP ${res.statusCode})`);
    }
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return { status: res.statusCode, body: JSON.parse(text) };
  } catch {
    // Quoted as JSON: a hostile body's control characters (terminal escapes) reach no terminal as they are.
    throw new Error(`answered HTTP ${res.statusCode} without JSON: ${JSON.stringify(text.slice(0, 200))}`);
  }
}
