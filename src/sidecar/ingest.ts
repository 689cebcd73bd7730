/**
 * The ingest path of `POST /vcp/log`, up to the commit queue:
 *
 *   body → strict JSON (or NDJSON), parsed once → per event: validate →
 *   EventHash → client hash check → security block → size check
 *
 * Each event's own text is kept (sliced from the body) so the store can
 * write it as received instead of serialising the event again.
 *
 * All-or-nothing per request: every problem of every item is collected and
 * the request is refused with one 400 (or 413) naming each field and rule;
 * nothing of it reaches the store. Dedup, index assignment and durability
 * are the commit queue's job (writer.ts).
 */
import { isUtf8 } from 'node:buffer';
import { HASH_ALGOS, type HashAlgo } from '../core/enums.ts';
import { type ValidationIssue, VcpCanonicalizationError, VcpValidationError } from '../core/errors.ts';
import type { VcpEvent } from '../core/types.ts';
import { validateEvent } from '../core/validate.ts';
import { canonicalize } from '../integrity/canonical.ts';
import { canonicalTextsOf } from '../integrity/canonical-span.ts';
import { computeEventHash, eventHashOfCanonical } from '../integrity/event-hash.ts';
import { EVENT_MAX_KEYS_PER_OBJECT, mayBreakStructure, structureIssue } from '../integrity/event-shape.ts';
import { prescanJsonBytes } from '../integrity/json-prescan.ts';
import { type SealedTexts, sealedTexts } from '../integrity/sealed-mark.ts';
import { MAX_JSON_DEPTH, MAX_JSON_KEYS, parseJsonStrict } from '../integrity/strict-json.ts';
import { findForbiddenKey, mayHoldForbiddenKey } from '../recorder/caller-fields.ts';
import { ELEMENT_PARSE_MIN_BYTES, parseArrayElements } from './array-body-elements.ts';
import { HttpError, validationError } from './http.ts';

/** How a body is framed. */
export type BodyKind = 'json' | 'ndjson';

const NDJSON_TYPES = new Set([
  'application/x-ndjson',
  'application/ndjson',
  'application/jsonl',
  'application/x-jsonlines',
  'application/jsonlines',
]);

/**
 * Body framing from a Content-Type header; 415 for anything else, a missing
 * header included. Besides clarity this blocks cross-site request forgery:
 * a web page can make a browser POST `text/plain`, form types or no type at
 * all to a loopback sidecar without asking, but never `application/json`.
 */
export function bodyKindOf(contentType: string | undefined): BodyKind {
  if (contentType === undefined || contentType.trim() === '') {
    throw new HttpError(
      415,
      'unsupported_media_type',
      'Content-Type is required: application/json or application/x-ndjson',
    );
  }
  const mime = contentType.split(';', 1)[0]!.trim().toLowerCase();
  if (mime === 'application/json' || (mime.startsWith('application/') && mime.endsWith('+json')))
    return 'json';
  if (NDJSON_TYPES.has(mime)) return 'ndjson';
  throw new HttpError(
    415,
    'unsupported_media_type',
    `Content-Type ${mime} is not accepted; send application/json (one event or an array) or application/x-ndjson`,
  );
}

/** A parsed request body: its items, each item's JSON text, and whether it was a batch (array or NDJSON). */
export interface ParsedBody {
  items: unknown[];
  /** The text of each item as received (one line: newlines between tokens become spaces). */
  raws: string[];
  batch: boolean;
  /**
   * When every item's text is a slice of the body as it is (a JSON array with no line breaks, NDJSON
   * with no CR inside a line): where each starts and ends in the decoded body
   * (`[start0, end0, start1, end1, …]`, UTF-16 offsets; in an ASCII body also byte offsets).
   */
  spans?: Int32Array;
  /**
   * Per item, where in its `raws` text the event's header and payload stand as their RFC 8785 text
   * (`[headerStart, headerEnd, payloadStart, payloadEnd]`, -1 where not; see canonical-span.ts).
   */
  canonicalParts?: number[];
  /**
   * Instead of `raws` (then unread): each item's line is made from the RFC 8785 header and payload
   * texts its EventHash is computed over. For items that are objects with no text of their own (the
   * embedded store): the line stored is then the hashed text by construction.
   */
  lineFromCanonical?: (item: number, headerJcs: string, payloadJcs: string) => string;
}

