/**
 * Hostile bodies through sidecars with and without the ingest thread
 * (src/sidecar/ingest-pool.ts): the same bodies, in the same order, to a
 * sidecar with `--ingest-threads 0`, one with 1 and one with 2. Every answer
 * must be byte for byte the same (refusals: status, code, message, every
 * issue), the stored records the same, and every stored record must re-parse
 * (strictly) to the header and payload whose EventHash was acknowledged; an
 * export of each passes `vcp verify`.
 *
 * Every body of interest is at least 16 KiB, so the threads take it (counted).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeEventHash } from '../../src/integrity/event-hash.ts';
import { parseJsonStrict } from '../../src/integrity/strict-json.ts';
import { INGEST_THREAD_MIN_BYTES } from '../../src/sidecar/ingest-pool.ts';
import { type Sidecar, startSidecar } from '../../src/sidecar/server.ts';
import { runVcp } from '../helpers/cli.ts';
import { type Answer, get, post, tempDir, testConfig, v11Event } from './helpers.ts';

const MAX_EVENT = 128 * 1024;
// Over 1 MiB, so a body at the limit also takes the byte prescan (ingest.ts PRESCAN_MIN_BYTES).
const MAX_BODY = 1200 * 1024;
const MIN = INGEST_THREAD_MIN_BYTES;

// ---------------------------------------------------------------- bodies

let seq = 0;

/** Options of {@link ev}: raw JSON text spliced into a fresh event. */
interface EvOptions {
  /** Value of `payload.x`. */
  x?: string;
  /** Value of `policy_identification.x` (outside header and payload: stored, not hashed). */
  pol?: string;
  /** The `security` block. */
  sec?: string;
  /** `payload.note`, as a JS string. */
  note?: string;
}

/** One event's JSON text (a fresh, conformant v1.1 event with hostile parts spliced in). */
function ev(o: EvOptions = {}): string {
  const e = v11Event(seq++) as unknown as {
    header: Record<string, unknown>;
    payload: Record<string, unknown>;
  };
  if (o.note !== undefined) e.payload.note = o.note;
  let t = JSON.stringify(e);
  if (o.x !== undefined) t = t.replace('"payload":{', `"payload":{"x":${o.x},`);
  if (o.pol !== undefined)
    t = t.replace('"policy_identification":{', `"policy_identification":{"x":${o.pol},`);
  if (o.sec !== undefined) t = `${t.slice(0, -1)},"security":${o.sec}}`;
  return t;
}

/** `n` events' texts. */
function evs(n: number, o: EvOptions | ((i: number) => EvOptions) = {}): string[] {
  return Array.from({ length: n }, (_, i) => ev(typeof o === 'function' ? o(i) : o));
}

/** An event's text padded (in `payload.note`) to exactly `bytes` bytes of UTF-8. */
function evOfBytes(bytes: number, o: EvOptions = {}): string {
  const base = ev({ ...o, note: '' });
  const pad = bytes - Buffer.byteLength(base);
  if (pad < 0) throw new Error('too small');
  return base.replace('"note":""', `"note":"${'p'.repeat(pad)}"`);
}

const array = (texts: string[], sep = ',', open = '[', close = ']') => `${open}${texts.join(sep)}${close}`;
const ndjson = (texts: string[], sep = '\n', end = '\n') => texts.join(sep) + end;

/** Where the event's text is expected in the record: as sent, line breaks between tokens made spaces. */
const asStored = (text: string) => text.replace(/[\r\n]/g, ' ');
const size = (body: string | Buffer) => (typeof body === 'string' ? Buffer.byteLength(body) : body.length);

/** A refused event (fails validation) — one bad item in a batch. */
const badEvent = () => ev().replace('"event_type":"ORD"', '"event_type":"NOPE"');

/** Splice raw bytes into a text in place of `@@` (invalid UTF-8 cannot live in a JS string). */
function withBytes(text: string, bytes: number[]): Buffer {
  const at = text.indexOf('@@');
  return Buffer.concat([Buffer.from(text.slice(0, at)), Buffer.from(bytes), Buffer.from(text.slice(at + 2))]);
}

interface Case {
  name: string;
  body: string | Buffer;
  type?: string;
  /** The events' texts, in order, for an accepted body (checked against the answers and the records). */
  texts?: string[];
  /** Positions answered `duplicate: true`. */
  dups?: number[];
  /** Send chunked (no Content-Length), in pieces of this many bytes (cuts through UTF-8 sequences). */
  chunk?: number;
  /** Expected status. */
  status: number;
  /** Expected `error` code / first issue rule of a refusal. */
  rule?: string;
  /** Refused on its declared size, before it is read (never reaches a thread). */
  unread?: boolean;
}

const JSON_T = 'application/json';
const ND = 'application/x-ndjson';

/** An event whose 4-byte emoji starts 2 bytes before byte `at` of the body `[<event>]`. */
function straddling(at: number): string {
  const base = ev({ note: '' });
  const pre = at - 2 - 1 - Buffer.byteLength(base.slice(0, base.indexOf('"note":"') + 8));
  return base.replace('"note":""', `"note":"${'q'.repeat(pre)}😀é中文${'r'.repeat(300)}"`);
}

