/**
 * Koa middleware (Koa 2 and 3): every request runs inside a trace, so every
 * event recorded while handling it — by `@VcpLogged` methods, through any
 * `await` — carries the same trace id, and mapped routes record their event
 * once the response has gone out.
 *
 * ```ts
 * app.use(vcpKoa({ routes: { 'POST /orders': { eventType: 'ORD', extract: (ctx) => ({ trade_data: ctx.request.body }) } } }));
 * ```
 *
 * Register it first (or right after your error handler) so the rest of the
 * chain runs inside the trace. Per request: one `AsyncLocalStorage.run`
 * with a fresh mutable store; the trace id comes from a valid
 * `x-vcp-trace-id` or W3C `traceparent` header (garbage is ignored and a new
 * UUIDv7 made) and is echoed in `x-vcp-trace-id`.
 *
 * Errors: `try { await next() } catch` sees a thrown error before Koa turns
 * it into a response, so the status is read from the error
 * (`err.status || err.statusCode || 500`, as Koa does) and the error is
 * rethrown unchanged. Koa's error response drops every header except those
 * in `err.headers`, so the trace header is added there (as @koa/cors does)
 * to reach the client on errors too. Events are recorded from the
 * response's `'close'` listener (Koa writes the body after the middleware
 * chain returns), with state captured at entry.
 *
 * Koa has no router: route patterns are matched by this package (see
 * `route-map.ts`), so the middleware needs no @koa/router.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TRACE_HEADER } from '../context/trace-header.ts';
import { createTraceStore, traceStorage } from '../context/trace-store.ts';
import { HttpCapture, type HttpCaptureOptions, REQUEST_STATE, type RequestState } from './route-map.ts';

/** The parts of a Koa context the middleware and its users read. */
export interface KoaContextLike {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  /** The URL as received (koa-mount rewrites `ctx.path`, not this). */
  originalUrl: string;
  // biome-ignore lint/suspicious/noExplicitAny: whatever the app's body parser produced
  request: { body?: any };
  // biome-ignore lint/suspicious/noExplicitAny: Koa's ctx.state is a free-form bag
  state: any;
}

/** Koa's `next`. */
export type KoaNext = () => Promise<unknown>;

/** Options of {@link vcpKoa}; route extractors get `(ctx, info)`. */
export type VcpKoaOptions<C extends KoaContextLike = KoaContextLike> = HttpCaptureOptions<[C]>;

/** The middleware `vcpKoa` returns. */
export type VcpKoaMiddleware<C extends KoaContextLike = KoaContextLike> = (
  ctx: C,
  next: KoaNext,
) => Promise<void>;

const STATE = REQUEST_STATE;
type WithState<C extends KoaContextLike> = { [STATE]?: RequestState<[C]> };

/**
 * Create the Koa middleware. Options are checked here (a `VcpConfigError`
 * at start-up), never per request; the recorder is looked up per request,
 * so `configureVcp` may run later.
 */
export function vcpKoa<C extends KoaContextLike = KoaContextLike>(
  options: VcpKoaOptions<C> = {},
): VcpKoaMiddleware<C> {
  const capture = new HttpCapture<[C]>(options, 'koa');
  const echo = capture.echo;

  // One shared listener (no closure per request); `this` is the response.
  function onClose(this: ServerResponse & WithState<C>): void {
    const state = this[STATE];
    if (state) capture.complete(state, this);
  }

  async function inside(next: KoaNext, state: RequestState<[C]>): Promise<void> {
    try {
      await next();
    } catch (err) {
      if (!state.thrown) {
        state.thrown = true;
        state.error = err;
      }
      if (echo) keepTraceHeader(err, state.store.traceId);
      throw err;
    }
  }

  return function vcpKoaMiddleware(ctx: C, next: KoaNext): Promise<void> {
    const res = ctx.res as ServerResponse & WithState<C>;
    // Used twice in one chain (or in a mounted sub-app): the outer one owns the request.
    if (res[STATE]) return next().then(noop);
    const traceId = capture.traceIdFor(ctx.req.headers);
    const store = createTraceStore(traceId);
    if (echo && !res.headersSent) res.setHeader(TRACE_HEADER, traceId);
    const state: RequestState<[C]> = {
      store,
      args: [ctx],
      method: ctx.method,
      url: ctx.originalUrl,
      start: capture.table ? performance.now() : 0, // only mapped routes report a duration
      thrown: false,
      error: undefined,
      done: false,
    };
    res[STATE] = state;
    res.on('close', onClose);
    // A closure, not `run(store, inside, ctx, next, state)`: extra arguments take Node's slower rest-args path.
    return traceStorage.run(store, () => inside(next, state));
  };
}

function noop(): void {}

/**
 * Koa's error response keeps only the headers in `err.headers`: add ours
 * there. A frozen error, or a thrown primitive, cannot carry it; the error
 * itself is never replaced.
 */
function keepTraceHeader(err: unknown, traceId: string): void {
  if ((typeof err !== 'object' && typeof err !== 'function') || err === null) return;
  try {
    const e = err as { headers?: unknown };
    const prev = typeof e.headers === 'object' && e.headers !== null ? e.headers : {};
    e.headers = { ...prev, [TRACE_HEADER]: traceId };
  } catch {
    // frozen or exotic error: the response goes out without the header
  }
}
