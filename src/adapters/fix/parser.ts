/**
 * FIX tag=value parsing (FIX 4.x and FIXT.1.1 / 5.0SP2), strict where the
 * standard is strict and never throwing: every problem comes back as a
 * reason a person can act on.
 *
 * What is checked: BeginString (8), BodyLength (9) and MsgType (35) are the
 * first three fields; BodyLength equals the bytes between the end of field 9
 * and the start of `10=`; CheckSum (10) is three digits and equals the byte
 * sum mod 256; tags are positive integers; values are not empty; a tag
 * repeats only inside a repeating group (after a known NumInGroup field) and
 * header tags never repeat; length-prefixed data fields are read by length.
 *
 * Delimiters: SOH (0x01) on the wire, `|` in many logs. The first delimiter
 * after BeginString decides; for the CheckSum a `|` counts as SOH (its value
 * 1), so a log that shows SOH as `|` still verifies. A message that mixes the
 * two is refused.
 *
 * Bytes: the message is handled as a "binary string" (one char per byte,
 * latin1). Buffers are read that way; JS strings are tried as latin1 bytes
 * and as UTF-8 bytes, and the reading whose BodyLength and CheckSum hold is
 * used (a string decoded with either encoding verifies). Values that hold
 * valid UTF-8 are decoded as UTF-8; anything else stays latin1.
 */
import { DATA_LENGTH_TAGS, GROUP_COUNT_TAGS, NEVER_REPEAT_TAGS } from './dictionary.ts';

/** One field: tag number and value, in message order. */
export type FixField = readonly [tag: number, value: string];

/** A parsed, structurally valid FIX message. */
export interface FixMessage {
  /** BeginString (8): `FIX.4.2`, `FIX.4.4`, `FIXT.1.1`, … */
  readonly beginString: string;
  /** MsgType (35). */
  readonly msgType: string;
  /** Every field in order, repeating groups included (8, 9 and 10 too). */
  readonly fields: readonly FixField[];
  /** The delimiter the message used. */
  readonly delimiter: '\x01' | '|';
  /** Value of the first occurrence of `tag`, or `undefined`. */
  get(tag: number): string | undefined;
  /** Every value of `tag`, in order (several inside repeating groups). */
  getAll(tag: number): string[];
  /** True when `tag` occurs. */
  has(tag: number): boolean;
}

/** Why a message was refused. */
export type FixParseErrorCode =
  | 'empty'
  | 'too-large'
  | 'not-fix'
  | 'begin-string'
  | 'body-length'
  | 'msg-type'
  | 'bad-tag'
  | 'empty-value'
  | 'duplicate-tag'
  | 'mixed-delimiters'
  | 'data-length'
  | 'truncated'
  | 'checksum'
  | 'trailing-data';

/** A refusal: a stable code and a sentence saying what is wrong and where. */
export interface FixParseError {
  code: FixParseErrorCode;
  reason: string;
}

/** Outcome of {@link parseFixMessage}. */
export type FixParseResult = { ok: true; message: FixMessage } | { ok: false; error: FixParseError };

/** Options of {@link parseFixMessage}. */
export interface FixParseOptions {
  /** Longest message accepted, in bytes (default 1 MiB). */
  maxMessageBytes?: number;
  /** Extra NumInGroup tags (venue-specific groups) after which tags may repeat. */
  groupCountTags?: Iterable<number>;
  /** Accept any repeated tag (no group check). Default `false`. */
  allowDuplicateTags?: boolean;
  /**
   * Accept a message whose last field `10=nnn` is not followed by a
   * delimiter (many logs drop it). Default `true`.
   */
  allowMissingFinalDelimiter?: boolean;
}

/** Default largest message, bytes. */
export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;

const BEGIN_STRING_RE = /^FIXT?\.\d{1,2}\.\d{1,2}(?:SP\d)?$/;
const LONE_SURROGATE_RE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const MSG_TYPE_RE = /^[0-9A-Za-z]{1,4}$/;
const NON_ASCII_RE = /[^\x00-\x7f]/;
const HIGH_BYTE_RE = /[\x80-\xff]/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

class ParsedMessage implements FixMessage {
  readonly beginString: string;
  readonly msgType: string;
  readonly delimiter: '\x01' | '|';
  // Flat arrays: one allocation per message instead of one per field.
  readonly #tags: number[];
  readonly #values: string[];
  /** tag → index of its first occurrence. */
  readonly #first: Map<number, number>;
  #fields: FixField[] | undefined;