function buildCases(): Case[] {
  const cases: Case[] = [];
  const ok = (name: string, texts: string[], body: string | Buffer, extra: Partial<Case> = {}) =>
    cases.push({ name, texts, body, status: 201, ...extra });
  const no = (name: string, body: string | Buffer, status: number, rule: string, extra: Partial<Case> = {}) =>
    cases.push({ name, body, status, rule, ...extra });

  // -- accepted shapes
  const ascii = evs(30);
  ok('ASCII JSON array, no line breaks (texts as byte spans)', ascii, array(ascii));
  const withSec = evs(30, (i) =>
    i % 3 === 0
      ? { sec: `{"merkle_index":99,"merkle_root":"x","partition":7,"note":"kept","z":-0}` }
      : i % 3 === 1
        ? { sec: '{"hash_algo":"SHA256","1":"integer-like key first","anchor_reference":{}}' }
        : {},
  );
  ok('client security blocks (sidecar fields dropped, others kept)', withSec, array(withSec));
  const multi = evs(40, (i) => ({ note: `${'a'.repeat(i % 4)}é😀中文${'b'.repeat((i * 37) % 500)}ü` }));
  ok('multi-byte UTF-8 at every alignment, across 16/64 KiB', multi, array(multi));
  const chunked = evs(30, (i) => ({ note: `${'c'.repeat(i)}𝄞€é` }));
  ok('multi-byte UTF-8, sent chunked in 4093-byte pieces', chunked, array(chunked), { chunk: 4093 });
  const strad = straddling(MIN);
  ok('one event with an emoji straddling byte 16384', [strad], array([strad]));
  const asciiThenOne = [...evs(29), ev({ note: 'ÿ' })];
  ok('ASCII but for one char in the last event', asciiThenOne, array(asciiThenOne));
  const escapes = evs(30, (i) => ({
    x: [
      '"a\\u0000b\\"c\\\\d\\/e\\b\\f\\n\\r\\t"',
      '"\\u2028\\u2029"',
      '"\\ud83d\\ude00 \\uD83D\\uDE00"',
      '"\\u00e9\\u4e2d"',
      '{"\\u0041":"key escaped","B":"\\\\u0000 as text"}',
    ][i % 5],
    pol: i % 5 === 0 ? '"\\ud83d\\ude00"' : undefined,
  }));
  ok('escapes only (ASCII: byte spans)', escapes, array(escapes));
  const rawSep = evs(30, (i) => ({ x: i % 2 ? '"\u2028\u2029 raw"' : '"\u0085\u00a0\ufeff"' }));
  ok('raw U+2028/U+2029/U+0085/NBSP/BOM inside strings', rawSep, array(rawSep));
  const nums = evs(30, (i) => ({
    x: [
      '-0',
      '1.0',
      '1E2',
      '1e-7',
      '0.1',
      '5e-324',
      '1.7976931348623157e308',
      '9007199254740991',
      '-9007199254740991',
      '[-0.0,0e0,-0e-0,100e-2]',
    ][i % 10],
  }));
  ok('numbers: -0, 1.0, 1E2, subnormal, max double, 2^53-1', nums, array(nums));
  const keys = evs(30, (i) => ({
    x: [
      '{"constructor":{"a":1}}',
      '{"prototype":1}',
      '{"toString":"x","valueOf":1,"hasOwnProperty":null}',
      '{"constructor":"x","__proto":"x","proto__":1}',
    ][i % 4],
  }));
  ok('constructor / prototype / toString keys (allowed ones)', keys, array(keys));
  // payload.x's value opens level 3 of its event (the event being level 1, as vcp verify counts in a line);
  // the array of a batch adds its own level above the events.
  const depth = (d: number) => '['.repeat(d) + ']'.repeat(d);
  const deep = evs(25, { x: depth(62) });
  ok('nesting at the depth limit (64 levels in each event)', deep, array(deep));
  const ws = evs(25).map((t, i) =>
    i % 2 ? t.replace('"payload":{', '"payload":\r\n\t{').replace(/,"policy/, ' ,\n\t "policy') : t,
  );
  ok(
    'CRLF, tabs and spaces between events and inside them',
    ws,
    array(ws, ' ,\r\n\t', '\r\n[\t', '\r\n]\r\n'),
  );
  const tabs = evs(25).map((t) => t.replace('"payload":{', '"payload":\t{ '));
  ok('tabs only (no line break: byte spans with tabs inside)', tabs, array(tabs, '\t,\t', ' [', ']\t'));
  const nd = evs(30);
  ok('NDJSON', nd, ndjson(nd), { type: ND });
  const ndCr = evs(30, (i) => ({ note: i % 2 ? 'ascii' : 'é中😀' }));
  ok(
    'NDJSON, CRLF, blank and whitespace-only lines, no final newline',
    ndCr,
    `\r\n \t\r\n${ndCr.join('\r\n\r\n  \t \r\n')}`,
    { type: 'application/jsonl' },
  );
  const ndInner = evs(20).map((t) => t.replace('"payload":{', '"payload":\r{'));
  ok('NDJSON with a CR between tokens inside a line', ndInner, ndjson(ndInner), {
    type: 'application/x-ndjson; charset=utf-8',
  });
  const big = ev({ note: 'n'.repeat(MIN) });
  ok('one event over 16 KiB (not a batch)', [big], big, { type: 'application/vnd.example+json' });
  const exact = evOfBytes(MIN);
  ok('one event of exactly 16 KiB (the thread takes it)', [exact], exact);
  const under = evOfBytes(MIN - 1);
  ok('one event of 16 KiB - 1 (inline everywhere)', [under], under);
  const inBatch = evOfBytes(MIN - 2);
  ok('a batch body of exactly 16 KiB', [inBatch], array([inBatch]));
  const maxEv = evOfBytes(MAX_EVENT);
  const maxEvs = [maxEv, ...evs(3)];
  ok('an event of exactly max-event bytes', maxEvs, array(maxEvs));
  const maxEvU = evOfBytes(MAX_EVENT, { x: '"😀"' });
  ok('an event of exactly max-event bytes, non-ASCII', [maxEvU], array([maxEvU]));
  // A body of exactly max-body bytes: 10 large events, the last padded to fit.
  const bigs = evs(9, (i) => ({ note: `${'m'.repeat(120 * 1024)}${i}` }));
  const room = MAX_BODY - Buffer.byteLength(array(bigs)) - 1;
  bigs.push(evOfBytes(room));
  ok('a body of exactly max-body bytes (over 1 MiB: byte prescan)', bigs, array(bigs));

  // -- duplicates and conflicts, across requests
  ok('the ASCII batch again: all duplicates', ascii, array(ascii), { dups: ascii.map((_, i) => i) });
  ok('the NDJSON again as a JSON array with CRLF: duplicates', nd, array(nd, ',\r\n'), {
    dups: nd.map((_, i) => i),
  });
  const mixed = [ascii[3]!, ...evs(20), multi[7]!];
  ok('stored and new events in one batch', mixed, array(mixed), { dups: [0, 21] });
  const changed = ascii[5]!.replace('"order_id":"ORD-', '"order_id":"ORD-changed-');
  no(
    'a stored id with other content, among new events: 409, nothing stored',
    array([...evs(25), changed]),
    409,
    'conflict',
  );
  const upper = ascii[6]!.replace(
    /"event_id":"([^"]+)"/,
    (_, id: string) => `"event_id":"${id.toUpperCase()}"`,
  );
  no('a stored id in upper case (other hash)', array([...evs(25), upper]), 409, 'conflict');

  // -- refused: all or nothing
  const pad = evs(25);
  no(
    'one invalid event in a batch',
    array([...pad.slice(0, 12), badEvent(), ...pad.slice(12)]),
    400,
    'event-type',
  );
  const twice = ev();
  no('the same id twice in one batch', array([...evs(25), twice, twice]), 400, 'duplicate-in-batch');
  const twiceCase = ev();
  const twiceUpper = twiceCase.replace(
    /"event_id":"([^"]+)"/,
    (_, id: string) => `"event_id":"${id.toUpperCase()}"`,
  );
  no(
    'the same id twice, once in upper case',
    array([...evs(25), twiceCase, twiceUpper]),
    400,
    'duplicate-in-batch',
  );
  no('duplicate key', array([...evs(25), ev({ x: '{"a":1,"a":2}' })]), 400, 'duplicate-key');
  no(
    'duplicate key, one escaped',
    array([...evs(25), ev({ x: '{"a":1,"\\u0061":1}' })]),
    400,
    'duplicate-key',
  );
  no(
    'duplicate top-level key',
    array([...evs(25), ev().replace(/}$/, ',"payload":{}}')]),
    400,
    'duplicate-key',
  );
  // Only header, payload, policy_identification and security: vcp verify refuses an event line with more.
  no(
    'a top-level key beside the event members',
    array([...evs(25), ev().replace(/}$/, ',"x":1}')]),
    400,
    'unknown-field',
  );
  no(
    '"Header" beside "header"',
    array([...evs(25), ev().replace(/}$/, ',"Header":{}}')]),
    400,
    'unknown-field',
  );
  no(
    'a top-level "signature" in NDJSON',
    ndjson([...evs(25), ev().replace(/}$/, ',"signature":"x"}')]),
    400,
    'unknown-field',
    { type: ND },
  );
  no(
    'NDJSON with a line of only Unicode spaces (NBSP, U+3000: not JSON)',
    ndjson(evs(25), '\n\u00a0\u3000\n'),
    400,
    'json',
    { type: ND },
  );
  no('NDJSON with a line holding only a BOM', ndjson(evs(25), '\n\ufeff\n'), 400, 'json', { type: ND });
  no(
    'duplicate header key',
    array([...evs(25), ev().replace('"header":{', '"header":{"symbol":"X",')]),
    400,
    'duplicate-key',
  );
  no('duplicate key in NDJSON', ndjson([...evs(25), ev({ x: '{"b":1,"b":1}' })]), 400, 'duplicate-key', {
    type: ND,
  });
  no('__proto__ key', array([...evs(25), ev({ x: '{"__proto__":{"polluted":1}}' })]), 400, 'forbidden-key');
  no(
    '__proto__ key, escaped',
    array([...evs(25), ev({ pol: '{"\\u005f_proto__":1}' })]),
    400,
    'forbidden-key',
  );
  no(
    'constructor.prototype',
    array([...evs(25), ev({ sec: '{"constructor":{"prototype":{}}}' })]),
    400,
    'forbidden-key',
  );
  no('1e400', array([...evs(25), ev({ x: '1e400' })]), 400, 'number-precision');
  no('2^64 as a number', array([...evs(25), ev({ x: '18446744073709551616' })]), 400, 'number-precision');
  no(
    'a quantity as a number',
    array([...evs(25), ev().replace('"quantity":"100000"', '"quantity":100000')]),
    400,
    'decimal-string',
  );
  no(
    'timestamp_int as a number',
    array([...evs(25), ev().replace(/"timestamp_int":"(\d+)"/, '"timestamp_int":$1')]),
    400,
    'number-precision',
  );
  no(
    'a decimal field as a number',
    array([...evs(25), ev().replace('"price":"1.0850"', '"price":1.085')]),
    400,
    'decimal-string',
  );
  for (const lit of ['NaN', 'Infinity', '-Infinity', '0x10', '01', '+1', '.5', "'s'", 'undefined'])
    no(`number/literal ${lit}`, array([...evs(25), ev({ x: lit })]), 400, 'json');
  no('lone surrogate escaped in payload', array([...evs(25), ev({ x: '"\\ud800"' })]), 400, 'canonical-json');
  no(
    'lone low surrogate escaped in a header value',
    array([...evs(25), ev().replace('"symbol":"EURUSD"', '"symbol":"EUR\\udc00"')]),
    400,
    'canonical-json',
  );
  no(
    'lone surrogate escaped outside header and payload',
    array([...evs(25), ev({ pol: '["ok","\\udbff"]' })]),
    400,
    'unicode',
  );
  no(
    'lone surrogate escaped in the security block',
    array([...evs(25), ev({ sec: '{"note":"\\ud83d"}' })]),
    400,
    'unicode',
  );
  no('lone surrogate escaped in a key', array([...evs(25), ev({ pol: '{"\\ud800":1}' })]), 400, 'unicode');
  no(
    'reversed surrogate pair escaped',
    array([...evs(25), ev({ x: '"\\ude00\\ud83d"' })]),
    400,
    'canonical-json',
  );
  no('a UTF-8 BOM before a JSON array', `\ufeff${array(evs(25))}`, 400, 'json');
  no('a UTF-8 BOM before NDJSON', `\ufeff${ndjson(evs(25))}`, 400, 'json', { type: ND });
  no('trailing comma in the array', array(evs(25), ',', '[', ',]'), 400, 'json');
  no('trailing comma in an event', array([...evs(25), ev().replace(/}$/, ',}')]), 400, 'json');
  no('leading comma', array(evs(25), ',', '[,'), 400, 'json');
  no('two arrays', array(evs(25)) + '[]', 400, 'json');
  no('a raw control character in a string', array([...evs(25), ev({ x: '"a\u0001b"' })]), 400, 'json');
  no('a raw tab in a string', array([...evs(25), ev({ x: '"a\tb"' })]), 400, 'json');
  no('a raw newline in a string', array([...evs(25), ev({ x: '"a\nb"' })]), 400, 'json');
  no('nesting one over the limit', array(evs(25, { x: depth(63) })), 400, 'depth');
  no(
    'a 1.1 MiB body nesting deep at the end (prescan)',
    array([...evs(9, { note: 'd'.repeat(120_000) }), depth(70)]),
    400,
    'depth',
  );
  no('only whitespace', ' \r\n\t'.repeat(MIN / 4), 400, 'required');
  no('an empty array padded with whitespace', `[${' '.repeat(MIN)}]`, 400, 'non-empty');
  no('NDJSON of blank lines only', '\r\n \t\n'.repeat(MIN / 4), 400, 'non-empty', { type: ND });
  no('a JSON string, not an event', JSON.stringify('s'.repeat(MIN)), 400, 'object');
  no('an array holding one long string', `["${'s'.repeat(MIN)}"]`, 400, 'object');
  no('more events than max-batch', `[${'1,'.repeat(10_000)}1]`, 413, 'payload_too_large');
  no(
    'an event one byte over max-event',
    array([...evs(3), evOfBytes(MAX_EVENT + 1)]),
    413,
    'payload_too_large',
  );
  no(
    'an oversized event and an invalid one: the 400 wins',
    array([evOfBytes(MAX_EVENT + 1), badEvent(), ...evs(3)]),
    400,
    'event-type',
  );
  no(
    'a string longer than max-event',
    array([...evs(3), ev({ note: 's'.repeat(MAX_EVENT + 1) })]),
    413,
    'payload_too_large',
  );
  no(
    'an NDJSON line with a string longer than max-event',
    ndjson([...evs(3), ev({ note: 's'.repeat(MAX_EVENT + 1) })]),
    413,
    'payload_too_large',
    { type: ND },
  );
  no('a body one byte over max-body', `${array(bigs)} `, 413, 'payload_too_large', { unread: true });
  no('a chunked body over max-body', `${array(bigs)} `, 413, 'payload_too_large', {
    chunk: 65536,
    unread: true,
  });
  no(
    'an event wrong in NDJSON line 3 of 30',
    ndjson([...evs(2), badEvent(), ...evs(27)]),
    400,
    'event-type',
    {
      type: ND,
    },
  );
  no(
    'two malformed NDJSON lines among good ones',
    ndjson([...evs(10), '{"a":', ...evs(10), '[1,]', ...evs(5)]),
    400,
    'json',
    { type: ND },
  );
  no(
    'a wrong client event_hash',
    array([...evs(25), ev({ sec: `{"event_hash":"${'0'.repeat(64)}"}` })]),
    400,
    'event-hash',
  );
  no(
    'security.hash_algo differs from the header',
    array([...evs(25), ev({ sec: '{"hash_algo":"SHA3_256"}' })]),
    400,
    'hash-algo',
  );
  no('security not an object', array([...evs(25), ev({ sec: '"abc"' })]), 400, 'object');

  // -- invalid UTF-8, sent as bytes
  const bad = (name: string, bytes: number[], where: 'string' | 'between' | 'end' | 'nd') => {
    const t = evs(25);
    let text: string;
    if (where === 'string') text = array([...t, ev({ note: 'x@@y' })]);
    else if (where === 'between') text = array(t, ',').replace('},{', '},@@{');
    else if (where === 'end') text = `${array(t)}@@`;
    else text = ndjson([...t.slice(0, 10), ev({ note: '@@' }), ...t.slice(10)]);
    no(`invalid UTF-8 ${name} (${where})`, withBytes(text, bytes), 400, 'utf8', {
      type: where === 'nd' ? ND : JSON_T,
    });
  };
  bad('0xFF', [0xff], 'string');
  bad('overlong "/" C0 AF', [0xc0, 0xaf], 'string');
  bad('lone continuation 0x80', [0x80], 'between');
  bad('encoded surrogate ED A0 80 (a raw lone surrogate)', [0xed, 0xa0, 0x80], 'string');
  bad('encoded surrogate pair ED A0 BD ED B8 80', [0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80], 'nd');
  bad('truncated sequence E2 82', [0xe2, 0x82], 'end');
  bad('over U+10FFFF F4 90 80 80', [0xf4, 0x90, 0x80, 0x80], 'string');
  return cases;
}

