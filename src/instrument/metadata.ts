/**
 * What the decorators remember about a class, and where.
 *
 * One place for both decorator kinds: the class's decorator metadata object
 * (`Class[Symbol.metadata]`, TC39). TC39 decorators receive it as
 * `context.metadata`; legacy decorators create it the same way (an object
 * whose prototype is the parent class's metadata), so lookups inherit along
 * the class hierarchy identically in both modes. In legacy mode the same
 * records are mirrored to `reflect-metadata` when it is loaded
 * (`Reflect.getMetadata('vcp:component', Desk)`, `'vcp:methods'`), as
 * NestJS tooling expects.
 *
 * Node 24 does not define `Symbol.metadata` yet, and TypeScript's emitted
 * decorator code only provides `context.metadata` when it exists, so this
 * module defines it (`Symbol.for('Symbol.metadata')`, so every copy agrees)
 * when loading — before the user's classes are defined, since they import
 * the decorators from here.
 */
import type { EventType } from '../core/event-types.ts';
import type { VcpRecorder } from '../recorder/types.ts';

// Polyfill first: everything below and every class decorated after this import relies on it.
const symbolCtor = Symbol as unknown as { metadata?: symbol };
symbolCtor.metadata ??= Symbol.for('Symbol.metadata');

/** The well-known `Symbol.metadata` (native, or the polyfill defined by this module). */
export const SYMBOL_METADATA: symbol = symbolCtor.metadata;

/** Key of the class-level defaults in a metadata object. */
export const VCP_COMPONENT = Symbol.for('vcp-instrument.component');
/** Key of the own list of instrumented methods in a metadata object. */
export const VCP_METHODS = Symbol.for('vcp-instrument.methods');

/** `reflect-metadata` keys the legacy decorators mirror their records to. */
export const REFLECT_COMPONENT_KEY = 'vcp:component';
/** See {@link REFLECT_COMPONENT_KEY}. */
export const REFLECT_METHODS_KEY = 'vcp:methods';

/** A header value given once, or computed per call from the arguments and the result. */
export type HeaderValue = string | ((args: readonly unknown[], result: unknown) => string | undefined);

/** Class-level defaults read by every `@VcpLogged` method of the class (and subclasses). */
export interface VcpComponentOptions {
  /** Header `venue_id` (MIC, e.g. `XNAS`). */
  venue_id?: HeaderValue;
  /** Header `account_id`. */
  account_id?: HeaderValue;
  /** Header `symbol`. */
  symbol?: HeaderValue;
  /** Header `operator_id`. */
  operator_id?: HeaderValue;
  /** `affected_component` of error events; default: the class name. */
  component?: string;
  /** Recorder for this class's methods (overrides the global one). */
  recorder?: VcpRecorder;
}

/** One instrumented method as recorded at decoration time. */
export interface VcpMethodRecord {
  name: string | symbol;
  eventType: EventType;
  static: boolean;
  /** A custom extractor was given (else the default payload is used). */
  hasExtractor: boolean;
  /** Fixed `ERR_*` type from the options, if any. */
  errorType?: string;
  /** Per-method `affected_component`, if set. */
  component?: string;
}

/** What {@link getVcpMetadata} reports for a class. */
export interface VcpClassMetadata {
  className: string;
  /** The nearest `@VcpComponent` defaults (own or inherited), without the recorder. */
  component: Omit<VcpComponentOptions, 'recorder'> | undefined;
  /** Whether a recorder is set at class level. */
  hasClassRecorder: boolean;
  /** Every instrumented method, own first, then inherited ones not overridden. */
  methods: Array<VcpMethodRecord & { inherited: boolean }>;
}

type MetadataObject = Record<PropertyKey, unknown>;

interface ReflectWithMetadata {
  defineMetadata?: (key: unknown, value: unknown, target: object, property?: string | symbol) => void;
  getOwnMetadata?: (key: unknown, target: object, property?: string | symbol) => unknown;
  getOwnMetadataKeys?: (target: object, property?: string | symbol) => unknown[];
}

const reflect = Reflect as unknown as ReflectWithMetadata;

/** True when `reflect-metadata` (or a compatible polyfill) is loaded. */
export function hasReflectMetadata(): boolean {
  return typeof reflect.getOwnMetadataKeys === 'function' && typeof reflect.defineMetadata === 'function';
}

/**
 * The class's own metadata object, created (inheriting from the parent
 * class's) when missing. Used by legacy decorators; TC39 ones get it as
 * `context.metadata`.
 */
export function ownMetadataOf(ctor: object): MetadataObject {
  if (Object.hasOwn(ctor, SYMBOL_METADATA)) {
    const existing = (ctor as MetadataObject)[SYMBOL_METADATA];
    if (typeof existing === 'object' && existing !== null) return existing as MetadataObject;
  }
  const parent = Object.getPrototypeOf(ctor) as MetadataObject | null;
  const inherited = parent ? (parent[SYMBOL_METADATA] as MetadataObject | undefined) : undefined;
  const created = Object.create(inherited ?? null) as MetadataObject;
  Object.defineProperty(ctor, SYMBOL_METADATA, {
    value: created,
    enumerable: true,
    configurable: true,
    writable: true,
  });
  return created;
}

