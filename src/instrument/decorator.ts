/**
 * `@VcpLogged(eventType, extractor?, options?)`: turn a method call into a
 * VCP event without the method noticing.
 *
 * One export serves both decorator kinds, told apart at run time by the
 * arguments: TC39 decorators (TypeScript 5+/7 without flags) call it with
 * `(method, context)`, legacy `experimentalDecorators` (NestJS) with
 * `(prototype, name, descriptor)`.
 *
 * What a decorated call does, in order (everything after the call itself is
 * guarded: nothing but the method's own error ever leaves the wrapper):
 * 1. Resolve the recorder (call site → `@VcpComponent` → `configureVcp`).
 *    None: the method runs unrecorded (one warning, a counter).
 * 2. Read the trace store (one `AsyncLocalStorage.getStore`, ~7 ns); no
 *    `run` per call unless `newTrace` asks for one.
 * 3. Call the method with the same `this` and arguments. A thenable result
 *    from a native promise (also down-levelled `async`) is observed: the
 *    event is recorded when it settles and the caller gets a promise that
 *    settles the same way. Other thenables (lazy query builders) are not
 *    touched unless `awaitThenables: true`.
 * 4. Build the payload — the extractor's, or a safe summary of the
 *    arguments and result — and hand it to `recorder.record` (which only
 *    queues it; sealing happens off the caller's path).
 * 5. On throw/reject: record an `ERR_*` event (mapped from the error, or
 *    `options.errorType`) with `error_details`, then rethrow the original
 *    error object untouched. One failure, one ERR event: an error object
 *    already recorded in this trace (by an inner decorated call) is not
 *    recorded again, and the Express/Koa middleware links to that event
 *    instead of recording its own (recorded-errors.ts).
 *
 * Calling `super.method()` from a decorated override logs once, not twice:
 * a decorated method that overrides another decorated method marks the call
 * as active for `this`, and the inner (super) wrapper then runs the method
 * without recording. The mark lives in the trace store (or, outside any
 * trace, in a process-wide set) until the outer call returns or settles, so
 * it covers a `super` call made after an `await`. Concurrent calls of the
 * same override are each logged; recursive calls of one method are logged
 * each time. Only overrides pay for this (a set insert and delete); other
 * methods check one counter.
 */
import { performance } from 'node:perf_hooks';
import { isPromise } from 'node:util/types';
import { runWithTrace, type TraceStore, traceStorage } from '../context/trace-store.ts';
import type { Severity } from '../core/enums.ts';
import { SEVERITIES } from '../core/enums.ts';
import { VcpConfigError } from '../core/errors.ts';
import { type ErrorEventType, type EventType, isErrorEventType, isEventType } from '../core/event-types.ts';
import type { VcpPayload } from '../core/types.ts';
import type { RecordOptions, VcpRecorder } from '../recorder/types.ts';
import type { CheckedPayload } from './checked-payload.ts';
import { validateComponentOptions } from './component.ts';
import { normalizeKey, noteNoRecorder, noteRecorderError, shared } from './configure.ts';
import { buildErrorDetails, mapErrorToEventType } from './error-mapping.ts';
import {
  addMethodRecord,
  componentOf,
  copyFunctionMetadata,
  type HeaderValue,
  inheritsInstrumented,
  mirrorToReflect,
  ownMetadataOf,
  VCP_COMPONENT,
  type VcpComponentOptions,
  type VcpMethodRecord,
} from './metadata.ts';
import { noteRecordedError, recordedErrorEventId } from './recorded-errors.ts';
import { summarizeArgs, summarizeValue } from './summary.ts';

/** What an extractor learns about the call besides its arguments and result. */
export interface VcpCallContext {
  /** The current trace id; `undefined` outside any trace (the recorder then uses the event's own id). */
  readonly traceId: string | undefined;
  /** The method's name (`[description]` for a symbol). */
  readonly methodName: string;
  /** The class of `this` (for a static method, `this` itself). */
  readonly className: string;
  readonly isStatic: boolean;
  /** The event type being recorded (the decorator's, not the `ERR_*` one). */
  readonly eventType: EventType;
  /** Wall time from call to return (or settlement), in nanoseconds. */
  readonly durationNs: number;
  /** The `this` the method ran with. */
  readonly thisArg: unknown;
  /** On the error path: what the method threw or rejected with. */
  readonly error?: unknown;
}