// ---------------------------------------------------------------- servers

interface Server {
  name: string;
  threads: number;
  s: Sidecar;
  dir: string;
  /** Bodies the ingest threads were handed. */
  threaded: number;
}

const servers: Server[] = [];
const dirs: ReturnType<typeof tempDir>[] = [];

beforeAll(async () => {
  for (const threads of [0, 1, 2]) {
    const d = tempDir('vcp-hostile-');
    dirs.push(d);
    const s = await startSidecar({
      config: testConfig(d.dir, {
        'ingest-threads': String(threads),
        'max-body': `${MAX_BODY}`,
        'max-event': `${MAX_EVENT}`,
      }),
      log: () => {},
    });
    const server: Server = { name: `threads=${threads}`, threads, s, dir: d.dir, threaded: 0 };
    const pool = s.context.ingestPool;
    expect(pool !== undefined).toBe(threads > 0);
    if (pool) {
      // Every large body to a thread, even with nothing else in progress (where the pool may keep it inline).
      pool.inlineWhenIdle = false;
      const prepare = pool.prepare.bind(pool);
      pool.prepare = (...a) => {
        server.threaded++;
        return prepare(...a);
      };
    }
    servers.push(server);
  }
});
afterAll(async () => {
  for (const x of servers) await x.s.close();
  for (const d of dirs) d.cleanup();
});

