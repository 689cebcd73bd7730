/**
 * RFC 8785 JSON Canonicalization Scheme (JCS): the exact text an EventHash is taken over.
 *
 * Accepted input is the JSON data model and nothing else: `null`, booleans, finite numbers,
 * well-formed strings, arrays and plain objects (prototype `Object.prototype` or `null`).
 * Everything else is rejected with a {@link VcpCanonicalizationError} whose `path` is a JSON
 * pointer to the offending value (`/payload/trade_data/price`; `""` for the root value):
 *
 * - `NaN`, `Infinity`, `-Infinity` (RFC 8785 §3.2.2.3);
 * - strings or object keys holding a lone surrogate (RFC 8785 §3.2.2.2; JSON.stringify would
 *   escape it as `\udXXX`, which JCS forbids). An object's keys are all checked before any of
 *   its values, including keys whose value is `undefined`;
 * - BigInt (int64 values travel as decimal strings in VCP: a double would change them),
 *   functions, symbols, and `undefined` at the root or inside an array;
 * - array holes (`[1, , 3]`): JSON.parse never makes them, and reading them as `null` would
 *   hash a value the caller never wrote;
 * - non-plain objects: Date, Map, Set, RegExp, boxed primitives, typed arrays, Buffer, class
 *   instances, objects from another realm. `toJSON` is NOT honoured: the hash must not depend
 *   on methods hidden on a prototype, so convert such values to plain data first;
 * - nesting deeper than 1000 arrays/objects; a cycle is reported as a circular reference at
 *   the point where it closes. Never a stack overflow `RangeError`: if the caller's stack runs
 *   out first, that is reported as a VcpCanonicalizationError too.
 *
 * Choices shared with JSON.stringify: an object property whose value is `undefined` is skipped
 * as if absent; symbol-keyed and non-enumerable properties are ignored; each property is read
 * once (getters and proxies are read through, and their own errors propagate unchanged). An
 * own key `"__proto__"` (as `JSON.parse('{"__proto__":1}')` makes) is an ordinary key.
 *
 * Output: keys sorted by UTF-16 code units (RFC 8785 §3.2.3), not in JavaScript's property
 * order, which puts integer-like keys first. Numbers in ECMAScript Number-to-String form, which
 * RFC 8785 §3.2.2.3 adopts verbatim (`-0` becomes `0`). Strings escaped as JSON.stringify does,
 * which for well-formed strings is exactly RFC 8785 §3.2.2.2. No whitespace.
 *
 * In error paths, code units a message cannot show (C0 controls, DEL, lone surrogates) are
 * written `\uXXXX`, and very long keys or paths are shortened in the middle with `…`.
 */

import { VcpCanonicalizationError } from '../core/errors.ts';

/** Deepest nesting of arrays/objects accepted; deeper input is refused, never a stack overflow. */
const MAX_DEPTH = 1000;

/**
 * Turn a value into its RFC 8785 canonical JSON text.
 *
 * Hash the result as UTF-8 (`hash.update(text, 'utf8')`). Throws
 * {@link VcpCanonicalizationError} (with a JSON-pointer `path`) for anything outside the JSON
 * data model; see the module comment for the exact rules. Errors thrown by the caller's own
 * getters or proxies propagate unchanged.
 */
export function canonicalize(value: unknown): string {
  // A call from inside a call (a caller's getter) adds to the outer call's shape instead of resetting
  // it: both then read an upper bound.
  if (nesting++ === 0) {
    deepest = 0;
    widest = 0;
  }
  try {
    return serialize(value, 0);
  } catch (err) {
    let publicError: unknown;
    try {
      publicError = toPublicError(err);
    } catch {
      // toPublicError cannot fail except by running out of stack itself (the caller was
      // already deep): fall back to the error built when the module loaded.
      publicError = STACK_EXHAUSTED;
    }
    throw publicError;
  } finally {
    nesting--;
  }
}