  constructor(
    beginString: string,
    msgType: string,
    tags: number[],
    values: string[],
    delimiter: '\x01' | '|',
    first: Map<number, number>,
  ) {
    this.beginString = beginString;
    this.msgType = msgType;
    this.#tags = tags;
    this.#values = values;
    this.delimiter = delimiter;
    this.#first = first;
  }

  get fields(): readonly FixField[] {
    if (!this.#fields) {
      const tags = this.#tags;
      const values = this.#values;
      this.#fields = tags.map((t, i): FixField => [t, values[i]!]);
    }
    return this.#fields;
  }

  get(tag: number): string | undefined {
    const i = this.#first.get(tag);
    return i === undefined ? undefined : this.#values[i];
  }

  getAll(tag: number): string[] {
    const out: string[] = [];
    const tags = this.#tags;
    for (let i = 0; i < tags.length; i++) if (tags[i] === tag) out.push(this.#values[i]!);
    return out;
  }

  has(tag: number): boolean {
    return this.#first.has(tag);
  }
}

function fail(code: FixParseErrorCode, reason: string): FixParseResult {
  return { ok: false, error: { code, reason } };
}

/** Printable excerpt of binary text for error messages (SOH shown as `|`). */
function show(text: string, max = 24): string {
  const cut = text.length > max ? `${text.slice(0, max)}…` : text;
  return cut
    .replace(/\x01/g, '|')
    .replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** Decode a value that holds UTF-8 (e.g. Text(58) in a UTF-8 log); keep latin1 otherwise. */
function decodeValue(value: string): string {
  if (!HIGH_BYTE_RE.test(value)) return value;
  try {
    return utf8.decode(Buffer.from(value, 'latin1'));
  } catch {
    return value;
  }
}

/** Parse one message given as a binary string (one char per byte). */
function parseBinary(s: string, options: FixParseOptions, ascii = false): FixParseResult {
  const n = s.length;
  const maxBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  if (n === 0) return fail('empty', 'empty message');
  if (n > maxBytes) return fail('too-large', `message is ${n} bytes, over the ${maxBytes}-byte limit`);
  if (s.charCodeAt(0) !== 56 /* 8 */ || s.charCodeAt(1) !== 61 /* = */) {
    return fail(
      'not-fix',
      `not a FIX message: it must begin with "8=" (BeginString), found "${show(s, 16)}"`,
    );
  }

  // The first delimiter after BeginString decides which one the message uses.
  let i = 2;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c === 1 || c === 124) break;
    i++;
  }
  if (i >= n) return fail('truncated', 'message ends inside BeginString (8): no field delimiter found');
  const delimiter: '\x01' | '|' = s.charCodeAt(i) === 1 ? '\x01' : '|';
  const dc = delimiter === '\x01' ? 1 : 124;
  const beginString = s.slice(2, i);
  if (!BEGIN_STRING_RE.test(beginString)) {
    return fail(
      'begin-string',
      `BeginString (8) "${show(beginString)}" is not a FIX version like FIX.4.4 or FIXT.1.1`,
    );
  }

  // BodyLength (9) must be the second field.
  let pos = i + 1;
  if (s.charCodeAt(pos) !== 57 /* 9 */ || s.charCodeAt(pos + 1) !== 61) {
    return fail(
      'body-length',
      `BodyLength (9) must be the second field; found "${show(s.slice(pos, pos + 16))}"`,
    );
  }
  const lenEnd = s.indexOf(delimiter, pos + 2);
  if (lenEnd === -1) return fail('truncated', 'message ends inside BodyLength (9)');
  const lenText = s.slice(pos + 2, lenEnd);
  if (!/^\d{1,9}$/.test(lenText)) {
    return fail('body-length', `BodyLength (9) "${show(lenText)}" is not a non-negative integer`);
  }
  const bodyLength = Number(lenText);
  const bodyStart = lenEnd + 1;

  const tags: number[] = [8, 9];
  const values: string[] = [beginString, lenText];
  const first = new Map<number, number>([
    [8, 0],
    [9, 1],
  ]);
  const extraGroups = options.groupCountTags ? new Set(options.groupCountTags) : undefined;
  const allowDup = options.allowDuplicateTags === true;
  const hasHigh = !ascii && HIGH_BYTE_RE.test(s);
  let firstGroupAt = -1; // index in `fields` of the first NumInGroup field with a count ≥ 1
  let dataTag = -1; // the data field announced by the previous length field
  let dataLength = 0;
  let checkStart = -1;

