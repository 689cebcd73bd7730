/**
 * Reference (slow, obviously right) strict JSON parser, kept to cross-check the fast one in
 * src/integrity/strict-json.ts.
 *
 * JSON parsing that refuses what `JSON.parse` silently accepts but an audit
 * log must not: duplicate keys in one object (two parsers could read two
 * different values for one field), nesting beyond a limit, and non-object
 * roots where an object is expected.
 *
 * `JSON.parse` checks the syntax; a light scan of the same text then checks
 * for duplicate keys, comparing keys after unescaping (`"a"` and `"\u0061"`
 * are the same key).
 */
import { VcpValidationError } from '../../src/core/errors.ts';

/** Options of {@link parseStrictJson}. */
export interface StrictJsonOptions {
  /** Maximum nesting of objects and arrays (default 64). */
  maxDepth?: number;
}

/**
 * Parse `text` as JSON; throws {@link VcpValidationError} (rule `json`,
 * `duplicate-key` or `depth`) with the position and key path of the problem.
 */
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
  scanForDuplicates(text, options.maxDepth ?? 64);
  return value;
}

interface Frame {
  keys: Set<string> | undefined; // undefined for arrays
  path: string;
  expectKey: boolean;
}

function scanForDuplicates(text: string, maxDepth: number): void {
  const stack: Frame[] = [];
  let lastKey = '';
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
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
      const top = stack[stack.length - 1];
      if (top?.keys && top.expectKey) {
        const raw = text.slice(i + 1, j);
        const key = escaped ? (JSON.parse(text.slice(i, j + 1)) as string) : raw;
        if (top.keys.has(key)) {
          const where = top.path ? `${top.path}.${key}` : key;
          throw new VcpValidationError({
            path: where,
            rule: 'duplicate-key',
            message: `duplicate key "${key.slice(0, 60)}" in one object (at character ${i}); audit data must be unambiguous`,
          });
        }
        top.keys.add(key);
        top.expectKey = false;
        lastKey = key;
      }
      i = j;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (stack.length >= maxDepth) {
        throw new VcpValidationError({
          path: '',
          rule: 'depth',
          message: `JSON nested deeper than ${maxDepth} levels`,
        });
      }
      const parent = stack[stack.length - 1];
      const path = parent
        ? parent.keys
          ? parent.path
            ? `${parent.path}.${lastKey}`
            : lastKey
          : `${parent.path}[]`
        : '';
      stack.push({ keys: c === 0x7b ? new Set() : undefined, path, expectKey: c === 0x7b });
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      const top = stack[stack.length - 1];
      if (top?.keys) top.expectKey = true;
    }
  }
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
