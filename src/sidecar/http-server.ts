/**
 * The node:http server both sidecar modes run (the HTTP sidecar in
 * server.ts, the Kafka cluster mode in cluster/): timeouts and header limits,
 * malformed-request answers, in-flight tracking for graceful shutdown, the
 * access check (bearer token, or loopback `Host` without one) and the error
 * answer (JSON, never a stack trace).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import net, { type Socket } from 'node:net';
import { VcpConfigError } from '../core/errors.ts';
import { isLoopbackHostHeader } from './auth.ts';
import { discardBody, drainAndClose, HttpError, sendError } from './http.ts';
import { StoreUnavailableError } from './store/store-unavailable.ts';

/**
 * During a stop, how long kept-alive connections stay open after the last
 * sign of activity: a request already under way on one still gets its 503.
 */
const STOP_GRACE_MS = 300;

/** A listening server. */
export interface HttpListener {
  readonly server: Server;
  /** The bound port (the chosen one when 0 was asked). */
  readonly port: number;
  /** `http://host:port` (IPv6 hosts bracketed). */
  readonly url: string;
  /**
   * Graceful stop, bounded by `timeoutMs`: stop accepting connections; let
   * in-flight requests finish; answer every request that arrives meanwhile
   * on a kept-alive connection (the caller's handler answers 503) with
   * `Connection: close`; give idle kept-alive connections a short grace so
   * a request already on its way gets that answer rather than a reset; then
   * cut whatever is left.
   */
  stop(timeoutMs: number): Promise<void>;
}

/** Options of {@link listenHttp}. */
export interface ListenOptions {
  host: string;
  port: number;
  /** Handles one request; a rejection is answered with {@link answerError}. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** Told each response's status once it closed (metrics). */
  onResponse?(status: number): void;
  log(line: string): void;
}

/** Create the server and listen; resolves once bound, rejects with a `VcpConfigError` (port in use…). */
export async function listenHttp(options: ListenOptions): Promise<HttpListener> {
  const { host, log } = options;
  let inflight = 0;
  let stopping = false;
  /** When a request last started or ended or a connection closed (the stop's grace counts from it). */
  let lastActivity = 0;
  let onIdle: (() => void) | undefined;
  const sockets = new Set<Socket>();
  const server: Server = createServer(
    { requestTimeout: 30_000, headersTimeout: 10_000, keepAliveTimeout: 5_000, maxHeaderSize: 16 * 1024 },
    (req, res) => {
      inflight++;
      lastActivity = performance.now();
      // While stopping, every answer closes its connection: the client opens no further request on it.
      if (stopping) res.shouldKeepAlive = false;
      res.on('close', () => {
        options.onResponse?.(res.statusCode);
        lastActivity = performance.now();
        if (--inflight === 0) onIdle?.();
      });
      options.handle(req, res).catch((e: unknown) => answerError(log, req, res, e));
    },
  );
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => {
      sockets.delete(socket);
      lastActivity = performance.now();
      if (sockets.size === 0) onIdle?.();
    });
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (!socket.writable) return socket.destroy();
    const status =
      err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    const body = JSON.stringify({ status: 'error', error: 'bad_request', message: 'malformed HTTP request' });
    socket.end(
      `HTTP/1.1 ${status} Bad Request\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) => {
      reject(
        new VcpConfigError(
          e.code === 'EADDRINUSE'
            ? `port ${options.port} on ${host} is already in use; pick another --port (0 for any free one)`
            : `cannot listen on ${host}:${options.port}: ${e.message}`,
          { cause: e },
        ),
      );
    };
    server.once('error', onError);
    server.listen(options.port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : options.port;
  const hostForUrl = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return {
    server,
    port,
    url: `http://${hostForUrl}:${port}`,
    async stop(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      stopping = true;
      // Stop listening but keep idle kept-alive connections for now (http.Server#close would cut them
      // at once, and a request the client is sending on one that moment would end in a socket error).
      net.Server.prototype.close.call(server);
      const until = (done: () => boolean, ms: number) =>
        done()
          ? Promise.resolve()
          : new Promise<void>((resolve) => {
              const timer = setTimeout(finish, Math.max(0, ms));
              function finish() {
                clearTimeout(timer);
                onIdle = undefined;
                resolve();
              }
              onIdle = () => {
                if (done()) finish();
              };
            });
      await until(() => inflight === 0, deadline - Date.now());
      // Grace: kept-alive connections stay open while they show activity (a request answered 503, a
      // connection closing), until all are closed, none has shown any for STOP_GRACE_MS, or the deadline.
      while (sockets.size > 0 && Date.now() < deadline) {
        const quiet = STOP_GRACE_MS - (performance.now() - lastActivity);
        if (quiet > 0 || inflight > 0) {
          await until(() => sockets.size === 0, Math.min(Math.max(quiet, 10), deadline - Date.now()));
          continue;
        }
        // Before cutting, let one poll phase run: a busy process sees its timers before the requests
        // the kernel already holds for it, and those must count as activity, not be cut.
        const before = lastActivity;
        await new Promise<void>((r) => setImmediate(r));
        if (lastActivity === before && inflight === 0) break;
      }
      server.close();
      server.closeAllConnections();
    },
  };
}

