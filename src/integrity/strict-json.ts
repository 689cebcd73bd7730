/**
 * JSON parsing that refuses what `JSON.parse` silently accepts but an audit
 * log must not, and that bounds the work an untrusted text can cause.
 *
 * Refused (rule names are the `rule` of the `VcpValidationError` issue):
 * - limits, checked while scanning and *before* `JSON.parse` builds anything
 *   (a 4-million-deep array or an 830 000-key object costs `JSON.parse`
 *   seconds and hundreds of MB): `depth`, `max-keys` (per object and in
 *   total), `max-string-length`, `max-items` (elements of a root array);
 * - `duplicate-key`: one key twice in an object (compared after unescaping:
 *   `"a"` and `"\u0061"` are the same key), since two readers could see two
 *   different values;
 * - `forbidden-key`: a `__proto__` key anywhere, or a `constructor` key whose
 *   object holds a `prototype` key (as Fastify refuses): prototype pollution
 *   in any JavaScript consumer that copies the data;
 * - `number-precision`: a number a double cannot hold exactly (json-number.ts);
 * - `number-form` (only with `canonicalNumbers`): number text other than its
 *   RFC 8785 spelling;
 * - `json`: malformed text.
 *
 * One scan finds the structure (string contents are skipped with `indexOf`,
 * small objects compare keys in an array instead of a Set) and notes where
 * each element of a root array starts and ends (the sidecar's batch items);
 * then `JSON.parse` checks the syntax and builds the values. A limit stops
 * the scan at once; other findings wait for `JSON.parse`, so malformed text
 * is reported as `json` as the reference parser does. A slow reference in
 * test/reference/strict-json-reference.ts cross-checks the verdicts.
 */
import { VcpValidationError } from '../core/errors.ts';
import { keySortsBefore } from './canonical-span.ts';
import { type NumberRule, numberRule, readAs } from './json-number.ts';

/** Default nesting limit. */
export const MAX_JSON_DEPTH = 64;
/** Default most keys in one object. */
export const MAX_JSON_KEYS_PER_OBJECT = 10_000;
/** Default most keys in the whole text. */
export const MAX_JSON_KEYS = 1_000_000;
/** Default longest string (key or value), in characters as written (escapes count as written). */
export const MAX_JSON_STRING_LENGTH = 1024 * 1024;

/** Options of the strict parsers; every limit has a safe default. */
export interface StrictJsonOptions {
  /** Maximum nesting of objects and arrays (default 64). */
  maxDepth?: number;
  /** Most keys in one object (default 10 000). */
  maxKeysPerObject?: number;
  /** Most keys in the whole text (default 1 000 000). */
  maxKeys?: number;
  /** Longest string, key or value, in characters as written (default 1 Mi). */
  maxStringLength?: number;
  /** Most elements of a root array (default: no limit beyond the others). */
  maxItems?: number;
  /** Refuse number text that is not its RFC 8785 form (`2.0`, `1E2`, `-0`): rule `number-form`. */
  canonicalNumbers?: boolean;
  /**
   * Accept numbers a double cannot hold exactly (default `false`: rule `number-precision`).
   * Only for readers that keep the number text themselves (the verifier's `parseLossless`).
   */
  inexactNumbers?: boolean;
}

