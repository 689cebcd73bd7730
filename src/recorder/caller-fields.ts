/**
 * Checks of what a caller hands to `record()` that `validateOwnDraft` leaves
 * out, so an event the sidecar would refuse is never sealed: the recorder
 * replaces it by an ERR_SYSTEM event naming the field and the rule (its
 * usual policy for an invalid draft) instead of letting one bad event make
 * the sidecar refuse a whole batch.
 *
 * - `header.event_id` (a caller may force it, `RecordOptions.eventId`): a UUID,
 *   the sidecar's rule `uuid`.
 * - `header.trace_id` (`RecordOptions.traceId` or the context store): a
 *   non-empty string of at most 128 characters, the sidecar's rule `string`.
 * - rule `forbidden-key`: no key `__proto__`, and no key `constructor` holding a
 *   key `prototype`, anywhere in header or payload (the keys Fastify's
 *   secure-json-parse refuses: a consumer that merges the event into an
 *   object with a naive deep-merge would rewrite `Object.prototype`).
 */
import type { ValidationIssue } from '../core/errors.ts';
import { isUuid } from '../core/uuidv7.ts';

/** Longest trace id the sidecar accepts. */
const MAX_TRACE_ID = 128;
/** Deeper than this the canonicalizer refuses the event anyway. */
const MAX_DEPTH = 200;

function shown(v: unknown): string {
  if (typeof v !== 'string') return v === null ? 'null' : typeof v;
  return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
}

/**
 * Problems of the caller-settable identity fields of a draft the recorder
 * built (`event_id`, `trace_id`). Never throws.
 */
export function checkCallerIds(header: Record<string, unknown>): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  if (!isUuid(header.event_id)) {
    issues.push({
      path: 'header.event_id',
      rule: 'uuid',
      message: `event_id must be a UUID string like 0190f3a2-7c1e-7b3d-9a4f-2c8e5d6b1a09 (got ${shown(header.event_id)})`,
    });
  }
  const t = header.trace_id;
  if (typeof t !== 'string' || t.length === 0 || t.length > MAX_TRACE_ID) {
    issues.push({
      path: 'header.trace_id',
      rule: 'string',
      message: `trace_id must be a non-empty string of at most ${MAX_TRACE_ID} characters (got ${typeof t === 'string' ? `${t.length} characters` : shown(t)})`,
    });
  }
  return issues;
}

// Canonical JSON (RFC 8785) escapes neither `_` nor letters, so such a key is spelled exactly so.
// One regex scan: measured 2–8× faster here than `includes('"__proto__"')`, whose closing quote
// (the most common character of JSON) defeats the substring search's skip table.
const FORBIDDEN_TEXT_RE = /"(?:__proto__|prototype)"/;

/** Whether canonical JSON text may hold a forbidden key (cheap; {@link findForbiddenKey} decides). */
export function mayHoldForbiddenKey(canonicalText: string): boolean {
  return FORBIDDEN_TEXT_RE.test(canonicalText);
}

/**
 * The path of the first `__proto__` key, or `constructor` key holding a
 * `prototype` key, in `value` (plain data), as a `forbidden-key` issue.
 */
export function findForbiddenKey(value: unknown, root: string): ValidationIssue | undefined {
  const at = walk(value, root, 0);
  if (at === undefined) return undefined;
  return {
    path: at,
    rule: 'forbidden-key',
    message: at.endsWith('__proto__')
      ? 'the key "__proto__" is not allowed in an event (prototype pollution in consumers that merge it)'
      : 'a "constructor" key holding a "prototype" key is not allowed in an event (prototype pollution in consumers that merge it)',
  };
}

function walk(v: unknown, path: string, depth: number): string | undefined {
  if (v === null || typeof v !== 'object' || depth > MAX_DEPTH) return undefined;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const f = walk(v[i], `${path}[${i}]`, depth + 1);
      if (f !== undefined) return f;
    }
    return undefined;
  }
  for (const k of Object.keys(v)) {
    const child = (v as Record<string, unknown>)[k];
    if (k === '__proto__') return `${path}.__proto__`;
    if (
      k === 'constructor' &&
      child !== null &&
      typeof child === 'object' &&
      Object.hasOwn(child, 'prototype')
    ) {
      return `${path}.constructor.prototype`;
    }
    const f = walk(child, `${path}.${k}`, depth + 1);
    if (f !== undefined) return f;
  }
  return undefined;
}