/**
 * Builds the payload of the event from the call's arguments, its result
 * (resolved value for async methods; `undefined` when it threw) and the
 * context. Must be synchronous and must not throw; if it does, or returns
 * anything but an object, the call is unaffected and an `ERR_SYSTEM` event
 * plus `recorder.noteExtractorError()` record the failure instead.
 *
 * Declare the third parameter only when you use it: for an extractor with
 * one or two parameters the decorator skips the clock reads and the
 * context object (about 80 ns a call).
 *
 * Written inline in `@VcpLogged(type, (args, result) => …)`, `args` is the
 * decorated method's parameter tuple and `result` its awaited return type
 * (both decorator modes, TypeScript 6 and 7), and the returned payload's keys
 * are checked ({@link CheckedPayload}). On the error path the extractor is
 * called with `result` undefined (best effort; a throw there is ignored).
 */
export type VcpExtractor<
  // biome-ignore lint/suspicious/noExplicitAny: by default an extractor takes any method's arguments
  Args extends readonly unknown[] = any[],
  // biome-ignore lint/suspicious/noExplicitAny: and any result
  Result = any,
  P extends VcpPayload = VcpPayload,
> = (args: Args, result: Result, context: VcpCallContext) => P;

/** Per-method options of {@link VcpLogged}. Header values override the class's `@VcpComponent`. */
export interface VcpLoggedOptions {
  /** Recorder for this method (overrides class and global). */
  recorder?: VcpRecorder;
  venue_id?: HeaderValue;
  account_id?: HeaderValue;
  symbol?: HeaderValue;
  operator_id?: HeaderValue;
  /** `affected_component` of error events; default: class `component`, else the class name. */
  component?: string;
  /** `ERR_*` type for a throw/reject, fixed or chosen per error (return `undefined` for the default mapping). */
  errorType?: ErrorEventType | ((error: unknown) => ErrorEventType | undefined);
  /** Severity of error events; default: the `ERR_*` type's (`ERROR_DEFAULT_SEVERITY`). */
  severity?: Severity;
  /** Record an `ERR_*` event when the method throws or rejects (default `true`). */
  logErrors?: boolean;
  /**
   * Run the method inside a fresh trace, so the decorated calls it makes
   * share one trace id: `true` always, `'when-missing'` only outside any
   * trace. Costs one `AsyncLocalStorage.run` per call. Default: no.
   */
  newTrace?: boolean | 'when-missing';
  /** Extra keys redacted from the default payload (added to the global list). */
  redactKeys?: readonly string[];
  /** Include the summarised return value in the default payload (default `true`). */
  includeResult?: boolean;
  /** Also observe thenables that are not native promises (calls their `then`; default `false`). */
  awaitThenables?: boolean;
}

/**
 * A method decorator usable in both decorator modes, for methods taking
 * `Args` and returning `Return`. TypeScript infers both from the decorated
 * method (the decorator's contextual type), which is what types an inline
 * extractor's `args` and `result`.
 */
// biome-ignore lint/suspicious/noExplicitAny: by default any method signature is accepted
export interface VcpMethodDecorator<Args extends any[] = any[], Return = any> {
  /** TC39 decorators (TypeScript 5+, TypeScript 7, no flags). */
  <This>(
    value: (this: This, ...args: Args) => Return,
    context: ClassMethodDecoratorContext<This, (this: This, ...args: Args) => Return>,
  ): (this: This, ...args: Args) => Return;
  /** Legacy `experimentalDecorators` (with or without `emitDecoratorMetadata`). */
  (
    target: object,
    propertyKey: string | symbol,
    descriptor: TypedPropertyDescriptor<(...args: Args) => Return>,
  ): void;
}