/** A line holding nothing but JSON whitespace (an NDJSON line to skip). */
const JSON_BLANK_RE = /^[ \t\r]*$/;

/** JSON allows newlines only between tokens; the store's records are one line each. */
function oneLine(text: string): string {
  return text.indexOf('\n') === -1 && text.indexOf('\r') === -1 ? text : text.replace(/[\r\n]/g, ' ');
}

/** Limits {@link parseLogBody} and {@link prepareEvents} apply. */
export interface IngestLimits {
  maxBatchEvents: number;
  maxEventBytes: number;
}

function tooManyEvents(n: number | undefined, limit: number): HttpError {
  return new HttpError(
    413,
    'payload_too_large',
    `${n ?? `more than ${limit}`} events in one request; at most ${limit} are accepted`,
    {
      limit,
      what: 'batch',
    },
  );
}

/** Decode and parse a body. Throws 400 (malformed, duplicate keys, not UTF-8, empty) or 413 (too many events). */
export function parseLogBody(
  body: Buffer,
  kind: BodyKind,
  limits: Pick<IngestLimits, 'maxBatchEvents'> & Partial<Pick<IngestLimits, 'maxEventBytes'>>,
): ParsedBody {
  const parseLimits = {
    maxBatchEvents: limits.maxBatchEvents,
    maxEventBytes: limits.maxEventBytes ?? body.length,
  };
  if (body.length > PRESCAN_MIN_BYTES) {
    // A large body's limits are checked on its bytes first: a hostile one is refused before it is decoded.
    try {
      prescanJsonBytes(body, {
        maxDepth: bodyDepth(kind === 'json' && opensArray(body)),
        maxKeysPerObject: EVENT_MAX_KEYS_PER_OBJECT,
        maxKeys: MAX_JSON_KEYS,
        maxStringLength: parseLimits.maxEventBytes,
        maxItems: kind === 'json' ? parseLimits.maxBatchEvents : Number.POSITIVE_INFINITY,
      });
    } catch (e) {
      throw parseRefusal(e, '', parseLimits);
    }
  }
  if (!isUtf8(body)) {
    throw validationError([{ path: '', rule: 'utf8', message: 'the body is not valid UTF-8' }]);
  }
  if (kind === 'json') {
    const byElement = body.length >= ELEMENT_PARSE_MIN_BYTES ? parsedByElement(body, parseLimits) : undefined;
    if (byElement) return byElement;
    const text = body.toString('utf8');
    if (text.trim() === '')
      throw validationError([{ path: '', rule: 'required', message: 'the body is empty' }]);
    const { value, elements, canonicalParts } = parseJson(
      text,
      '',
      parseLimits,
      undefined,
      bodyDepth(opensArray(body)),
    );
    if (Array.isArray(value)) {
      if (value.length === 0)
        throw validationError([{ path: '', rule: 'non-empty', message: 'the batch is empty' }]);
      if (value.length > limits.maxBatchEvents) throw tooManyEvents(value.length, limits.maxBatchEvents);
      const raws = new Array<string>(value.length);
      // One look at the whole body spares a look at each item when it has no line breaks at all.
      const flat = text.indexOf('\n') === -1 && text.indexOf('\r') === -1;
      const spans = flat ? new Int32Array(2 * value.length) : undefined;
      for (let k = 0; k < value.length; k++) {
        const [from, to] = elements![k]!;
        const raw = text.slice(from, to);
        raws[k] = flat ? raw : oneLine(raw); // oneLine keeps every offset
        if (spans) {
          spans[2 * k] = from;
          spans[2 * k + 1] = to;
        }
        if (canonicalParts) shiftParts(canonicalParts, k, from);
      }
      const out: ParsedBody = spans
        ? { items: value, raws, batch: true, spans }
        : { items: value, raws, batch: true };
      if (canonicalParts) out.canonicalParts = canonicalParts;
      return out;
    }
    const out: ParsedBody = { items: [value], raws: [oneLine(text.trim())], batch: false };
    if (canonicalParts) out.canonicalParts = shiftParts(canonicalParts, 0, leadingSpace(text));
    return out;
  }
  const items: unknown[] = [];
  const raws: string[] = [];
  const parts: number[] = [];
  const issues: ValidationIssue[] = [];
  // Each item's [start, end) in the text while every item is a slice of it as it is (no CR inside a line).
  let spans: number[] | undefined = [];
  // Each line is decoded on its own (a newline byte is never part of a UTF-8 sequence): no string of the
  // body's size, which V8 would map fresh for a large body (array-body-elements.ts says what that costs).
  let lineStart = 0; // where the line starts in the decoded body (UTF-16 offset)
  let byteStart = 0;
  for (let n = 0; byteStart <= body.length; n++) {
    const newline = body.indexOf(0x0a, byteStart);
    const byteEnd = newline === -1 ? body.length : newline;
    const text = body.toString('utf8', byteStart, byteEnd);
    byteStart = byteEnd + 1;
    const start = lineStart;
    lineStart += text.length + 1;
    const line = text.endsWith('\r') ? text.slice(0, -1) : text;
    // Blank means JSON whitespace only: `trim()` would also skip a line of NBSP or U+3000 (not JSON) silently.
    if (JSON_BLANK_RE.test(line)) continue;
    if (items.length === limits.maxBatchEvents) throw tooManyEvents(items.length + 1, limits.maxBatchEvents);
    try {
      const parsed = parseJson(line, `[${items.length}]`, parseLimits, n + 1);
      items.push(parsed.value);
      // An array on a line is one (refused) item: the parts of its elements are not this item's.
      const cp = Array.isArray(parsed.value) ? undefined : parsed.canonicalParts;
      if (cp) shiftParts(cp, 0, leadingSpace(line));
      parts.push(cp?.[0] ?? -1, cp?.[1] ?? -1, cp?.[2] ?? -1, cp?.[3] ?? -1);
      const trimmed = line.trim();
      // A CR between tokens becomes a space, as in a JSON array: a record is one line for every reader.
      raws.push(oneLine(trimmed));
      if (spans) {
        if (trimmed.indexOf('\r') !== -1) spans = undefined;
        else {
          const from = start + line.length - line.trimStart().length;
          spans.push(from, from + trimmed.length);
        }
      }
    } catch (e) {
      // An oversized line refuses the whole body with 413, as in a JSON array; other refusals are collected.
      if (!(e instanceof HttpError) || e.status === 413) throw e;
      issues.push(...((e.extra.errors as ValidationIssue[]) ?? []));
      items.push(undefined);
      raws.push('');
      parts.push(-1, -1, -1, -1);
      spans = undefined;
    }
  }
  if (issues.length) throw validationError(issues);
  if (items.length === 0)
    throw validationError([{ path: '', rule: 'non-empty', message: 'the body holds no events' }]);
  const out: ParsedBody = spans
    ? { items, raws, batch: true, spans: Int32Array.from(spans) }
    : { items, raws, batch: true };
  out.canonicalParts = parts;
  return out;
}