/** Options of {@link parseJsonStrict}: the strict parsers' own, and what else its scan should note. */
export interface ScanOptions extends StrictJsonOptions {
  /**
   * Also find where each event's `header` and `payload` values stand as their RFC 8785 text (the root
   * object's, or each root array element's): {@link ScannedJson.canonicalParts}.
   */
  canonicalParts?: boolean;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;
const MINUS = 0x2d;
const DIGIT0 = 0x30;
const DIGIT9 = 0x39;

/** States of a canonical part's start before it is found (all negative: a start found is ≥ 0). */
const NOT_NAMED = -1;
const NAMED = -2;
const TWICE = -3;
/** Scratch for the quick scan's key order check: the previous key's [start, end) per depth. */
const PREV_KEY = new Int32Array(256);
const PREV_KEY_END = new Int32Array(256);

interface Frame {
  /** Keys seen so far (objects only); a Set once there are many. */
  keys: string[] | Set<string> | undefined;
  /** Number of keys (objects) or the current element's index (arrays). */
  count: number;
  expectKey: boolean;
  /** The value of a `constructor` key: a `prototype` key in it is refused. */
  ctor: boolean;
  /** The key (or `[i]`) under which this container sits in its parent, for error paths. */
  name: string;
}

/** Result of {@link parseJsonStrict}. */
export interface ScannedJson {
  value: unknown;
  /** For a top-level array: each element's [start, end) in the text. */
  elements: [number, number][] | undefined;
  /**
   * With the `canonicalParts` option: per event (the root object, or each element of a root array), four
   * offsets into the text, `[headerStart, headerEnd, payloadStart, payloadEnd]`, where the event's `header`
   * and `payload` objects are written exactly as RFC 8785 writes their values (so an EventHash can be taken
   * over those slices); -1 where one is not (canonical-span.ts gives the rules). Undefined without the option,
   * or when the text took the full scan. Raw lone surrogates are not looked for (the scan skips string contents):
   * `canonicalTextsOf` checks the slices it takes, unless the caller knows the text was decoded from UTF-8.
   */
  canonicalParts?: number[];
}

/**
 * Parse `text` as JSON and apply the strict checks and limits. Throws
 * `VcpValidationError` with one issue `{path, rule, message}`. A number as
 * second argument is the depth limit (older call form).
 */
export function parseJsonStrict(text: string, options: ScanOptions | number = {}): ScannedJson {
  const o: ScanOptions = typeof options === 'number' ? { maxDepth: options } : options;
  // The limits of this untrusted text, checked by the scan before JSON.parse builds anything.
  const limits: Limits = {
    maxDepth: o.maxDepth ?? MAX_JSON_DEPTH,
    maxKeysPerObject: o.maxKeysPerObject ?? MAX_JSON_KEYS_PER_OBJECT,
    maxKeys: o.maxKeys ?? MAX_JSON_KEYS,
    maxStringLength: o.maxStringLength ?? MAX_JSON_STRING_LENGTH,
    maxItems: o.maxItems ?? Number.POSITIVE_INFINITY,
    canonicalNumbers: o.canonicalNumbers === true,
    inexactNumbers: o.inexactNumbers === true,
    canonicalParts: o.canonicalParts === true,
  };
  // The common clean text takes the quick scan; anything it cannot clear goes to the full scan,
  // so every verdict (rule, path, message) is the full scan's.
  const quick = quickScan(text, limits);
  let { elements, finding } = quick ?? scan(text, limits);
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
  // Fewer keys in the values than in the text: some object repeats a key; the full scan names it.
  let parts = quick?.parts;
  if (quick !== undefined && countKeys(value, 0) !== quick.keys) {
    ({ elements, finding } = scan(text, limits));
    parts = undefined;
  }
  if (finding) throw new VcpValidationError(finding);
  const isArray = Array.isArray(value);
  const result: ScannedJson = { value, elements: isArray ? elements : undefined };
  if (parts !== undefined) result.canonicalParts = parts;
  return result;
}

/** Parse `text` as JSON with the strict checks; throws `VcpValidationError` naming the path and rule. */
export function parseStrictJson(text: string, options: StrictJsonOptions = {}): unknown {
  return parseJsonStrict(text, options).value;
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

interface Limits {
  maxDepth: number;
  maxKeysPerObject: number;
  maxKeys: number;
  maxStringLength: number;
  maxItems: number;
  canonicalNumbers: boolean;
  inexactNumbers: boolean;
  canonicalParts: boolean;
}

interface Finding {
  path: string;
  rule: string;
  message: string;
}

function pathOf(stack: Frame[], upTo: number): string {
  let p = '';
  for (let k = 1; k <= upTo; k++) {
    const name = stack[k]!.name;
    p = name.charCodeAt(0) === LBRACKET ? `${p}${name}` : p ? `${p}.${name}` : name;
  }
  return p;
}

/** Path of the value at the scan position: the current key of the top object, or the top array's index. */
function valuePath(stack: Frame[], key: string): string {
  const top = stack[stack.length - 1];
  if (top === undefined) return '';
  const parent = pathOf(stack, stack.length - 1);
  if (top.keys === undefined) return `${parent}[${top.count}]`;
  return parent ? `${parent}.${key}` : key;
}

/**
 * Scan the structure. Limits throw at once; the first other finding is
 * returned (the caller reports it only if JSON.parse accepts the text). On
 * malformed text the scan stops or goes on harmlessly; JSON.parse names it.
 */
function scan(
  text: string,
  lim: Limits,
): { elements: [number, number][] | undefined; finding: Finding | undefined } {
  const n = text.length;
  const stack: Frame[] = [];
  let k0 = 0;
  while (k0 < n && text.charCodeAt(k0) <= 0x20) k0++;
  const elements: [number, number][] | undefined = text.charCodeAt(k0) === LBRACKET ? [] : undefined;
  let elementStart = -1;
  let lastKey = '';
  let totalKeys = 0;
  let finding: Finding | undefined;
  // A limit refuses the text at once; a finding already made is the better answer (it came first).
  const limit = (f: Finding): never => {
    throw new VcpValidationError(finding ?? f);
  };
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const j = closingQuote(text, i);
      if (j === -1) break; // unterminated: malformed
      if (j - i - 1 > lim.maxStringLength) {
        limit({
          path: pathOf(stack, stack.length - 1),
          rule: 'max-string-length',
          message: `a string of ${j - i - 1} characters; at most ${lim.maxStringLength} are accepted`,
        });
      }
      const top = stack[stack.length - 1];
      if (top?.expectKey) {
        let key = text.slice(i + 1, j);
        if (key.indexOf('\\') !== -1) {
          try {
            key = JSON.parse(text.slice(i, j + 1)) as string;
          } catch {
            break; // a bad escape: malformed
          }
        }
        if (++top.count > lim.maxKeysPerObject) {
          limit({
            path: pathOf(stack, stack.length - 1),
            rule: 'max-keys',
            message: `more than ${lim.maxKeysPerObject} keys in one object`,
          });
        }
        if (++totalKeys > lim.maxKeys) {
          limit({ path: '', rule: 'max-keys', message: `more than ${lim.maxKeys} keys in the document` });
        }
        if (finding === undefined) finding = keyFinding(stack, top, key, i);
        top.expectKey = false;
        lastKey = key;
      } else if (elements !== undefined && stack.length === 1 && elementStart === -1) elementStart = i;
      i = j;
      continue;
    }
    if (c === LBRACE || c === LBRACKET) {
      if (stack.length >= lim.maxDepth) {
        limit({ path: '', rule: 'depth', message: `JSON nested deeper than ${lim.maxDepth} levels` });
      }
      const parent = stack[stack.length - 1];
      if (elements !== undefined && stack.length === 1 && elementStart === -1) elementStart = i;
      stack.push({
        keys: c === LBRACE ? [] : undefined,
        count: 0,
        expectKey: c === LBRACE,
        ctor: c === LBRACE && parent?.keys !== undefined && lastKey === 'constructor',
        name: parent === undefined ? '' : parent.keys !== undefined ? lastKey : `[${parent.count}]`,
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
      const top = stack[stack.length - 1];
      if (top === undefined) continue; // malformed
      if (top.keys !== undefined) top.expectKey = true;
      else {
        top.count++;
        if (stack.length === 1 && elements !== undefined) {
          if (top.count >= lim.maxItems) {
            limit({
              path: '',
              rule: 'max-items',
              message: `more than ${lim.maxItems} items in the array`,
            });
          }
          if (elementStart !== -1) {
            elements.push([elementStart, trimEnd(text, elementStart, i)]);
            elementStart = -1;
          }
        }
      }
      continue;
    }
    if (c <= 0x20) continue;
    // Scalars directly in the root array: note where they start.
    if (elements !== undefined && stack.length === 1 && elementStart === -1) elementStart = i;
    if (c === MINUS || (c >= DIGIT0 && c <= DIGIT9)) {
      let j = numberEnd(text, i, lim.canonicalNumbers);
      if (j < 0) {
        j = -j - 1;
        if (finding === undefined) {
          const token = text.slice(i, j);
          const rule = refusedNumberRule(token, lim);
          if (rule !== undefined) finding = numberFinding(stack, lastKey, token, rule);
        }
      }
      i = j - 1;
    }
  }
  return { elements, finding };
}

/**
 * The quick scan: the same walk as {@link scan} and the same limits, but it
 * keeps no key names. It counts the keys written (a duplicate shows after
 * `JSON.parse` as fewer keys in the values, {@link countKeys}) and gives up
 * (undefined: use the full scan) on anything the full scan could report:
 * a limit reached, a key with an escape, a key `__proto__` or `prototype`,
 * a number the number rules refuse, unterminated text.
 *
 * With `lim.canonicalParts` it also notes, per event, where its `header` and `payload` objects are
 * written as RFC 8785 writes them (canonical-span.ts): inside those two values it checks that no
 * whitespace, escape or non-canonical number appears and that each object's keys strictly increase.
 */
function quickScan(
  text: string,
  lim: Limits,
):
  | {
      elements: [number, number][] | undefined;
      finding: undefined;
      keys: number;
      parts: number[] | undefined;
    }
  | undefined {
  const n = text.length;
  // Per open container: key count (objects) or element index (arrays); object or array; key expected next.
  const counts: number[] = [];
  const isObject: boolean[] = [];
  const expectKey: boolean[] = [];
  let depth = 0;
  let k0 = 0;
  while (k0 < n && text.charCodeAt(k0) <= 0x20) k0++;
  const elements: [number, number][] | undefined = text.charCodeAt(k0) === LBRACKET ? [] : undefined;
  let elementStart = -1;
  let totalKeys = 0;
  // The first backslash after the last one passed (n: none left; -1: not searched yet). Most texts
  // hold none, so a string's end is its next quote and a key needs no look for escapes.
  let nextBackslash = -1;
  // Canonical parts (lim.canonicalParts): an event's members sit at `memberDepth`; `pending` is the member
  // whose key was just read (1 header, 2 payload), `region` the one whose value is being walked.
  const findParts = lim.canonicalParts;
  const parts: number[] | undefined = findParts ? [] : undefined;
  const memberDepth = elements !== undefined ? 2 : 1;
  // The current event's header and payload [start, end) once found canonical; before that h0 / p0 are
  // NOT_NAMED, then NAMED, or TWICE for good (JSON.parse keeps the last value: neither is taken).
  let h0 = NOT_NAMED;
  let h1 = -1;
  let p0 = NOT_NAMED;
  let p1 = -1;
  let pending = 0;
  let region = 0;
  let regionStart = -1;
  let regionOk = false;
  // Per depth inside a region: [start, end) of the previous key of the open object (-1: none yet), in the
  // module's scratch columns (a scan never runs inside another).
  const prevKey = PREV_KEY;
  const prevKeyEnd = PREV_KEY_END;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      if (nextBackslash <= i) {
        nextBackslash = text.indexOf('\\', i + 1);
        if (nextBackslash === -1) nextBackslash = n;
      }
      let j = text.indexOf('"', i + 1);
      const escaped = j !== -1 && nextBackslash < j;
      if (escaped) j = closingQuote(text, i);
      if (j === -1 || j - i - 1 > lim.maxStringLength) return undefined;
      if (depth > 0 && expectKey[depth - 1]) {
        // An escaped key needs unescaping; `__proto__` and `prototype` need the full scan's rules.
        if (escaped) return undefined;
        if (j - i - 1 === 9 && (text.startsWith('__proto__', i + 1) || text.startsWith('prototype', i + 1)))
          return undefined;
        if (++counts[depth - 1]! > lim.maxKeysPerObject || ++totalKeys > lim.maxKeys) return undefined;
        expectKey[depth - 1] = false;
        if (findParts) {
          if (region !== 0) {
            if (regionOk) {
              const pk = prevKey[depth - 1]!;
              if (pk !== -1 && !keySortsBefore(text, pk, prevKeyEnd[depth - 1]!, i + 1, j)) regionOk = false;
              prevKey[depth - 1] = i + 1;
              prevKeyEnd[depth - 1] = j;
            }
          } else if (depth === memberDepth) {
            const len = j - i - 1;
            pending = 0;
            if (len === 6 && text.startsWith('header', i + 1)) {
              h0 = h0 === NOT_NAMED ? NAMED : TWICE;
              pending = 1;
            } else if (len === 7 && text.startsWith('payload', i + 1)) {
              p0 = p0 === NOT_NAMED ? NAMED : TWICE;
              pending = 2;
            }
          }
        }
      } else {
        if (elements !== undefined && depth === 1 && elementStart === -1) elementStart = i;
        if (escaped && region !== 0) regionOk = false;
        pending = 0;
      }
      i = j;
      continue;
    }
    if (c === LBRACE || c === LBRACKET) {
      if (depth >= lim.maxDepth) return undefined;
      if (elements !== undefined && depth === 1 && elementStart === -1) elementStart = i;
      if (pending !== 0) {
        // The value of `header` or `payload`: canonical only as an object, named once in its event.
        if (c === LBRACE && (pending === 1 ? h0 : p0) === NAMED) {
          region = pending;
          regionStart = i;
          regionOk = true;
        }
        pending = 0;
      }
      counts[depth] = 0;
      isObject[depth] = c === LBRACE;
      expectKey[depth] = c === LBRACE;
      depth++;
      if (region !== 0) {
        // Deeper than the columns hold: not taken as canonical (the strict limits stop far above this anyway).
        if (depth > PREV_KEY.length) regionOk = false;
        else prevKey[depth - 1] = -1;
      }
      continue;
    }
    if (c === RBRACE || c === RBRACKET) {
      if (depth > 0) depth--;
      if (region !== 0 && depth === memberDepth) {
        if (regionOk && region === 1) {
          h0 = regionStart;
          h1 = i + 1;
        } else if (regionOk) {
          p0 = regionStart;
          p1 = i + 1;
        }
        region = 0;
      }
      if (elements !== undefined && depth === 1 && elementStart !== -1) {
        elements.push([elementStart, i + 1]);
        elementStart = -1;
        if (parts !== undefined) {
          parts.push(h0, h1, p0, p1);
          h0 = p0 = NOT_NAMED;
          h1 = p1 = -1;
        }
      } else if (elements !== undefined && depth === 0 && elementStart !== -1) {
        elements.push([elementStart, trimEnd(text, elementStart, i)]);
        elementStart = -1;
        if (parts !== undefined) {
          parts.push(h0, h1, p0, p1);
          h0 = p0 = NOT_NAMED;
          h1 = p1 = -1;
        }
      }
      continue;
    }
    if (c === COMMA) {
      if (depth === 0) continue;
      if (isObject[depth - 1]) expectKey[depth - 1] = true;
      else {
        const count = ++counts[depth - 1]!;
        if (depth === 1 && elements !== undefined) {
          if (count >= lim.maxItems) return undefined;
          if (elementStart !== -1) {
            elements.push([elementStart, trimEnd(text, elementStart, i)]);
            elementStart = -1;
            if (parts !== undefined) {
              parts.push(h0, h1, p0, p1);
              h0 = p0 = NOT_NAMED;
              h1 = p1 = -1;
            }
          }
        }
      }
      continue;
    }
    if (c <= 0x20) {
      if (region !== 0) regionOk = false;
      continue;
    }
    if (c === COLON) continue;
    pending = 0;
    if (elements !== undefined && depth === 1 && elementStart === -1) elementStart = i;
    if (c === MINUS || (c >= DIGIT0 && c <= DIGIT9)) {
      // Inside a region `-0` is not short-cut either: RFC 8785 writes it `0`.
      let j = numberEnd(text, i, lim.canonicalNumbers || region !== 0);
      if (j < 0) {
        // A number that is not a short plain integer passes when the number rules pass it (a fraction
        // such as 0.82 mostly does); one they refuse goes to the full scan, which names it.
        j = -j - 1;
        const token = text.slice(i, j);
        if (refusedNumberRule(token, lim) !== undefined) return undefined;
        if (region !== 0 && String(Number(token)) !== token) regionOk = false;
      }
      i = j - 1;
    }
  }
  if (parts !== undefined && elements === undefined) parts.push(h0, h1, p0, p1);
  return {
    elements,
    finding: undefined,
    keys: totalKeys,
    parts,
  };
}