/** Everything a wrapper needs, fixed at decoration time (one object shape for every method). */
interface MethodSpec {
  original: (...args: unknown[]) => unknown;
  name: string | symbol;
  methodName: string;
  isStatic: boolean;
  eventType: EventType;
  extractor: VcpExtractor | undefined;
  recorder: VcpRecorder | undefined;
  venue: HeaderValue | undefined;
  account: HeaderValue | undefined;
  symbol: HeaderValue | undefined;
  operator: HeaderValue | undefined;
  component: string | undefined;
  errorType: VcpLoggedOptions['errorType'];
  severity: Severity | undefined;
  logErrors: boolean;
  newTrace: boolean | 'when-missing';
  redactTerms: string[];
  includeResult: boolean;
  awaitThenables: boolean;
  /** Metadata object of the declaring class (defaults for calls whose `this` is not an instance). */
  meta: Record<PropertyKey, unknown> | undefined;
  declaringName: string | undefined;
  /** Overrides a decorated method of an ancestor: must mark its calls so the super call is not logged. */
  overrider: boolean;
  /**
   * Something reads the duration or the context: the default payload, or an
   * extractor that declares a third parameter (or rest parameters). An
   * `(args) => …` or `(args, result) => …` extractor skips both clock reads.
   */
  timed: boolean;
  /** One-entry cache of the header options for the last component seen (most methods see one). */
  optsComp: unknown;
  opts: RecordOptions | undefined | typeof DYNAMIC;
}

/** Any function (biome bans the `Function` type). */
type AnyFunction = (...args: never[]) => unknown;

/** Marks header options that contain functions and must be computed per call. */
const DYNAMIC = Symbol('dynamic');
/** Never equal to a component: forces the first computation of the options cache. */
const UNSET = Symbol('unset');

/** A call of an overriding method in progress on `self` (see the module comment). */
class ActiveCall {
  readonly self: unknown;
  readonly spec: MethodSpec;
  readonly set: Set<unknown>;
  done = false;
  constructor(self: unknown, spec: MethodSpec, set: Set<unknown>) {
    this.self = self;
    this.spec = spec;
    this.set = set;
  }
}

/** Marks of overriding calls made outside any trace. */
const untracedMarks = new Set<unknown>();
/** Number of marks alive anywhere: while 0, no call needs to look for one. */
let liveMarks = 0;

function mark(store: TraceStore | undefined, self: unknown, spec: MethodSpec): ActiveCall {
  let set: Set<unknown>;
  if (store) {
    set = store.active ?? new Set();
    store.active = set;
  } else set = untracedMarks;
  const m = new ActiveCall(self, spec, set);
  set.add(m);
  liveMarks++;
  return m;
}

function unmark(m: ActiveCall): void {
  if (m.done) return;
  m.done = true;
  m.set.delete(m);
  liveMarks--;
}

/** An override of this method (another wrapper of the same name and kind) is running on `self`. */
function insideOverride(store: TraceStore | undefined, self: unknown, spec: MethodSpec): boolean {
  const set = store?.active ?? untracedMarks;
  if (set.size === 0) return false;
  for (const m of set) {
    if (
      m instanceof ActiveCall &&
      m.self === self &&
      m.spec !== spec &&
      m.spec.name === spec.name &&
      m.spec.isStatic === spec.isStatic
    ) {
      return true;
    }
  }
  return false;
}

function ctorOf(spec: MethodSpec, self: unknown): unknown {
  if (spec.isStatic) return self;
  if (self === null || self === undefined) return undefined;
  try {
    return (self as { constructor?: unknown }).constructor;
  } catch {
    return undefined;
  }
}

function componentFor(spec: MethodSpec, ctor: unknown): VcpComponentOptions | undefined {
  try {
    return componentOf(ctor) ?? (spec.meta?.[VCP_COMPONENT] as VcpComponentOptions | undefined);
  } catch {
    return spec.meta?.[VCP_COMPONENT] as VcpComponentOptions | undefined;
  }
}

function classNameOf(spec: MethodSpec, ctor: unknown): string {
  if (typeof ctor === 'function' && ctor !== Object && typeof ctor.name === 'string' && ctor.name)
    return ctor.name;
  return spec.declaringName ?? 'unknown';
}

function elapsedNs(t0: number): number {
  if (t0 === 0) return 0;
  return Math.max(0, Math.round((performance.now() - t0) * 1e6));
}