/**
 * Refuse a request that may not reach the routes: 403 without a token when
 * the `Host` header does not name this machine (DNS rebinding, cross-site
 * posts), 401 when a token is configured and not presented.
 */
export function checkAccess(
  check: ((authorization: string | undefined) => boolean) | undefined,
  req: IncomingMessage,
): void {
  if (!check && !isLoopbackHostHeader(req.headers.host)) {
    throw new HttpError(
      403,
      'forbidden_host',
      'without a token this sidecar only answers requests addressed to localhost / 127.0.0.1',
    );
  }
  if (check && !check(req.headers.authorization)) {
    throw new HttpError(
      401,
      'unauthorized',
      'a valid bearer token is required (Authorization: Bearer <token>)',
      {},
      {
        'www-authenticate': 'Bearer realm="vcp-sidecar"',
      },
    );
  }
}

/** Would {@link checkAccess} let this request through? (For `/health`, which answers either way.) */
export function accessAllowed(
  check: ((authorization: string | undefined) => boolean) | undefined,
  req: IncomingMessage,
): boolean {
  return check ? check(req.headers.authorization) : isLoopbackHostHeader(req.headers.host);
}

/** 405 naming the allowed method(s). */
export function methodNotAllowed(allow: string): HttpError {
  return new HttpError(405, 'method_not_allowed', `use ${allow}`, {}, { allow });
}

/** 503 while shutting down. */
export function shuttingDown(): HttpError {
  return new HttpError(
    503,
    'shutting_down',
    'the sidecar is shutting down',
    {},
    { connection: 'close', 'retry-after': '1' },
  );
}

/** Answer a failed request: HttpErrors as they say, anything else as a bare 500 (details go to the log only). */
export function answerError(
  log: (line: string) => void,
  req: IncomingMessage,
  res: ServerResponse,
  e: unknown,
): void {
  let err: HttpError;
  if (e instanceof HttpError) err = e;
  else if (e instanceof StoreUnavailableError)
    // A read (event, proof, export) while the database is unreachable: retry later, not an internal error.
    err = new HttpError(
      503,
      'storage_unavailable',
      'the event store is unreachable; retry later',
      {},
      {
        'retry-after': String(e.retryAfterSeconds),
      },
    );
  else {
    log(
      `internal error on ${req.method} ${(req.url ?? '').slice(0, 100)}: ${(e as Error)?.stack ?? String(e)}`,
    );
    err = new HttpError(500, 'internal', 'internal error; see the sidecar log');
  }
  if (res.headersSent) {
    // A stream (export) broke mid-way: cut the connection so the client sees a truncated answer, not a complete one.
    res.destroy();
    return;
  }
  if (res.destroyed) return;
  if (req.complete) {
    sendError(res, err);
    return;
  }
  if (err.status === 413) {
    // Over the size limit: answer now and stop reading (bounded drain, then close).
    err.headers.connection = 'close';
    sendError(res, err);
    drainAndClose(req, res);
    return;
  }
  // Refused before its body was read (401, 403, 415, 503 overloaded / shutting_down…): read and discard
  // the body first, then answer. Answering first would close a socket the client is still writing to:
  // it would see a reset (EPIPE), not the answer.
  discardBody(req, () => {
    if (!res.destroyed) sendError(res, err);
  });
}