/**
 * A large JSON array body parsed one element at a time (array-body-elements.ts: no string of the
 * body's size), or undefined to parse it whole, as every body it does not clear is.
 */
function parsedByElement(
  body: Buffer,
  limits: Pick<IngestLimits, 'maxBatchEvents' | 'maxEventBytes'>,
): ParsedBody | undefined {
  const parsed = parseArrayElements(body, {
    maxKeysPerObject: EVENT_MAX_KEYS_PER_OBJECT,
    maxStringLength: limits.maxEventBytes,
    maxItems: limits.maxBatchEvents,
  });
  if (!parsed) return undefined;
  const out: ParsedBody = {
    items: parsed.values,
    raws: parsed.lineBreaks ? parsed.texts.map(oneLine) : parsed.texts,
    batch: true,
    canonicalParts: parsed.canonicalParts,
  };
  // Spans name the items' texts as they stand in the body, so not when a line break was replaced.
  if (parsed.spans && !parsed.lineBreaks) out.spans = parsed.spans;
  return out;
}

/** JSON whitespace before the first token (what `trim()` takes off a text JSON.parse accepted). */
function leadingSpace(text: string): number {
  return text.length - text.trimStart().length;
}

/** Make item `k`'s canonical part offsets relative to its own text, which starts at `from` in the parsed one. */
function shiftParts(parts: number[], k: number, from: number): number[] {
  for (let q = 4 * k; q < 4 * k + 4; q++) if (parts[q]! >= 0) parts[q] = parts[q]! - from;
  return parts;
}