function safeRecord(
  recorder: VcpRecorder,
  type: EventType,
  payload: VcpPayload,
  options: RecordOptions | undefined,
  store: TraceStore | undefined,
): string | undefined {
  let id: string | undefined;
  try {
    id = options === undefined ? recorder.record(type, payload) : recorder.record(type, payload, options);
  } catch (error) {
    noteRecorderError(error);
    return undefined;
  }
  if (id !== undefined && store) store.lastEventId = id;
  return id;
}

function noteExtractorError(recorder: VcpRecorder): void {
  shared.stats.extractorErrors++;
  try {
    recorder.noteExtractorError();
  } catch (error) {
    noteRecorderError(error);
  }
}

function headerValue(
  v: HeaderValue | undefined,
  args: unknown[],
  result: unknown,
  recorder: VcpRecorder,
): string | undefined {
  if (typeof v !== 'function') return v;
  try {
    const out = v(args, result);
    return typeof out === 'string' ? out : undefined;
  } catch {
    noteExtractorError(recorder);
    return undefined;
  }
}

function staticOptions(
  spec: MethodSpec,
  comp: VcpComponentOptions | undefined,
): RecordOptions | undefined | typeof DYNAMIC {
  const venueId = spec.venue ?? comp?.venue_id;
  const accountId = spec.account ?? comp?.account_id;
  const symbol = spec.symbol ?? comp?.symbol;
  const operatorId = spec.operator ?? comp?.operator_id;
  if (venueId === undefined && accountId === undefined && symbol === undefined && operatorId === undefined) {
    return undefined;
  }
  const values = [venueId, accountId, symbol, operatorId];
  if (values.some((v) => typeof v === 'function')) return DYNAMIC;
  // No traceId: the recorder takes the current trace from the store itself.
  return Object.freeze({ venueId, accountId, symbol, operatorId }) as RecordOptions;
}

/** Header options for one event: cached when they are fixed strings, computed when they are functions. */
function recordOptions(
  spec: MethodSpec,
  comp: VcpComponentOptions | undefined,
  args: unknown[],
  result: unknown,
  recorder: VcpRecorder,
): RecordOptions | undefined {
  if (spec.optsComp !== comp) {
    spec.opts = staticOptions(spec, comp);
    spec.optsComp = comp;
  }
  if (spec.opts !== DYNAMIC) return spec.opts;
  return {
    venueId: headerValue(spec.venue ?? comp?.venue_id, args, result, recorder),
    accountId: headerValue(spec.account ?? comp?.account_id, args, result, recorder),
    symbol: headerValue(spec.symbol ?? comp?.symbol, args, result, recorder),
    operatorId: headerValue(spec.operator ?? comp?.operator_id, args, result, recorder),
  };
}

function context(
  spec: MethodSpec,
  store: TraceStore | undefined,
  self: unknown,
  className: string,
  durationNs: number,
  failure?: { error: unknown },
): VcpCallContext {
  const c: { -readonly [K in keyof VcpCallContext]: VcpCallContext[K] } = {
    traceId: store?.traceId,
    methodName: spec.methodName,
    className,
    isStatic: spec.isStatic,
    eventType: spec.eventType,
    durationNs,
    thisArg: self,
  };
  if (failure) c.error = failure.error;
  return c;
}

function callSummary(
  spec: MethodSpec,
  className: string,
  args: unknown[],
  durationNs: number,
  result: { value: unknown } | undefined,
): Record<string, unknown> {
  const limits = shared.config.summary;
  const terms = spec.redactTerms.length ? [...shared.redactTerms, ...spec.redactTerms] : shared.redactTerms;
  const call: Record<string, unknown> = {
    class: className,
    method: spec.methodName,
    args: summarizeArgs(args, limits, terms),
  };
  if (spec.timed) call.duration_ns = String(durationNs);
  if (result && spec.includeResult) call.result = summarizeValue(result.value, limits, terms);
  return call;
}

