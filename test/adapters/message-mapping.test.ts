/**
 * The message → event mapping both taps share, and the events TapRunner makes
 * from it: the guide's layouts, exact numbers, one trace per order, and every
 * kind of poison message becoming a valid ERR_PARSE event with the raw data.
 */
import { isUtf8 } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import {
  createDefaultMapping,
  type MessageMapping,
  messageData,
  parseJsonExact,
  TapMappingError,
  type TapMessage,
} from '../../src/adapters/message-mapping.ts';
import { redisTapMessage } from '../../src/adapters/redis-tap.ts';
import { sourceEventId, traceIdFromKey } from '../../src/adapters/source-ids.ts';
import { TapRunner } from '../../src/adapters/tap-runner.ts';
import { isDecimalString, toDecimalString } from '../../src/core/decimal.ts';
import type { VcpEvent } from '../../src/core/types.ts';
import { validateEvent } from '../../src/core/validate.ts';
import { computeEventHash } from '../../src/integrity/event-hash.ts';
import { generateSigningKey, verifySignature } from '../../src/integrity/sign.ts';
import { MemorySink } from '../../src/sinks/memory.ts';

const T0 = 1735084800123;

function kafka(
  topic: string,
  value: string | Buffer,
  offset = 0,
  extra: Partial<TapMessage> = {},
): TapMessage {
  return {
    transport: 'kafka',
    topic,
    partition: 2,
    offset: String(offset),
    key: undefined,
    value: typeof value === 'string' ? Buffer.from(value) : value,
    fields: undefined,
    rawFields: undefined,
    headers: {},
    timestamp: T0,
    ...extra,
  };
}

function redis(
  fields: [string | Buffer, string | Buffer][],
  id = `${T0}-0`,
  stream = 'trading-events',
): TapMessage {
  const rawFields = fields.map(([k, v]) => [Buffer.from(k), Buffer.from(v)] as const);
  const decoded: Record<string, string> = Object.create(null);
  for (const [k, v] of rawFields) decoded[k.toString()] = v.toString();
  return {
    transport: 'redis',
    topic: stream,
    partition: 0,
    offset: id,
    key: undefined,
    value: undefined,
    fields: decoded,
    rawFields,
    headers: {},
    timestamp: Number(id.split('-')[0]),
  };
}

function runner(mapping?: MessageMapping, extra: Record<string, unknown> = {}): TapRunner {
  return new TapRunner(
    { sink: new MemorySink(), policyId: 'local:test:tap', mapping, ...extra },
    'vcp-tap-test',
  );
}

function one(message: TapMessage, r = runner()): VcpEvent {
  const e = r.toEvent(message);
  if (e === null) throw new Error('skipped');
  // Every event a tap makes, ERR_PARSE included, is valid and hashes to what it says.
  expect(validateEvent(e).errors).toEqual([]);
  expect(computeEventHash(e)).toBe(e.security.event_hash);
  return e;
}

// biome-ignore lint/suspicious/noExplicitAny: error_details carries open extra fields, probed by tests
type Details = Record<string, any>;

function details(e: VcpEvent): Details {
  return e.payload.error_details as Details;
}

const ORDER =
  '{"order_id":"ORD-1","symbol":"EURUSD","side":"BUY","type":"LIMIT","price":1.0850,"quantity":100000}';