/** POST a body, optionally chunked (a stream: no Content-Length). */
async function send(url: string, body: string | Buffer, type: string, chunk?: number): Promise<Answer> {
  if (!chunk)
    return post(`${url}/vcp/log`, typeof body === 'string' ? body : new Uint8Array(body), {
      'content-type': type,
    });
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  let at = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      if (at >= bytes.length) c.close();
      else {
        c.enqueue(new Uint8Array(bytes.subarray(at, at + chunk)));
        at += chunk;
      }
    },
  });
  const res = await fetch(`${url}/vcp/log`, {
    method: 'POST',
    headers: { 'content-type': type },
    body: stream,
    duplex: 'half',
  } as RequestInit);
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

/** Each event acknowledged as new: its id, the hash answered and the text its record must hold. */
const acked: { id: string; hash: string; text: string }[] = [];
type AckedAt = { event_id: string; merkle_index: number };
/** Per server: the merkle_index its answer gave each event (id → index). */
const ackedAt = [0, 1, 2].map(() => new Map<string, number>());

/** The EventHash of an event text, as a reader of it computes it. */
function hashOf(text: string): string {
  const e = JSON.parse(text) as { header: unknown; payload: unknown; security?: { prev_hash?: string } };
  return computeEventHash(
    { header: e.header, payload: e.payload } as Parameters<typeof computeEventHash>[0],
    { prevHash: e.security?.prev_hash },
  );
}