/** Bodies larger than this have their limits checked on the bytes before decoding (json-prescan.ts). */
export const PRESCAN_MIN_BYTES = 1024 * 1024;

/**
 * Nesting allowed in a body: an event may nest {@link MAX_JSON_DEPTH} levels (itself being level 1, as
 * `vcp verify` counts in an exported line), and a JSON array of events adds one level above them.
 */
function bodyDepth(arrayBody: boolean): number {
  return arrayBody ? MAX_JSON_DEPTH + 1 : MAX_JSON_DEPTH;
}

/** Whether the first JSON token of `body` opens an array (JSON whitespace skipped). */
function opensArray(body: Buffer): boolean {
  for (const byte of body) {
    if (byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d) continue;
    return byte === 0x5b;
  }
  return false;
}

function parseJson(
  text: string,
  path: string,
  limits: Pick<IngestLimits, 'maxBatchEvents' | 'maxEventBytes'>,
  line?: number,
  maxDepth = MAX_JSON_DEPTH,
): ReturnType<typeof parseJsonStrict> {
  try {
    // The parser's limits refuse hostile shapes (depth, key counts, string length) before JSON.parse runs.
    return parseJsonStrict(text, {
      maxDepth,
      maxKeysPerObject: EVENT_MAX_KEYS_PER_OBJECT,
      maxStringLength: limits.maxEventBytes,
      maxItems: limits.maxBatchEvents,
      canonicalParts: true,
    });
  } catch (e) {
    throw parseRefusal(e, path, limits, line);
  }
}

/** The HTTP answer for a parser refusal: 413 for the size limits, else 400 naming each path and rule. */
function parseRefusal(
  e: unknown,
  path: string,
  limits: Pick<IngestLimits, 'maxBatchEvents' | 'maxEventBytes'>,
  line?: number,
): unknown {
  if (!(e instanceof VcpValidationError)) return e;
  if (e.rule === 'max-items') return tooManyEvents(undefined, limits.maxBatchEvents);
  if (e.rule === 'max-string-length') {
    // A string longer than an event may be: the event is too large (413), named as prepareEvents names it.
    const item = path || (/^\[\d+\]/.exec(e.path)?.[0] ?? '');
    return new HttpError(
      413,
      'payload_too_large',
      `${item ? `event ${item}` : 'the event'} holds a string longer than the ${limits.maxEventBytes} bytes an event may have (at ${path}${e.path || '(root)'})`,
      { limit: limits.maxEventBytes, what: 'event', path: item },
    );
  }
  const where = line !== undefined ? `line ${line}: ` : '';
  return validationError(
    e.issues.map((i) => ({
      path: path + (i.path && path && !i.path.startsWith('[') ? '.' : '') + i.path,
      rule: i.rule,
      message: where + i.message,
    })),
  );
}

/** One event ready for the commit queue. */
export interface PreparedEvent {
  /** Position in the request (0 for a single event). */
  position: number;
  /** `event_id` as sent. */
  eventId: string;
  /** Dedup key: the id in lowercase (UUIDs compare case-insensitively). */
  key: string;
  eventHash: string;
  /**
   * The event as it will be stored (its `security` is {@link security}). From an ingest thread
   * (ingest-pool.ts) it is parsed from `raw` only when something reads it: the file store writes
   * `raw` and `security` and never needs it.
   */
  readonly event: VcpEvent;
  /** The security block the sidecar stores (`event.security`); `merkle_index` is set at commit. */
  readonly security: VcpEvent['security'];
  /**
   * The event's text as received (its `security` is superseded by {@link security}); for items given
   * as objects (`ParsedBody.lineFromCanonical`, the embedded store), the line built from the canonical
   * texts its EventHash covers.
   */
  readonly raw: string;
  warnings: ValidationIssue[];
}