describe('default mapping: the guide topics', () => {
  it('maps orders to ORD, renaming type → order_type and keeping the numbers exactly as written', () => {
    const e = one(kafka('orders', ORDER));
    expect(e.header.event_type).toBe('ORD');
    expect(e.header.symbol).toBe('EURUSD');
    expect(e.payload.trade_data).toEqual({
      order_id: 'ORD-1',
      symbol: 'EURUSD',
      side: 'BUY',
      order_type: 'LIMIT',
      price: '1.0850',
      quantity: '100000',
    });
  });

  it('keeps digits a double cannot hold, and turns exponents into plain decimals', () => {
    const e = one(
      kafka(
        'orders',
        '{"order_id":"A","symbol":"S","side":"SELL","quantity":12345678901234567890.123456789,"price":1.5e-7,"notional":1E5}',
      ),
    );
    expect(e.payload.trade_data?.quantity).toBe('12345678901234567890.123456789');
    expect(e.payload.trade_data?.price).toBe('0.00000015');
    expect(e.payload.trade_data?.notional).toBe('100000');
  });

  it('maps executions to EXE (price → execution_price, quantity → executed_qty) and keeps extra fields', () => {
    const e = one(
      kafka(
        'executions',
        '{"order_id":"ORD-1","symbol":"EURUSD","side":"BUY","price":1.0851,"quantity":100000,"slippage":0.0001}',
      ),
    );
    expect(e.header.event_type).toBe('EXE');
    expect(e.payload.trade_data).toEqual({
      order_id: 'ORD-1',
      symbol: 'EURUSD',
      side: 'BUY',
      execution_price: '1.0851',
      executed_qty: '100000',
      slippage: '0.0001',
    });
  });

  it('gives the order and its executions one trace, derived from order_id', () => {
    const r = runner();
    const ord = one(kafka('orders', ORDER, 1), r);
    const exe = one(kafka('executions', '{"order_id":"ORD-1","price":"1.0851","quantity":"5"}', 2), r);
    const other = one(kafka('orders', ORDER.replace('ORD-1', 'ORD-2'), 3), r);
    expect(ord.header.trace_id).toBe(traceIdFromKey('ORD-1'));
    expect(exe.header.trace_id).toBe(ord.header.trace_id);
    expect(other.header.trace_id).not.toBe(ord.header.trace_id);
  });

  it('maps errors to the message type (default ERR_SYSTEM) with error_details, severity per the spec', () => {
    const sys = one(kafka('errors', '{"code":"E42","message":"gateway down","component":"fix-gw"}'));
    expect(sys.header.event_type).toBe('ERR_SYSTEM');
    expect(details(sys)).toMatchObject({
      error_code: 'E42',
      error_message: 'gateway down',
      severity: 'CRITICAL',
      affected_component: 'fix-gw',
    });
    const rej = one(kafka('errors', '{"type":"ERR_REJECT","code":500,"message":"no","severity":"warning"}'));
    expect(rej.header.event_type).toBe('ERR_REJECT');
    expect(details(rej)).toMatchObject({
      error_code: '500',
      severity: 'WARNING',
      affected_component: 'unknown',
    });
  });

  it('keeps a severity outside the spec next to the spec default instead of inventing a mapping', () => {
    const e = one(kafka('errors', '{"code":"X","message":"m","severity":"SEV2"}'));
    expect(details(e)).toMatchObject({ severity: 'CRITICAL', reported_severity: 'SEV2' });
  });

  it('records where each event came from', () => {
    const e = one(kafka('orders', ORDER, 77));
    expect(e.payload.source_message).toEqual({
      transport: 'kafka',
      topic: 'orders',
      partition: 2,
      offset: '77',
    });
  });

  it('reads other topics in the event_type layout', () => {
    const e = one(kafka('fills', '{"event_type":"PRT","order_id":"O9","last_qty":"10","last_px":1.25}'));
    expect(e.header.event_type).toBe('PRT');
    expect(e.payload.trade_data).toEqual({ order_id: 'O9', last_qty: '10', last_px: '1.25' });
  });

  it('follows a custom topic → layout map and trace field', () => {
    const mapping = createDefaultMapping({ topics: { fills: 'executions' }, traceField: 'parent_id' });
    const e = one(
      kafka('fills', '{"order_id":"c1","parent_id":"P-7","price":"2","quantity":"3"}'),
      runner(mapping),
    );
    expect(e.header.event_type).toBe('EXE');
    expect(e.header.trace_id).toBe(traceIdFromKey('P-7'));
  });

  it('never turns a "__proto__" field into a prototype; the event the sidecar would refuse is an ERR_PARSE naming the key', () => {
    const e = one(
      kafka('orders', '{"order_id":"A","symbol":"S","side":"BUY","__proto__":{"polluted":"yes"}}'),
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // The sidecar refuses such keys (rule forbidden-key): recorded here as a parse error with
    // the raw message, instead of a batch the sidecar refuses and the tap must stop on.
    expect(e.header.event_type).toBe('ERR_PARSE');
    expect(details(e).error_code).toBe('INVALID_EVENT');
    expect(details(e).error_message).toMatch(/__proto__/);
    expect(e.payload.trade_data).toBeUndefined();
  });
});

describe('default mapping: Redis streams in the guide layout', () => {
  it('redisTapMessage: fields in a prototype-less object, "__proto__" an ordinary key, the last of repeated names wins', () => {
    const b = (t: string) => Buffer.from(t);
    const m = redisTapMessage('s', '1-0', [b('__proto__'), b('x'), b('a'), b('1'), b('a'), b('2')]);
    expect(Object.getPrototypeOf(m.fields)).toBeNull();
    expect(Object.hasOwn(m.fields!, '__proto__')).toBe(true);
    expect(Object.getOwnPropertyDescriptor(m.fields!, '__proto__')?.value).toBe('x');
    expect(m.fields!.a).toBe('2');
    expect(Object.keys(m.fields!)).toEqual(['__proto__', 'a']);
    expect(m.rawFields).toHaveLength(3);
  });

  it('puts every field but event_type into trade_data, as given', () => {
    const e = one(
      redis([
        ['event_type', 'ORD'],
        ['order_id', 'R-1'],
        ['symbol', 'USDJPY'],
        ['side', 'SELL'],
        ['price', '151.230'],
        ['quantity', '5000'],
      ]),
    );
    expect(e.header.event_type).toBe('ORD');
    expect(e.header.trace_id).toBe(traceIdFromKey('R-1'));
    expect(e.payload.trade_data).toEqual({
      order_id: 'R-1',
      symbol: 'USDJPY',
      side: 'SELL',
      price: '151.230',
      quantity: '5000',
    });
    expect(e.payload.source_message).toEqual({
      transport: 'redis',
      stream: 'trading-events',
      entry_id: `${T0}-0`,
    });
  });

  it('takes the event time and id from the entry id', () => {
    const e = one(redis([['event_type', 'HBT']], '1700000000000-5'));
    expect(e.header.timestamp_iso).toBe('2023-11-14T22:13:20.000Z');
    expect(e.header.event_id).toBe(
      sourceEventId(
        { transport: 'redis', stream: 'trading-events', partition: 0, position: '1700000000000-5' },
        1700000000000,
      ),
    );
  });

  it('maps ERR_* entries to error_details', () => {
    const e = one(
      redis([
        ['event_type', 'ERR_TIMEOUT'],
        ['code', 'T1'],
        ['message', 'venue slow'],
      ]),
    );
    expect(e.header.event_type).toBe('ERR_TIMEOUT');
    expect(details(e)).toMatchObject({ error_code: 'T1', error_message: 'venue slow', severity: 'WARNING' });
  });
});

describe('poison messages become ERR_PARSE events with the raw message', () => {
  const cases: [string, TapMessage, string][] = [
    ['truncated JSON', kafka('orders', '{"order_id":'), 'INVALID_JSON'],
    ['a JSON array', kafka('orders', '[1,2]'), 'NOT_AN_OBJECT'],
    ['JSON null', kafka('orders', 'null'), 'NOT_AN_OBJECT'],
    ['an empty value', kafka('orders', ''), 'EMPTY_MESSAGE'],
    ['a missing required field', kafka('orders', '{"order_id":"A","side":"BUY"}'), 'MISSING_FIELD'],
    [
      'an unknown error type',
      kafka('errors', '{"type":"OOPS","code":"1","message":"m"}'),
      'UNKNOWN_EVENT_TYPE',
    ],
    ['an unknown event_type', kafka('misc', '{"event_type":"TRADE"}'), 'UNKNOWN_EVENT_TYPE'],
    [
      'a number too large for a double',
      kafka('orders', '{"order_id":"A","symbol":"S","side":"B","price":1e400}'),
      'INVALID_NUMBER',
    ],
    [
      'a price that is not a decimal',
      kafka('orders', '{"order_id":"A","symbol":"S","side":"B","price":"1,05"}'),
      'INVALID_EVENT',
    ],
    ['a lone surrogate', kafka('orders', '{"order_id":"A","symbol":"\\ud800","side":"B"}'), 'INVALID_EVENT'],
    ['a Redis entry without event_type', redis([['order_id', 'A']]), 'MISSING_FIELD'],
    [
      'a Redis field given twice',
      redis([
        ['event_type', 'ORD'],
        ['price', '1'],
        ['price', '2'],
      ]),
      'DUPLICATE_FIELD',
    ],
  ];
  it.each(cases)('%s', (_name, message, code) => {
    const e = one(message);
    expect(e.header.event_type).toBe('ERR_PARSE');
    expect(details(e).error_code).toBe(code);
    expect(details(e).severity).toBe('WARNING');
    expect(details(e).affected_component).toBe('vcp-tap-test');
    expect(typeof details(e).error_message).toBe('string');
    // The same derived id the event would have had: a replay still dedups.
    expect(e.header.event_id).toBe(
      sourceEventId(
        {
          transport: message.transport,
          stream: message.topic,
          partition: message.partition,
          position: message.offset,
        },
        T0,
      ),
    );
    const raw = details(e).raw_message;
    if (message.value)
      expect(raw).toEqual({
        encoding: 'utf8',
        data: message.value.toString(),
        bytes: message.value.length,
        truncated: false,
      });
    else expect(raw.encoding).toBe('redis-fields');
  });

  it('names the invalid field of an invalid event', () => {
    const e = one(kafka('orders', '{"order_id":"A","symbol":"S","side":"B","price":"abc"}'));
    expect(details(e).issues[0]).toMatchObject({ path: 'payload.trade_data.price', rule: 'decimal-string' });
  });

  it('keeps bytes that are not UTF-8 as base64', () => {
    const bytes = Buffer.from([0x7b, 0xff, 0xfe, 0x00, 0x7d]);
    const e = one(kafka('orders', bytes));
    expect(details(e).error_code).toBe('INVALID_UTF8');
    expect(details(e).raw_message).toEqual({
      encoding: 'base64',
      data: bytes.toString('base64'),
      bytes: 5,
      truncated: false,
    });
  });

  it('Redis fields: a real U+FFFD is text, a bad byte in a name is not UTF-8, "__proto__" twice is a duplicate', () => {
    const ok = one(
      redis([
        ['event_type', 'ORD'],
        ['order_id', 'A\uFFFD'],
        ['symbol', 'S'],
        ['side', 'BUY'],
      ]),
    );
    expect(ok.header.event_type).toBe('ORD');
    expect(ok.payload.trade_data?.order_id).toBe('A\uFFFD');
    const badName = one(
      redis([
        ['event_type', 'ORD'],
        [Buffer.from([0x6e, 0xff]), 'x'],
      ]),
    );
    expect(details(badName).error_code).toBe('INVALID_UTF8');
    const twice = one(
      redis([
        ['event_type', 'ORD'],
        ['__proto__', 'a'],
        ['__proto__', 'b'],
      ]),
    );
    expect(details(twice).error_code).toBe('DUPLICATE_FIELD');
  });

  it('Redis fields decode as Buffer does, either side of the short-field path: 3 000 random names and values', () => {
    // ASCII, multi-byte UTF-8 and bad bytes, 0–40 bytes long (fields of up to 32 bytes are decoded in JS).
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const pieces = [
      [0x61],
      [0x7a, 0x31],
      [0x7f],
      [0x00],
      [0xc3, 0xa9],
      [0xe2, 0x82, 0xac],
      [0xf0, 0x9f, 0x98, 0x80],
      [0xff],
      [0xc3],
      [0x80],
      [0xed, 0xa0, 0x80],
      [0xef, 0xbf, 0xbd],
    ];
    for (let k = 0; k < 3000; k++) {
      const bytes: number[] = [];
      const target = rand(41);
      while (bytes.length < target) bytes.push(...pieces[rand(k % 3 === 0 ? pieces.length : 4)]!);
      const value = Buffer.from(bytes);
      const data = (() => {
        try {
          return messageData(redisTapMessage('s', '1-0', [Buffer.from('f'), value]));
        } catch (e) {
          return e as TapMappingError;
        }
      })();
      if (isUtf8(value)) expect(data).toEqual({ f: value.toString('utf8') });
      else expect(data).toMatchObject({ errorCode: 'INVALID_UTF8' });
    }
  });

  it('marks non-UTF-8 Redis fields and keeps them as base64', () => {
    const e = one(
      redis([
        ['event_type', 'ORD'],
        ['blob', Buffer.from([0xc3, 0x28])],
      ]),
    );
    expect(details(e).error_code).toBe('INVALID_UTF8');
    expect(JSON.parse(details(e).raw_message.data)).toEqual([
      ['event_type', 'ORD'],
      ['blob', { base64: 'wyg=' }],
    ]);
  });

  it('truncates a large raw message at a character boundary', () => {
    const value = `{"x":"${'€'.repeat(5000)}`; // 3-byte characters, invalid JSON
    const e = one(kafka('orders', value), runner(undefined, { maxRawBytes: 1000 }));
    const raw = details(e).raw_message;
    expect(raw.truncated).toBe(true);
    expect(raw.bytes).toBe(Buffer.byteLength(value));
    expect(Buffer.byteLength(raw.data)).toBeLessThanOrEqual(1000);
    expect(raw.data).not.toContain('\uFFFD');
    expect(value.startsWith(raw.data)).toBe(true);
  });

  it('keeps the message key', () => {
    const e = one(kafka('orders', 'nope', 0, { key: Buffer.from('ORD-1') }));
    expect(details(e).raw_key).toMatchObject({ encoding: 'utf8', data: 'ORD-1' });
  });
});

describe('custom mappings', () => {
  it('null skips a message on purpose', () => {
    const r = runner(() => null);
    expect(r.toEvents([kafka('orders', ORDER)])).toMatchObject({ events: [], skipped: 1, parseErrors: 0 });
  });

  it('a throwing mapping or an unknown event type gives ERR_PARSE, counted', () => {
    const r = runner((m) => {
      if (m.offset === '0') throw new Error('cannot read this');
      return { eventType: 'NOPE' as never, payload: {} };
    });
    const batch = r.toEvents([kafka('t', 'x', 0), kafka('t', 'x', 1)]);
    expect(batch.parseErrors).toBe(2);
    expect(batch.events.map((e) => details(e).error_code)).toEqual(['MAPPING_FAILED', 'UNKNOWN_EVENT_TYPE']);
    expect(details(batch.events[0]!).error_message).toBe('cannot read this');
  });

  it('can set the event time, precision, trace id and routing fields', () => {
    const r = runner(() => ({
      eventType: 'SIG',
      payload: { vcp_gov: { algo_id: 'a1' } },
      timestampNs: '1735084800123456789',
      precision: 'MICROSECOND',
      traceId: '01940000-0000-7000-8000-000000000001',
      venueId: 'XLON',
      accountId: 'ACC',
    }));
    const e = one(kafka('signals', 'ignored'), r);
    expect(e.header).toMatchObject({
      timestamp_int: '1735084800123456000',
      timestamp_iso: '2024-12-25T00:00:00.123456Z',
      timestamp_precision: 'MICROSECOND',
      trace_id: '01940000-0000-7000-8000-000000000001',
      venue_id: 'XLON',
      account_id: 'ACC',
    });
  });

  it('a malformed event time gives ERR_PARSE, not a wrong time', () => {
    const e = one(
      kafka('t', 'x'),
      runner(() => ({ eventType: 'HBT', payload: {}, timestampNs: '12.5' })),
    );
    expect(details(e).error_code).toBe('INVALID_TIMESTAMP');
  });
});

describe('determinism: a replayed message is the same event', () => {
  it('two runners (a run and its replay) make byte-identical events, signatures included', () => {
    const signer = generateSigningKey();
    const messages = [
      kafka('orders', ORDER, 10),
      kafka('executions', '{"order_id":"ORD-1","price":"1","quantity":"2"}', 11),
      kafka('orders', '{bad', 12),
      redis([
        ['event_type', 'CXL'],
        ['order_id', 'ORD-1'],
      ]),
    ];
    const first = runner(undefined, { signer }).toEvents(messages).events;
    const again = runner(undefined, { signer }).toEvents(messages).events;
    expect(JSON.stringify(again)).toBe(JSON.stringify(first));
    for (const e of first) {
      expect(verifySignature(e.security.event_hash, e.security.signature, signer.publicKey)).toBe(true);
      expect(e.security.prev_hash).toBeUndefined();
    }
  });

  it('a message without a usable timestamp gets time 0, the same every time', () => {
    const e = one(kafka('orders', ORDER, 0, { timestamp: -1 }));
    expect(e.header.timestamp_int).toBe('0');
    expect(e.header.timestamp_iso).toBe('1970-01-01T00:00:00.000Z');
  });

  it('the id namespace separates clusters', () => {
    const a = one(kafka('orders', ORDER), runner(undefined, { idNamespace: 'east' }));
    const b = one(kafka('orders', ORDER), runner(undefined, { idNamespace: 'west' }));
    expect(a.header.event_id).not.toBe(b.header.event_id);
    expect(a.header.trace_id).toBe(b.header.trace_id);
  });
});

/**
 * Slow reference: a `JSON.parse` reviver reading each number's source text, as parseJsonExact once did.
 * A plain decimal (≤ 64 characters) as written, anything else (exponents) through toDecimalString.
 */
function referenceParse(text: string): unknown {
  return JSON.parse(text, (_k, v, ctx?: { source?: string }) =>
    typeof v === 'number' ? (isDecimalString(ctx!.source) ? ctx!.source : toDecimalString(v)) : v,
  );
}

/**
 * parseJsonExact(text) is exactly referenceParse(text), or both refuse it. Compared as JSON text:
 * toEqual would not see an own `__proto__` key. Returns whether the two were compared (not refused).
 */
function expectAsReference(text: string): boolean {
  let want: unknown;
  try {
    want = referenceParse(text);
  } catch {
    // Exponents that land beyond 2^53 or Infinity, decimals over 64 characters: refused by both.
    expect(() => parseJsonExact(text), text).toThrow(TapMappingError);
    return false;
  }
  expect(JSON.stringify(parseJsonExact(text)), text).toBe(JSON.stringify(want));
  return true;
}

/**
 * Seeded integers in 0..n-1 (mulberry32). Not an LCG taken `% n`: its low bits cycle so short that
 * `rnd(8)` never gave 3 or 4 in a row of calls like the ones below.
 */
function randomInts(seed: number): (n: number) => number {
  return (n) => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) % n;
  };
}

