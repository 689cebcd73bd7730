/**
 * The structure limits every reader of an event applies, checked on events
 * built as objects.
 *
 * The sidecar parses request bodies with the strict parser's limits (nesting
 * at most {@link MAX_JSON_DEPTH} levels, at most {@link EVENT_MAX_KEYS_PER_OBJECT}
 * keys in one object), and `vcp verify` parses each exported line with the
 * same depth limit, the line's event object being level 1 (its key limit is
 * 10 000 per object, so the sidecar's is the one that binds). The recorder's
 * drafts and the events handed to the embedded store never meet that parser:
 * without this check, an event nested one level too deep was sealed and
 * written, and then refused by the sidecar or called unreadable by
 * `vcp verify`.
 */
import type { ValidationIssue } from '../core/errors.ts';
import { MAX_JSON_DEPTH } from './strict-json.ts';

/**
 * Most keys in one object of an event. Events hold a few dozen; a 100 000-key
 * object costs `JSON.parse` a second (objects that large fall back to slow
 * dictionary mode), so the sidecar refuses a body holding one before parsing it.
 */
export const EVENT_MAX_KEYS_PER_OBJECT = 1000;

// In JSON text a member takes at least 5 characters (`"":0,`): a shorter text cannot hold more keys than that.
const MIN_CHARS_PER_MEMBER = 5;

/**
 * Whether values at `level` whose JSON text is `text` (one value, or several joined) may break a limit:
 * nesting needs as many `{`/`[` in the text, and a large object as many characters. Most events are
 * cleared by this without a walk.
 */
export function mayBreakStructure(text: string, level: number): boolean {
  if (text.length > MIN_CHARS_PER_MEMBER * EVENT_MAX_KEYS_PER_OBJECT) return true;
  const allowed = MAX_JSON_DEPTH - level + 1;
  let count = 0;
  // Strings may hold these characters too: the count is an upper bound.
  for (let i = text.indexOf('{'); i !== -1; i = text.indexOf('{', i + 1)) if (++count > allowed) return true;
  for (let i = text.indexOf('['); i !== -1; i = text.indexOf('[', i + 1)) if (++count > allowed) return true;
  return false;
}

/**
 * Whether a value at `level` may break a limit, from the shape {@link canonicalize} reported for it
 * (`lastCanonicalShape`): the sealer's check, free where the text count costs a few indexOf calls.
 */
export function shapeMayBreak(shape: { depth: number; maxKeys: number }, level: number): boolean {
  return shape.depth + level - 1 > MAX_JSON_DEPTH || shape.maxKeys > EVENT_MAX_KEYS_PER_OBJECT;
}

/**
 * The first limit `value` breaks, as an issue at its path (rules `depth` and `max-keys`, as the
 * strict parser names them); undefined when it breaks none. `level` is the nesting level of `value`
 * itself in its event line (1 for the event, 2 for its header or payload). A walk of the whole value:
 * callers first ask {@link mayBreakStructure} or {@link shapeMayBreak}.
 */
export function structureIssue(value: unknown, path: string, level: number): ValidationIssue | undefined {
  return walk(value, path, level);
}

function walk(v: unknown, path: string, level: number): ValidationIssue | undefined {
  if (v === null || typeof v !== 'object') return undefined;
  if (level > MAX_JSON_DEPTH) {
    return {
      path,
      rule: 'depth',
      message: `nested deeper than ${MAX_JSON_DEPTH} levels (the event being level 1); the sidecar and vcp verify refuse it`,
    };
  }
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const found = walk(v[i], `${path}[${i}]`, level + 1);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  const keys = Object.keys(v);
  // Counted as JSON writes them: an undefined-valued key is absent.
  const written =
    keys.length > EVENT_MAX_KEYS_PER_OBJECT
      ? keys.filter((k) => (v as Record<string, unknown>)[k] !== undefined).length
      : keys.length;
  if (written > EVENT_MAX_KEYS_PER_OBJECT) {
    return {
      path,
      rule: 'max-keys',
      message: `${written} keys in one object; at most ${EVENT_MAX_KEYS_PER_OBJECT} are accepted (the sidecar refuses more)`,
    };
  }
  for (const k of keys) {
    const found = walk((v as Record<string, unknown>)[k], path ? `${path}.${k}` : k, level + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}