/**
 * End of the number token starting at `i`, or `-end - 1` when the token needs the number rules. A short plain
 * integer (the common case) is exact and canonical by construction and needs neither a slice nor a conversion;
 * `-0`, with `canonical`, is the one such integer that is not its RFC 8785 form.
 */
function numberEnd(text: string, i: number, canonical: boolean): number {
  const c = text.charCodeAt(i);
  let digits = c === MINUS ? 0 : 1;
  let other = false; // '.', 'e', 'E', '+' or a second '-'
  let j = i + 1;
  for (; j < text.length; j++) {
    const d = text.charCodeAt(j);
    if (d >= DIGIT0 && d <= DIGIT9) digits++;
    else if (d === 0x2e || d === 0x65 || d === 0x45 || d === 0x2b || d === MINUS) other = true;
    else break;
  }
  const trivial =
    !other && digits <= 15 && !(canonical && c === MINUS && j - i === 2 && text.charCodeAt(i + 1) === DIGIT0);
  return trivial ? j : -j - 1;
}

/** The rule the number text `token` breaks under `lim`, if any (`inexactNumbers` excuses precision). */
function refusedNumberRule(token: string, lim: Limits): NumberRule | undefined {
  const rule = numberRule(token, lim.canonicalNumbers);
  return rule === 'number-precision' && lim.inexactNumbers ? undefined : rule;
}

