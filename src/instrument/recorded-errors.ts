/**
 * One failure, one `ERR_*` event. When a decorated method records the error it
 * throws, the error object is noted here with the trace it was recorded in and
 * the event's id; an outer decorated method or the Express/Koa middleware that
 * sees the same error object in the same trace then links to that event
 * instead of recording a second one (error counts stay true).
 *
 * A WeakMap: nothing is kept alive by being noted. Shared through `globalThis`
 * (like the configuration) so that an ESM and a CommonJS copy of the package
 * in one process — the decorator loaded by one, the middleware by the other —
 * still agree. Errors that are not objects (a thrown string) cannot be noted
 * and are recorded each time they are seen.
 */

interface RecordedError {
  readonly traceId: string | undefined;
  readonly eventId: string;
}

const REGISTRY_KEY = Symbol.for('vcp-instrument.recorded-errors.v1');

function registry(): WeakMap<object, RecordedError> {
  const g = globalThis as unknown as Record<symbol, WeakMap<object, RecordedError> | undefined>;
  let map = g[REGISTRY_KEY];
  if (!(map instanceof WeakMap)) {
    map = new WeakMap();
    Object.defineProperty(globalThis, REGISTRY_KEY, { value: map, configurable: true });
  }
  return map;
}

function isKeyable(error: unknown): error is object {
  return (typeof error === 'object' && error !== null) || typeof error === 'function';
}

/** Note that `error` was recorded as event `eventId` in trace `traceId` (undefined: outside any trace). */
export function noteRecordedError(error: unknown, traceId: string | undefined, eventId: string): void {
  if (isKeyable(error)) registry().set(error, { traceId, eventId });
}

/**
 * The id of the `ERR_*` event already recorded for `error` in trace `traceId`,
 * or `undefined` (never recorded, recorded in another trace, or not an object).
 * Outside any trace nothing matches: without a trace there is no request to
 * say the two sightings belong to.
 */
export function recordedErrorEventId(error: unknown, traceId: string | undefined): string | undefined {
  if (traceId === undefined || !isKeyable(error)) return undefined;
  const seen = registry().get(error);
  return seen !== undefined && seen.traceId === traceId ? seen.eventId : undefined;
}