function payloadProblem(out: unknown): string | undefined {
  if (out === null) return 'returned null';
  if (typeof out !== 'object') return `returned ${typeof out}`;
  if (Array.isArray(out)) return 'returned an array';
  if (typeof (out as { then?: unknown }).then === 'function')
    return 'returned a promise (extractors must be synchronous)';
  return undefined;
}

function recordSuccess(
  spec: MethodSpec,
  recorder: VcpRecorder,
  comp: VcpComponentOptions | undefined,
  store: TraceStore | undefined,
  self: unknown,
  args: unknown[],
  result: unknown,
  durationNs: number,
): void {
  try {
    let payload: VcpPayload;
    if (spec.extractor) {
      let out: unknown;
      let problem: string | undefined;
      let cause: unknown;
      try {
        out = spec.timed
          ? spec.extractor(
              args,
              result,
              context(spec, store, self, classNameOf(spec, ctorOf(spec, self)), durationNs),
            )
          : spec.extractor(args, result, undefined as unknown as VcpCallContext);
        problem = payloadProblem(out);
      } catch (error) {
        problem = 'threw';
        cause = error;
      }
      if (problem !== undefined) {
        const className = classNameOf(spec, ctorOf(spec, self));
        extractorFailed(spec, recorder, comp, store, className, args, durationNs, problem, cause);
        return;
      }
      payload = out as VcpPayload;
    } else {
      const className = classNameOf(spec, ctorOf(spec, self));
      payload = { call: callSummary(spec, className, args, durationNs, { value: result }) };
    }
    safeRecord(recorder, spec.eventType, payload, recordOptions(spec, comp, args, result, recorder), store);
  } catch (error) {
    // A bug of ours must not reach the trading call either.
    noteRecorderError(error);
  }
}

function extractorFailed(
  spec: MethodSpec,
  recorder: VcpRecorder,
  comp: VcpComponentOptions | undefined,
  store: TraceStore | undefined,
  className: string,
  args: unknown[],
  durationNs: number,
  problem: string,
  cause: unknown,
): void {
  noteExtractorError(recorder);
  const where = `${className}.${spec.methodName}`;
  const error =
    problem === 'threw'
      ? {
          code: 'VCP_EXTRACTOR_ERROR',
          message: `extractor of ${where} (${spec.eventType}) threw: ${messageOf(cause)}`,
        }
      : {
          code: 'VCP_EXTRACTOR_INVALID',
          message: `extractor of ${where} (${spec.eventType}) ${problem}; expected a payload object`,
        };
  const details = buildErrorDetails({
    type: 'ERR_SYSTEM',
    error,
    component: spec.component ?? comp?.component ?? className,
    correlatedEventId: store?.lastEventId,
  });
  // Keep what the lost event would have said, summarised safely, so the audit trail still shows the call.
  const call = callSummary(spec, className, args, durationNs, undefined);
  call.event_type = spec.eventType;
  safeRecord(
    recorder,
    'ERR_SYSTEM',
    { error_details: details, call },
    recordOptions(spec, comp, args, undefined, recorder),
    store,
  );
}

function messageOf(error: unknown): string {
  try {
    if (error instanceof Error) return error.message;
    return String(error);
  } catch {
    return '(unprintable)';
  }
}

function errorTypeFor(spec: MethodSpec, error: unknown): ErrorEventType {
  const opt = spec.errorType;
  if (typeof opt === 'string') return opt;
  if (typeof opt === 'function') {
    try {
      const t = opt(error);
      if (isErrorEventType(t)) return t;
    } catch {
      // fall through to the default mapping
    }
  }
  const custom = shared.config.mapError;
  if (custom) {
    try {
      const t = custom(error);
      if (isErrorEventType(t)) return t;
    } catch {
      // fall through
    }
  }
  return mapErrorToEventType(error);
}

