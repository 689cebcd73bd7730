/**
 * The trace context: which trace (order, request) the code running now
 * belongs to, carried through every `await`, timer and callback by
 * `AsyncLocalStorage` (DESIGN decision 7; no `async_hooks.createHook`).
 *
 * The store is a small mutable object created once per request by
 * middleware (`AsyncLocalStorage.run` costs ~150 ns on Node 24; reading it
 * ~7 ns), so decorators only read. It lives on a `Symbol.for` global with a
 * version check, so two copies of this package in one app (a dependency
 * bundling its own) share one trace context.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { uuidv7 } from '../core/uuidv7.ts';

/** What the context carries for the code running inside a trace. */
export interface TraceStore {
  /** The trace id every event recorded here carries. */
  traceId: string;
  /** Free per-trace values (the cls-style `ns.set/get` facade writes here). */
  values: Map<string | symbol, unknown>;
  /** Decorated methods currently running in this trace (guards against double logging by `super.m()`). */
  active?: Set<unknown>;
  /** Id of the last event recorded in this trace (errors correlate to it). */
  lastEventId?: string;
}

/** Version of the shared store's shape; bump when `TraceStore` changes incompatibly. */
const STORE_VERSION = 1;
const GLOBAL_KEY = Symbol.for('vcp-instrument.trace-store');

interface SharedStore {
  version: number;
  als: AsyncLocalStorage<TraceStore>;
}

function sharedStore(): AsyncLocalStorage<TraceStore> {
  const g = globalThis as unknown as Record<symbol, SharedStore | undefined>;
  const existing = g[GLOBAL_KEY];
  if (existing) {
    if (existing.version === STORE_VERSION) return existing.als;
    // An incompatible copy got there first: keep working, but separately, and say so once.
    process.emitWarning(
      `vcp-instrument: another copy of the package (trace store v${existing.version}) is loaded; traces will not be shared with it`,
      { code: 'VCP_TRACE_STORE_VERSION' },
    );
    return new AsyncLocalStorage<TraceStore>();
  }
  const created: SharedStore = { version: STORE_VERSION, als: new AsyncLocalStorage<TraceStore>() };
  Object.defineProperty(g, GLOBAL_KEY, {
    value: created,
    enumerable: false,
    configurable: false,
    writable: false,
  });
  return created.als;
}

/** The process-wide AsyncLocalStorage behind the trace context. */
export const traceStorage: AsyncLocalStorage<TraceStore> = sharedStore();

/**
 * A store whose `values` map is made on first use: most requests never touch
 * it (only the cls-style facade does), and the middleware makes one store per
 * request.
 */
class LazyTraceStore implements TraceStore {
  traceId: string;
  active?: Set<unknown>;
  lastEventId?: string;
  #values: Map<string | symbol, unknown> | undefined;

  constructor(traceId: string) {
    this.traceId = traceId;
  }

  get values(): Map<string | symbol, unknown> {
    if (this.#values === undefined) this.#values = new Map();
    return this.#values;
  }

  set values(map: Map<string | symbol, unknown>) {
    this.#values = map;
  }
}

/** Make a fresh store for a trace. */
export function createTraceStore(traceId: string = uuidv7()): TraceStore {
  return new LazyTraceStore(traceId);
}

/**
 * Run `fn` inside trace `traceId` (a new UUIDv7 when undefined). Everything
 * `fn` starts — awaits, timers, emitters, streams — sees this trace.
 * Nested runs see their own trace and restore the outer one when they end.
 */
export function runWithTrace<R>(traceId: string | undefined, fn: () => R): R {
  return traceStorage.run(createTraceStore(traceId ?? uuidv7()), fn);
}

/** Run `fn` with an existing store (middleware that built the store itself). */
export function runWithStore<R>(store: TraceStore, fn: () => R): R {
  return traceStorage.run(store, fn);
}

/** The current trace id, or `undefined` outside any trace. */
export function currentTrace(): string | undefined {
  return traceStorage.getStore()?.traceId;
}

/** The current store, or `undefined` outside any trace. */
export function currentStore(): TraceStore | undefined {
  return traceStorage.getStore();
}

/** Bind `fn` to the trace active now, so callbacks run later (queues, pools) keep it. */
export function bindToCurrentTrace<F extends (...args: never[]) => unknown>(fn: F): F {
  return AsyncLocalStorage.bind(fn) as F;
}
