/**
 * `@VcpComponent({ venue_id, account_id, symbol?, component?, recorder? })`:
 * class-level defaults for every `@VcpLogged` method of the class and its
 * subclasses (a subclass's own `@VcpComponent` replaces its parent's).
 * Works as a TC39 class decorator and as a legacy one.
 */
import { VcpConfigError } from '../core/errors.ts';
import { mirrorToReflect, ownMetadataOf, setComponent, type VcpComponentOptions } from './metadata.ts';

/** A class decorator usable in both decorator modes. */
export interface VcpClassDecorator {
  /** TC39 decorators (TypeScript 5+, no flags). */
  // biome-ignore lint/suspicious/noExplicitAny: any constructor signature must be accepted
  <C extends abstract new (...args: any) => unknown>(value: C, context: ClassDecoratorContext<C>): void;
  /** Legacy `experimentalDecorators`. */
  // biome-ignore lint/complexity/noBannedTypes: the legacy class-decorator signature TypeScript checks against
  <C extends Function>(target: C): void;
}

const HEADER_KEYS = ['venue_id', 'account_id', 'symbol', 'operator_id'] as const;

/** Check component options where they are written (start-up), so mistakes surface before trading. */
export function validateComponentOptions(options: unknown, where: string): VcpComponentOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new VcpConfigError(`${where}: options must be an object`);
  }
  const o = options as Record<string, unknown>;
  for (const k of HEADER_KEYS) {
    const v = o[k];
    if (v !== undefined && typeof v !== 'string' && typeof v !== 'function') {
      throw new VcpConfigError(`${where}: ${k} must be a string or a function (args, result) => string`);
    }
  }
  if (o.component !== undefined && typeof o.component !== 'string') {
    throw new VcpConfigError(`${where}: component must be a string`);
  }
  if (
    o.recorder !== undefined &&
    (typeof o.recorder !== 'object' ||
      o.recorder === null ||
      typeof (o.recorder as { record?: unknown }).record !== 'function')
  ) {
    throw new VcpConfigError(`${where}: recorder must have a record() method (see createRecorder)`);
  }
  return o as VcpComponentOptions;
}

/**
 * Class-level defaults read by the class's `@VcpLogged` methods at call time.
 *
 * ```ts
 * @VcpComponent({ venue_id: 'XNAS', account_id: 'ACC-7', component: 'eu-desk' })
 * class Desk { @VcpLogged('ORD', ex) place(o: Order) { ... } }
 * ```
 */
export function VcpComponent(options: VcpComponentOptions): VcpClassDecorator {
  const checked = validateComponentOptions(options, '@VcpComponent');
  return function vcpComponentDecorator(value: unknown, context?: ClassDecoratorContext): void {
    if (typeof value !== 'function') throw new VcpConfigError('@VcpComponent decorates classes only');
    if (context !== undefined && typeof context === 'object' && context !== null && 'kind' in context) {
      if (context.kind !== 'class')
        throw new VcpConfigError(`@VcpComponent decorates classes only, not a ${context.kind}`);
      // TC39: context.metadata becomes Class[Symbol.metadata]; fall back to writing it ourselves.
      const meta = (context.metadata as Record<PropertyKey, unknown> | undefined) ?? ownMetadataOf(value);
      setComponent(meta, checked);
      return;
    }
    const meta = ownMetadataOf(value);
    setComponent(meta, checked);
    mirrorToReflect(value, meta);
  } as VcpClassDecorator;
}
