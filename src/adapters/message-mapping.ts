/**
 * From a message on a log (Kafka record, Redis stream entry) to the type and
 * payload of a VCP event: the configurable mapping both taps share.
 *
 * A mapping is a plain function `(message) => MappedEvent | null`; `null`
 * skips the message on purpose (it is still acknowledged and counted). A
 * mapping that throws, or returns something that is not a valid event, makes
 * the tap record an `ERR_PARSE` event carrying the raw message (truncated)
 * instead: a poison message is recorded, acknowledged like the rest, and
 * never stalls its partition.
 *
 * The default mapping follows the integration guide (Pattern 3):
 *
 * | source | event | payload |
 * |---|---|---|
 * | topic `orders` | `ORD` | `trade_data`: `order_id`, `symbol`, `side` (required), `type` → `order_type`, `price`, `quantity`, and every other field as given |
 * | topic `executions` | `EXE` | `trade_data`: `order_id`, `price` → `execution_price`, `quantity` → `executed_qty` (required), `symbol`, `side`, and every other field |
 * | topic `errors` | the message's `type` (`ERR_*` or `ERR`; default `ERR_SYSTEM`) | `error_details`: `code` → `error_code`, `message` → `error_message` (both required), `severity` (default: the type's spec default), `component` → `affected_component` (default `unknown`), other fields kept |
 * | any other topic, every Redis stream | the record's `event_type` | `ERR_*`: `error_details` as above; otherwise `trade_data` = every other field, as given (the guide's Redis layout) |
 *
 * Kafka values are JSON objects. Numbers are kept exactly as written in the
 * message (`1.0850` → `"1.0850"`, `12345678901234567890` → the same digits):
 * the JSON is parsed with the source text of each number, so there is no
 * float noise and nothing is rounded; exponent forms (`1e5`) become plain
 * decimals (`"100000"`) through `toDecimalString`. Redis field values are
 * strings already and are kept as they are. A decimal field (`price`,
 * `quantity`, …) that is not a plain decimal string makes the event invalid,
 * hence an `ERR_PARSE`: values are never guessed.
 *
 * All events of one order share a trace: the default mapping reads the trace
 * key from `order_id` (option `traceField`), and the tap turns it into a
 * deterministic trace id (`traceIdFromKey`).
 */
import { isUtf8 } from 'node:buffer';
import { isDecimalString, toDecimalString } from '../core/decimal.ts';
import type { TimestampPrecision } from '../core/enums.ts';
import { SEVERITIES, type Severity } from '../core/enums.ts';
import { VcpValidationError } from '../core/errors.ts';
import {
  ERROR_DEFAULT_SEVERITY,
  type ErrorEventType,
  type EventType,
  isErrorEventType,
  isEventType,
} from '../core/event-types.ts';
import type { ErrorDetails, VcpPayload } from '../core/types.ts';

/** One message read from a log, in the form mappings receive it. */
export interface TapMessage {
  /** `kafka` or `redis`. */
  transport: string;
  /** Kafka topic, or Redis stream key. */
  topic: string;
  /** Kafka partition; 0 for a Redis stream. */
  partition: number;
  /** Kafka offset (decimal string), or Redis entry id (`1718000000000-0`). */
  offset: string;
  /** Kafka message key (Redis: undefined). */
  key: Buffer | undefined;
  /** Kafka message value (Redis: undefined; see `fields`). */
  value: Buffer | undefined;
  /**
   * Redis entry fields decoded as UTF-8 (invalid bytes become U+FFFD; the last of
   * repeated names wins; see `rawFields`), in a prototype-less object. Kafka: undefined.
   */
  fields: Readonly<Record<string, string>> | undefined;
  /** Redis entry fields exactly as stored, in order. Kafka: undefined. */
  rawFields: readonly (readonly [Buffer, Buffer])[] | undefined;
  /** Kafka headers decoded as UTF-8 (last wins), prototype-less. Redis: empty. */
  headers: Readonly<Record<string, string>>;
  /** Kafka record timestamp, or the ms part of the Redis entry id (Unix ms). */
  timestamp: number;
}

/** What a mapping returns for a message it turns into an event. */
export interface MappedEvent {
  eventType: EventType;
  payload: VcpPayload;
  /** Explicit trace id (wins over `traceKey`). */
  traceId?: string;
  /** Business key (order id) from which the tap derives the trace id. Absent: the event is its own trace. */
  traceKey?: string;
  /** Header `symbol` (default: `payload.trade_data.symbol`). */
  symbol?: string;
  venueId?: string;
  accountId?: string;
  operatorId?: string;
  /** Event time as ns since the epoch (decimal string). Default: the message timestamp. */
  timestampNs?: string;
  /** Precision declared for `timestampNs` (default `MILLISECOND`, what Kafka and Redis give). */
  precision?: TimestampPrecision;
}

