/**
 * JSON parsing that refuses what `JSON.parse` silently accepts but an audit
 * log must not: duplicate keys in one object (two parsers could read two
 * different values for one field) and nesting beyond a limit.
 *
 * `JSON.parse` checks the syntax and builds the values; one scan of the same
 * text then refuses duplicate keys (compared after unescaping: `"a"` and
 * `"\u0061"` are the same key) and excessive depth, and notes where each
 * element of a top-level array starts and ends (the sidecar's batch items).
 * String contents are skipped with `indexOf`, and small objects compare keys
 * in an array instead of allocating a Set; a slow reference in
 * test/reference/strict-json-reference.ts cross-checks the verdicts.
 */
import { VcpValidationError } from '../core/errors.ts';

/** Default nesting limit, as `parseStrictJson`. */
export const MAX_JSON_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const COMMA = 0x2c;

interface Frame {
  /** Keys seen so far (objects only); a Set once there are many. */
  keys: string[] | Set<string> | undefined;
  expectKey: boolean;
  /** The key (or `[]`) under which this container sits in its parent, for error paths. */
  name: string;
}

/** Result of {@link parseJsonStrict}. */
export interface ScannedJson {
  value: unknown;
  /** For a top-level array: each element's [start, end) in the text. */
  elements: [number, number][] | undefined;
}

/**
 * Parse `text` as JSON and apply the strict checks. Throws
 * `VcpValidationError` with rule `json`, `duplicate-key` or `depth`.
 */
export function parseJsonStrict(text: string, maxDepth = MAX_JSON_DEPTH): ScannedJson {
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
  // Scalars at the root hold no keys.
  if (value === null || typeof value !== 'object') return { value, elements: undefined };
  const elements = scan(text, maxDepth, Array.isArray(value));
  return { value, elements };
}

function pathOf(stack: Frame[], upTo: number): string {
  let p = '';
  for (let k = 1; k <= upTo; k++) {
    const name = stack[k]!.name;
    p = name === '[]' ? `${p}[]` : p ? `${p}.${name}` : name;
  }
  return p;
}

/** Scan well-formed JSON (JSON.parse accepted it). */
function scan(text: string, maxDepth: number, rootIsArray: boolean): [number, number][] | undefined {
  const n = text.length;
  const stack: Frame[] = [];
  const elements: [number, number][] | undefined = rootIsArray ? [] : undefined;
  let elementStart = -1;
  let lastKey = '';
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      // Find the closing quote: the next quote not preceded by an odd run of backslashes.
      let j = text.indexOf('"', i + 1);
      while (text.charCodeAt(j - 1) === BACKSLASH) {
        let b = j - 1;
        while (text.charCodeAt(b - 1) === BACKSLASH) b--;
        if ((j - b) % 2 === 0) break; // an even run escapes itself, not the quote
        j = text.indexOf('"', j + 1);
      }
      const top = stack[stack.length - 1];
      if (top?.expectKey) {
        let key = text.slice(i + 1, j);
        if (key.indexOf('\\') !== -1) key = JSON.parse(text.slice(i, j + 1)) as string;
        const keys = top.keys!;
        let seen: boolean;
        if (Array.isArray(keys)) {
          seen = keys.indexOf(key) !== -1;
          if (!seen) {
            keys.push(key);
            if (keys.length > 16) top.keys = new Set(keys);
          }
        } else {
          seen = keys.has(key);
          if (!seen) keys.add(key);
        }
        if (seen) {
          let parent = pathOf(stack, stack.length - 1);
          // Inside a batch, name the item: "[3].header" rather than "[].header".
          if (elements !== undefined && parent.startsWith('[]'))
            parent = `[${elements.length}]${parent.slice(2)}`;
          throw new VcpValidationError({
            path: parent ? `${parent}.${key}` : key,
            rule: 'duplicate-key',
            message: `duplicate key "${key.slice(0, 60)}" in one object (at character ${i}); audit data must be unambiguous`,
          });
        }
        top.expectKey = false;
        lastKey = key;
      } else if (elements !== undefined && stack.length === 1 && elementStart === -1) elementStart = i;
      i = j;
      continue;
    }
    if (c === LBRACE || c === LBRACKET) {
      if (stack.length >= maxDepth) {
        throw new VcpValidationError({
          path: '',
          rule: 'depth',
          message: `JSON nested deeper than ${maxDepth} levels`,
        });
      }
      const parent = stack[stack.length - 1];
      if (elements !== undefined && stack.length === 1 && elementStart === -1) elementStart = i;
      stack.push({
        keys: c === LBRACE ? [] : undefined,
        expectKey: c === LBRACE,
        name: parent === undefined ? '' : parent.keys !== undefined ? lastKey : '[]',
      });
      continue;
    }
    if (c === RBRACE || c === RBRACKET) {
      stack.pop();
      if (elements !== undefined && stack.length === 1 && elementStart !== -1) {
        elements.push([elementStart, i + 1]);
        elementStart = -1;
      } else if (elements !== undefined && stack.length === 0 && elementStart !== -1) {
        // The last element of the root array was a scalar.
        elements.push([elementStart, trimEnd(text, elementStart, i)]);
        elementStart = -1;
      }
      continue;
    }
    if (c === COMMA) {
      const top = stack[stack.length - 1]!;
      if (top.keys !== undefined) top.expectKey = true;
      else if (elements !== undefined && stack.length === 1 && elementStart !== -1) {
        elements.push([elementStart, trimEnd(text, elementStart, i)]);
        elementStart = -1;
      }
      continue;
    }
    // Scalars directly in the root array: note where they start.
    if (elements !== undefined && stack.length === 1 && elementStart === -1 && c > 0x20) elementStart = i;
  }
  return elements;
}

function trimEnd(text: string, start: number, end: number): number {
  while (end > start && text.charCodeAt(end - 1) <= 0x20) end--;
  return end;
}

/** Options of {@link parseStrictJson}. */
export interface StrictJsonOptions {
  /** Maximum nesting of objects and arrays (default 64). */
  maxDepth?: number;
}

/**
 * Parse `text` as JSON; throws `VcpValidationError` (rule `json`,
 * `duplicate-key` or `depth`) with the key path of the problem.
 */
export function parseStrictJson(text: string, options: StrictJsonOptions = {}): unknown {
  return parseJsonStrict(text, options.maxDepth ?? MAX_JSON_DEPTH).value;
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