/** Each record of a data folder: its fields and the bytes of the event text it holds. */
function records(dir: string) {
  return readdirSync(join(dir, 'segments'))
    .sort()
    .flatMap((f) => {
      const buf = readFileSync(join(dir, 'segments', f));
      const out: { line: string; i: number; id: string; h: string; s: Record<string, unknown>; e: Buffer }[] =
        [];
      let at = 0;
      for (let nl = buf.indexOf(10); nl !== -1; at = nl + 1, nl = buf.indexOf(10, at)) {
        const json = buf.subarray(at + 9, nl);
        const line = json.toString('utf8');
        const r = JSON.parse(line) as {
          i: number;
          id: string;
          h: string;
          t: string;
          s: Record<string, unknown>;
        };
        // The record as the file store writes it: a fixed head, the security block, then the event's text.
        const head = `{"i":${r.i},"id":${JSON.stringify(r.id)},"h":"${r.h}","t":${JSON.stringify(r.t)},"s":${JSON.stringify(r.s)},"e":`;
        expect(line.startsWith(head), line.slice(0, 300)).toBe(true);
        const headBytes = Buffer.byteLength(head);
        out.push({ line, i: r.i, id: r.id, h: r.h, s: r.s, e: json.subarray(headBytes, json.length - 1) });
      }
      return out;
    });
}