/** Turns a message into an event, or `null`/`undefined` to skip it on purpose. Throwing records an `ERR_PARSE`. */
export type MessageMapping = (message: TapMessage) => MappedEvent | null | undefined;

/** Why a message could not be mapped; `errorCode` becomes `error_details.error_code` of the `ERR_PARSE` event. */
export class TapMappingError extends VcpValidationError {
  /** `INVALID_JSON`, `NOT_AN_OBJECT`, `MISSING_FIELD`, `UNKNOWN_EVENT_TYPE`, `INVALID_UTF8`, `DUPLICATE_FIELD`, … */
  readonly errorCode: string;

  constructor(errorCode: string, path: string, message: string) {
    super({ path, rule: errorCode.toLowerCase().replace(/_/g, '-'), message });
    this.errorCode = errorCode;
  }
}

/** How the default mapping reads a topic or stream. */
export type TopicLayout = 'orders' | 'executions' | 'errors' | 'event_type';

/** Options of {@link createDefaultMapping}. */
export interface DefaultMappingOptions {
  /**
   * Layout per topic/stream name. Default: `orders`, `executions` and `errors` as their names
   * say; every other topic or stream uses the `event_type` layout.
   */
  topics?: Readonly<Record<string, TopicLayout>>;
  /** Field holding the business key the trace id is derived from (default `order_id`). */
  traceField?: string;
}

/** The guide's three Kafka topics. */
export const GUIDE_TOPICS: Readonly<Record<string, TopicLayout>> = {
  orders: 'orders',
  executions: 'executions',
  errors: 'errors',
};

type Data = Record<string, unknown>;

function setOwn(target: Data, key: string, value: unknown): void {
  // defineProperty keeps a `__proto__` key as plain data instead of setting the prototype
  // (it is slow, so only for that key).
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else target[key] = value;
}

/**
 * A plain decimal token whose text a double would not give back: 16+ characters
 * of digits (≥ 16 significant digits), a fraction ending in 0 (`1.0850`), or
 * `-0`. Exponent forms need no source text: they become `toDecimalString` of
 * their value on either path. Anchored after `:`, `[` or `,` so that ids like
 * `ORD-001` inside strings rarely match; a match inside a string only costs
 * the slower exact parse, never a wrong value.
 */
const NEEDS_SOURCE_TEXT = /(?:^|[:[,])\s*(?:-?[\d.]{16}|-?\d+\.\d*0(?!\d)|-0(?![.\d]))/;

/** Numbers → decimal strings, in place (the fast path: every number here round-trips through a double). */
function numbersToStrings(value: unknown): unknown {
  if (typeof value === 'number') return toDecimalString(value);
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = numbersToStrings(value[i]);
    return value;
  }
  const obj = value as Data;
  for (const k of Object.keys(obj)) {
    const v = obj[k];
    if (typeof v === 'number' || (v !== null && typeof v === 'object')) obj[k] = numbersToStrings(v);
  }
  return obj;
}

/**
 * `text` (valid JSON) with every number token that is a plain decimal put in quotes: parsed, each
 * becomes the string of exactly the digits written, which is what the source-text reviver returns for
 * it. Tokens with an exponent (or over 64 characters) stay numbers, for the walk's `toDecimalString`,
 * as the reviver does too. Valid JSON has number tokens only in value positions and `-` or a digit
 * outside strings only in number tokens, so the scan tracks strings (and their escapes) alone, and
 * a number turned into a string leaves the text valid.
 */
function quoteDecimalNumbers(text: string): string {
  let out = '';
  let from = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // A string: to its closing quote, stepping over escapes (`\"` does not close it).
      for (i++; i < n; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      let end = i + 1;
      while (end < n && isNumberChar(text.charCodeAt(end))) end++;
      const token = text.slice(i, end);
      if (isDecimalString(token)) {
        out += text.slice(from, i) + '"' + token + '"';
        from = end;
      }
      i = end - 1;
    }
  }
  return from === 0 ? text : out + text.slice(from);
}

/** A character of a JSON number token: digits, `-`, `+`, `.`, `e`, `E`. */
function isNumberChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2b || c === 0x2e || c === 0x65 || c === 0x45;
}

