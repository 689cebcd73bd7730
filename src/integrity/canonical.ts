/**
 * RFC 8785 JSON Canonicalization Scheme (JCS): the exact bytes an EventHash is taken over.
 *
 * Accepted input is the JSON data model and nothing else: `null`, booleans, finite numbers,
 * well-formed strings, arrays and plain objects (prototype `Object.prototype` or `null`).
 * Everything else is rejected with a {@link VcpCanonicalizationError} whose `path` is a JSON
 * pointer (`/payload/trade_data/price`, `""` for the root value):
 *
 * - `NaN`, `Infinity`, `-Infinity` (RFC 8785 §3.2.2.3);
 * - strings or object keys with a lone surrogate (RFC 8785 §3.2.2.2: JSON.stringify would
 *   escape them as `\udXXX`, which JCS forbids);
 * - BigInt (int64 values travel as decimal strings in VCP: a double would change them),
 *   functions, symbols, and `undefined` at the root or inside an array;
 * - array holes (`[1, , 3]`: JSON.parse never makes them, and reading them as `null` would
 *   hash a value the caller never wrote);
 * - non-plain objects: Date, Map, Set, RegExp, boxed primitives, typed arrays, Buffer, class
 *   instances, objects from another realm. `toJSON` is NOT honoured: the hash must not depend
 *   on methods hidden on a prototype, so convert such values to plain data first;
 * - nesting deeper than 1000 arrays/objects, and cycles (reported as cycles, with both paths).
 *
 * Deliberate JSON.stringify-compatible choices: an object property whose value is `undefined`
 * is skipped, as if absent; symbol-keyed and non-enumerable properties are ignored; getters
 * are read once. An object key `"__proto__"` (e.g. from `JSON.parse('{"__proto__":1}')`) is an
 * ordinary own key and is serialized like any other.
 *
 * Keys are sorted by UTF-16 code units (RFC 8785 §3.2.3), not in JavaScript's own property
 * order (which puts integer-like keys first). Numbers use ECMAScript Number-to-String, which
 * RFC 8785 §3.2.2.3 adopts verbatim (`-0` becomes `0`). String escaping is JSON.stringify's,
 * which equals RFC 8785 §3.2.2.2 for well-formed strings.
 */

import { VcpCanonicalizationError } from '../core/errors.ts';

/** Deepest nesting of arrays/objects accepted; deeper input is refused, never a stack overflow. */
const MAX_DEPTH = 1000;

/**
 * Anything JSON.stringify would escape, plus every surrogate code unit (well-formed pairs take
 * the slow path too, which then tells them apart from lone ones).
 */
