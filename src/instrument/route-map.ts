/**
 * What the HTTP middleware (`vcpExpress`, `vcpKoa`) records once a request
 * is over: the event mapped to its route (`'POST /orders' → ORD`), an
 * `ERR_*` event for a 5xx, a thrown error or a client that went away, or
 * nothing. Shared by both frameworks so they behave the same.
 *
 * Route patterns are matched here, not by the framework's router: Koa has no
 * router of its own, and Express's `req.route` is only a hint (it describes
 * the last route entered, which need not be the one that answered). The
 * syntax is the common subset of Express and @koa/router: literal segments,
 * `:name` segments, and a trailing `*` (or `*name`) for "one or more
 * segments". Literals compare case-insensitively with the raw (still
 * percent-encoded) path, a trailing slash is ignored, and when several
 * patterns match the most specific wins, segment by segment (literal, then
 * `:param`, then `*`), then an explicit method over `*`, then the order of
 * the keys.
 *
 * Everything here runs in a response's `'close'` listener, where an
 * exception would crash the process: user callbacks and the recorder are
 * fenced, and nothing escapes.
 */
import type { ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import { traceIdFromHeaders } from '../context/trace-header.ts';
import { type TraceStore, traceStorage } from '../context/trace-store.ts';
import type { Severity } from '../core/enums.ts';
import { SEVERITIES } from '../core/enums.ts';
import { VcpConfigError } from '../core/errors.ts';
import {
  ERROR_DEFAULT_SEVERITY,
  type ErrorEventType,
  type EventType,
  isErrorEventType,
  isEventType,
} from '../core/event-types.ts';
import type { ErrorDetails, VcpPayload } from '../core/types.ts';
import { uuidv7 } from '../core/uuidv7.ts';
import type { RecordOptions, VcpRecorder } from '../recorder/types.ts';
import { noteRecorderError, shared } from './configure.ts';
import { buildErrorDetails, errorCodeOf, errorMessageOf, mapErrorToEventType } from './error-mapping.ts';
import { recordedErrorEventId } from './recorded-errors.ts';

/** What a route mapping learns about the request besides the framework's own objects. */
export interface RouteInfo {
  /** The route-map key that matched, as written (`'DELETE /orders/:id'`). */
  route: string;
  /** Values of the pattern's `:name` (and `*name`) segments, percent-decoded. */
  params: Record<string, string>;
  /** HTTP status sent. */
  status: number;
  /** Trace id of the request. */
  traceId: string;
  /** Milliseconds from the middleware's entry to the end of the response. */
  durationMs: number;
}

/** Header fields a route may set per request (the recorder's defaults fill the rest). */
export interface RouteHeaderFields {
  venueId?: string;
  symbol?: string;
  accountId?: string;
  operatorId?: string;
}

/**
 * What one route records. `A` is the framework's handler arguments:
 * `[req, res]` for Express, `[ctx]` for Koa; the {@link RouteInfo} comes last.
 */
export interface RouteMapping<A extends unknown[]> {
  /** Event type recorded when the route completes (`'ORD'`, `'CXL'`, …). */
  eventType: EventType;
  /**
   * Build the payload, synchronously, after the response was sent. It may
   * read `req.body` if the app uses a body parser (the middleware parses
   * nothing itself). If it throws or returns something other than an
   * object, an `ERR_SYSTEM` event is recorded instead and the recorder's
   * extractor-error counter goes up; the response is never affected.
   * Default: `{ http: { method, route, path, status } }`.
   */
  extract?: (...args: [...A, RouteInfo]) => VcpPayload;
  /** Header fields for this event (e.g. the order's symbol); same failure rules as `extract`. */
  header?: (...args: [...A, RouteInfo]) => RouteHeaderFields;
  /**
   * `'success'` (default): record only when the status is below 400 and
   * nothing was thrown — an order that failed was not sent. `'always'`:
   * record whatever the outcome; an `ERR_*` event then correlates to it.
   */
  when?: 'success' | 'always';
}

/** Route mapping: `'METHOD /path/:param'` (method `*` for any) → what to record. */
export type RouteMap<A extends unknown[]> = Readonly<Record<string, RouteMapping<A>>>;

/** One segment of a compiled route pattern. */
export type Segment =
  | { kind: 'literal'; value: string }
  | { kind: 'param'; name: string }
  | { kind: 'rest'; name: string };

/** A compiled route-map entry. */
export interface CompiledRoute<A extends unknown[]> {
  /** The key as written. */
  readonly key: string;
  /** Upper-case method, or `*`. */
  readonly method: string;
  readonly segments: readonly Segment[];
  readonly mapping: RouteMapping<A>;
}

/** A route that matched a request, with its parameters. */
export interface RouteMatch<A extends unknown[]> {
  route: CompiledRoute<A>;
  params: Record<string, string>;
}

const METHOD_RE = /^(?:\*|[A-Za-z]{1,20})$/;
const PARAM_NAME_RE = /^[A-Za-z_$][\w$]*$/;
// Characters with a meaning in Express/path-to-regexp syntax that this matcher does not implement.
const UNSUPPORTED_RE = /[()[\]{}?+!:*|\\]/;
/** Longer paths, or paths with more segments, match no route (hostile input stays cheap). */
const MAX_PATH_LENGTH = 8192;
const MAX_SEGMENTS = 128;
const HINT_CACHE_MAX = 1024;

const KIND_RANK = { literal: 3, param: 2, rest: 1 } as const;

function parseSegments(key: string, path: string): Segment[] {
  if (!path.startsWith('/')) {
    throw new VcpConfigError(`route "${key}": the path must start with "/"`);
  }
  if (/:[\w$]+\?/.test(path)) {
    throw new VcpConfigError(
      `route "${key}": optional parameters (":name?") are not supported; map each form separately`,
    );
  }
  if (/[?#]/.test(path)) {
    throw new VcpConfigError(`route "${key}": a route pattern has no query string or fragment`);
  }
  const parts = path.split('/').slice(1);
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop(); // trailing slash is ignored
  if (parts.length === 1 && parts[0] === '') parts.pop(); // "/" itself
  const segments: Segment[] = [];
  const names = new Set<string>();
  parts.forEach((part, i) => {
    if (part === '') throw new VcpConfigError(`route "${key}": empty path segment ("//")`);
    let seg: Segment;
    if (part.startsWith(':')) {
      seg = { kind: 'param', name: part.slice(1) };
    } else if (part.startsWith('*')) {
      if (i !== parts.length - 1)
        throw new VcpConfigError(`route "${key}": "*" may only be the last segment`);
      seg = { kind: 'rest', name: part.slice(1) || '*' };
    } else {
      if (UNSUPPORTED_RE.test(part)) {
        throw new VcpConfigError(
          `route "${key}": segment "${part}" uses pattern syntax this matcher does not support; use whole-segment ":name" parameters and a final "*"`,
        );
      }
      seg = { kind: 'literal', value: part.toLowerCase() };
    }
    if (seg.kind !== 'literal') {
      if (seg.name !== '*' && !PARAM_NAME_RE.test(seg.name)) {
        throw new VcpConfigError(
          `route "${key}": "${part}" is not a valid parameter (":name", letters, digits, _)`,
        );
      }
      if (names.has(seg.name))
        throw new VcpConfigError(`route "${key}": parameter "${seg.name}" appears twice`);
      names.add(seg.name);
    }
    segments.push(seg);
  });
  return segments;
}

/** Canonical text of a pattern for exact lookup: parameter names do not matter. */
function shapeOf(segments: readonly Segment[]): string {
  let out = '';
  for (const s of segments) out += s.kind === 'literal' ? `/${s.value}` : s.kind === 'param' ? '/:' : '/*';
  return out || '/';
}

function compareSpecificity<A extends unknown[]>(a: CompiledRoute<A>, b: CompiledRoute<A>): number {
  const n = Math.max(a.segments.length, b.segments.length);
  for (let i = 0; i < n; i++) {
    const ka = a.segments[i] ? KIND_RANK[a.segments[i]!.kind] : 0;
    const kb = b.segments[i] ? KIND_RANK[b.segments[i]!.kind] : 0;
    if (ka !== kb) return kb - ka;
  }
  return (a.method === '*' ? 1 : 0) - (b.method === '*' ? 1 : 0);
}

function decodeParam(raw: string): string {
  if (!raw.includes('%')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw; // malformed escapes stay as they came
  }
}

/**
 * The path of a request target without query or fragment; `undefined` when
 * there is none (`*`, garbage). Absolute-form targets (`http://h/p`) give `/p`.
 */
export function pathnameOf(url: string): string | undefined {
  let end = url.length;
  const q = url.indexOf('?');
  if (q !== -1) end = q;
  const h = url.indexOf('#');
  if (h !== -1 && h < end) end = h;
  const path = url.slice(0, end);
  if (path.startsWith('/')) return path;
  if (!/^https?:\/\//i.test(path)) return undefined;
  try {
    return new URL(path).pathname;
  } catch {
    return undefined;
  }
}

/** A compiled {@link RouteMap}: validates every key once, then matches requests. */
export class RouteTable<A extends unknown[]> {
  /** Routes, most specific first. */
  readonly routes: readonly CompiledRoute<A>[];
  readonly #byShape = new Map<string, CompiledRoute<A>>();
  /** `byPattern` answers by method and pattern text (`null`: no such route). */
  readonly #hintCache = new Map<string, CompiledRoute<A> | null>();

  /** Throws {@link VcpConfigError} naming the key for any malformed entry. */
  constructor(map: RouteMap<A>) {
    if (typeof map !== 'object' || map === null || Array.isArray(map)) {
      throw new VcpConfigError(
        'routes must be an object like { "POST /orders": { eventType: "ORD", extract } }',
      );
    }
    const compiled: CompiledRoute<A>[] = [];
    const seen = new Map<string, string>();
    for (const key of Object.keys(map)) {
      const mapping = map[key];
      const m = /^\s*(\S+)\s+(\S+)\s*$/.exec(key);
      if (!m) throw new VcpConfigError(`route "${key}": expected "METHOD /path", e.g. "POST /orders"`);
      const method = m[1]!.toUpperCase();
      if (!METHOD_RE.test(method))
        throw new VcpConfigError(`route "${key}": "${m[1]}" is not an HTTP method`);
      const segments = parseSegments(key, m[2]!);
      if (typeof mapping !== 'object' || mapping === null) {
        throw new VcpConfigError(`route "${key}": the value must be an object { eventType, extract? }`);
      }
      if (!isEventType(mapping.eventType)) {
        throw new VcpConfigError(
          `route "${key}": eventType ${JSON.stringify(mapping.eventType)} is not a VCP event type`,
        );
      }
      for (const fn of ['extract', 'header'] as const) {
        if (mapping[fn] !== undefined && typeof mapping[fn] !== 'function') {
          throw new VcpConfigError(`route "${key}": ${fn} must be a function`);
        }
      }
      if (mapping.when !== undefined && mapping.when !== 'success' && mapping.when !== 'always') {
        throw new VcpConfigError(`route "${key}": when must be "success" or "always"`);
      }
      const shapeKey = `${method} ${shapeOf(segments)}`;
      const clash = seen.get(shapeKey);
      if (clash !== undefined)
        throw new VcpConfigError(`routes "${clash}" and "${key}" describe the same pattern`);
      seen.set(shapeKey, key);
      compiled.push({ key, method, segments, mapping });
    }
    // Array.prototype.sort is stable: equal specificity keeps key order.
    this.routes = compiled.sort(compareSpecificity);
    for (const r of this.routes) this.#byShape.set(`${r.method} ${shapeOf(r.segments)}`, r);
  }

  /** The most specific route matching `method` and `pathname` (no query string), or `undefined`. */
  match(method: string, pathname: string): RouteMatch<A> | undefined {
    if (pathname.length > MAX_PATH_LENGTH || !pathname.startsWith('/')) return undefined;
    const parts = splitPath(pathname);
    if (parts === undefined) return undefined;
    const m = method.toUpperCase();
    for (const route of this.routes) {
      if (route.method !== '*' && route.method !== m) continue;
      const params = matchSegments(route.segments, parts);
      if (params) return { route, params };
    }
    return undefined;
  }

  /**
   * The route whose pattern has exactly this shape (parameter names aside),
   * e.g. Express's `req.baseUrl + req.route.path`; `undefined` when none.
   */
  byPattern(method: string, pattern: string): CompiledRoute<A> | undefined {
    const cacheKey = `${method} ${pattern}`;
    const cached = this.#hintCache.get(cacheKey);
    if (cached !== undefined) return cached ?? undefined;
    let found: CompiledRoute<A> | undefined;
    if (pattern.length <= MAX_PATH_LENGTH && pattern.startsWith('/')) {
      try {
        const shape = shapeOf(parseSegments(pattern, pattern));
        found = this.#byShape.get(`${method.toUpperCase()} ${shape}`) ?? this.#byShape.get(`* ${shape}`);
      } catch {
        // a pattern in syntax we do not model: the path matcher decides
      }
    }
    // Patterns come from the app's own route table, so this stays small; the cap is a safety net.
    if (this.#hintCache.size >= HINT_CACHE_MAX) this.#hintCache.clear();
    this.#hintCache.set(cacheKey, found ?? null);
    return found;
  }

  /** Parameters of `route` for `pathname`, or `undefined` if it does not match. */
  paramsOf(route: CompiledRoute<A>, pathname: string): Record<string, string> | undefined {
    if (pathname.length > MAX_PATH_LENGTH) return undefined;
    const parts = splitPath(pathname);
    return parts && matchSegments(route.segments, parts);
  }
}

/**
 * The path's segments, at index 1 onwards (index 0 holds the empty text
 * before the leading "/"; leaving it there saves a copy per request).
 */
function splitPath(pathname: string): string[] | undefined {
  const parts = pathname.split('/', MAX_SEGMENTS + 2);
  if (parts.length > MAX_SEGMENTS + 1) return undefined;
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/** Match `segments` against `parts` as {@link splitPath} returns them (segments from index 1). */
function matchSegments(
  segments: readonly Segment[],
  parts: readonly string[],
): Record<string, string> | undefined {
  const count = parts.length - 1;
  const last = segments[segments.length - 1];
  // Without a final "*" the segment counts must agree: most routes fail here, before any allocation.
  if (last?.kind !== 'rest' && count !== segments.length) return undefined;
  const params: Record<string, string> = Object.create(null);
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    if (seg.kind === 'rest') {
      if (i >= count) return undefined; // "*" needs at least one segment
      params[seg.name] = parts
        .slice(i + 1)
        .map(decodeParam)
        .join('/');
      return params;
    }
    const part = parts[i + 1];
    if (part === undefined) return undefined;
    if (seg.kind === 'literal') {
      if (part.length !== seg.value.length || part.toLowerCase() !== seg.value) return undefined;
    } else {
      if (part === '') return undefined;
      params[seg.name] = decodeParam(part);
    }
  }
  return count === segments.length ? params : undefined;
}

// ---------------------------------------------------------------------------
// What a finished request records.

/** How a request ended, as seen by the error classifier. */
export interface HttpOutcome {
  method: string;
  /** Path without query string. */
  path: string;
  /** The matched route-map key, if any. */
  route: string | undefined;
  /** Status sent (or, for a thrown error, the status it carries); `undefined` if the client left before any was sent. */
  status: number | undefined;
  /** True when an error was thrown through the middleware (Koa) or reached `errorHandler` (Express). */
  thrown: boolean;
  /** The thrown value, when `thrown`. */
  error: unknown;
  /** True when the connection closed before the response was complete. */
  aborted: boolean;
}

/**
 * Chooses the `ERR_*` event for an outcome: a type, `false` for none, or
 * `undefined` to use {@link defaultHttpErrorType}.
 */
export type HttpErrorClassifier = (outcome: HttpOutcome) => ErrorEventType | false | undefined;

/** What to record when the client goes away before the response is complete. */
export interface ClientAbortOptions {
  /** Default `ERR_CONN`. */
  eventType?: ErrorEventType;
  /** Default `WARNING` (the client left; the server is fine). */
  severity?: Severity;
}

/** Options shared by `vcpExpress` and `vcpKoa`. */
export interface HttpCaptureOptions<A extends unknown[]> {
  /** Recorder for this middleware; default: the one set with `configureVcp`, looked up per request. */
  recorder?: VcpRecorder;
  /** Events to record per route, after the response is sent. */
  routes?: RouteMap<A>;
  /** Which `ERR_*` event an outcome records; see {@link defaultHttpErrorType}. */
  errorEventType?: HttpErrorClassifier;
  /** Client aborts: `false` records nothing (unless an error was also thrown). Default `{ eventType: 'ERR_CONN', severity: 'WARNING' }`. */
  clientAbort?: false | ClientAbortOptions;
  /**
   * Take the trace id from incoming `x-vcp-trace-id` / `traceparent`
   * headers (default `true`). Set `false` on an edge facing untrusted
   * clients to give every request a fresh UUIDv7.
   */
  trustTraceHeaders?: boolean;
  /** Echo the trace id in the `x-vcp-trace-id` response header (default `true`). */
  echoTraceHeader?: boolean;
  /** `affected_component` of `ERR_*` events (default `'express'` / `'koa'`). */
  component?: string;
  /**
   * A thrown error that a `@VcpLogged` method already recorded as an `ERR_*`
   * event in this request's trace. `'link'` (default): one failure, one ERR
   * event — the middleware records no second one; the decorator's event, on
   * the request's trace id, is the request's error (counted in
   * `getInstrumentStats().duplicateErrorsSkipped`). `'record'`: also record
   * the middleware's own `ERR_*` event (HTTP status, method, route) with the
   * decorator's event as its `correlated_event_id`; error counts then see two.
   */
  errorAlreadyRecorded?: 'link' | 'record';
}

/**
 * The default choice of `ERR_*` event: 401/403 → `ERR_AUTH`; 408/504 →
 * `ERR_TIMEOUT`; a thrown error → the type the error maps to (the global
 * `configureVcp({ mapError })` first, then the built-in mapping: a timeout
 * code → `ERR_TIMEOUT`, `ECONNREFUSED` → `ERR_CONN`, …, else `ERR_SYSTEM`);
 * any other 5xx → `ERR_SYSTEM`; anything else (2xx–4xx not thrown) → none.
 */
export function defaultHttpErrorType(outcome: HttpOutcome): ErrorEventType | false {
  const s = outcome.status;
  if (s === 401 || s === 403) return 'ERR_AUTH';
  if (s === 408 || s === 504) return 'ERR_TIMEOUT';
  if (outcome.thrown) return errorTypeOf(outcome.error);
  if (s !== undefined && s >= 500) return 'ERR_SYSTEM';
  return false;
}

function errorTypeOf(error: unknown): ErrorEventType {
  const custom = shared.config.mapError;
  if (custom) {
    try {
      const t = custom(error);
      if (isErrorEventType(t)) return t;
    } catch {
      // a broken user mapping falls back to ours
    }
  }
  return mapErrorToEventType(error);
}

/** The HTTP status a thrown value asks for (`status`, then `statusCode`, 400–599), else 500. */
export function statusOfThrown(error: unknown): number {
  for (const key of ['status', 'statusCode']) {
    let v: unknown;
    try {
      v = (error as Record<string, unknown>)[key];
    } catch {
      continue;
    }
    if (typeof v === 'number' && Number.isInteger(v) && v >= 400 && v <= 599) return v;
  }
  return 500;
}

/** @internal Per-request state the middleware captures at entry; the `'close'` listener may run outside the request's context. */
export interface RequestState<A extends unknown[]> {
  /** The request's trace store (the one `AsyncLocalStorage.run` was given). */
  readonly store: TraceStore;
  /** Framework handler arguments, passed to extractors. */
  readonly args: A;
  readonly method: string;
  /** Request target as received (before any router rewrote `req.url`). */
  readonly url: string;
  /** `performance.now()` at entry. */
  readonly start: number;
  thrown: boolean;
  error: unknown;
  /** Set once the outcome has been recorded: nothing is ever recorded twice. */
  done: boolean;
}

/**
 * @internal Where the middleware keeps a request's state, on the response. A
 * `Symbol.for` key, shared by Express and Koa and by every copy of this
 * package in the process, so that a second middleware on the same response
 * (mounted twice, a sub-app, Express inside Koa, two package copies) sees
 * the first and stays out: one trace, one set of events.
 */
export const REQUEST_STATE: unique symbol = Symbol.for('vcp-instrument.http-request-state.v1');

const MAX_DETAIL_PATH = 2048;
const warned = { noRecorder: false };

/** @internal The part of the middleware both frameworks share: trace ids in, events out. */
export class HttpCapture<A extends unknown[]> {
  readonly table: RouteTable<A> | undefined;
  readonly echo: boolean;
  readonly #recorder: VcpRecorder | undefined;
  readonly #trust: boolean;
  readonly #classify: HttpErrorClassifier | undefined;
  readonly #abort: Required<ClientAbortOptions> | undefined;
  readonly #component: string;
  readonly #recordDuplicates: boolean;

  /** Validates the options; throws {@link VcpConfigError} at start-up, never per request. */
  constructor(options: HttpCaptureOptions<A>, defaultComponent: string) {
    if (typeof options !== 'object' || options === null) {
      throw new VcpConfigError(`${defaultComponent} middleware: options must be an object`);
    }
    const { recorder, routes, errorEventType, clientAbort, component, errorAlreadyRecorded } = options;
    if (recorder !== undefined && (typeof recorder !== 'object' || typeof recorder?.record !== 'function')) {
      throw new VcpConfigError('`recorder` must have a record() method (see createRecorder)');
    }
    if (errorEventType !== undefined && typeof errorEventType !== 'function') {
      throw new VcpConfigError(
        '`errorEventType` must be a function (outcome) => ERR_* type | false | undefined',
      );
    }
    if (clientAbort !== undefined && clientAbort !== false) {
      if (typeof clientAbort !== 'object' || clientAbort === null) {
        throw new VcpConfigError('`clientAbort` must be false or { eventType?, severity? }');
      }
      if (clientAbort.eventType !== undefined && !isErrorEventType(clientAbort.eventType)) {
        throw new VcpConfigError(
          `clientAbort.eventType must be an ERR_* type, got ${String(clientAbort.eventType)}`,
        );
      }
      if (clientAbort.severity !== undefined && !SEVERITIES.includes(clientAbort.severity)) {
        throw new VcpConfigError(`clientAbort.severity must be one of ${SEVERITIES.join(', ')}`);
      }
    }
    if (component !== undefined && (typeof component !== 'string' || component === '')) {
      throw new VcpConfigError('`component` must be a non-empty string');
    }
    if (
      errorAlreadyRecorded !== undefined &&
      errorAlreadyRecorded !== 'link' &&
      errorAlreadyRecorded !== 'record'
    ) {
      throw new VcpConfigError(
        `\`errorAlreadyRecorded\` must be 'link' or 'record', got ${JSON.stringify(String(errorAlreadyRecorded))}`,
      );
    }
    this.table = routes === undefined ? undefined : new RouteTable(routes);
    this.echo = options.echoTraceHeader !== false;
    this.#recorder = recorder;
    this.#trust = options.trustTraceHeaders !== false;
    this.#classify = errorEventType;
    this.#abort =
      clientAbort === false
        ? undefined
        : { eventType: clientAbort?.eventType ?? 'ERR_CONN', severity: clientAbort?.severity ?? 'WARNING' };
    this.#component = component ?? defaultComponent;
    this.#recordDuplicates = errorAlreadyRecorded === 'record';
  }

  /** The trace id for a request: a valid incoming one (when trusted), else a new UUIDv7. */
  traceIdFor(headers: Record<string, string | string[] | undefined>): string {
    return (this.#trust && traceIdFromHeaders(headers)) || uuidv7();
  }

  /**
   * Record what a request's outcome calls for. Call it from the response's
   * `'close'` listener (fired after `'finish'`, or alone when the
   * connection dropped). `routeHint` is a framework's own idea of the
   * matched pattern (Express: `baseUrl + route.path`). Never throws.
   */
  complete(state: RequestState<A>, res: ServerResponse, routeHint?: string): void {
    if (state.done) return;
    state.done = true;
    try {
      this.#complete(state, res, routeHint);
    } catch (error) {
      // Only our own bug could get here; a listener must never throw.
      noteRecorderError(error);
    }
  }

  #complete(state: RequestState<A>, res: ServerResponse, routeHint: string | undefined): void {
    const aborted = !res.writableFinished;
    const sent = res.headersSent ? res.statusCode : undefined;
    // A thrown error's own status, unless an error status was actually sent.
    const status = state.thrown
      ? sent !== undefined && sent >= 400
        ? sent
        : statusOfThrown(state.error)
      : sent;
    // Trace-only middleware, a response sent below 400 and nothing thrown: the default
    // classifier records nothing, so skip building the outcome (the common case, every request).
    if (!this.table && !this.#classify && !aborted && !state.thrown && status !== undefined && status < 400)
      return;
    const path = pathnameOf(state.url) ?? state.url;

    let match: RouteMatch<A> | undefined;
    if (this.table) {
      const byHint = routeHint === undefined ? undefined : this.table.byPattern(state.method, routeHint);
      const params = byHint && this.table.paramsOf(byHint, path);
      match = byHint && params ? { route: byHint, params } : this.table.match(state.method, path);
    }
    const outcome: HttpOutcome = {
      method: state.method,
      path,
      route: match?.route.key,
      status,
      thrown: state.thrown,
      error: state.error,
      aborted,
    };

    let errType: ErrorEventType | false;
    // The decorator's ERR event for this very error, in this trace (recorded-errors.ts).
    const recordedAs = state.thrown ? recordedErrorEventId(state.error, state.store.traceId) : undefined;
    if (aborted && !state.thrown) {
      errType = this.#abort ? this.#abort.eventType : false;
    } else if (recordedAs !== undefined && !this.#recordDuplicates) {
      shared.stats.duplicateErrorsSkipped++;
      errType = false;
    } else {
      errType = this.#classifyOutcome(outcome);
    }
    const wantsMapped =
      match !== undefined &&
      !aborted &&
      (match.route.mapping.when === 'always' || (!state.thrown && status !== undefined && status < 400));
    if (!wantsMapped && errType === false) return;

    const recorder = this.#recorder ?? shared.config.recorder;
    if (!recorder) {
      noteNoRecorderForHttp();
      return;
    }
    const mapped = wantsMapped ? match : undefined;
    // The listener may run in no trace, or in another request's (emitters keep the context of
    // whoever triggered them): record inside this request's own store, so extractors see its
    // trace and the recorder's `lastEventId` bookkeeping lands on the right request.
    if (traceStorage.getStore() === state.store)
      this.#record(recorder, state, outcome, mapped, errType, recordedAs);
    else
      traceStorage.run(state.store, () =>
        this.#record(recorder, state, outcome, mapped, errType, recordedAs),
      );
  }

  #record(
    recorder: VcpRecorder,
    state: RequestState<A>,
    outcome: HttpOutcome,
    match: RouteMatch<A> | undefined,
    errType: ErrorEventType | false,
    recordedAs: string | undefined,
  ): void {
    let mappedId: string | undefined;
    if (match) mappedId = this.#recordMapped(recorder, state, match, outcome.status ?? 0);
    if (errType !== false) {
      const details = this.#errorDetails(
        errType,
        outcome,
        state,
        recordedAs ?? mappedId ?? state.store.lastEventId,
      );
      safeRecord(
        recorder,
        errType,
        { error_details: details },
        { traceId: state.store.traceId },
        state.store,
      );
    }
  }

  #classifyOutcome(outcome: HttpOutcome): ErrorEventType | false {
    if (this.#classify) {
      try {
        const t = this.#classify(outcome);
        if (t === false) return false;
        if (isErrorEventType(t)) return t;
      } catch {
        // a broken classifier falls back to the default
      }
    }
    return defaultHttpErrorType(outcome);
  }

  #errorDetails(
    type: ErrorEventType,
    outcome: HttpOutcome,
    state: RequestState<A>,
    correlatedEventId: string | undefined,
  ): ErrorDetails {
    const s = outcome.status;
    // A client error (4xx) is worth recording but is not a critical failure of ours.
    const severity: Severity =
      outcome.aborted && !outcome.thrown && this.#abort
        ? this.#abort.severity
        : s !== undefined && s >= 400 && s < 500
          ? 'WARNING'
          : ERROR_DEFAULT_SEVERITY[type];
    let details: ErrorDetails;
    if (outcome.thrown) {
      details = buildErrorDetails({
        type,
        error: state.error,
        component: this.#component,
        severity,
        correlatedEventId,
      });
    } else {
      details = {
        error_code: outcome.aborted ? 'CLIENT_ABORT' : `HTTP_${s}`,
        error_message: outcome.aborted
          ? 'the client closed the connection before the response was complete'
          : `HTTP ${s} ${STATUS_CODES[s ?? 0] ?? ''}`.trimEnd(),
        severity,
        affected_component: this.#component,
      };
      if (correlatedEventId) details.correlated_event_id = correlatedEventId;
    }
    if (s !== undefined) details.http_status = s;
    details.http_method = outcome.method.slice(0, 32);
    details.http_path =
      outcome.path.length > MAX_DETAIL_PATH ? `${outcome.path.slice(0, MAX_DETAIL_PATH)}…` : outcome.path;
    if (outcome.route !== undefined) details.http_route = outcome.route;
    if (outcome.aborted) details.client_aborted = true;
    return details;
  }

  #recordMapped(
    recorder: VcpRecorder,
    state: RequestState<A>,
    match: RouteMatch<A>,
    status: number,
  ): string | undefined {
    const { mapping, key } = match.route;
    const info: RouteInfo = {
      route: key,
      params: match.params,
      status,
      traceId: state.store.traceId,
      durationMs: Math.round((performance.now() - state.start) * 1000) / 1000,
    };
    let payload: VcpPayload;
    const options: RecordOptions = { traceId: state.store.traceId };
    try {
      payload = mapping.extract
        ? checkObject(mapping.extract(...state.args, info), 'extract')
        : { http: { method: state.method, route: key, path: pathnameOf(state.url) ?? state.url, status } };
      if (mapping.header) {
        const h = checkObject(mapping.header(...state.args, info), 'header') as RouteHeaderFields;
        for (const f of ['venueId', 'symbol', 'accountId', 'operatorId'] as const) {
          if (typeof h[f] === 'string') options[f] = h[f];
        }
      }
    } catch (error) {
      shared.stats.extractorErrors++;
      try {
        recorder.noteExtractorError();
      } catch (e) {
        noteRecorderError(e);
      }
      const details = buildErrorDetails({
        type: 'ERR_SYSTEM',
        error,
        component: this.#component,
        correlatedEventId: state.store.lastEventId,
      });
      details.error_message = `route extractor for "${key}" failed: ${errorMessageOf(error)}`;
      details.error_code = errorCodeOf(error);
      details.http_route = key;
      safeRecord(
        recorder,
        'ERR_SYSTEM',
        { error_details: details },
        { traceId: state.store.traceId },
        state.store,
      );
      return undefined;
    }
    return safeRecord(recorder, mapping.eventType, payload, options, state.store);
  }
}

class ExtractorResultError extends Error {
  override name = 'ExtractorResultError';
}

function checkObject(value: unknown, what: string): VcpPayload {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ExtractorResultError(
      `${what} returned ${value === null ? 'null' : typeof value}, not an object`,
    );
  }
  if (typeof (value as { then?: unknown }).then === 'function') {
    throw new ExtractorResultError(`${what} returned a Promise; route extractors must be synchronous`);
  }
  return value as VcpPayload;
}

function safeRecord(
  recorder: VcpRecorder,
  type: EventType,
  payload: VcpPayload,
  options: RecordOptions,
  store: TraceStore,
): string | undefined {
  let id: string | undefined;
  try {
    id = recorder.record(type, payload, options);
  } catch (error) {
    noteRecorderError(error);
    return undefined;
  }
  if (id !== undefined) store.lastEventId = id;
  return id;
}

function noteNoRecorderForHttp(): void {
  shared.stats.unrecorded++;
  if (warned.noRecorder) return;
  warned.noRecorder = true;
  process.emitWarning(
    'vcp-instrument: the HTTP middleware has an event to record but no recorder; pass { recorder } or call configureVcp({ recorder }) at start-up',
    { code: 'VCP_NO_RECORDER' },
  );
}