  pos = bodyStart;
  while (pos < n) {
    // Tag: digits up to '='.
    const tagStart = pos;
    let tag = 0;
    let c = s.charCodeAt(pos);
    while (c >= 48 && c <= 57 && pos - tagStart < 10) {
      tag = tag * 10 + (c - 48);
      pos++;
      c = s.charCodeAt(pos);
    }
    if (pos === n) {
      return fail(
        'truncated',
        `message ends inside a tag at byte ${tagStart}; no CheckSum (10) — truncated?`,
      );
    }
    if (c !== 61 /* = */ || pos === tagStart || s.charCodeAt(tagStart) === 48 /* leading 0 */) {
      const eq = s.indexOf('=', tagStart);
      const d = s.indexOf(delimiter, tagStart);
      if (eq === -1 || (d !== -1 && d < eq)) {
        const text = s.slice(tagStart, d === -1 ? n : d);
        return fail(
          'bad-tag',
          `field "${show(text)}" at byte ${tagStart} has no "=" (a tag=value pair was expected)`,
        );
      }
      return fail(
        'bad-tag',
        `tag "${show(s.slice(tagStart, eq))}" at byte ${tagStart} is not a positive integer`,
      );
    }
    pos++; // past '='

    if (tag === 10) {
      checkStart = tagStart;
      break;
    }

    // Value: by length for a data field, else up to the next delimiter.
    let value: string;
    if (tag === dataTag) {
      const end = pos + dataLength;
      if (end >= n || s.charCodeAt(end) !== dc) {
        return fail(
          'data-length',
          `data field ${tag} should hold ${dataLength} bytes followed by a delimiter, but does not`,
        );
      }
      value = s.slice(pos, end);
      pos = end + 1;
      dataTag = -1;
    } else {
      if (dataTag !== -1) {
        return fail('data-length', `length field announced data field ${dataTag}, but tag ${tag} follows`);
      }
      const end = s.indexOf(delimiter, pos);
      if (end === -1) {
        return fail(
          'truncated',
          `message ends inside the value of tag ${tag}; no CheckSum (10) — truncated?`,
        );
      }
      value = s.slice(pos, end);
      pos = end + 1;
      // In a '|' log an SOH can only mean mixed delimiters ('|' is an ordinary byte on the wire).
      if (dc === 124 && value.includes('\x01')) {
        return fail(
          'mixed-delimiters',
          `the value of tag ${tag} holds an SOH in a "|"-delimited message: delimiters are mixed`,
        );
      }
    }
    if (value.length === 0) return fail('empty-value', `tag ${tag} has an empty value`);
    if (hasHigh) value = decodeValue(value);

    if (first.has(tag)) {
      if (NEVER_REPEAT_TAGS.has(tag))
        return fail('duplicate-tag', `header tag ${tag} appears more than once`);
      const at = first.get(tag)!;
      if (!allowDup && (firstGroupAt === -1 || at < firstGroupAt)) {
        return fail(
          'duplicate-tag',
          `tag ${tag} appears more than once outside a repeating group (fields ${at + 1} and ${tags.length + 1})`,
        );
      }
    } else first.set(tag, tags.length);
    if (firstGroupAt === -1 && (GROUP_COUNT_TAGS.has(tag) || extraGroups?.has(tag)) && value !== '0') {
      firstGroupAt = tags.length;
    }
    const announced = DATA_LENGTH_TAGS.get(tag);
    if (announced !== undefined) {
      if (!/^\d{1,9}$/.test(value))
        return fail('data-length', `length field ${tag} "${show(value)}" is not a length`);
      dataTag = announced;
      dataLength = Number(value);
    }
    tags.push(tag);
    values.push(value);
  }

  if (checkStart === -1) return fail('truncated', 'message ends without CheckSum (10) — truncated?');
  if (dataTag !== -1)
    return fail('data-length', `length field announced data field ${dataTag}, but CheckSum (10) follows`);

  // MsgType (35) must be the first field of the body.
  if (tags.length < 3 || tags[2] !== 35) {
    return fail(
      'msg-type',
      first.has(35)
        ? `MsgType (35) must be the third field; found tag ${tags[2]} there`
        : 'MsgType (35) is missing',
    );
  }
  const msgType = values[2]!;
  if (!MSG_TYPE_RE.test(msgType)) {
    return fail(
      msgType.includes('|') ? 'mixed-delimiters' : 'msg-type',
      msgType.includes('|')
        ? `MsgType (35) "${show(msgType)}" holds "|" in an SOH-delimited message: delimiters are mixed`
        : `MsgType (35) "${show(msgType)}" is not a message type`,
    );
  }