function serialize(v: unknown, depth: number): string {
  switch (typeof v) {
    case 'string':
      return needsEscape(v) ? escapeString(v) : '"' + v + '"';
    case 'number':
      // v - v is 0 for every finite number and NaN for NaN/±Infinity. ECMAScript
      // Number-to-String is RFC 8785's number format, -0 included ("0").
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

/** The deepest container level and the most keys in one object of the last {@link canonicalize} call. */
let deepest = 0;
let widest = 0;
let nesting = 0;

/**
 * The shape of the value the last {@link canonicalize} call wrote (on success): `depth`, the nesting
 * levels of arrays and objects (1 for a flat object), and `maxKeys`, the most keys one object held
 * (undefined-valued keys included, so an upper bound of the keys written). Free to read, for
 * callers that hold values to limits without a second walk.
 */
export function lastCanonicalShape(): { depth: number; maxKeys: number } {
  return { depth: deepest, maxKeys: widest };
}

function serializeArray(a: unknown[], depth: number): string {
  if (depth > MAX_DEPTH) throw new Fault(TOO_DEEP, true);
  if (depth > deepest) deepest = depth;
  const n = a.length;
  if (n === 0) return '[]';
  let out = '[';
  let i = 0;
  try {
    for (; i < n; i++) {
      const v = a[i];
      if (v === undefined) throw new Fault(i in a ? UNDEFINED_IN_ARRAY : HOLE_IN_ARRAY);
      if (i > 0) out += ',';
      out += typeof v === 'string' && !needsEscape(v) ? '"' + v + '"' : serialize(v, depth);
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
  if (depth > deepest) deepest = depth;
  const keys = Object.keys(o);
  const n = keys.length;
  if (n > widest) widest = n;
  if (n === 0) return '{}';
  const layout = layoutFor(keys, o);
  if (layout === undefined) return serializeObjectOnce(o, keys, depth);
  // A layout compiled to straight-line code reads each property by name (an inline cache per
  // key, not a generic keyed load) and writes constant prefixes: about twice as fast.
  // Compiled after a layout has proven common (COMPILE_AFTER uses), within a process-wide
  // budget, so a hostile stream of shapes each seen a few times never pays for compilation.
  if (layout.write !== undefined) return layout.write(o, depth);
  // `>=`, and the budget spent only on success: a compile that failed because the caller's
  // stack ran out is tried again on the next use, not left generic for good.
  if (++layout.uses >= COMPILE_AFTER && compilesLeft > 0) {
    const write = compileLayout(layout);
    if (write !== undefined) {
      compilesLeft--;
      layout.write = write;
    }
  }
  return writeWithLayout(o, layout, depth);
}

/** Uses of a layout before it is compiled. */
const COMPILE_AFTER = 64;
/** Layouts compiled at most in this process (each costs tens of µs and some code space). */
let compilesLeft = 1024;

/** The generic writer of a cached layout (also the fallback where code generation is off). */
function writeWithLayout(o: object, layout: Layout, depth: number): string {
  const sorted = layout.sorted;
  const n = sorted.length;
  const rec = o as Record<string, unknown>;
  let out = '';
  // True while the last value written is a string whose closing quote is still owed: it is
  // written together with the next prefix (`","key":`) or the closing brace, one rope node
  // fewer per string, which makes the later flattening of the result cheaper.
  let quoteOwed = false;
  let i = 0;
  try {
    for (; i < n; i++) {
      // A keyed read per sorted key (not Object.values): a getter that adds or deletes
      // properties can never pair a key with another key's value.
      const v = rec[sorted[i]!];
      // Skipped like JSON.stringify does: an undefined property is an absent property.
      if (v === undefined) continue;
      if (typeof v === 'string' && !needsEscape(v)) {
        // The common case, a string needing no escape, goes in place behind a prefix that
        // already holds its opening quote.
        const pre = out === '' ? layout.firstQ[i]! : quoteOwed ? layout.qNextQ[i]! : layout.nextQ[i]!;
        out += pre + v;
        quoteOwed = true;
      } else {
        const pre = out === '' ? layout.first[i]! : quoteOwed ? layout.qNext[i]! : layout.next[i]!;
        out += pre + serialize(v, depth);
        quoteOwed = false;
      }
    }
  } catch (err) {
    throw withSegment(err, sorted[i]!, o);
  }
  return out === '' ? '{}' : out + (quoteOwed ? '"}' : '}');
}

/**
 * Straight-line code for one layout, exactly what {@link writeWithLayout} does: one block per
 * sorted key, the key read once by name, the prefixes as literals. Keys enter the source only
 * as JSON string literals (JSON.stringify output is a valid JS string literal for every
 * well-formed key, and keys with lone surrogates were refused by `checkKey` already).
 * Undefined where the host forbids code generation (`--disallow-code-generation-from-strings`,
 * a CSP without 'unsafe-eval'): then the generic writer runs, and no later layout tries again.
 * Undefined too when the stack runs out while compiling; that layout tries again on its next use.
 */
function compileLayout(layout: Layout): Layout['write'] {
  const lit = (s: string) => JSON.stringify(s);
  const n = layout.sorted.length;
  let body = "let out = '', q = false, i = 0, v, s;\ntry {\n";
  for (let i = 0; i < n; i++) {
    body += `i = ${i}; v = o[${lit(layout.sorted[i]!)}];\n`;
    body += 'if (v !== undefined) {\n';
    body += `  if (typeof v === 'string' && !ne(v)) { out = out === '' ? ${lit(layout.firstQ[i]!)} + v : q ? out + (${lit(layout.qNextQ[i]!)} + v) : out + (${lit(layout.nextQ[i]!)} + v); q = true; }\n`;
    body += `  else { s = ser(v, depth); out = out === '' ? ${lit(layout.first[i]!)} + s : q ? out + (${lit(layout.qNext[i]!)} + s) : out + (${lit(layout.next[i]!)} + s); q = false; }\n`;
    body += '}\n';
  }
  body += '} catch (err) { throw seg(err, sorted[i], o); }\n';
  body += "return out === '' ? '{}' : q ? out + '\"}' : out + '}';";
  try {
    const factory = new Function(
      'ser',
      'ne',
      'seg',
      'sorted',
      `return function jcsLayout(o, depth) {\n${body}\n};`,
    );
    return factory(serialize, needsEscape, withSegment, layout.sorted) as Layout['write'];
  } catch (err) {
    // A refusal (EvalError) is the host's policy and will not change: each further attempt
    // would only throw again, and in a browser file one more CSP violation report.
    if (!(err instanceof RangeError)) compilesLeft = 0;
    return undefined;
  }
}

/** The same output for a key sequence seen for the first time: no layout is built. */
function serializeObjectOnce(o: object, keys: readonly string[], depth: number): string {
  const sorted = keys.slice();
  sortKeys(sorted);
  const n = sorted.length;
  for (let i = 0; i < n; i++) checkKey(sorted[i]!, o);
  const rec = o as Record<string, unknown>;
  let out = '';
  let i = 0;
  try {
    for (; i < n; i++) {
      const k = sorted[i]!;
      const v = rec[k];
      if (v === undefined) continue;
      out += (out === '' ? '{' : ',') + quoteKey(k) + ':' + serialize(v, depth);
    }
  } catch (err) {
    throw withSegment(err, sorted[i]!, o);
  }
  return out === '' ? '{}' : out + '}';
}

/** Every key of an object is checked before any of its values (documented policy). */
function checkKey(k: string, o: object): void {
  if (!needsEscape(k)) return;
  const at = loneSurrogateAt(k);
  if (at >= 0) {
    const fault = new Fault(`object key contains a lone surrogate (${describeSurrogate(k, at)})`);
    throw withSegment(fault, k, o);
  }
}

function quoteKey(k: string): string {
  return needsEscape(k) ? JSON.stringify(k) : '"' + k + '"';
}

/**
 * True when JSON.stringify would escape something in `s`, or `s` holds any surrogate (paired
 * ones take the slow path too, which tells them apart from lone ones). Short strings: a plain
 * loop, which V8 compiles to a tight scan with no call (measured ~15 ns for 5 characters against
 * ~30 for a RegExp); from about two dozen characters on the RegExp's native scan is faster
 * (~45 against ~80 ns for a 36-character UUID, ~80 against ~130 for 64 hex digits).
 */
function needsEscape(s: string): boolean {
  if (s.length > 24) return ESCAPE_RE.test(s);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return true;
  }
  return false;
}

/** The characters {@link needsEscape} looks for (no `g` flag: `test` keeps no state). */
const ESCAPE_RE = /[\u0000-\u001f"\\\ud800-\udfff]/;

/** For well-formed strings, JSON.stringify's escaping is exactly RFC 8785 §3.2.2.2. */
function escapeString(s: string): string {
  const at = loneSurrogateAt(s);
  if (at >= 0) throw new Fault(`string contains a lone surrogate (${describeSurrogate(s, at)})`);
  return JSON.stringify(s);
}

/** Index of the first unpaired surrogate code unit, or -1 when `s` is well-formed UTF-16. */
function loneSurrogateAt(s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c <= 0xdbff) {
      const d = s.charCodeAt(i + 1); // NaN past the end
      if (d >= 0xdc00 && d <= 0xdfff) {
        i++;
        continue;
      }
    }
    return i;
  }
  return -1;
}

/**
 * How to write an object with a given own-key sequence: the keys in RFC 8785 order (UTF-16
 * code units, §3.2.3), each already escaped and quoted behind its `{` or `,`.
 */
interface Layout {
  /** The Object.keys sequence this layout is for (never mutated). */
  readonly keys: readonly string[];
  readonly sorted: readonly string[];
  /**
   * Prefixes written before each value, by sorted index: `first` for the first property
   * written (`{"key":`), `next` for later ones (`,"key":`), `qNext` when the previous value
   * still owes its closing quote (`","key":`). The `…Q` forms add the opening quote of a
   * string value (`{"key":"`, `,"key":"`, `","key":"`).
   */
  readonly first: readonly string[];
  readonly next: readonly string[];
  readonly qNext: readonly string[];
  readonly firstQ: readonly string[];
  readonly nextQ: readonly string[];
  readonly qNextQ: readonly string[];
  /** The compiled writer ({@link compileLayout}) once the layout is common; undefined before and where code generation is off. */
  write: ((o: object, depth: number) => string) | undefined;
  /** Uses so far, counted until it is compiled (from {@link COMPILE_AFTER} on, each use tries). */
  uses: number;
}

/** A key sequence seen once: its layout is built only if it comes back. */
interface Sighting {
  readonly keys: readonly string[];
  readonly sorted: undefined;
}

/**
 * Layouts of recently seen key sequences, indexed by their first key. Objects of one schema
 * share a key sequence, so sorting and key escaping run once per schema, not once per event;
 * a hit costs one Map lookup and a pointer comparison per key (Object.keys returns
 * internalized strings). A sequence gets a layout on its second sighting, so one-off shapes
 * cost no more than a plain sort. Bounded: small objects with short keys only, cleared when
 * full (a hostile stream of new shapes just keeps missing).
 */
const layouts = new Map<string, (Layout | Sighting)[]>();
const LAYOUT_CACHE_ENTRIES = 512;
/** Shapes kept per first key: payload modules often share a first key (`order_id`, `name`). */
const LAYOUTS_PER_FIRST_KEY = 4;
const LAYOUT_MAX_KEYS = 64;
const LAYOUT_MAX_KEY_CHARS = 2048;

/** The layout for `keys`, or undefined the first time they are seen. */
function layoutFor(keys: string[], o: object): Layout | undefined {
  const n = keys.length;
  const bucket = layouts.get(keys[0]!);
  if (bucket !== undefined) {
    for (let b = 0; b < bucket.length; b++) {
      const cached = bucket[b]!;
      const ck = cached.keys;
      if (ck.length !== n) continue;
      let i = 0;
      while (i < n && ck[i] === keys[i]) i++;
      if (i !== n) continue;
      if (cached.sorted !== undefined) return cached;
      const layout = makeLayout(keys, o);
      bucket[b] = layout;
      return layout;
    }
  }
  if (n <= LAYOUT_MAX_KEYS) {
    let chars = 0;
    for (let i = 0; i < n; i++) chars += keys[i]!.length;
    if (chars <= LAYOUT_MAX_KEY_CHARS) {
      // `keys` is Object.keys' fresh array: nobody else holds it, and nothing mutates it.
      const sighting: Sighting = { keys, sorted: undefined };
      if (bucket === undefined) {
        if (layouts.size >= LAYOUT_CACHE_ENTRIES) layouts.clear();
        layouts.set(keys[0]!, [sighting]);
      } else {
        // Full bucket: the oldest shape makes room (a hostile stream of new shapes just keeps missing).
        if (bucket.length >= LAYOUTS_PER_FIRST_KEY) bucket.shift();
        bucket.push(sighting);
      }
    }
  }
  return undefined;
}

function makeLayout(keys: string[], o: object): Layout {
  const sorted = keys.slice();
  sortKeys(sorted);
  const n = sorted.length;
  const first: string[] = [];
  const next: string[] = [];
  const qNext: string[] = [];
  const firstQ: string[] = [];
  const nextQ: string[] = [];
  const qNextQ: string[] = [];
  for (let i = 0; i < n; i++) {
    const k = sorted[i]!;
    checkKey(k, o);
    const quoted = quoteKey(k);
    first.push('{' + quoted + ':');
    next.push(',' + quoted + ':');
    qNext.push('",' + quoted + ':');
    firstQ.push('{' + quoted + ':"');
    nextQ.push(',' + quoted + ':"');
    qNextQ.push('",' + quoted + ':"');
  }
  return { keys: keys.slice(), sorted, first, next, qNext, firstQ, nextQ, qNextQ, write: undefined, uses: 0 };
}

/**
 * Sort in place by UTF-16 code units, skipping the work when already sorted. `>` on strings
 * and the default `sort()` both compare code units, as RFC 8785 §3.2.3 requires.
 */
function sortKeys(keys: string[]): void {
  for (let i = 1; i < keys.length; i++) {
    if (keys[i - 1]! > keys[i]!) {
      if (keys.length > 16) {
        keys.sort();
        return;
      }
      // Insertion sort from the first inversion: for a dozen keys several times faster
      // than Array.prototype.sort, which converts and compares through a generic path.
      for (let j = i; j < keys.length; j++) {
        const k = keys[j]!;
        let m = j - 1;
        while (m >= 0 && keys[m]! > k) {
          keys[m + 1] = keys[m]!;
          m--;
        }
        keys[m + 1] = k;
      }
      return;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Error path: nothing below runs for valid input.

const TOO_DEEP = `nesting deeper than ${MAX_DEPTH} arrays/objects is not allowed`;
const UNDEFINED_IN_ARRAY = 'undefined is not allowed in an array (use null)';
const HOLE_IN_ARRAY = 'array hole (sparse array) is not allowed (use null)';
const NO_STACK = 'value nests too deeply for the remaining call stack';
/** Prebuilt, because building an error needs stack too; its `stack` trace is not meaningful. */
const STACK_EXHAUSTED = new VcpCanonicalizationError('', NO_STACK);

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
  if (err instanceof RangeError) {
    // The two engine limits a hostile value can reach: the call stack (when the caller is
    // already deep) and the maximum string length (a huge or exponentially shared value).
    // No RegExp here: compiling one needs stack, which is exactly what may be missing.
    if (err.message.includes('call stack')) {
      return new VcpCanonicalizationError('', NO_STACK);
    }
    if (err.message.includes('string length')) {
      return new VcpCanonicalizationError(
        '',
        "canonical JSON would exceed the engine's maximum string length",
      );
    }
  }
  return err;
}

/**
 * RFC 6901 JSON pointer for messages. Code units a message cannot show (C0 controls, DEL,
 * lone surrogates) appear as `\uXXXX`; a segment over 200 code units and a path over 64
 * segments are shortened in the middle with `…`, so a hostile key or depth cannot blow up the
 * error itself.
 */
function pointer(segments: string[]): string {
  let shown = segments;
  if (segments.length > 64) {
    shown = [...segments.slice(0, 32), `…(${segments.length - 64} more)…`, ...segments.slice(-32)];
  }
  let p = '';
  for (let s of shown) {
    if (s.length > 200) s = s.slice(0, 100) + '…' + s.slice(-99);
    p += '/' + s.replace(/~/g, '~0').replace(/\//g, '~1');
  }
  return p.replace(
    /[\u0000-\u001f\u007f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
    (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'),
  );
}

function describeSurrogate(s: string, at: number): string {
  return `\\u${s.charCodeAt(at).toString(16).padStart(4, '0')} at index ${at}`;
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
  try {
    return nonPlainReason(o, proto);
  } catch {
    // A hostile proxy or getter while describing: keep the message, lose the detail.
    return 'not a plain object; pass a plain object or an array';
  }
}

function nonPlainReason(o: object, proto: object): string {
  const tag = Object.prototype.toString.call(o).slice(8, -1);
  const c = (proto as { constructor?: unknown }).constructor;
  const ctor = typeof c === 'function' && typeof c.name === 'string' ? c.name : '';
  const what = ctor || tag || 'object';
  let hint: string;
  if (tag === 'Date') hint = 'convert it to an ISO 8601 string or a nanosecond string first';
  else if (ArrayBuffer.isView(o) || tag === 'ArrayBuffer' || tag === 'SharedArrayBuffer')
    hint = 'encode binary data as a hex or base64 string first';
  else if (tag === 'Map' || tag === 'Set') hint = 'convert it to a plain object or an array first';
  else if (tag === 'String' || tag === 'Number' || tag === 'Boolean' || tag === 'BigInt')
    hint = 'pass the primitive value instead of the boxed object';
  else if (ctor === 'Object' && typeof c === 'function' && c !== Object)
    hint = 'it comes from another realm (vm context); copy it with structuredClone() first';
  else hint = 'pass a plain object (toJSON is not honoured: the hash must not depend on hidden methods)';
  return `${what} is not a plain object; ${hint}`;
}