const NEEDS_CARE = /["\\\u0000-\u001f\ud800-\udfff]/;

/**
 * Turn a value into its RFC 8785 canonical JSON text.
 *
 * Hash the result as UTF-8 (`Buffer.from(text, 'utf8')` or `hash.update(text, 'utf8')`).
 * Throws {@link VcpCanonicalizationError} (with a JSON-pointer `path`) for anything outside
 * the JSON data model; see the module comment for the exact rules. Errors thrown by the
 * caller's own getters or proxies propagate unchanged.
 */
export function canonicalize(value: unknown): string {
  try {
    return serialize(value, 0);
  } catch (err) {
    throw toPublicError(err);
  }
}

function serialize(v: unknown, depth: number): string {
  switch (typeof v) {
    case 'string':
      return NEEDS_CARE.test(v) ? escapeString(v) : '"' + v + '"';
    case 'number':
      // v - v is 0 for every finite number and NaN for NaN/±Infinity.
      if (v - v === 0) return '' + v;
      throw new Fault(`${v} is not allowed in canonical JSON (RFC 8785 accepts finite numbers only)`);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'object':
      if (v === null) return 'null';
      if (Array.isArray(v)) return serializeArray(v, depth + 1);
      return serializeObject(v, depth + 1);
    default:
      throw new Fault(describeUnsupported(v));
  }
}

function serializeArray(a: unknown[], depth: number): string {
  if (depth > MAX_DEPTH) throw new Fault(TOO_DEEP, true);
  const n = a.length;
  if (n === 0) return '[]';
  let out = '[';
  let i = 0;
  try {
    for (; i < n; i++) {
      const v = a[i];
      if (v === undefined) throw new Fault(i in a ? UNDEFINED_IN_ARRAY : HOLE_IN_ARRAY);
      if (i > 0) out += ',';
      out += serialize(v, depth);
    }
  } catch (err) {
    throw withSegment(err, String(i), a);
  }
  return out + ']';
}

function serializeObject(o: object, depth: number): string {
  if (depth > MAX_DEPTH) throw new Fault(TOO_DEEP, true);
  const proto = Object.getPrototypeOf(o);
  if (proto !== Object.prototype && proto !== null) throw new Fault(describeNonPlain(o, proto));
  const keys = Object.keys(o);
  const n = keys.length;
  if (n === 0) return '{}';
  sortKeys(keys);
  const rec = o as Record<string, unknown>;
  let out = '{';
  let i = 0;
  let key = '';
  try {
    for (; i < n; i++) {
      key = keys[i]!;
      const v = rec[key];
      // Skipped like JSON.stringify does: an undefined property is an absent property.
      if (v === undefined) continue;
      if (out.length > 1) out += ',';
      out += (NEEDS_CARE.test(key) ? escapeKey(key) : '"' + key + '"') + ':' + serialize(v, depth);
    }
  } catch (err) {
    throw withSegment(err, key, o);
  }
  return out + '}';
}

/**
 * Sort in place by UTF-16 code units, skipping the work when already sorted (events are
 * usually built in key order). `<` on strings and the default `sort()` both compare code units.
 */
function sortKeys(keys: string[]): void {
  for (let i = 1; i < keys.length; i++) {
    if (keys[i - 1]! > keys[i]!) {
      keys.sort();
      return;
    }
  }
}

function escapeString(s: string): string {
  if (!s.isWellFormed()) throw new Fault(`string contains a lone surrogate (${firstLoneSurrogate(s)})`);
  return JSON.stringify(s);
}

function escapeKey(k: string): string {
  if (!k.isWellFormed()) throw new Fault(`object key contains a lone surrogate (${firstLoneSurrogate(k)})`);
  return JSON.stringify(k);
}

// ---------------------------------------------------------------------------------------------
// Error path: nothing below runs for valid input.

const TOO_DEEP = `nesting deeper than ${MAX_DEPTH} arrays/objects is not allowed`;
const UNDEFINED_IN_ARRAY = 'undefined is not allowed in an array (use null)';
const HOLE_IN_ARRAY = 'array hole (sparse array) is not allowed (use null)';

/**
 * Internal error carrying the reason; each enclosing container adds its segment while the
 * fault unwinds, so valid input pays nothing for path tracking.
 */
class Fault {
  readonly reason: string;
  /** Set for the depth limit: a cycle also ends there, and is told apart at the top. */
  readonly tooDeep: boolean;
  /** Path segments and their containers, innermost first. */
  readonly segments: string[] = [];
  readonly containers: object[] = [];

  constructor(reason: string, tooDeep = false) {
    this.reason = reason;
    this.tooDeep = tooDeep;
  }
}

function withSegment(err: unknown, segment: string, container: object): unknown {
  if (err instanceof Fault) {
    err.segments.push(segment);
    err.containers.push(container);
  }
  return err;
}

function toPublicError(err: unknown): unknown {
  if (err instanceof Fault) {
    const segments = err.segments.reverse();
    const containers = err.containers.reverse();
    if (err.tooDeep) {
      // A cycle is an ancestor met again on the way down; report where it closes.
      const firstSeen = new Map<object, number>();
      for (let i = 0; i < containers.length; i++) {
        const c = containers[i]!;
        const earlier = firstSeen.get(c);
        if (earlier !== undefined) {
          return new VcpCanonicalizationError(
            pointer(segments.slice(0, i)),
            `circular reference (this value is its own ancestor at ${pointer(segments.slice(0, earlier)) || 'the root'})`,
          );
        }
        firstSeen.set(c, i);
      }
    }
    const path = pointer(segments);
    return new VcpCanonicalizationError(path, path ? err.reason : `${err.reason} (root value)`);
  }
  if (err instanceof RangeError && !(err instanceof VcpCanonicalizationError)) {
    // The two engine limits a hostile value can reach: call stack (when the caller is already
    // deep) and maximum string length (a huge or exponentially shared value).
    const reason = /call stack/i.test(err.message)
      ? 'value nests too deeply for the remaining call stack'
      : `canonical JSON would exceed the engine's string limit (${err.message})`;
    return new VcpCanonicalizationError('', reason);
  }
  return err;
}

/** RFC 6901 JSON pointer, with code units a message cannot show made visible as `\uXXXX`. */
function pointer(segments: string[]): string {
  let p = '';
  for (const s of segments) p += '/' + s.replace(/~/g, '~0').replace(/\//g, '~1');
  return p.replace(
    /[\u0000-\u001f\u007f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
    (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'),
  );
}

function firstLoneSurrogate(s: string): string {
  const m = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.exec(s);
  const unit = m ? m[0].charCodeAt(0) : 0;
  return `\\u${unit.toString(16).padStart(4, '0')} at index ${m ? m.index : -1}`;
}

function describeUnsupported(v: unknown): string {
  switch (typeof v) {
    case 'bigint':
      return 'BigInt is not allowed in canonical JSON; send int64 values as decimal strings (e.g. "1735084800123456789")';
    case 'undefined':
      return 'undefined is not allowed in canonical JSON';
    case 'function':
      return 'a function is not allowed in canonical JSON';
    case 'symbol':
      return 'a symbol is not allowed in canonical JSON';
    default:
      return `a value of type ${typeof v} is not allowed in canonical JSON`;
  }
}

function describeNonPlain(o: object, proto: object): string {
  const tag = Object.prototype.toString.call(o).slice(8, -1);
  let ctor = '';
  try {
    const c = (proto as { constructor?: unknown }).constructor;
    if (typeof c === 'function' && typeof c.name === 'string') ctor = c.name;
  } catch {
    // A hostile getter on the prototype: describe without the name.
  }
  const what = ctor || tag || 'object';
  let hint: string;
  if (o instanceof Date || tag === 'Date') hint = 'convert it to an ISO 8601 string or a nanosecond string first';
  else if (ArrayBuffer.isView(o) || o instanceof ArrayBuffer)
    hint = 'encode binary data as a hex or base64 string first';
  else if (tag === 'Map' || tag === 'Set') hint = 'convert it to a plain object or an array first';
  else if (tag === 'String' || tag === 'Number' || tag === 'Boolean')
    hint = 'pass the primitive value instead of the boxed object';
  else hint = 'pass a plain object (toJSON is not honoured: the hash must not depend on hidden methods)';
  return `${what} is not a plain object; ${hint}`;
}