/** Options of {@link prepareEvents}. */
export interface PrepareOptions extends IngestLimits {
  strict: boolean;
}

// In a `u` regex a well-formed pair is one code point: only lone surrogates match.
const LONE_SURROGATE_RE = /[\ud800-\udfff]/u;
// Valid UTF-8 holds no surrogates, so in a body text they can only come from \uD800–\uDFFF escapes.
const SURROGATE_ESCAPE_RE = /\\u[dD][89a-fA-F]/;
/**
 * The members an event may have (docs/sidecar-api.md). `vcp verify` refuses an exported event line holding any
 * other beside `header` as ambiguous (`shadow-keys`, INVALID, and every later leaf then looks moved), so the
 * sidecar must never acknowledge one.
 */
const EVENT_MEMBERS = new Set(['header', 'payload', 'policy_identification', 'security']);
// Fields the sidecar assigns; a client's values are dropped.
const SIDECAR_SECURITY_FIELDS = new Set(['merkle_index', 'merkle_root', 'anchor_reference', 'partition']);

/**
 * Validate and hash every item; all-or-nothing. Throws a 400 listing every
 * bad field (with `[i].` paths for batches), or a 413 for an oversized event.
 */
export function prepareEvents(parsed: ParsedBody, options: PrepareOptions): PreparedEvent[] {
  const out: PreparedEvent[] = [];
  const issues: ValidationIssue[] = [];
  const seen = new Map<string, number>();
  let tooLarge: HttpError | undefined;
  const lineFromCanonical = parsed.lineFromCanonical;
  for (let i = 0; i < parsed.items.length; i++) {
    const pfx = parsed.batch ? `[${i}].` : '';
    const item = parsed.items[i];
    // An object our sealer marked: the parse of the texts it hashed stands in for the event's header and
    // payload objects (which code may have changed since), so the event is checked and stored as the
    // sidecar checks and stores the same line, and the mark's hash spares hashing it again.
    const sealed = lineFromCanonical !== undefined ? sealedTexts(item) : undefined;
    const subject = sealed === undefined ? item : withSealedParts(item as Record<string, unknown>, sealed);
    const { errors, warnings } = validateEvent(subject, { pathPrefix: pfx });
    if (errors.length) {
      issues.push(...errors);
      continue;
    }
    const ev = subject as Record<string, unknown> & {
      header: Record<string, unknown>;
      payload: Record<string, unknown>;
    };
    const clientSec = ev.security as Record<string, unknown> | undefined;
    const headerAlgo = ev.header.hash_algo as HashAlgo | undefined;
    const secAlgo = clientSec?.hash_algo as HashAlgo | undefined;
    if (headerAlgo !== undefined && secAlgo !== undefined && headerAlgo !== secAlgo) {
      issues.push({
        path: `${pfx}security.hash_algo`,
        rule: 'hash-algo',
        message: `security.hash_algo ${secAlgo} differs from header.hash_algo ${headerAlgo}`,
      });
      continue;
    }
    const algo: HashAlgo = secAlgo ?? headerAlgo ?? 'SHA256';
    if (!HASH_ALGOS.includes(algo)) continue; // validateEvent already reported it
    const prev = clientSec?.prev_hash as string | undefined;
    let texts: [string, string] | undefined;
    let hash: string;
    try {
      if (lineFromCanonical === undefined) {
        // Lines our recorder wrote hold header and payload as the RFC 8785 text it hashed: the parser found
        // them (canonical-span.ts), and slices of the line as received are hashed instead of writing both again.
        // The body was checked as UTF-8 and decoded from it: no lone surrogate to look for.
        const own = canonicalTextsOf(parsed.raws[i]!, parsed.canonicalParts, i, true);
        hash =
          own === undefined
            ? computeEventHash({ header: ev.header, payload: ev.payload }, { algo, prevHash: prev })
            : eventHashOfCanonical(own[0], own[1], { algo, prevHash: prev });
      } else if (sealed !== undefined) {
        // RFC 8785 text parsed and written again is the same text: the mark's texts are the canonical form.
        texts = [sealed.headerJcs, sealed.payloadJcs];
        hash =
          algo === sealed.algo && prev === sealed.prevHash
            ? sealed.eventHash
            : eventHashOfCanonical(texts[0], texts[1], { algo, prevHash: prev });
      } else {
        texts = [canonicalize(ev.header), canonicalize(ev.payload)];
        hash = eventHashOfCanonical(texts[0], texts[1], { algo, prevHash: prev });
      }
    } catch (e) {
      issues.push(hashIssue(e, ev, pfx));
      continue;
    }
    if (clientSec?.event_hash !== undefined && clientSec.event_hash !== hash) {
      issues.push({
        path: `${pfx}security.event_hash`,
        rule: 'event-hash',
        message: `security.event_hash does not match the event: the sidecar computes ${hash} (v1.1 §6.1: ${algo} over JCS(header) ‖ JCS(payload)${prev ? ' ‖ prev_hash' : ''})`,
      });
      continue;
    }
    const eventId = ev.header.event_id as string;
    const key = eventId.toLowerCase();
    const first = seen.get(key);
    if (first !== undefined) {
      issues.push({
        path: `${pfx}header.event_id`,
        rule: 'duplicate-in-batch',
        message: `event_id ${eventId} also appears at [${first}] of this batch`,
      });
      continue;
    }
    seen.set(key, i);
    if (options.strict && warnings.length) {
      issues.push(...warnings);
      continue;
    }

    // The stored event: the client's fields (order kept), then `security` last with the sidecar's fields.
    const security: Record<string, unknown> = {};
    if (clientSec) copyMembers(clientSec, security, SIDECAR_SECURITY_FIELDS);
    security.event_hash = hash;
    security.hash_algo = algo;
    const stored: Record<string, unknown> = {};
    copyMembers(ev, stored, EVENT_SECURITY);
    stored.security = security;
    const event = stored as unknown as VcpEvent;
    let raw: string;
    if (texts === undefined) raw = parsed.raws[i]!;
    else {
      raw = lineFromCanonical!(i, texts[0], texts[1]);
      // Objects never went through the strict parser, which refuses these keys and shapes in a body: check
      // them here (`vcp verify` refuses a line breaking them, so the store must never take it).
      const refused =
        (mayHoldForbiddenKey(raw) ? forbiddenKeyIn(ev, pfx) : undefined) ??
        (mayBreakStructure(raw, 1) ? structureIssue(ev, pfx.slice(0, -1), 1) : undefined);
      if (refused !== undefined) {
        issues.push(refused);
        continue;
      }
    }
    // Header and payload passed canonicalisation (which refuses lone surrogates); check the rest.
    // Most events hold no `\u` escape at all: one indexOf instead of the regex.
    const bad =
      raw.indexOf('\\u') !== -1 && SURROGATE_ESCAPE_RE.test(raw)
        ? loneSurrogateAt(event as unknown as Record<string, unknown>, pfx)
        : undefined;
    if (bad !== undefined) {
      issues.push({
        path: bad,
        rule: 'unicode',
        message: 'a string holds a lone UTF-16 surrogate (\\udXXX); audit data must be valid Unicode',
      });
      continue;
    }
    const stray = strayMembers(ev, pfx);
    if (stray) {
      issues.push(...stray);
      continue;
    }
    // A UTF-16 unit takes at most 3 bytes in UTF-8: a short text needs no byte count.
    const bytes = raw.length * 3 <= options.maxEventBytes ? 0 : Buffer.byteLength(raw);
    if (bytes > options.maxEventBytes) {
      tooLarge ??= new HttpError(
        413,
        'payload_too_large',
        `${pfx ? `event ${pfx.slice(0, -1)}` : 'the event'} is ${bytes} bytes as stored; at most ${options.maxEventBytes} are accepted`,
        { limit: options.maxEventBytes, what: 'event', path: pfx.slice(0, -1) },
      );
      continue;
    }
    out.push({ position: i, eventId, key, eventHash: hash, event, security: event.security, raw, warnings });
  }
  if (issues.length) throw validationError(issues);
  if (tooLarge) throw tooLarge;
  return out;
}