function recordFailure(
  spec: MethodSpec,
  recorder: VcpRecorder,
  comp: VcpComponentOptions | undefined,
  store: TraceStore | undefined,
  self: unknown,
  args: unknown[],
  error: unknown,
  durationNs: number,
): void {
  if (!spec.logErrors) return;
  // One failure, one ERR event: an inner decorated call already recorded this error in this trace.
  if (recordedErrorEventId(error, store?.traceId) !== undefined) {
    shared.stats.duplicateErrorsSkipped++;
    return;
  }
  try {
    const className = classNameOf(spec, ctorOf(spec, self));
    const type = errorTypeFor(spec, error);
    const details = buildErrorDetails({
      type,
      error,
      component: spec.component ?? comp?.component ?? className,
      ...(spec.severity ? { severity: spec.severity } : {}),
      correlatedEventId: store?.lastEventId,
    });
    let payload: VcpPayload | undefined;
    if (spec.extractor) {
      // Best effort: extractors written for the success path may read the (absent) result and throw.
      try {
        const out = spec.extractor(
          args,
          undefined,
          context(spec, store, self, className, durationNs, { error }),
        );
        if (payloadProblem(out) === undefined) {
          const extra = (out as VcpPayload).error_details;
          payload = {
            ...out,
            error_details: { ...details, ...(extra && typeof extra === 'object' ? extra : {}) },
          };
        }
      } catch {
        // recorded without the extractor's fields
      }
    }
    payload ??= { error_details: details, call: callSummary(spec, className, args, durationNs, undefined) };
    const id = safeRecord(
      recorder,
      type,
      payload,
      recordOptions(spec, comp, args, undefined, recorder),
      store,
    );
    if (id !== undefined) noteRecordedError(error, store?.traceId, id);
  } catch (e) {
    noteRecorderError(e);
  }
}

function thenOf(result: unknown): ((this: unknown, ...a: unknown[]) => unknown) | undefined {
  if (result === null || (typeof result !== 'object' && typeof result !== 'function')) return undefined;
  try {
    const then = (result as { then?: unknown }).then;
    return typeof then === 'function' ? (then as (this: unknown, ...a: unknown[]) => unknown) : undefined;
  } catch {
    return undefined;
  }
}

function invokeIn(
  spec: MethodSpec,
  self: unknown,
  args: unknown[],
  recorder: VcpRecorder,
  comp: VcpComponentOptions | undefined,
): unknown {
  const store = traceStorage.getStore();
  if (liveMarks !== 0 && insideOverride(store, self, spec)) return spec.original.apply(self, args);
  const active = spec.overrider ? mark(store, self, spec) : undefined;
  const t0 = spec.timed ? performance.now() : 0;
  let result: unknown;
  try {
    result = spec.original.apply(self, args);
  } catch (error) {
    if (active) unmark(active);
    recordFailure(spec, recorder, comp, store, self, args, error, elapsedNs(t0));
    throw error;
  }
  const then = thenOf(result);
  if (then !== undefined && (result instanceof Promise || isPromise(result) || spec.awaitThenables)) {
    return then.call(
      result,
      (value: unknown) => {
        if (active) unmark(active);
        recordSuccess(spec, recorder, comp, store, self, args, value, elapsedNs(t0));
        return value;
      },
      (error: unknown) => {
        if (active) unmark(active);
        recordFailure(spec, recorder, comp, store, self, args, error, elapsedNs(t0));
        throw error;
      },
    );
  }
  if (active) unmark(active);
  recordSuccess(spec, recorder, comp, store, self, args, result, elapsedNs(t0));
  return result;
}

function invoke(spec: MethodSpec, self: unknown, args: unknown[]): unknown {
  const comp = componentFor(spec, ctorOf(spec, self));
  const recorder = spec.recorder ?? comp?.recorder ?? shared.config.recorder;
  if (recorder === undefined) {
    noteNoRecorder();
    return spec.original.apply(self, args);
  }
  if (spec.newTrace !== false && (spec.newTrace === true || traceStorage.getStore() === undefined)) {
    return runWithTrace(undefined, () => invokeIn(spec, self, args, recorder, comp));
  }
  return invokeIn(spec, self, args, recorder, comp);
}

function makeWrapper(spec: MethodSpec): (...args: unknown[]) => unknown {
  const wrapper = function (this: unknown, ...args: unknown[]): unknown {
    return invoke(spec, this, args);
  };
  Object.defineProperty(wrapper, 'name', { value: spec.original.name, configurable: true });
  Object.defineProperty(wrapper, 'length', { value: spec.original.length, configurable: true });
  return wrapper;
}

