/**
 * Safe summaries of arguments and results for the default payload of a
 * decorated call (when no extractor is given).
 *
 * The output is plain JSON that canonicalises without surprises: numbers
 * and bigints become strings (no NaN, no float rounding, no financial
 * number rejected later), strings are cut and made well-formed (no lone
 * surrogates), nesting and width are limited, cycles are marked, and values
 * under keys that look secret (`password`, `accessToken`, `Authorization`,
 * … — see `DEFAULT_REDACT_KEYS`) are replaced by `"[REDACTED]"` at any
 * depth. Getters that throw and hostile proxies give `"[Unreadable]"`
 * rather than an exception: this runs inside a trading call.
 */
import { isProxy } from 'node:util/types';
import type { SummaryLimits } from './configure.ts';

/** JSON a summary is made of. */
export type Summary = string | boolean | null | Summary[] | { [key: string]: Summary };

/** Placeholder for a redacted value. */
export const REDACTED = '[REDACTED]';

/** Whether `key` matches a (normalised) redaction term: case-insensitive, `-`/`_` ignored, substring match. */
export function isRedactedKey(key: string, terms: readonly string[]): boolean {
  if (terms.length === 0) return false;
  const k = key.toLowerCase().replace(/[-_]/g, '');
  for (const t of terms) if (k.includes(t)) return true;
  return false;
}

function cut(s: string, max: number): string {
  const w = s.length > max ? `${s.slice(0, max)}…(+${s.length - max} chars)` : s;
  // Lone surrogates (from the input, or from cutting a pair) cannot be canonicalised: replace them with U+FFFD.
  const wf = w as unknown as { isWellFormed(): boolean; toWellFormed(): string };
  return wf.isWellFormed() ? w : wf.toWellFormed();
}

function setKey(out: Record<string, Summary>, key: string, value: Summary): void {
  // defineProperty, so a key named "__proto__" stays an ordinary own key.
  Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
}

function tag(value: object): string {
  try {
    const name = (value.constructor as { name?: unknown } | undefined)?.name;
    return typeof name === 'string' && name ? name : 'Object';
  } catch {
    return 'Object';
  }
}

function summarize(
  value: unknown,
  limits: SummaryLimits,
  terms: readonly string[],
  depth: number,
  ancestors: Set<object>,
): Summary {
  switch (typeof value) {
    case 'string':
      return cut(value, limits.maxString);
    case 'number':
    case 'bigint':
      return String(value);
    case 'boolean':
      return value;
    case 'undefined':
      return '[undefined]';
    case 'symbol':
      return cut(value.toString(), limits.maxString);
    case 'function':
      return cut(`[Function ${value.name || 'anonymous'}]`, limits.maxString);
  }
  if (value === null) return null;
  const obj = value as object;
  if (isProxy(obj)) return '[Proxy]';
  if (ancestors.has(obj)) return '[Circular]';
  if (obj instanceof Date) return Number.isNaN(obj.getTime()) ? '[Invalid Date]' : obj.toISOString();
  if (obj instanceof Error) {
    const out: Record<string, Summary> = {};
    setKey(out, 'name', cut(String(obj.name), limits.maxString));
    setKey(out, 'message', cut(String(obj.message), limits.maxString));
    const code = (obj as { code?: unknown }).code;
    if (typeof code === 'string' || typeof code === 'number') setKey(out, 'code', String(code));
    return out;
  }
  if (ArrayBuffer.isView(obj)) return `[${tag(obj)}(${obj.byteLength} bytes)]`;
  if (obj instanceof ArrayBuffer || obj instanceof SharedArrayBuffer)
    return `[${tag(obj)}(${obj.byteLength} bytes)]`;
  if (obj instanceof Map || obj instanceof Set) return `[${tag(obj)}(${obj.size})]`;
  if (obj instanceof WeakMap || obj instanceof WeakSet || obj instanceof WeakRef) return `[${tag(obj)}]`;
  if (obj instanceof Promise) return '[Promise]';
  if (Array.isArray(obj)) {
    if (depth >= limits.maxDepth) return `[Array(${obj.length})]`;
    ancestors.add(obj);
    const n = Math.min(obj.length, limits.maxItems);
    const out: Summary[] = [];
    for (let i = 0; i < n; i++) out.push(summarize(obj[i], limits, terms, depth + 1, ancestors));
    if (obj.length > n) out.push(`…(+${obj.length - n} more)`);
    ancestors.delete(obj);
    return out;
  }
  if (depth >= limits.maxDepth) return `[${tag(obj)}]`;
  ancestors.add(obj);
  const out: Record<string, Summary> = {};
  const keys = Object.keys(obj);
  const n = Math.min(keys.length, limits.maxItems);
  for (let i = 0; i < n; i++) {
    const key = keys[i]!;
    const outKey = cut(key, limits.maxString);
    if (isRedactedKey(key, terms)) {
      setKey(out, outKey, REDACTED);
      continue;
    }
    let v: Summary;
    try {
      v = summarize((obj as Record<string, unknown>)[key], limits, terms, depth + 1, ancestors);
    } catch {
      v = '[Unreadable]';
    }
    setKey(out, outKey, v);
  }
  if (keys.length > n) setKey(out, '…', `+${keys.length - n} more keys`);
  ancestors.delete(obj);
  return out;
}

/** A safe JSON summary of one value (see the module comment). Never throws. */
export function summarizeValue(value: unknown, limits: SummaryLimits, terms: readonly string[]): Summary {
  try {
    return summarize(value, limits, terms, 0, new Set());
  } catch {
    return '[Unreadable]';
  }
}

/** Summaries of a call's arguments (at most `limits.maxItems` of them). Never throws. */
export function summarizeArgs(
  args: readonly unknown[],
  limits: SummaryLimits,
  terms: readonly string[],
): Summary[] {
  const n = Math.min(args.length, limits.maxItems);
  const out: Summary[] = [];
  for (let i = 0; i < n; i++) out.push(summarizeValue(args[i], limits, terms));
  if (args.length > n) out.push(`…(+${args.length - n} more)`);
  return out;
}
