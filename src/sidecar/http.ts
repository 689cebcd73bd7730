/**
 * HTTP plumbing shared by the routes: JSON answers, the error shape of the
 * API (`{"status":"error","error":code,"message",…}`, never a stack trace),
 * and body reading that stops at the size limit.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type ValidationIssue, VcpError } from '../core/errors.ts';

/** An answer other than success, with its status code and JSON body. */
export class HttpError extends VcpError {
  readonly status: number;
  /** Machine-readable `error` field: `validation`, `conflict`, `payload_too_large`, … */
  readonly error: string;
  readonly extra: Record<string, unknown>;
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    error: string,
    message: string,
    extra: Record<string, unknown> = {},
    headers: Record<string, string> = {},
  ) {
    super('VCP_HTTP', message);
    this.status = status;
    this.error = error;
    this.extra = extra;
    this.headers = headers;
  }

  /** The response body. */
  body(): Record<string, unknown> {
    return { status: 'error', error: this.error, message: this.message, ...this.extra };
  }
}

/** Most issues listed in one 400 answer (the total is always given). */
export const MAX_LISTED_ISSUES = 100;

/** 400 listing each bad field and the rule it broke. */
export function validationError(issues: ValidationIssue[], message?: string): HttpError {
  const listed = issues.slice(0, MAX_LISTED_ISSUES);
  const first = issues[0];
  return new HttpError(
    400,
    'validation',
    message ?? (first ? `${first.path || '(body)'}: ${first.message}` : 'invalid request'),
    { errors: listed, error_count: issues.length },
  );
}

/** Send a JSON answer. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string | number> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

/** Send an HttpError. */
export function sendError(res: ServerResponse, err: HttpError): void {
  sendJson(res, err.status, err.body(), err.headers);
}

/**
 * Read the whole body, refusing more than `limit` bytes. A Content-Length
 * over the limit is refused before anything is read; a chunked body is cut
 * off as soon as it passes the limit (nothing beyond it is buffered). The
 * caller answers 413 and closes the connection.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const tooLarge = () =>
      new HttpError(413, 'payload_too_large', `request body larger than ${limit} bytes`, {
        limit,
        what: 'body',
      });
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > limit) {
      reject(tooLarge());
      return;
    }
    // With a declared length, chunks are copied into one buffer as they come: no list of
    // chunks and no second 8 MiB copy (Buffer.concat) in one go at the end.
    const expected = declared !== undefined && /^\d+$/.test(declared) ? Number(declared) : -1;
    const whole = expected > 64 * 1024 ? Buffer.allocUnsafe(expected) : undefined;
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (err?: unknown) => {
      if (done) return;
      done = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
      if (err) reject(err);
      else if (whole) resolve(size === whole.length ? whole : whole.subarray(0, size));
      else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer) => {
      if (size + chunk.length > limit) {
        chunks.length = 0;
        finish(tooLarge());
        return;
      }
      if (whole) {
        // Node's parser never delivers more than Content-Length; the check keeps the copy in bounds regardless.
        if (size + chunk.length > whole.length) {
          finish(new HttpError(400, 'bad_request', 'the body is longer than its Content-Length'));
          return;
        }
        chunk.copy(whole, size);
      } else chunks.push(chunk);
      size += chunk.length;
    };
    const onEnd = () => finish();
    const onError = (e: Error) =>
      finish(new HttpError(400, 'bad_request', `could not read the body: ${e.message}`));
    const onAborted = () => finish(new HttpError(400, 'bad_request', 'the client aborted the request'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}

/**
 * After refusing a body early: discard (not buffer) what the client still
 * sends, so it can finish writing and read the answer instead of failing
 * with EPIPE; then close the connection. Gives up (closes at once) past
 * `maxBytes`, after `idleMs` without data, or after `maxMs` in all: a slow
 * but steady sender of an 8 MiB body on a busy server still finishes.
 */
export function drainAndClose(
  req: IncomingMessage,
  res: ServerResponse,
  maxBytes = 64 * 1024 * 1024,
  idleMs = 2000,
  maxMs = 20_000,
): void {
  let seen = 0;
  const close = () => {
    clearTimeout(idle);
    clearTimeout(hard);
    req.socket.destroy();
  };
  const idle = setTimeout(close, idleMs);
  const hard = setTimeout(close, maxMs);
  idle.unref();
  hard.unref();
  req.on('data', (c: Buffer) => {
    seen += c.length;
    if (seen > maxBytes) return close();
    idle.refresh();
  });
  req.on('end', () => {
    clearTimeout(idle);
    clearTimeout(hard);
    if (!res.writableFinished) res.on('finish', () => req.socket.destroy());
    else req.socket.destroy();
  });
  req.resume();
}

/**
 * Read and discard the rest of a request body, then call `done`. Gives up
 * (closes the connection, `done` never called) past `maxBytes`, after
 * `idleMs` without data or `maxMs` in all.
 */
export function discardBody(
  req: IncomingMessage,
  done: () => void,
  maxBytes = 64 * 1024 * 1024,
  idleMs = 2000,
  maxMs = 20_000,
): void {
  let seen = 0;
  const giveUp = () => {
    clearTimeout(idle);
    clearTimeout(hard);
    req.socket.destroy();
  };
  const idle = setTimeout(giveUp, idleMs);
  const hard = setTimeout(giveUp, maxMs);
  idle.unref();
  hard.unref();
  req.on('data', (c: Buffer) => {
    seen += c.length;
    if (seen > maxBytes) return giveUp();
    idle.refresh();
  });
  req.once('end', () => {
    clearTimeout(idle);
    clearTimeout(hard);
    done();
  });
  req.resume();
}

/** Parse a non-negative integer query parameter; undefined when absent; 400 when malformed. */
export function intParam(params: URLSearchParams, name: string): number | undefined {
  const raw = params.get(name);
  if (raw === null) return undefined;
  if (!/^\d{1,15}$/.test(raw)) {
    throw new HttpError(400, 'validation', `query parameter ${name} must be a non-negative integer`, {
      errors: [{ path: name, rule: 'integer', message: `${name} must be a non-negative integer` }],
    });
  }
  return Number(raw);
}
