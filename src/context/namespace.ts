/**
 * A cls-hooked-style namespace facade over the trace store, so code written
 * for `cls-hooked` (or `continuation-local-storage`) moves over by changing
 * one import:
 *
 * ```ts
 * // import { createNamespace, getNamespace } from 'cls-hooked';
 * import { createNamespace, getNamespace } from 'vcp-instrument';
 * const ns = createNamespace('app');
 * ns.run(() => { ns.set('user', u); handle(); });   // ns.get('user') anywhere below
 * ```
 *
 * Every namespace lives on the same `AsyncLocalStorage` as the trace context
 * (DESIGN decision 7): a namespace's context object is kept in the current
 * {@link TraceStore}'s `values` under a per-name key, so `ns.run` inside a
 * request keeps the request's trace, and events recorded inside `ns.run`
 * carry it. No `async_hooks.createHook` is used.
 *
 * Differences from cls-hooked that remain:
 * - **`ns.set` inside a trace needs no `ns.run`.** Inside `runWithTrace` or
 *   the Express/Koa middleware the request is the context, so `ns.set` works
 *   there directly. Outside any trace and any `run`, `ns.set` throws the
 *   same error as cls-hooked (`No context available. ns.run() or ns.bind()
 *   must be called first.`); `ns.get` returns `undefined`.
 * - **`ns.active`** is the namespace's context object (a plain object whose
 *   prototype is the enclosing context, as in cls-hooked). Inside a trace it
 *   is never `null`: reading it creates the trace's context object. Outside
 *   any trace it is `null`.
 * - **`ns.run` outside a trace starts one** (a new UUIDv7 trace id); inside a
 *   trace it keeps the trace id. `ns.run` returns the context, like
 *   cls-hooked; use `ns.runAndReturn` for the callback's value.
 * - **`ns.enter` / `ns.exit`** are emulated with
 *   `AsyncLocalStorage.enterWith`: after `enter`, the context is active for
 *   the rest of the current synchronous execution *and every async task it
 *   starts*, until `exit`. cls-hooked's manual stack has no such async
 *   reach; prefer `run`/`bind`.
 * - **Namespaces share one store.** All namespaces are carried by one
 *   `AsyncLocalStorage`, so `nsA.run` also starts a (child) store for
 *   `nsB` — but each namespace keeps its own context object, so
 *   `nsA.set('k')` is never seen by `nsB.get('k')`.
 * - **`createNamespace(name)` for an existing name returns the existing
 *   namespace** (cls-hooked replaced it). State is keyed by name, so this
 *   is not observable except by identity.
 * - **`fromException(err)`** reads a non-enumerable symbol property
 *   (cls-hooked wrote an enumerable `'error@context'` string key, which
 *   then showed up in logged errors).
 * - `ns.bindEmitter` binds listeners to the store active when they are
 *   added; `removeListener(original)` and `listeners()` still see the
 *   original functions.
 * - The namespace registry is on a `Symbol.for` global (cls-hooked used
 *   `process.namespaces`), so two copies of this package share it.
 */
import type { EventEmitter } from 'node:events';
import { uuidv7 } from '../core/uuidv7.ts';
import { type TraceStore, traceStorage } from './trace-store.ts';

/** A namespace's context: a plain object whose prototype is the enclosing context (as in cls-hooked). */
export type NamespaceContext = Record<string | symbol, unknown>;

/** The cls-hooked `Namespace` surface. */
export interface Namespace {
  /** The name given to {@link createNamespace}. */
  readonly name: string;
  /** The current context object; `null` outside any trace and any `run`. */
  readonly active: NamespaceContext | null;
  /** Value of `key` in the current context (inherited from enclosing runs), or `undefined`. */
  get<T = unknown>(key: string | symbol): T | undefined;
  /**
   * Set `key` in the current context and return `value`. Throws outside any
   * context, with cls-hooked's message.
   */
  set<T>(key: string | symbol, value: T): T;
  /** A new context inheriting from the current one (not yet active). */
  createContext(): NamespaceContext;
  /** Run `fn` in a new child context; returns the **context** (cls-hooked semantics). */
  run(fn: (context: NamespaceContext) => unknown): NamespaceContext;
  /** Run `fn` in a new child context and return what it returns. */
  runAndReturn<R>(fn: (context: NamespaceContext) => R): R;
  /** Run a promise-returning `fn` in a new child context; throws if `fn` does not return a promise. */
  runPromise<R>(fn: (context: NamespaceContext) => Promise<R>): Promise<R>;
  /** Bind `fn` to `context` (default: the current context, or a new one outside any). */
  bind<F extends (...args: never[]) => unknown>(fn: F, context?: NamespaceContext): F;
  /** Make every listener added to `emitter` from now on run in the context active when it was added. */
  bindEmitter(emitter: EventEmitter): void;
  /** Make `context` current (emulated with `AsyncLocalStorage.enterWith`; prefer `run`). */
  enter(context: NamespaceContext): void;
  /** Undo the matching {@link Namespace.enter}. */
  exit(context: NamespaceContext): void;
  /** The context an error was thrown in, if it escaped `run`, `runAndReturn`, `runPromise` or a bound function. */
  fromException(error: unknown): NamespaceContext | undefined;
}