/**
 * Parse JSON text with every number turned into a decimal string holding
 * exactly the digits written (see the module comment). Throws
 * {@link TapMappingError} `INVALID_JSON` with the parser's reason.
 *
 * Most messages carry numbers a double represents exactly as written
 * (`1.085`, `100000`): those take plain `JSON.parse` and a walk. Text with a
 * number that would not survive a double (`1.0850`, 17 digits, float noise
 * such as `1.0859000000000001`) is parsed a second time with its decimal
 * numbers quoted ({@link quoteDecimalNumbers}); the first parse proved the
 * text valid JSON, which the quoting relies on. That gives what a
 * `JSON.parse` reviver reading each number's source text gives (the tests
 * hold the two equal), in two thirds of its time (2.0 against 3.1 µs for an order here).
 */
export function parseJsonExact(text: string): unknown {
  try {
    const parsed = JSON.parse(text);
    if (!NEEDS_SOURCE_TEXT.test(text)) return numbersToStrings(parsed);
    return numbersToStrings(JSON.parse(quoteDecimalNumbers(text)));
  } catch (e) {
    if (e instanceof VcpValidationError) {
      throw new TapMappingError('INVALID_NUMBER', e.path || 'value', e.message);
    }
    throw new TapMappingError('INVALID_JSON', 'value', `not valid JSON: ${(e as Error).message}`);
  }
}