function declaringClassName(
  self: unknown,
  name: string | symbol,
  wrapper: unknown,
  isStatic: boolean,
): string | undefined {
  try {
    if (isStatic) return typeof self === 'function' ? self.name : undefined;
    for (let p = Object.getPrototypeOf(self); p; p = Object.getPrototypeOf(p)) {
      if (Object.getOwnPropertyDescriptor(p, name)?.value === wrapper) {
        const ctor = (p as { constructor?: { name?: unknown } }).constructor;
        return typeof ctor?.name === 'string' ? ctor.name : undefined;
      }
    }
  } catch {
    // exotic objects: leave the name unknown
  }
  return undefined;
}

function methodNameOf(name: string | symbol): string {
  return typeof name === 'symbol' ? `[${name.description ?? ''}]` : name;
}

function checkOptions(options: unknown): VcpLoggedOptions {
  if (options === undefined) return {};
  const o = validateComponentOptions(options, '@VcpLogged options') as VcpLoggedOptions;
  if (o.errorType !== undefined && typeof o.errorType !== 'function' && !isErrorEventType(o.errorType)) {
    throw new VcpConfigError(
      `@VcpLogged: errorType must be an ERR_* event type or a function, got ${String(o.errorType)}`,
    );
  }
  if (o.severity !== undefined && !(SEVERITIES as readonly unknown[]).includes(o.severity)) {
    throw new VcpConfigError(`@VcpLogged: severity must be one of ${SEVERITIES.join(', ')}`);
  }
  if (o.newTrace !== undefined && typeof o.newTrace !== 'boolean' && o.newTrace !== 'when-missing') {
    throw new VcpConfigError(`@VcpLogged: newTrace must be true, false or 'when-missing'`);
  }
  if (
    o.redactKeys !== undefined &&
    (!Array.isArray(o.redactKeys) || !o.redactKeys.every((k) => typeof k === 'string'))
  ) {
    throw new VcpConfigError('@VcpLogged: redactKeys must be an array of strings');
  }
  return o;
}

/**
 * Record every call of the decorated method as a VCP event of `eventType`.
 *
 * ```ts
 * class Desk {
 *   @VcpLogged('ORD', (args, result) => ({
 *     trade_data: { order_id: result.id, side: args[0].side, order_type: 'LIMIT', price: args[0].price, quantity: args[0].qty },
 *   }))
 *   async place(order: Order) { ... }
 * }
 * ```
 *
 * Works with TC39 and legacy decorators, on instance and static, sync and
 * async methods. Bad arguments throw {@link VcpConfigError} when the class
 * is defined, never during a call. See the module comment for what a call
 * does and {@link VcpLoggedOptions} for the options.
 */
