/**
 * RFC 8785 canonical JSON for values that came out of `JSON.parse` (the
 * browser verifies events it fetched): keys sorted by UTF-16 code units,
 * numbers in ECMAScript form, strings as JSON.stringify writes them. Lone
 * surrogates and non-finite numbers are refused, as the Node canonicaliser
 * (src/integrity/canonical.ts) refuses them.
 */

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const MAX_DEPTH = 1000;

/** The canonical text of `value`; throws `Error` naming the JSON pointer of what cannot be canonicalised. */
export function canonicalize(value: unknown, path = '', depth = 0): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new Error(`${path || '/'}: not a finite number`);
      return JSON.stringify(value);
    case 'string':
      if (LONE_SURROGATE.test(value)) throw new Error(`${path || '/'}: lone surrogate in a string`);
      return JSON.stringify(value);
    case 'object': {
      if (depth >= MAX_DEPTH) throw new Error(`${path || '/'}: nested deeper than ${MAX_DEPTH}`);
      if (Array.isArray(value))
        return `[${value.map((v, i) => canonicalize(v, `${path}/${i}`, depth + 1)).join(',')}]`;
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj)
        .filter((k) => obj[k] !== undefined)
        .sort();
      const parts: string[] = [];
      for (const k of keys) {
        if (LONE_SURROGATE.test(k)) throw new Error(`${path}/${k}: lone surrogate in a key`);
        parts.push(`${JSON.stringify(k)}:${canonicalize(obj[k], `${path}/${k}`, depth + 1)}`);
      }
      return `{${parts.join(',')}}`;
    }
    default:
      throw new Error(`${path || '/'}: ${typeof value} is not JSON`);
  }
}