  // BodyLength: bytes from after field 9 up to and including the delimiter before "10=".
  const actual = checkStart - bodyStart;
  // In an SOH message, "|<tag>=" between fields means a log mixed the two delimiters; say so
  // rather than only that the lengths or sums disagree.
  const mixed = () => dc === 1 && /\|\d{1,9}=/.test(s);
  const mixedReason = 'an SOH-delimited message holds "|<tag>=" between fields: delimiters are mixed';
  if (actual !== bodyLength) {
    if (mixed()) return fail('mixed-delimiters', `${mixedReason} (and BodyLength does not hold)`);
    return fail('body-length', `BodyLength (9) is ${bodyLength} but the body is ${actual} bytes`);
  }

  // CheckSum: exactly three digits, then a delimiter (or the end, when allowed), then nothing.
  const csText = s.slice(pos, pos + 3);
  if (!/^\d{3}$/.test(csText)) {
    return fail('checksum', `CheckSum (10) "${show(s.slice(pos, pos + 8))}" is not three digits`);
  }
  let after = pos + 3;
  if (after < n) {
    if (s.charCodeAt(after) !== dc) {
      return fail(
        'checksum',
        `CheckSum (10) "${show(s.slice(pos, pos + 8))}" is not three digits followed by a delimiter`,
      );
    }
    after++;
  } else if (options.allowMissingFinalDelimiter === false) {
    return fail('truncated', 'the delimiter after CheckSum (10) is missing');
  }
  if (after < n)
    return fail('trailing-data', `${n - after} bytes follow CheckSum (10): "${show(s.slice(after))}"`);

  let sum = 0;
  if (dc === 1) {
    for (let k = 0; k < checkStart; k++) sum += s.charCodeAt(k);
  } else {
    // A '|' stands for SOH (value 1) in a '|'-delimited log.
    for (let k = 0; k < checkStart; k++) {
      const ch = s.charCodeAt(k);
      sum += ch === 124 ? 1 : ch;
    }
  }
  const expected = sum % 256;
  if (Number(csText) !== expected) {
    if (mixed()) return fail('mixed-delimiters', `${mixedReason} (and CheckSum does not hold)`);
    return fail(
      'checksum',
      `CheckSum (10) is ${csText} but the message sums to ${String(expected).padStart(3, '0')}`,
    );
  }

  first.set(10, tags.length);
  tags.push(10);
  values.push(csText);
  return { ok: true, message: new ParsedMessage(beginString, msgType, tags, values, delimiter, first) };
}

/**
 * Parse one FIX message (SOH or `|` delimited). Never throws: a refusal says
 * why (`code` + `reason`). See the module comment for what is checked.
 */
export function parseFixMessage(input: string | Uint8Array, options: FixParseOptions = {}): FixParseResult {
  if (typeof input !== 'string') {
    if (!(input instanceof Uint8Array)) {
      return fail('not-fix', `expected a string or bytes, got ${input === null ? 'null' : typeof input}`);
    }
    const max = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    if (input.length > max)
      return fail('too-large', `message is ${input.length} bytes, over the ${max}-byte limit`);
    return parseBinary(
      Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('latin1'),
      options,
    );
  }
  if (!NON_ASCII_RE.test(input)) return parseBinary(input, options, true);
  // Non-ASCII text: the string may hold bytes (latin1) or decoded UTF-8 text; the reading whose
  // BodyLength and CheckSum hold wins.
  const asUtf8 = Buffer.from(input, 'utf8').toString('latin1');
  if (/[^\x00-\xff]/.test(input)) return parseBinary(asUtf8, options);
  const asBytes = parseBinary(input, options);
  if (asBytes.ok) return asBytes;
  const asText = parseBinary(asUtf8, options);
  return asText.ok ? asText : asBytes;
}

/**
 * Printable form of a raw message for events and error messages: SOH shown
 * as `|`, cut to `max` characters (with `…`).
 */
export function printableRaw(input: string | Uint8Array, max = 512): string {
  let text: string;
  if (typeof input === 'string') text = input.length > max * 4 ? input.slice(0, max * 4) : input;
  else if (input instanceof Uint8Array) {
    const head = input.subarray(0, max * 4);
    text = Buffer.from(head.buffer, head.byteOffset, head.byteLength).toString('latin1');
  } else text = String(input);
  const cut = text.length > max ? `${text.slice(0, max)}…` : text;
  // Lone surrogates (a JS string can hold them) cannot be canonical JSON: make the text well formed.
  return cut.replace(/\x01/g, '|').replace(LONE_SURROGATE_RE, '\ufffd');
}
