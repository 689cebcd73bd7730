/**
 * Python's `json.dumps`, for verifying producers that hash its output
 * instead of RFC 8785 (the VCP reference evidence packs). Numbers must keep
 * their source text: Python reads `1763638705482204928` as an exact int and
 * `1.0` as a float, which JavaScript's JSON.parse cannot tell apart, so
 * {@link parseLossless} turns every number into a {@link SourceNumber}.
 */
import { VcpValidationError } from '../core/errors.ts';

/** A JSON number with the text it was written as. */
export class SourceNumber {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
  /** `int` when Python would read it as one (no fraction, no exponent). */
  get isInt(): boolean {
    return !/[.eE]/.test(this.text);
  }
}

/**
 * JSON.parse, with each number as a {@link SourceNumber} (uses the reviver's
 * source-text access, Node ≥ 22). Does not check duplicate keys: run the
 * strict parser first for that.
 */
export function parseLossless(text: string): unknown {
  return JSON.parse(text, (_key, value, context?: { source?: string }) =>
    typeof value === 'number' ? new SourceNumber(context?.source ?? String(value)) : value,
  );
}

// JSON.rawJSON (Node ≥ 21) writes number text as given; the TypeScript lib this project targets does not declare it.
const rawJSON = (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON;

/** JSON text of a value that may hold {@link SourceNumber}s (written as their source text). */
export function stringifyLossless(value: unknown): string {
  return JSON.stringify(value, (_key, v) => (v instanceof SourceNumber ? rawJSON(v.text) : v));
}

/** Options of {@link pythonDumps}; the defaults are Python's. */
export interface PythonDumpsOptions {
  sortKeys?: boolean;
  /** Python's default `(', ', ': ')`; compact is `(',', ':')`. */
  separators?: readonly [string, string];
  /** Escape everything outside printable ASCII as `\uXXXX` (Python's default `True`). */
  ensureAscii?: boolean;
}

const MAX_DEPTH = 1000;

/** `json.dumps(value, sort_keys=…, separators=…, ensure_ascii=…)` as Python 3 writes it. */
export function pythonDumps(value: unknown, options: PythonDumpsOptions = {}): string {
  const [item, kv] = options.separators ?? [', ', ': '];
  const ascii = options.ensureAscii ?? true;
  const sort = options.sortKeys ?? false;
  const out = (v: unknown, depth: number): string => {
    if (depth > MAX_DEPTH)
      throw new VcpValidationError({ path: '', rule: 'depth', message: 'value nested too deeply' });
    if (v === null) return 'null';
    if (v === true) return 'true';
    if (v === false) return 'false';
    if (typeof v === 'string') return pyString(v, ascii);
    if (v instanceof SourceNumber) return v.isInt ? BigInt(v.text).toString() : pyFloat(Number(v.text));
    if (typeof v === 'number') return Number.isInteger(v) && Math.abs(v) < 2 ** 53 ? String(v) : pyFloat(v);
    if (typeof v === 'bigint') return v.toString();
    if (Array.isArray(v)) return v.length ? `[${v.map((x) => out(x, depth + 1)).join(item)}]` : '[]';
    if (typeof v === 'object') {
      let keys = Object.keys(v as object);
      if (sort) keys = keys.sort(compareCodePoints);
      if (!keys.length) return '{}';
      return `{${keys.map((k) => `${pyString(k, ascii)}${kv}${out((v as Record<string, unknown>)[k], depth + 1)}`).join(item)}}`;
    }
    throw new VcpValidationError({ path: '', rule: 'json-value', message: `cannot serialise a ${typeof v}` });
  };
  return out(value, 0);
}

/** Python sorts str keys by code point, not by UTF-16 unit. */
function compareCodePoints(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d) return d;
  }
  return x.length - y.length;
}

const SHORT_ESCAPES: Record<string, string> = {
  '"': '\\"',
  '\\': '\\\\',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\b': '\\b',
  '\f': '\\f',
};

function pyString(s: string, ascii: boolean): string {
  // ensure_ascii: everything outside ' '..'~' is escaped (surrogate pairs as two \u escapes); otherwise only controls.
  const re = ascii ? /[\\"]|[^ -~]/g : /[\\"\u0000-\u001f]/g;
  return `"${s.replace(re, (c) => SHORT_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}"`;
}

/** Python's `repr(float)`: shortest round-trip digits, exponent form below 1e-4 and from 1e16. */
function pyFloat(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Number.POSITIVE_INFINITY) return 'Infinity';
  if (x === Number.NEGATIVE_INFINITY) return '-Infinity';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mant, expText] = x.toExponential().split('e') as [string, string];
  const exp = Number(expText);
  const neg = mant.startsWith('-');
  const digits = mant.replace('-', '').replace('.', '');
  let body: string;
  if (exp >= -4 && exp < 16) {
    if (exp >= 0) {
      const int = digits.slice(0, exp + 1).padEnd(exp + 1, '0');
      const frac = digits.slice(exp + 1);
      body = `${int}.${frac || '0'}`;
    } else body = `0.${'0'.repeat(-exp - 1)}${digits}`;
  } else {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    body = `${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  return neg ? `-${body}` : body;
}