function isPlainObject(v: unknown): v is Data {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Longest field decoded byte by byte in JS; longer ones go to Buffer's UTF-8 decoder. */
const SHORT_FIELD = 32;

/**
 * A Redis field's bytes as text, or undefined when they are not UTF-8. Most names and values are a
 * few ASCII bytes, which a JS loop turns into a string faster than a call into Buffer's decoder
 * (0.7 against 1.1 µs for the 7 fields of an order here).
 */
function fieldText(bytes: Buffer): string | undefined {
  const n = bytes.length;
  if (n <= SHORT_FIELD) {
    let text = '';
    let i = 0;
    for (; i < n; i++) {
      const c = bytes[i]!;
      if (c > 127) break;
      text += String.fromCharCode(c);
    }
    if (i === n) return text;
  }
  const text = bytes.toString('utf8');
  // Decoding turns bad bytes into U+FFFD: only text holding one needs the exact check.
  return text.includes('\uFFFD') && !isUtf8(bytes) ? undefined : text;
}

/**
 * The message's data as a record: the JSON object of a Kafka value, or the fields of a Redis entry
 * (a plain object whose own keys are exactly the fields; read it with `Object.hasOwn`).
 */
export function messageData(message: TapMessage): Data {
  if (message.rawFields !== undefined) {
    // A plain object, not a prototype-less one: V8 keeps those in dictionary mode, three times
    // slower to fill and slower again to copy in `reshape`. `setOwn` stores `__proto__` as an own
    // key, so the own-key test still finds every earlier name.
    const out: Data = {};
    for (const [name, value] of message.rawFields) {
      const key = fieldText(name);
      const text = fieldText(value);
      if (key === undefined || text === undefined) {
        throw new TapMappingError('INVALID_UTF8', `fields`, 'a field name or value is not valid UTF-8');
      }
      if (Object.hasOwn(out, key)) {
        throw new TapMappingError('DUPLICATE_FIELD', `fields.${key.slice(0, 64)}`, 'the field appears twice');
      }
      setOwn(out, key, text);
    }
    return out;
  }
  const value = message.value;
  if (value === undefined || value.length === 0) {
    throw new TapMappingError('EMPTY_MESSAGE', 'value', 'the message has no value');
  }
  if (!isUtf8(value)) throw new TapMappingError('INVALID_UTF8', 'value', 'the value is not valid UTF-8');
  const parsed = parseJsonExact(value.toString('utf8'));
  if (!isPlainObject(parsed)) {
    throw new TapMappingError('NOT_AN_OBJECT', 'value', 'the value must be a JSON object');
  }
  return parsed;
}

function text(data: Data, field: string): string | undefined {
  const v = Object.hasOwn(data, field) ? data[field] : undefined;
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return String(v);
  return undefined;
}

function required(data: Data, field: string, layout: string): unknown {
  const v = Object.hasOwn(data, field) ? data[field] : undefined;
  if (v === undefined || v === null || v === '') {
    throw new TapMappingError('MISSING_FIELD', field, `${layout} messages need "${field}"`);
  }
  return v;
}

/** Copy `data` without `omit`, renaming keys per `rename` (a renamed key never overwrites an existing one). */
function reshape(data: Data, omit: readonly string[], rename: Readonly<Record<string, string>> = {}): Data {
  const out: Data = {};
  for (const key of Object.keys(data)) {
    if (omit.includes(key)) continue;
    const target = Object.hasOwn(rename, key) && !Object.hasOwn(data, rename[key]!) ? rename[key]! : key;
    setOwn(out, target, data[key]);
  }
  return out;
}

function normaliseSeverity(
  value: unknown,
  type: ErrorEventType | 'ERR',
): { severity: Severity; reported?: string } {
  const fallback: Severity = type === 'ERR' ? 'WARNING' : ERROR_DEFAULT_SEVERITY[type];
  if (value === undefined || value === null || value === '') return { severity: fallback };
  const upper = String(value).toUpperCase();
  if ((SEVERITIES as readonly string[]).includes(upper)) return { severity: upper as Severity };
  // Not one of the spec's three: keep what the source said next to the spec default.
  return { severity: fallback, reported: String(value) };
}

function errorPayload(data: Data, type: ErrorEventType | 'ERR', consumed: readonly string[]): VcpPayload {
  const code = data.code ?? data.error_code;
  const message = data.message ?? data.error_message;
  if (code === undefined || code === null || code === '') {
    throw new TapMappingError('MISSING_FIELD', 'code', 'error messages need "code"');
  }
  if (typeof message !== 'string' || message === '') {
    throw new TapMappingError('MISSING_FIELD', 'message', 'error messages need a "message" string');
  }
  const { severity, reported } = normaliseSeverity(data.severity, type);
  const details: ErrorDetails = {
    ...reshape(data, [
      ...consumed,
      'code',
      'error_code',
      'message',
      'error_message',
      'severity',
      'component',
      'affected_component',
    ]),
    error_code: String(code),
    error_message: message,
    severity,
    affected_component: text(data, 'component') ?? text(data, 'affected_component') ?? 'unknown',
  };
  if (reported !== undefined) details.reported_severity = reported;
  return { error_details: details };
}

function errorType(value: unknown, field: string): ErrorEventType | 'ERR' {
  if (value === 'ERR' || isErrorEventType(value)) return value;
  throw new TapMappingError(
    'UNKNOWN_EVENT_TYPE',
    field,
    `"${String(value).slice(0, 40)}" is not a VCP error type (ERR_CONN, ERR_REJECT, ERR_SYSTEM, …)`,
  );
}

/**
 * The payload and event type of one data record under a layout (the table in
 * the module comment). Throws {@link TapMappingError} for a missing field or
 * an unknown event type.
 */
export function mapRecord(layout: TopicLayout, data: Data): { eventType: EventType; payload: VcpPayload } {
  switch (layout) {
    case 'orders':
      for (const f of ['order_id', 'symbol', 'side']) required(data, f, 'orders');
      return { eventType: 'ORD', payload: { trade_data: reshape(data, [], { type: 'order_type' }) } };
    case 'executions':
      for (const f of ['order_id', 'price', 'quantity']) required(data, f, 'executions');
      return {
        eventType: 'EXE',
        payload: {
          trade_data: reshape(data, [], { price: 'execution_price', quantity: 'executed_qty' }),
        },
      };
    case 'errors': {
      const type = errorType(data.type ?? 'ERR_SYSTEM', 'type');
      return { eventType: type, payload: errorPayload(data, type, ['type']) };
    }
    case 'event_type': {
      const raw = required(data, 'event_type', 'event_type-layout');
      if (!isEventType(raw)) {
        throw new TapMappingError(
          'UNKNOWN_EVENT_TYPE',
          'event_type',
          `"${String(raw).slice(0, 40)}" is not a VCP event type`,
        );
      }
      if (raw === 'ERR' || isErrorEventType(raw)) {
        return { eventType: raw, payload: errorPayload(data, raw, ['event_type']) };
      }
      return { eventType: raw, payload: { trade_data: reshape(data, ['event_type']) } };
    }
    default:
      throw new TapMappingError('UNKNOWN_LAYOUT', 'layout', `unknown layout "${String(layout)}"`);
  }
}

/**
 * The guide's mapping (the table in the module comment), configurable by
 * topic layout and trace field. Used by both taps when no mapping is given.
 */
export function createDefaultMapping(options: DefaultMappingOptions = {}): MessageMapping {
  const topics = options.topics ?? GUIDE_TOPICS;
  const traceField = options.traceField ?? 'order_id';
  return (message) => {
    const data = messageData(message);
    const layout = Object.hasOwn(topics, message.topic) ? topics[message.topic]! : 'event_type';
    const { eventType, payload } = mapRecord(layout, data);
    const mapped: MappedEvent = { eventType, payload };
    const traceKey = text(data, traceField);
    if (traceKey !== undefined && traceKey !== '') mapped.traceKey = traceKey;
    const venue = text(data, 'venue_id');
    if (venue !== undefined) mapped.venueId = venue;
    const account = text(data, 'account_id');
    if (account !== undefined) mapped.accountId = account;
    return mapped;
  };
}

// -- ERR_PARSE payloads -------------------------------------------------------

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** `text` with lone surrogates replaced by U+FFFD (canonical JSON refuses them). */
export function wellFormed(text: string): string {
  return text.replace(LONE_SURROGATE, '\uFFFD');
}

/** The first `maxBytes` bytes of UTF-8 `buf`, cut back to a character boundary. */
function utf8Prefix(buf: Buffer, maxBytes: number): string {
  if (buf.length <= maxBytes) return buf.toString('utf8');
  let end = maxBytes;
  // Step back over continuation bytes (10xxxxxx) so no character is cut in half.
  while (end > 0 && (buf[end]! & 0xc0) === 0x80) end--;
  return buf.subarray(0, end).toString('utf8');
}

/** The raw message as an `ERR_PARSE` event carries it. */
export interface RawMessage {
  /** `utf8` (text as received), `base64` (bytes that are not UTF-8) or `redis-fields` (JSON array of [name, value]). */
  encoding: 'utf8' | 'base64' | 'redis-fields';
  data: string;
  /** Size of the whole raw message in bytes. */
  bytes: number;
  truncated: boolean;
}

function rawBytes(buf: Buffer, maxBytes: number): RawMessage {
  if (isUtf8(buf)) {
    const data = utf8Prefix(buf, maxBytes);
    return { encoding: 'utf8', data, bytes: buf.length, truncated: buf.length > maxBytes };
  }
  return {
    encoding: 'base64',
    data: buf.subarray(0, maxBytes).toString('base64'),
    bytes: buf.length,
    truncated: buf.length > maxBytes,
  };
}

/** The raw content of a message, truncated to `maxBytes` (of UTF-8 text or of bytes). */
export function rawMessage(message: TapMessage, maxBytes: number): RawMessage {
  if (message.rawFields !== undefined) {
    const pairs = message.rawFields.map(([k, v]) =>
      [k, v].map((b) => (isUtf8(b) ? b.toString('utf8') : { base64: b.toString('base64') })),
    );
    const whole = Buffer.from(JSON.stringify(pairs), 'utf8');
    const data = utf8Prefix(whole, maxBytes);
    return { encoding: 'redis-fields', data, bytes: whole.length, truncated: whole.length > maxBytes };
  }
  return rawBytes(message.value ?? Buffer.alloc(0), maxBytes);
}

/** Where a message came from, as events made from it record it (`payload.source_message`). */
export function sourceRef(message: TapMessage): Record<string, string | number> {
  return message.transport === 'kafka'
    ? { transport: 'kafka', topic: message.topic, partition: message.partition, offset: message.offset }
    : { transport: message.transport, stream: message.topic, entry_id: message.offset };
}

/** Options of {@link parseErrorPayload}. */
export interface ParseErrorInfo {
  /** `error_details.error_code`, e.g. `INVALID_JSON`. */
  code: string;
  /** What went wrong, in words. */
  reason: string;
  /** `error_details.affected_component`, e.g. `vcp-tap-kafka`. */
  component: string;
  /** Truncate the raw message to this many bytes. */
  maxRawBytes: number;
  /** Validation issues that made the mapped event invalid (first few are kept). */
  issues?: readonly { path: string; rule: string; message: string }[];
}

/** The payload of the `ERR_PARSE` event recorded for a message that could not become an event. */
export function parseErrorPayload(message: TapMessage, info: ParseErrorInfo): VcpPayload {
  const details: ErrorDetails = {
    error_code: info.code,
    error_message: wellFormed(info.reason.length > 1000 ? `${info.reason.slice(0, 1000)}…` : info.reason),
    severity: 'WARNING',
    affected_component: info.component,
    raw_message: rawMessage(message, info.maxRawBytes),
  };
  if (message.key !== undefined) details.raw_key = rawBytes(message.key, 256);
  if (info.issues && info.issues.length > 0) {
    details.issues = info.issues.slice(0, 5).map((i) => ({
      path: wellFormed(i.path.slice(0, 200)),
      rule: wellFormed(i.rule.slice(0, 100)),
      message: wellFormed(i.message.slice(0, 300)),
    }));
  }
  return { error_details: details, source_message: sourceRef(message) };
}
