/**
 * Reference (slow, obviously right) strict JSON parser, kept to cross-check the fast one in
 * src/integrity/strict-json.ts.
 *
 * `JSON.parse` checks the syntax first (malformed text is always `json` here); one plain scan
 * then reports the first problem in text order: nesting beyond `maxDepth` (`depth`), too many
 * keys in an object or in all (`max-keys`), too long strings (`max-string-length`), too many
 * root array items (`max-items`), duplicate keys compared after unescaping (`duplicate-key`),
 * `__proto__` keys and `constructor.prototype` (`forbidden-key`), and number text a double does
 * not hold exactly (`number-precision`) or, when asked, that is not its RFC 8785 spelling
 * (`number-form`). Numbers are compared exactly with BigInt arithmetic, independently of the
 * fast parser's shortcuts.
 */
import { VcpValidationError } from '../../src/core/errors.ts';

/** Options of {@link parseStrictJson} (the same names and defaults as the fast parser's). */
export interface StrictJsonOptions {
  maxDepth?: number;
  maxKeysPerObject?: number;
  maxKeys?: number;
  maxStringLength?: number;
  maxItems?: number;
  canonicalNumbers?: boolean;
}

/** Parse `text` as JSON; throws {@link VcpValidationError} with the rule and key path of the first problem. */
export function parseStrictJson(text: string, options: StrictJsonOptions = {}): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new VcpValidationError({
      path: '',
      rule: 'json',
      message: `malformed JSON: ${(e as Error).message}`,
    });
  }
  scan(text, {
    maxDepth: options.maxDepth ?? 64,
    maxKeysPerObject: options.maxKeysPerObject ?? 10_000,
    maxKeys: options.maxKeys ?? 1_000_000,
    maxStringLength: options.maxStringLength ?? 1024 * 1024,
    maxItems: options.maxItems ?? Number.POSITIVE_INFINITY,
    canonicalNumbers: options.canonicalNumbers === true,
  });
  return value;
}

interface Frame {
  keys: Set<string> | undefined; // undefined for arrays
  path: string;
  expectKey: boolean;
  index: number; // arrays: the current element
  isConstructorValue: boolean;
}

function fail(path: string, rule: string, message: string): never {
  throw new VcpValidationError({ path, rule, message });
}

function join(parent: string, key: string): string {
  return parent ? `${parent}.${key}` : key;
}

function scan(text: string, o: Required<StrictJsonOptions>): void {
  const stack: Frame[] = [];
  let lastKey = '';
  let totalKeys = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    const top = stack[stack.length - 1];
    if (c === 0x22 /* " */) {
      // Find the end of the string, honouring escapes.
      let j = i + 1;
      let escaped = false;
      while (j < n) {
        const d = text.charCodeAt(j);
        if (d === 0x5c) {
          escaped = true;
          j += 2;
          continue;
        }
        if (d === 0x22) break;
        j++;
      }
      if (j - i - 1 > o.maxStringLength) fail(top?.path ?? '', 'max-string-length', 'string too long');
      if (top?.keys && top.expectKey) {
        const key = escaped ? (JSON.parse(text.slice(i, j + 1)) as string) : text.slice(i + 1, j);
        if (top.keys.size + 1 > o.maxKeysPerObject) fail(top.path, 'max-keys', 'too many keys in an object');
        if (++totalKeys > o.maxKeys) fail('', 'max-keys', 'too many keys');
        if (key === '__proto__') fail(join(top.path, key), 'forbidden-key', '__proto__');
        if (key === 'prototype' && top.isConstructorValue)
          fail(join(top.path, key), 'forbidden-key', 'constructor.prototype');
        if (top.keys.has(key)) fail(join(top.path, key), 'duplicate-key', `duplicate key "${key}"`);
        top.keys.add(key);
        top.expectKey = false;
        lastKey = key;
      }
      i = j;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (stack.length >= o.maxDepth) fail('', 'depth', `JSON nested deeper than ${o.maxDepth} levels`);
      const path = top ? (top.keys ? join(top.path, lastKey) : `${top.path}[${top.index}]`) : '';
      stack.push({
        keys: c === 0x7b ? new Set() : undefined,
        path,
        expectKey: c === 0x7b,
        index: 0,
        isConstructorValue: c === 0x7b && top?.keys !== undefined && lastKey === 'constructor',
      });
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      if (top?.keys) top.expectKey = true;
      else if (top) {
        top.index++;
        if (stack.length === 1 && top.index >= o.maxItems) fail('', 'max-items', 'too many items');
      }
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      let j = i;
      while (j < n && /[0-9eE+\-.]/.test(text[j]!)) j++;
      const token = text.slice(i, j);
      const path = top ? (top.keys ? join(top.path, lastKey) : `${top.path}[${top.index}]`) : '';
      const rule = numberRule(token, o.canonicalNumbers);
      if (rule) fail(path, rule, `number ${token}`);
      i = j - 1;
    }
  }
}

/** The exact value of a decimal text as mantissa × 10^exponent. */
function exact(text: string): { m: bigint; e: number } {
  const g = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!g) throw new Error(`not a number text: ${text}`);
  const frac = g[3] ?? '';
  const m = BigInt(`${g[1]}${g[2]}${frac}`);
  return { m, e: Number(g[4] ?? '0') - frac.length };
}

function sameValue(a: string, b: string): boolean {
  const x = exact(a);
  const y = exact(b);
  // Bring both to the smaller exponent and compare the integers.
  if (x.e < y.e) return x.m === y.m * 10n ** BigInt(y.e - x.e);
  return x.m * 10n ** BigInt(x.e - y.e) === y.m;
}

function numberRule(token: string, canonical: boolean): string | undefined {
  const v = Number(token);
  if (!Number.isFinite(v)) return 'number-precision';
  if (/^-?\d+$/.test(token)) {
    const big = BigInt(token);
    if (big > 9007199254740991n || big < -9007199254740991n) return 'number-precision';
  }
  if (!sameValue(token, String(v))) return 'number-precision';
  if (canonical && String(v) !== token) return 'number-form';
  return undefined;
}

/** Parse JSON that must be an object (an event, a request body item). */
export function parseStrictJsonObject(
  text: string,
  options: StrictJsonOptions = {},
): Record<string, unknown> {
  const value = parseStrictJson(text, options);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new VcpValidationError({ path: '', rule: 'object', message: 'expected a JSON object' });
  }
  return value as Record<string, unknown>;
}
