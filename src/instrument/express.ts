/**
 * Express middleware (Express 4 and 5): every request runs inside a trace,
 * so every event recorded while handling it — by `@VcpLogged` methods,
 * through any `await` — carries the same trace id, and mapped routes record
 * their event once the response has gone out.
 *
 * ```ts
 * const vcp = vcpExpress({ routes: { 'POST /orders': { eventType: 'ORD', extract: (req) => ({ trade_data: req.body }) } } });
 * app.use(vcp);
 * // ... routes ...
 * app.use(vcp.errorHandler); // optional: lets ERR_* events carry the thrown error's message and type
 * ```
 *
 * Per request: one `AsyncLocalStorage.run` with a fresh mutable store; the
 * trace id comes from a valid `x-vcp-trace-id` or W3C `traceparent` header
 * (anything malformed is ignored and a new UUIDv7 made) and is echoed in
 * `x-vcp-trace-id` before any handler runs, so error responses carry it too.
 * Events are recorded from the response's `'close'` listener, which may run
 * outside the request's async context: everything it needs (store, trace
 * id, start time, URL) is captured at entry and passed explicitly.
 *
 * Express gives middleware no view of errors thrown by later handlers; the
 * final handler only leaves the status behind. Without `errorHandler` a 5xx
 * is still recorded (`HTTP_500`), with it the event carries the error's own
 * code, message and `ERR_*` type. `errorHandler` passes the error on
 * unchanged (`next(err)`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TRACE_HEADER } from '../context/trace-header.ts';
import { createTraceStore, traceStorage } from '../context/trace-store.ts';
import { HttpCapture, type HttpCaptureOptions, REQUEST_STATE, type RequestState } from './route-map.ts';

/** The parts of an Express request the middleware and its users read. */
export interface ExpressRequestLike extends IncomingMessage {
  /** Set by Express before any middleware: the URL as received. */
  originalUrl?: string;
  baseUrl?: string;
  /** The route Express matched last (`{ path }`). */
  // biome-ignore lint/suspicious/noExplicitAny: Express types it as any
  route?: any;
  // biome-ignore lint/suspicious/noExplicitAny: whatever the app's body parser produced
  body?: any;
  params?: Record<string, string>;
}

/** The parts of an Express response the middleware and its users read. */
export interface ExpressResponseLike extends ServerResponse {
  // biome-ignore lint/suspicious/noExplicitAny: Express's res.locals is a free-form bag
  locals?: Record<string, any>;
}

/** Express's `next`. */
export type ExpressNext = (err?: unknown) => void;

/** Options of {@link vcpExpress}; route extractors get `(req, res, info)`. */
export type VcpExpressOptions<
  Req extends ExpressRequestLike = ExpressRequestLike,
  Res extends ExpressResponseLike = ExpressResponseLike,
> = HttpCaptureOptions<[Req, Res]>;

/** The middleware `vcpExpress` returns, with its companion error handler. */
export interface VcpExpressMiddleware<
  Req extends ExpressRequestLike = ExpressRequestLike,
  Res extends ExpressResponseLike = ExpressResponseLike,
> {
  (req: Req, res: Res, next: ExpressNext): void;
  /**
   * Error-handling middleware (four arguments, so Express treats it as
   * one): remembers the error for the request's `ERR_*` event and passes it
   * on with `next(err)`. Register it after your routes, before your own
   * error handlers.
   */
  errorHandler: (err: unknown, req: Req, res: Res, next: ExpressNext) => void;
}

const STATE = REQUEST_STATE;
type WithState<A extends unknown[]> = { [STATE]?: RequestState<A> };

/**
 * Create the Express middleware. Options are checked here (a
 * `VcpConfigError` at start-up), never per request; the recorder is looked
 * up per request, so `configureVcp` may run later.
 */
export function vcpExpress<
  Req extends ExpressRequestLike = ExpressRequestLike,
  Res extends ExpressResponseLike = ExpressResponseLike,
>(options: VcpExpressOptions<Req, Res> = {}): VcpExpressMiddleware<Req, Res> {
  type A = [Req, Res];
  const capture = new HttpCapture<A>(options, 'express');
  const table = capture.table;
  const echo = capture.echo;

  // One shared listener (no closure per request); `this` is the response.
  function onClose(this: Res & WithState<A>): void {
    const state = this[STATE];
    if (!state) return;
    let hint: string | undefined;
    if (table) {
      // Express leaves the last matched route on req; it may be stale or absent, so it is only a hint.
      const req = state.args[0];
      const route: unknown = req.route;
      const path =
        typeof route === 'object' && route !== null ? (route as { path?: unknown }).path : undefined;
      if (typeof path === 'string') hint = (typeof req.baseUrl === 'string' ? req.baseUrl : '') + path;
    }
    capture.complete(state, this, hint);
  }

  const middleware = function vcpExpressMiddleware(req: Req, res: Res, next: ExpressNext): void {
    const r = res as unknown as WithState<A>;
    // Mounted twice (or on a sub-app too): the outer one owns the request.
    if (r[STATE]) {
      next();
      return;
    }
    const traceId = capture.traceIdFor(req.headers);
    const store = createTraceStore(traceId);
    if (echo && !res.headersSent) res.setHeader(TRACE_HEADER, traceId);
    r[STATE] = {
      store,
      args: [req, res],
      method: req.method ?? 'GET',
      url: req.originalUrl ?? req.url ?? '/',
      start: table ? performance.now() : 0, // only mapped routes report a duration
      thrown: false,
      error: undefined,
      done: false,
    };
    res.on('close', onClose);
    traceStorage.run(store, next);
  } as VcpExpressMiddleware<Req, Res>;

  middleware.errorHandler = function vcpExpressErrorHandler(
    err: unknown,
    _req: Req,
    res: Res,
    next: ExpressNext,
  ): void {
    const state = (res as Res & WithState<A>)[STATE];
    if (state && !state.thrown) {
      state.thrown = true;
      state.error = err;
    }
    next(err);
  };
  return middleware;
}