/** Add a method record to a metadata object (own list, copy-on-write from inheritance). */
export function addMethodRecord(meta: MetadataObject, record: VcpMethodRecord): void {
  let list = Object.hasOwn(meta, VCP_METHODS) ? (meta[VCP_METHODS] as VcpMethodRecord[]) : undefined;
  if (!list) {
    list = [];
    Object.defineProperty(meta, VCP_METHODS, {
      value: list,
      enumerable: false,
      configurable: true,
      writable: true,
    });
  }
  const i = list.findIndex((r) => r.name === record.name && r.static === record.static);
  if (i >= 0) list[i] = record;
  else list.push(record);
}

/** Whether a class above `meta` (not `meta` itself) instruments a method of that name and kind. */
export function inheritsInstrumented(
  meta: MetadataObject,
  name: string | symbol,
  isStatic: boolean,
): boolean {
  for (let m = Object.getPrototypeOf(meta) as MetadataObject | null; m; m = Object.getPrototypeOf(m)) {
    if (!Object.hasOwn(m, VCP_METHODS)) continue;
    const list = m[VCP_METHODS] as VcpMethodRecord[];
    if (list.some((r) => r.name === name && r.static === isStatic)) return true;
  }
  return false;
}

/** Store class-level defaults in a metadata object. */
export function setComponent(meta: MetadataObject, options: VcpComponentOptions): void {
  Object.defineProperty(meta, VCP_COMPONENT, {
    value: Object.freeze({ ...options }),
    enumerable: false,
    configurable: true,
    writable: true,
  });
}

/** The nearest class-level defaults for a class (own or inherited), or `undefined`. */
export function componentOf(ctor: unknown): VcpComponentOptions | undefined {
  if (typeof ctor !== 'function') return undefined;
  const meta = (ctor as unknown as MetadataObject)[SYMBOL_METADATA] as MetadataObject | undefined;
  return meta ? (meta[VCP_COMPONENT] as VcpComponentOptions | undefined) : undefined;
}

/** Mirror a class's records to `reflect-metadata` (legacy mode), when it is loaded. */
export function mirrorToReflect(ctor: object, meta: MetadataObject): void {
  if (!hasReflectMetadata()) return;
  const component = meta[VCP_COMPONENT];
  if (component) reflect.defineMetadata!(REFLECT_COMPONENT_KEY, component, ctor);
  if (Object.hasOwn(meta, VCP_METHODS)) reflect.defineMetadata!(REFLECT_METHODS_KEY, meta[VCP_METHODS], ctor);
}

/**
 * Copy every `reflect-metadata` key and every own property (other than
 * `length`, `name`, `prototype`) from the original method to its wrapper,
 * so what other decorators attached to the function (NestJS `@Post()`
 * route paths, `@Header()`, Swagger, `@OnEvent`) survives the wrapping.
 * Metadata already on the wrapper wins (a decorator that ran later wrote it).
 */
export function copyFunctionMetadata(from: object, to: object): void {
  if (hasReflectMetadata()) {
    for (const key of reflect.getOwnMetadataKeys!(from)) {
      if (reflect.getOwnMetadataKeys!(to).includes(key)) continue;
      reflect.defineMetadata!(key, reflect.getOwnMetadata!(key, from), to);
    }
  }
  for (const key of Reflect.ownKeys(from)) {
    if (key === 'length' || key === 'name' || key === 'prototype' || key === 'arguments' || key === 'caller')
      continue;
    if (Object.hasOwn(to, key)) continue;
    const desc = Object.getOwnPropertyDescriptor(from, key);
    if (desc) Object.defineProperty(to, key, desc);
  }
}

function withoutRecorder(
  c: VcpComponentOptions | undefined,
): Omit<VcpComponentOptions, 'recorder'> | undefined {
  if (!c) return undefined;
  const { recorder: _recorder, ...rest } = c;
  return rest;
}

/**
 * What is instrumented on `Class`: its `@VcpLogged` methods (own and
 * inherited, instance and static, with their event types) and its
 * `@VcpComponent` defaults. `undefined` when nothing is. Works the same
 * for classes compiled with TC39 and with legacy decorators.
 */
export function getVcpMetadata(
  Class: abstract new (...args: never) => unknown,
): VcpClassMetadata | undefined {
  if (typeof Class !== 'function') return undefined;
  const meta = (Class as unknown as MetadataObject)[SYMBOL_METADATA] as MetadataObject | undefined;
  if (!meta || typeof meta !== 'object') return undefined;
  const component = meta[VCP_COMPONENT] as VcpComponentOptions | undefined;
  const seen = new Set<string>();
  const methods: VcpClassMetadata['methods'] = [];
  // A class without decorators of its own sees its parent's metadata object through static inheritance.
  let own = Object.hasOwn(Class, SYMBOL_METADATA);
  for (let m: MetadataObject | null = meta; m; m = Object.getPrototypeOf(m) as MetadataObject | null) {
    if (Object.hasOwn(m, VCP_METHODS)) {
      for (const r of m[VCP_METHODS] as VcpMethodRecord[]) {
        const id = `${r.static ? 's' : 'i'}:${String(r.name)}`;
        if (seen.has(id)) continue;
        seen.add(id);
        methods.push({ ...r, inherited: !own });
      }
    }
    own = false;
  }
  if (methods.length === 0 && !component) return undefined;
  return {
    className: Class.name,
    component: withoutRecorder(component),
    hasClassRecorder: component?.recorder !== undefined,
    methods,
  };
}