// biome-ignore lint/suspicious/noExplicitAny: defaults for a decorator whose method is not known (stored in a variable)
export function VcpLogged<Args extends any[] = any[], Return = any, P extends VcpPayload = VcpPayload>(
  eventType: EventType,
  extractor?: (
    args: NoInfer<Args>,
    result: NoInfer<Awaited<Return>>,
    context: VcpCallContext,
  ) => P & CheckedPayload<P>,
  options?: VcpLoggedOptions,
): VcpMethodDecorator<Args, Return> {
  if (!isEventType(eventType)) {
    throw new VcpConfigError(
      `@VcpLogged: unknown event type ${JSON.stringify(String(eventType))} (e.g. 'ORD', 'EXE', 'ERR_RISK')`,
    );
  }
  if (extractor !== undefined && typeof extractor !== 'function') {
    throw new VcpConfigError(
      '@VcpLogged: the extractor must be a function (args, result, context) => payload',
    );
  }
  const opts = checkOptions(options);

  const spec = (
    original: (...args: unknown[]) => unknown,
    name: string | symbol,
    isStatic: boolean,
    meta: Record<PropertyKey, unknown> | undefined,
    declaringName: string | undefined,
    overrider: boolean,
  ): MethodSpec => ({
    original,
    name,
    methodName: methodNameOf(name),
    isStatic,
    eventType,
    extractor: extractor as VcpExtractor | undefined,
    recorder: opts.recorder,
    venue: opts.venue_id,
    account: opts.account_id,
    symbol: opts.symbol,
    operator: opts.operator_id,
    component: opts.component,
    errorType: opts.errorType,
    severity: opts.severity,
    logErrors: opts.logErrors !== false,
    newTrace: opts.newTrace ?? false,
    redactTerms: (opts.redactKeys ?? []).map(normalizeKey).filter((k) => k.length > 0),
    includeResult: opts.includeResult !== false,
    awaitThenables: opts.awaitThenables === true,
    meta,
    declaringName,
    overrider,
    timed: extractor === undefined || extractor.length === 0 || extractor.length >= 3,
    optsComp: UNSET,
    opts: undefined,
  });

  const record = (name: string | symbol, isStatic: boolean): VcpMethodRecord => {
    const r: VcpMethodRecord = { name, eventType, static: isStatic, hasExtractor: extractor !== undefined };
    if (typeof opts.errorType === 'string') r.errorType = opts.errorType;
    if (opts.component !== undefined) r.component = opts.component;
    return r;
  };

  return function vcpLoggedDecorator(...a: unknown[]): unknown {
    const [target, key, descriptor] = a;
    // TC39: (method, context)
    if (a.length === 2 && typeof key === 'object' && key !== null && 'kind' in key) {
      const ctx = key as ClassMethodDecoratorContext;
      if (ctx.kind !== 'method' || typeof target !== 'function') {
        throw new VcpConfigError(
          `@VcpLogged decorates methods only, not a ${String(ctx.kind)} (${String(ctx.name)})`,
        );
      }
      const meta = (ctx.metadata as Record<PropertyKey, unknown> | undefined) ?? undefined;
      // Without metadata we cannot see the parent's methods: treat every method as an override (correct, a bit slower).
      const overrider = meta ? inheritsInstrumented(meta, ctx.name, ctx.static) : true;
      const s = spec(
        target as (...args: unknown[]) => unknown,
        ctx.name,
        ctx.static,
        meta,
        undefined,
        overrider,
      );
      if (meta) addMethodRecord(meta, record(ctx.name, ctx.static));
      const wrapper = makeWrapper(s);
      // TC39 decorators never see the class. Learn its name once (for calls whose `this` is not an
      // instance): static initializers run with the class when it is defined; instance ones with
      // the first instance, whose prototype chain leads to the prototype holding this wrapper.
      if (!ctx.private) {
        let tried = false;
        ctx.addInitializer(function (this: unknown) {
          if (tried) return;
          tried = true;
          s.declaringName = declaringClassName(this, ctx.name, wrapper, ctx.static);
        });
      }
      copyFunctionMetadata(target, wrapper);
      return wrapper;
    }
    // Legacy: (prototype or class, name, descriptor)
    if (
      (typeof key === 'string' || typeof key === 'symbol') &&
      typeof descriptor === 'object' &&
      descriptor !== null &&
      (typeof target === 'object' || typeof target === 'function') &&
      target !== null
    ) {
      const desc = descriptor as PropertyDescriptor;
      if (typeof desc.value !== 'function') {
        throw new VcpConfigError(
          `@VcpLogged decorates methods only, not accessors or fields (${String(key)})`,
        );
      }
      const isStatic = typeof target === 'function';
      const ctor = (isStatic ? target : (target as { constructor: unknown }).constructor) as AnyFunction;
      const meta = ownMetadataOf(ctor);
      const overrider = inheritsInstrumented(meta, key, isStatic);
      const s = spec(
        desc.value as (...args: unknown[]) => unknown,
        key,
        isStatic,
        meta,
        ctor.name,
        overrider,
      );
      addMethodRecord(meta, record(key, isStatic));
      mirrorToReflect(ctor, meta);
      const wrapper = makeWrapper(s);
      copyFunctionMetadata(desc.value as AnyFunction, wrapper);
      desc.value = wrapper;
      return desc;
    }
    throw new VcpConfigError(
      '@VcpLogged must decorate a class method (TC39 or experimentalDecorators); it was applied to something else',
    );
  } as VcpMethodDecorator<Args, Return>;
}