// ---------------------------------------------------------------- tests

describe('hostile bodies through sidecars with and without the ingest thread', () => {
  const cases = buildCases();
  let sequentialSize = 0;

  it('every body is at least 16 KiB but the one meant to stay inline', () => {
    for (const c of cases) expect(size(c.body) >= MIN || c.name.includes('16 KiB - 1'), c.name).toBe(true);
    // The emoji of that case really sits across byte 16384.
    const strad = cases.find((c) => c.name.includes('straddling'))!;
    expect(
      Buffer.from(strad.body as string)
        .subarray(MIN - 2, MIN + 2)
        .toString(),
    ).toBe('😀');
  });

  it('gives identical answers, stores nothing of a refused body, acknowledges what the texts hash to', async () => {
    for (const c of cases) {
      const before = servers.map((x) => x.s.context.tree.size);
      const answers = await Promise.all(servers.map((x) => send(x.s.url, c.body, c.type ?? JSON_T, c.chunk)));
      const [a] = answers;
      expect(a!.status, `${c.name}: ${a!.text.slice(0, 400)}`).toBe(c.status);
      for (let k = 1; k < answers.length; k++) {
        expect(answers[k]!.status, `${c.name} (${servers[k]!.name})`).toBe(a!.status);
        expect(answers[k]!.text, `${c.name} (${servers[k]!.name})`).toBe(a!.text);
      }
      if (c.status !== 201) {
        const b = a!.body as { error: string; errors?: { rule: string }[] };
        expect(b.errors?.[0]?.rule ?? b.error, `${c.name}: ${a!.text.slice(0, 400)}`).toBe(c.rule);
        // All or nothing: not one event of a refused body was stored.
        expect(
          servers.map((x) => x.s.context.tree.size),
          c.name,
        ).toEqual(before);
        continue;
      }
      const texts = c.texts!;
      const results = (a!.body.results ?? [a!.body]) as {
        event_id: string;
        event_hash: string;
        merkle_index: number;
        duplicate?: boolean;
      }[];
      expect(results.length, c.name).toBe(texts.length);
      for (let k = 0; k < texts.length; k++) {
        const t = texts[k]!;
        const r = results[k]!;
        expect(r.event_id, c.name).toBe((JSON.parse(t) as { header: { event_id: string } }).header.event_id);
        expect(r.event_hash, `${c.name} [${k}]`).toBe(hashOf(t));
        expect(r.duplicate === true, `${c.name} [${k}] duplicate`).toBe(c.dups?.includes(k) ?? false);
        if (!r.duplicate) acked.push({ id: r.event_id, hash: r.event_hash, text: t });
        for (const m of ackedAt) m.set(r.event_id, r.merkle_index);
      }
    }
    sequentialSize = servers[0]!.s.context.tree.size;
    expect(sequentialSize).toBe(acked.length);
    for (const x of servers) expect(x.s.context.tree.size, x.name).toBe(sequentialSize);
    // The threads took every body of 16 KiB or more that was read (not the ones refused by their declared size).
    const read = cases.filter((c) => size(c.body) >= MIN && !c.unread).length;
    for (const x of servers) expect(x.threaded, x.name).toBe(x.threads ? read : 0);
  }, 60_000);

  it('answers 50 concurrent mixed requests identically and stores each where it was acknowledged', async () => {
    // The same 50 bodies to each sidecar, all at once: thread and inline bodies share commit groups.
    type Req = { body: string; type: string; texts: string[]; status: number; dups?: number[] };
    const reqs: Req[] = [];
    const stored = acked.slice(0, 40);
    for (let i = 0; i < 50; i++) {
      const m = i % 6;
      if (m === 0) {
        const t = evs(30);
        reqs.push({ body: array(t), type: JSON_T, texts: t, status: 201 });
      } else if (m === 1) {
        const t = evs(25, (j) => ({ note: `${'u'.repeat((i + j) % 5)}é😀中${'v'.repeat(i * 7)}` }));
        reqs.push({ body: array(t, ',\r\n'), type: JSON_T, texts: t, status: 201 });
      } else if (m === 2) {
        const t = evs(30, (j) => ({ x: j % 2 ? '"\\u2028\\ud83d\\ude00"' : '-0' }));
        reqs.push({ body: ndjson(t, '\r\n'), type: ND, texts: t, status: 201 });
      } else if (m === 3) {
        const t = [ev()];
        reqs.push({ body: t[0]!, type: JSON_T, texts: t, status: 201 });
      } else if (m === 4) {
        const t = [...evs(14), badEvent(), ...evs(15)];
        reqs.push({ body: array(t), type: JSON_T, texts: [], status: 400 });
      } else {
        // Events stored before (duplicates) among new ones: the stored indexes come back.
        const old = stored.slice(i % 30, (i % 30) + 5);
        const t = [...evs(20), ...old.map((o) => o.text)];
        reqs.push({
          body: array(t),
          type: JSON_T,
          texts: t,
          status: 201,
          dups: old.map((_, j) => 20 + j),
        });
      }
    }
    // The 2-thread sidecar decides for itself, by load, which bodies go to a thread.
    const two = servers[2]!;
    two.s.context.ingestPool!.inlineWhenIdle = true;
    const threadedBefore = servers.map((x) => x.threaded);
    const all = await Promise.all(
      servers.map((x) => Promise.all(reqs.map((r) => send(x.s.url, r.body, r.type)))),
    );
    // A new event's index follows arrival order; a duplicate's is the stored one (the same everywhere).
    type R = { merkle_index?: number; duplicate?: boolean };
    const noIndex = (r: R) => (r.duplicate || r.merkle_index === undefined ? r : { ...r, merkle_index: -1 });
    const strip = (body: R & { results?: R[] }) =>
      JSON.stringify(body.results ? { ...body, results: body.results.map(noIndex) } : noIndex(body));
    for (let q = 0; q < reqs.length; q++) {
      const r = reqs[q]!;
      const a = all[0]![q]!;
      expect(a.status, `request ${q}: ${a.text.slice(0, 300)}`).toBe(r.status);
      for (let k = 1; k < servers.length; k++) {
        const b = all[k]![q]!;
        expect(b.status, `request ${q} (${servers[k]!.name})`).toBe(a.status);
        expect(strip(b.body), `request ${q} (${servers[k]!.name})`).toBe(strip(a.body));
      }
      if (r.status !== 201) continue;
      const results = (a.body.results ?? [a.body]) as {
        event_id: string;
        event_hash: string;
        duplicate?: boolean;
      }[];
      for (let k = 0; k < r.texts.length; k++) {
        expect(results[k]!.event_hash, `request ${q} [${k}]`).toBe(hashOf(r.texts[k]!));
        expect(results[k]!.duplicate === true).toBe(r.dups?.includes(k) ?? false);
        if (!results[k]!.duplicate)
          acked.push({
            id: results[k]!.event_id,
            hash: results[k]!.event_hash,
            text: r.texts[k]!,
          });
      }
    }
    for (const x of servers) expect(x.s.context.tree.size, x.name).toBe(acked.length);
    const large = reqs.filter((r) => size(r.body) >= MIN).length;
    expect(servers[1]!.threaded - threadedBefore[1]!).toBe(large);
    // Where each server said it stored each event (checked against the records below).
    for (const [k, answers] of all.entries())
      for (const a of answers)
        for (const r of (a.body?.results ?? (a.status === 201 ? [a.body] : [])) as AckedAt[])
          ackedAt[k]!.set(r.event_id, r.merkle_index);
  }, 60_000);

  it('stores the same records, each re-parsing to the acknowledged header and payload', async () => {
    const byId = new Map(acked.map((a) => [a.id, a]));
    const perServer = servers.map((x) => records(x.dir));
    for (const [k, recs] of perServer.entries()) {
      const x = servers[k]!;
      expect(recs.length, x.name).toBe(acked.length);
      const seen = new Set<string>();
      for (const [n, r] of recs.entries()) {
        expect(r.i, x.name).toBe(n);
        expect(ackedAt[k]!.get(r.id), `${x.name}: record ${n} is where the answer said`).toBe(n);
        const a = byId.get(r.id);
        expect(a, `${x.name}: record ${n} was never acknowledged`).toBeDefined();
        expect(seen.has(r.id)).toBe(false);
        seen.add(r.id);
        // The event's text as received (line breaks between tokens made spaces), not re-serialised:
        // one line for every reader (a CR is a line break to many; JSON strings never hold one raw).
        expect(r.e.toString('utf8'), `${x.name}: record ${n}`).toBe(asStored(a!.text));
        expect(r.e.includes(13), `${x.name}: record ${n} holds a CR`).toBe(false);
        // It re-parses under the strict rules, to the header and payload whose hash was acknowledged.
        const e = parseJsonStrict(r.e.toString('utf8')).value as {
          header: unknown;
          payload: unknown;
          security?: { prev_hash?: string };
        };
        const hash = computeEventHash(
          { header: e.header, payload: e.payload } as Parameters<typeof computeEventHash>[0],
          { algo: r.s.hash_algo as 'SHA256', prevHash: r.s.prev_hash as string | undefined },
        );
        expect(hash, `${x.name}: record ${n}`).toBe(a!.hash);
        expect([r.h, r.s.event_hash, r.s.merkle_index], `${x.name}: record ${n}`).toEqual([
          a!.hash,
          a!.hash,
          n,
        ]);
      }
    }
    // The sequential part is the same on every sidecar, record for record (but the time of receipt).
    const norm = (l: string) => l.replace(/"t":"[^"]*"/, '"t":""');
    const seqPart = perServer.map((recs) => recs.slice(0, sequentialSize).map((r) => norm(r.line)));
    for (let k = 1; k < servers.length; k++) expect(seqPart[k], servers[k]!.name).toEqual(seqPart[0]);
    // The concurrent part: the same records by id (indexes follow arrival order).
    const byIdNorm = (recs: (typeof perServer)[0]) =>
      new Map(
        recs.slice(sequentialSize).map((r) => [
          r.id,
          norm(r.line)
            .replace(/^\{"i":\d+,/, '{')
            .replace(/"merkle_index":\d+/, ''),
        ]),
      );
    const base = byIdNorm(perServer[0]!);
    for (let k = 1; k < servers.length; k++) expect(byIdNorm(perServer[k]!), servers[k]!.name).toEqual(base);
  });

  it('serves each event back with its acknowledged hash and index', async () => {
    for (const x of servers) {
      const idx = new Map(records(x.dir).map((r) => [r.id, r.i]));
      for (let from = 0; from < acked.length; from += 64) {
        await Promise.all(
          acked.slice(from, from + 64).map(async (a) => {
            const r = await get(`${x.s.url}/vcp/events/${a.id}`);
            expect(r.status, `${x.name} ${a.id}`).toBe(200);
            const e = r.body as { header: unknown; payload: unknown; security: Record<string, unknown> };
            expect(e.security.event_hash).toBe(a.hash);
            expect(e.security.merkle_index).toBe(idx.get(a.id));
            expect(
              computeEventHash(
                { header: e.header, payload: e.payload } as Parameters<typeof computeEventHash>[0],
                {
                  prevHash: e.security.prev_hash as string | undefined,
                },
              ),
            ).toBe(a.hash);
          }),
        );
      }
    }
  }, 60_000);

  it('counts the same refusals and duplicates', () => {
    const m = servers.map((x) => ({
      rejected: Object.fromEntries(x.s.context.metrics.rejected),
      ingested: x.s.context.metrics.ingested,
      duplicates: x.s.context.metrics.duplicates,
    }));
    for (let k = 1; k < m.length; k++) expect(m[k], servers[k]!.name).toEqual(m[0]);
  });

  it('exports a log that vcp verify proves', async () => {
    for (const x of servers) {
      expect((await post(`${x.s.url}/vcp/anchor`, {})).status).toBe(201);
      const exported = await (await fetch(`${x.s.url}/vcp/export`)).text();
      await writeFile(join(x.dir, 'export.jsonl'), exported);
      await writeFile(join(x.dir, 'sidecar.pub'), x.s.context.signer.exportPublicKey('pem'));
      const v = await runVcp(
        x.dir,
        'verify',
        'export.jsonl',
        '--pubkey',
        'sidecar.pub',
        '--insecure-allow-local-anchors',
        '--json',
      );
      const report = JSON.parse(v.out) as {
        verdict: string;
        checks: Record<string, { passed: number; invalid: number }>;
        findings: { code: string }[];
      };
      const codes = [...new Set(report.findings.map((f) => f.code))];
      expect(report.verdict, `${x.name}: ${codes.join(', ')}`).toBe('PROVEN');
      expect(report.checks.event_hash, x.name).toMatchObject({ passed: acked.length, invalid: 0 });
      expect(report.checks.inclusion, x.name).toMatchObject({ passed: acked.length, invalid: 0 });
    }
  }, 60_000);
});