describe('parseJsonExact', () => {
  it('keeps number text and refuses what is not JSON with a TapMappingError', () => {
    expect(parseJsonExact('{"a":[0.10,-0,2]}')).toEqual({ a: ['0.10', '-0', '2'] });
    expect(() => parseJsonExact('{a:1}')).toThrow(TapMappingError);
  });

  it('its fast path (plain JSON.parse) gives exactly what the source-text path gives, on 20 000 random numbers', () => {
    const rnd = randomInts(12345);
    const digits = (n: number) => Array.from({ length: n }, () => rnd(10)).join('');
    for (let i = 0; i < 20_000; i++) {
      const intPart = rnd(4) === 0 ? '0' : String(1 + rnd(9)) + digits(rnd(18));
      let num = (rnd(3) === 0 ? '-' : '') + intPart;
      if (rnd(2)) num += `.${digits(1 + rnd(18))}`;
      if (rnd(12) === 0) num += `e${rnd(2) ? '-' : ''}${rnd(20)}`;
      expectAsReference(`{"order_id":"ORD-0${i}","n":${num},"list":[${num},1.5],"nested":{"x":${num}}}`);
    }
  });

  it('its quoting path gives exactly what the source-text reviver gives, strings that look like numbers and escapes included', () => {
    const rnd = randomInts(777);
    const numbers = [
      '1.0850',
      '-0',
      '0',
      '-0.0',
      '1.0859000000000001',
      '12345678901234567890',
      '1e5',
      '-1.50E+2',
      '2.5e-3',
      '100',
      '0.000000010',
      '1.085',
      `1${'0'.repeat(63)}`,
      `1${'0'.repeat(64)}`,
      '9007199254740993',
      '-7',
    ];
    const strings = [
      '"1.0850"',
      '":1.0850,"',
      '"a\\\\"',
      '"\\"1.0850\\""',
      '"\\":1.0850,"',
      '"\\\\\\":-0,"',
      '"[-0,"',
      '"\\u0022,1.50"',
      '"x\\\\"',
      '""',
      '"é,1.0e5"',
    ];
    const value = (depth: number): string => {
      const k = rnd(8);
      if (depth > 3 || k < 3) return numbers[rnd(numbers.length)]!;
      if (k < 5) return strings[rnd(strings.length)]!;
      if (k === 5) return ['true', 'false', 'null'][rnd(3)]!;
      const ws = () => [' ', '', '\n', '\t '][rnd(4)]!;
      if (k === 6)
        return `[${ws()}${Array.from({ length: rnd(4) }, () => value(depth + 1)).join(`${ws()},${ws()}`)}${ws()}]`;
      const keys = ['"a"', '"__proto__"', '"1.0850"', '"-0"', '"a"', '"p\\"q"'];
      return `{${ws()}${Array.from({ length: rnd(4) }, () => `${keys[rnd(keys.length)]}${ws()}:${ws()}${value(depth + 1)}`).join(',')}${ws()}}`;
    };
    let quoted = 0;
    let compared = 0;
    for (let i = 0; i < 5000; i++) {
      const text = `{"order_id":"ORD-${i}","v":${value(0)},"w":${numbers[i % numbers.length]}}`;
      if (!expectAsReference(text)) continue;
      compared++;
      if (/1\.0850|-0[,}\]]/.test(text)) quoted++;
    }
    expect(compared).toBeGreaterThan(3000);
    expect(quoted).toBeGreaterThan(1000);
  });

  it('turns absurd nesting into an ERR_PARSE, not a crash', () => {
    const deep = `{"order_id":"A","symbol":"S","side":"B","x":${'['.repeat(200_000)}${']'.repeat(200_000)}}`;
    const e = runner().toEvent(kafka('orders', deep))!;
    expect(e.header.event_type).toBe('ERR_PARSE');
    expect(details(e).raw_message.truncated).toBe(true);
  });
});