/** Index of the quote closing the string opened at `open`: the next quote not after an odd run of backslashes; -1 if none. */
function closingQuote(text: string, open: number): number {
  let j = text.indexOf('"', open + 1);
  while (j > 0 && text.charCodeAt(j - 1) === BACKSLASH) {
    let b = j - 1;
    while (text.charCodeAt(b - 1) === BACKSLASH) b--;
    if ((j - b) % 2 === 0) break; // an even run escapes itself, not the quote
    j = text.indexOf('"', j + 1);
  }
  return j;
}

/** Keys of every object in a parsed value (each object's distinct keys). */
function countKeys(v: unknown, depth: number): number {
  // `for…in` counts without building a key array per object (2–3× faster), but it would also count
  // enumerable properties someone added to Object.prototype, and one per object could hide a
  // duplicate: then count own keys only.
  return countKeysIn(v, depth, prototypeIsClean());
}

/** Whether Object.prototype, the prototype of every object JSON.parse makes, has no enumerable property. */
function prototypeIsClean(): boolean {
  for (const _ in Object.prototype) return false;
  return true;
}

function countKeysIn(v: unknown, depth: number, forIn: boolean): number {
  if (v === null || typeof v !== 'object' || depth > 256) return 0;
  let n = 0;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      if (x !== null && typeof x === 'object') n += countKeysIn(x, depth + 1, forIn);
    }
    return n;
  }
  const o = v as Record<string, unknown>;
  if (forIn) {
    for (const k in o) {
      n++;
      const x = o[k];
      if (x !== null && typeof x === 'object') n += countKeysIn(x, depth + 1, forIn);
    }
    return n;
  }
  const keys = Object.keys(o);
  for (let i = 0; i < keys.length; i++) {
    const x = o[keys[i]!];
    if (x !== null && typeof x === 'object') n += countKeysIn(x, depth + 1, forIn);
  }
  return n + keys.length;
}