const NO_CONTEXT = 'No context available. ns.run() or ns.bind() must be called first.';
const ERROR_CONTEXT = Symbol.for('vcp-instrument.cls.error-context');
const BOUND_EMITTER = Symbol.for('vcp-instrument.cls.bound-emitter');
const REGISTRY_KEY = Symbol.for('vcp-instrument.cls.namespaces');

function registry(): Map<string, Namespace> {
  const g = globalThis as unknown as Record<symbol, Map<string, Namespace> | undefined>;
  let map = g[REGISTRY_KEY];
  if (!map) {
    map = new Map();
    Object.defineProperty(g, REGISTRY_KEY, {
      value: map,
      enumerable: false,
      configurable: false,
      writable: false,
    });
  }
  return map;
}

/** A child store: same trace, a copy of the values (so the child's `set` does not leak out), one new context. */
function childStore(parent: TraceStore | undefined, key: symbol, context: NamespaceContext): TraceStore {
  const values = new Map(parent?.values);
  values.set(key, context);
  const store: TraceStore = { traceId: parent?.traceId ?? uuidv7(), values };
  if (parent?.active) store.active = parent.active;
  if (parent?.lastEventId) store.lastEventId = parent.lastEventId;
  return store;
}

function tagError(error: unknown, context: NamespaceContext): void {
  if ((typeof error !== 'object' && typeof error !== 'function') || error === null) return;
  try {
    Object.defineProperty(error, ERROR_CONTEXT, {
      value: context,
      configurable: true,
      enumerable: false,
      writable: true,
    });
  } catch {
    // Frozen or exotic error objects: the context is simply not attached.
  }
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (
    (typeof v === 'object' || typeof v === 'function') &&
    v !== null &&
    typeof (v as { then?: unknown }).then === 'function'
  );
}

class TraceNamespace implements Namespace {
  readonly name: string;
  /** Where this namespace's context object sits in a store's `values`. */
  readonly #key: symbol;
  /** For enter/exit emulation: the store that was current before each entered context. */
  readonly #entered = new WeakMap<NamespaceContext, TraceStore | undefined>();

  constructor(name: string) {
    this.name = name;
    this.#key = Symbol.for(`vcp-instrument.cls:${name}`);
  }

  get active(): NamespaceContext | null {
    const store = traceStorage.getStore();
    if (!store) return null;
    return this.#contextOf(store);
  }