const EVENT_SECURITY = new Set(['security']);

/** The event with its header and payload parsed from the texts the sealer hashed; its other members as they are. */
function withSealedParts(item: Record<string, unknown>, sealed: SealedTexts): Record<string, unknown> {
  return { ...item, header: JSON.parse(sealed.headerJcs), payload: JSON.parse(sealed.payloadJcs) };
}

/** The first `__proto__` or `constructor.prototype` key in an event's members, as a `forbidden-key` issue. */
function forbiddenKeyIn(ev: Record<string, unknown>, pfx: string): ValidationIssue | undefined {
  for (const k of Object.keys(ev)) {
    const found = findForbiddenKey(ev[k], `${pfx}${k}`);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Copy `from`'s own enumerable members into `to`, in order, except the keys in `skip`. */
function copyMembers(from: Record<string, unknown>, to: Record<string, unknown>, skip: Set<string>): void {
  for (const k of Object.keys(from)) {
    if (skip.has(k)) continue;
    // An own `__proto__` key (JSON.parse makes one) must stay a key: assigning it would set the prototype.
    if (k === '__proto__')
      Object.defineProperty(to, k, { value: from[k], enumerable: true, writable: true, configurable: true });
    else to[k] = from[k];
  }
}

/** An issue for each top-level key of an event outside {@link EVENT_MEMBERS}; undefined when there is none. */
function strayMembers(ev: Record<string, unknown>, pfx: string): ValidationIssue[] | undefined {
  let out: ValidationIssue[] | undefined;
  for (const k of Object.keys(ev)) {
    if (EVENT_MEMBERS.has(k)) continue;
    out ??= [];
    out.push({
      path: `${pfx}${k}`,
      rule: 'unknown-field',
      message: `"${k.slice(0, 60)}" is not a member of an event ({header, payload, policy_identification?, security?}); vcp verify would refuse the stored event as ambiguous`,
    });
  }
  return out;
}

/** Explain why an event could not be hashed, naming the field. */
function hashIssue(e: unknown, ev: { header: unknown; payload: unknown }, pfx: string): ValidationIssue {
  if (e instanceof VcpCanonicalizationError) {
    let part = 'payload';
    try {
      canonicalize(ev.header);
    } catch {
      part = 'header';
    }
    const pointer = e.path.replace(/^\//, '').split('/').filter(Boolean).join('.');
    return {
      path: `${pfx}${part}${pointer ? `.${pointer}` : ''}`,
      rule: 'canonical-json',
      message: `cannot be canonicalised (RFC 8785): ${e.message}`,
    };
  }
  if (e instanceof VcpValidationError) {
    return { path: `${pfx}security.${e.path}`, rule: e.rule, message: e.message };
  }
  return { path: pfx.slice(0, -1), rule: 'hash', message: `cannot hash the event: ${(e as Error).message}` };
}

/** Path of the first lone surrogate outside header and payload (keys included), if any. */
function loneSurrogateAt(event: Record<string, unknown>, pfx: string): string | undefined {
  for (const [k, v] of Object.entries(event)) {
    if (k === 'header' || k === 'payload') continue;
    const found = walkForSurrogate(v, `${pfx}${k}`, LONE_SURROGATE_RE.test(k), 0);
    if (found !== undefined) return found;
  }
  return undefined;
}

function walkForSurrogate(v: unknown, path: string, keyBad: boolean, depth: number): string | undefined {
  if (keyBad) return path;
  if (typeof v === 'string') return LONE_SURROGATE_RE.test(v) ? path : undefined;
  if (v === null || typeof v !== 'object' || depth > 64) return undefined;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const f = walkForSurrogate(v[i], `${path}[${i}]`, false, depth + 1);
      if (f !== undefined) return f;
    }
    return undefined;
  }
  for (const [k, x] of Object.entries(v)) {
    const f = walkForSurrogate(x, `${path}.${k}`, LONE_SURROGATE_RE.test(k), depth + 1);
    if (f !== undefined) return f;
  }
  return undefined;
}