/** Duplicate and forbidden keys. */
function keyFinding(stack: Frame[], top: Frame, key: string, at: number): Finding | undefined {
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
  const parent = () => pathOf(stack, stack.length - 1);
  const shown = key.slice(0, 60);
  if (key === '__proto__' || (key === 'prototype' && top.ctor)) {
    const p = parent();
    return {
      path: p ? `${p}.${key}` : key,
      rule: 'forbidden-key',
      message:
        key === '__proto__'
          ? 'key "__proto__" is refused: it rewrites object prototypes in JavaScript readers of this data'
          : 'key "constructor.prototype" is refused: it rewrites object prototypes in JavaScript readers of this data',
    };
  }
  if (seen) {
    const p = parent();
    return {
      path: p ? `${p}.${key}` : key,
      rule: 'duplicate-key',
      message: `duplicate key "${shown}" in one object (at character ${at}); audit data must be unambiguous`,
    };
  }
  return undefined;
}

function numberFinding(
  stack: Frame[],
  lastKey: string,
  token: string,
  rule: 'number-precision' | 'number-form',
): Finding {
  const path = valuePath(stack, lastKey);
  const shown = token.length > 40 ? `${token.slice(0, 40)}…` : token;
  if (rule === 'number-precision') {
    return {
      path,
      rule,
      message: `the number ${shown} cannot be held exactly by a double (it would be read as ${readAs(token)}); send it as a decimal string, e.g. "${shown}"`,
    };
  }
  return {
    path,
    rule,
    message: `the number ${shown} is not written in its canonical form (RFC 8785 writes ${readAs(token)}); canonical records have one spelling per value`,
  };
}

function trimEnd(text: string, start: number, end: number): number {
  while (end > start && text.charCodeAt(end - 1) <= 0x20) end--;
  return end;
}