  #contextOf(store: TraceStore): NamespaceContext {
    let ctx = store.values.get(this.#key) as NamespaceContext | undefined;
    if (!ctx) {
      // Inside a trace the trace is the context: materialise it on first use.
      ctx = {};
      store.values.set(this.#key, ctx);
    }
    return ctx;
  }

  get<T = unknown>(key: string | symbol): T | undefined {
    const store = traceStorage.getStore();
    if (!store) return undefined;
    const ctx = store.values.get(this.#key) as NamespaceContext | undefined;
    return ctx ? (ctx[key] as T | undefined) : undefined;
  }

  set<T>(key: string | symbol, value: T): T {
    const store = traceStorage.getStore();
    if (!store) throw new Error(NO_CONTEXT);
    this.#contextOf(store)[key] = value;
    return value;
  }

  createContext(): NamespaceContext {
    return Object.create(this.active ?? Object.prototype) as NamespaceContext;
  }

  run(fn: (context: NamespaceContext) => unknown): NamespaceContext {
    const ctx = this.createContext();
    this.#runIn(ctx, fn);
    return ctx;
  }

  runAndReturn<R>(fn: (context: NamespaceContext) => R): R {
    return this.#runIn(this.createContext(), fn);
  }

  runPromise<R>(fn: (context: NamespaceContext) => Promise<R>): Promise<R> {
    const ctx = this.createContext();
    const promise = this.#runIn(ctx, fn);
    if (!isThenable(promise)) throw new Error('fn must return a promise.');
    return Promise.resolve(promise).catch((error: unknown) => {
      tagError(error, ctx);
      throw error;
    });
  }

  #runIn<R>(ctx: NamespaceContext, fn: (context: NamespaceContext) => R): R {
    const store = childStore(traceStorage.getStore(), this.#key, ctx);
    try {
      return traceStorage.run(store, fn, ctx);
    } catch (error) {
      tagError(error, ctx);
      throw error;
    }
  }

  bind<F extends (...args: never[]) => unknown>(fn: F, context?: NamespaceContext): F {
    const current = traceStorage.getStore();
    let store: TraceStore;
    if (current && (context === undefined || current.values.get(this.#key) === context)) {
      // Same context: share the very store, so values set later are seen (as cls-hooked shares the object).
      store = current;
      this.#contextOf(store);
    } else {
      store = childStore(current, this.#key, context ?? this.createContext());
    }
    const ctx = store.values.get(this.#key) as NamespaceContext;
    const bound = function (this: unknown, ...args: unknown[]) {
      try {
        return traceStorage.run(store, () =>
          (fn as unknown as (...a: unknown[]) => unknown).apply(this, args),
        );
      } catch (error) {
        tagError(error, ctx);
        throw error;
      }
    };
    Object.defineProperty(bound, 'length', { value: fn.length, configurable: true });
    Object.defineProperty(bound, 'name', { value: fn.name, configurable: true });
    return bound as unknown as F;
  }

  bindEmitter(emitter: EventEmitter): void {
    if (
      !emitter ||
      typeof emitter.on !== 'function' ||
      typeof emitter.addListener !== 'function' ||
      typeof emitter.emit !== 'function'
    ) {
      throw new TypeError('can only bind real EEs');
    }
    bindEmitterToStore(emitter);
  }

  enter(context: NamespaceContext): void {
    const previous = traceStorage.getStore();
    this.#entered.set(context, previous);
    traceStorage.enterWith(childStore(previous, this.#key, context));
  }

  exit(context: NamespaceContext): void {
    if (!this.#entered.has(context)) return;
    const previous = this.#entered.get(context);
    this.#entered.delete(context);
    // enterWith(undefined) clears the store for the rest of this execution, as cls-hooked's exit to "no context".
    traceStorage.enterWith(previous as TraceStore);
  }

  fromException(error: unknown): NamespaceContext | undefined {
    if ((typeof error !== 'object' && typeof error !== 'function') || error === null) return undefined;
    return (error as Record<symbol, NamespaceContext | undefined>)[ERROR_CONTEXT];
  }
}

type Listener = (...args: unknown[]) => unknown;
type AddMethod = 'on' | 'addListener' | 'prependListener' | 'once' | 'prependOnceListener';

/**
 * Patch `emitter` once so each listener runs with the store that was active
 * when it was added (any namespace; they all share the store). The wrapper
 * carries `.listener = original`, which Node's `removeListener`,
 * `listeners()` and `off` already understand (it is how `once` works).
 */
function bindEmitterToStore(emitter: EventEmitter): void {
  const marked = emitter as unknown as Record<symbol, boolean>;
  if (marked[BOUND_EMITTER]) return;
  Object.defineProperty(emitter, BOUND_EMITTER, { value: true, enumerable: false, configurable: true });
  const e = emitter as unknown as Record<
    AddMethod,
    (event: string | symbol, listener: Listener) => EventEmitter
  >;
  const on = e.on;
  const prepend = e.prependListener;

  const wrap = (event: string | symbol, listener: Listener, once: boolean): Listener => {
    const store = traceStorage.getStore();
    if (!store && !once) return listener;
    const wrapped = function (this: unknown, ...args: unknown[]) {
      if (once) emitter.removeListener(event, wrapped);
      return store ? traceStorage.run(store, () => listener.apply(this, args)) : listener.apply(this, args);
    } as Listener & { listener?: Listener };
    wrapped.listener = listener;
    return wrapped;
  };

  const patch = (method: AddMethod, base: typeof on, once: boolean) => {
    if (typeof base !== 'function') return;
    Object.defineProperty(emitter, method, {
      configurable: true,
      writable: true,
      enumerable: false,
      value(this: EventEmitter, event: string | symbol, listener: Listener) {
        if (typeof listener !== 'function') return base.call(this, event, listener);
        return base.call(this, event, wrap(event, listener, once));
      },
    });
  };
  patch('on', on, false);
  patch('addListener', on, false);
  patch('prependListener', prepend, false);
  patch('once', on, true);
  patch('prependOnceListener', prepend, true);
}

/**
 * Create (or return the existing) namespace called `name`. Like cls-hooked's
 * `createNamespace`, but on the shared trace store; see the module comment
 * for the differences.
 */
export function createNamespace(name: string): Namespace {
  if (typeof name !== 'string' || name.length === 0) throw new TypeError('namespace must be given a name.');
  const reg = registry();
  let ns = reg.get(name);
  if (!ns) {
    ns = new TraceNamespace(name);
    reg.set(name, ns);
  }
  return ns;
}

/** The namespace called `name`, or `undefined` if it was never created (or was destroyed). */
export function getNamespace(name: string): Namespace | undefined {
  return registry().get(name);
}

/** Forget the namespace called `name`. Contexts already captured keep working. */
export function destroyNamespace(name: string): void {
  registry().delete(name);
}

/** Forget every namespace (cls-hooked's `reset`, for tests). */
export function resetNamespaces(): void {
  registry().clear();
}

/**
 * The cls-hooked module shape, for `import cls from 'cls-hooked'` users:
 * `import { cls } from 'vcp-instrument'` and keep calling `cls.createNamespace(...)`.
 */
export const cls: {
  createNamespace: typeof createNamespace;
  getNamespace: typeof getNamespace;
  destroyNamespace: typeof destroyNamespace;
  reset: typeof resetNamespaces;
} = Object.freeze({ createNamespace, getNamespace, destroyNamespace, reset: resetNamespaces });
