import { describe, expect, it } from 'vitest';
import { computeEventHash } from '../../src/integrity/event-hash.ts';
import type { HttpError } from '../../src/sidecar/http.ts';
import { bodyKindOf, parseLogBody, prepareEvents } from '../../src/sidecar/ingest.ts';
import { guideEvent, refusal, v11Event } from './helpers.ts';

const limits = { maxBatchEvents: 100, maxEventBytes: 64 * 1024 };
const opts = { ...limits, strict: false };

function prepare(body: string, kind: 'json' | 'ndjson' = 'json', o = opts) {
  return prepareEvents(parseLogBody(Buffer.from(body), kind, limits), o);
}

const issues = (e: HttpError) => e.extra.errors as { path: string; rule: string; message: string }[];

describe('body framing', () => {
  it('reads JSON for application/json and +json; NDJSON for its types; 415 for others, a missing type included', () => {
    expect(refusal(() => bodyKindOf(undefined)).status).toBe(415);
    expect(bodyKindOf('application/json; charset=utf-8')).toBe('json');
    expect(bodyKindOf('application/vnd.vcp+json')).toBe('json');
    expect(bodyKindOf('application/x-ndjson')).toBe('ndjson');
    expect(bodyKindOf('application/jsonl')).toBe('ndjson');
    expect(refusal(() => bodyKindOf('text/plain')).status).toBe(415);
    expect(refusal(() => bodyKindOf('application/x-www-form-urlencoded')).status).toBe(415);
  });

  it('refuses malformed JSON, NaN literals, duplicate keys, non-UTF-8 bytes and empty bodies with 400', () => {
    const cases: [string | Buffer, string][] = [
      ['{"header":', 'json'],
      ['{"a": NaN}', 'json'],
      ['{"header":{},"header":{}}', 'duplicate-key'],
      [Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), 'utf8'],
      ['   ', 'required'],
      ['[]', 'non-empty'],
    ];
    for (const [body, rule] of cases) {
      const e = refusal(() => parseLogBody(Buffer.isBuffer(body) ? body : Buffer.from(body), 'json', limits));
      expect(e.status, String(body)).toBe(400);
      expect(issues(e)[0]!.rule, String(body)).toBe(rule);
    }
  });

  it('refuses nesting deep enough to hurt, without a stack overflow', () => {
    const e = refusal(() =>
      parseLogBody(Buffer.from(`${'['.repeat(100_000)}${']'.repeat(100_000)}`), 'json', limits),
    );
    expect(e.status).toBe(400);
  });

  it('allows an event nested 64 levels in every framing, as vcp verify reads its line, and refuses 65', () => {
    /** The event with an object chain in its payload whose deepest object sits at `level` (event = 1). */
    const deepEvent = (level: number) => {
      let v: unknown = { leaf: 'x' };
      for (let l = level; l > 3; l--) v = { n: v };
      const e = v11Event(1);
      return JSON.stringify({ ...e, payload: { ...e.payload, meta: v } });
    };
    const big = { maxBatchEvents: 10_000, maxEventBytes: 128 * 1024 };
    const filler = Array.from({ length: 1500 }, (_, i) => JSON.stringify(v11Event(i + 2))).join(',');
    const framings = (line: string): [string, () => unknown][] => [
      ['single', () => parseLogBody(Buffer.from(line), 'json', limits)],
      ['array', () => parseLogBody(Buffer.from(` [${line}]`), 'json', limits)],
      ['ndjson', () => parseLogBody(Buffer.from(`${line}\n`), 'ndjson', limits)],
      [
        'array over 1 MiB (checked on its bytes)',
        () => parseLogBody(Buffer.from(`[${filler},${line}]`), 'json', big),
      ],
    ];
    for (const [name, parse] of framings(deepEvent(64))) expect(parse, name).not.toThrow();
    for (const [name, parse] of framings(deepEvent(65))) {
      expect(issues(refusal(parse as () => unknown))[0]!.rule, name).toBe('depth');
    }
    // The array level itself is not an event's: an array inside the array is one level too many.
    expect(
      issues(refusal(() => parseLogBody(Buffer.from(`[[${deepEvent(64)}]]`), 'json', limits)))[0]!.rule,
    ).toBe('depth');
  });

  it('counts batch items against the limit (413) for arrays and NDJSON alike', () => {
    const many = JSON.stringify(Array.from({ length: 101 }, () => ({})));
    const e = refusal(() => parseLogBody(Buffer.from(many), 'json', limits));
    expect(e.status).toBe(413);
    expect(e.extra).toMatchObject({ limit: 100, what: 'batch' });
    const nd = Array.from({ length: 101 }, () => '{}').join('\n');
    expect(refusal(() => parseLogBody(Buffer.from(nd), 'ndjson', limits)).status).toBe(413);
  });

  it("keeps each item's own text, on one line, for the store (pretty-printed bodies included)", () => {
    const items = [v11Event(1), v11Event(2)];
    const pretty = JSON.stringify(items, null, 2).replace(/\n/g, '\r\n');
    const parsed = parseLogBody(Buffer.from(pretty), 'json', limits);
    expect(parsed.raws).toHaveLength(2);
    parsed.raws.forEach((raw, k) => {
      expect(raw).not.toMatch(/[\r\n]/);
      expect(JSON.parse(raw)).toEqual(items[k]);
    });
    const single = parseLogBody(Buffer.from(`\n ${JSON.stringify(items[0], null, 1)} \n`), 'json', limits);
    expect(JSON.parse(single.raws[0]!)).toEqual(items[0]);
    expect(single.raws[0]).not.toMatch(/\n/);
  });

  it('names the line of each unreadable NDJSON line and skips blank lines and CRLF', () => {
    const e = refusal(() => parseLogBody(Buffer.from('{}\r\n\n{bad\n{"a":1,"a":2}\n'), 'ndjson', limits));
    const list = issues(e);
    expect(list.map((i) => i.path)).toEqual(['[1]', '[2].a']);
    expect(list[0]!.message).toMatch(/^line 3: /);
    expect(list[1]!.rule).toBe('duplicate-key');
    expect(parseLogBody(Buffer.from('{}\r\n\r\n{}\r\n'), 'ndjson', limits).items).toHaveLength(2);
  });
});

describe('prepareEvents', () => {
  it('accepts a conformant v1.1 event without warnings and computes the v1.1 EventHash', () => {
    const e = v11Event();
    const [p] = prepare(JSON.stringify(e));
    expect(p!.warnings).toEqual([]);
    expect(p!.eventHash).toBe(computeEventHash(e));
    expect(p!.event.security).toEqual({ event_hash: p!.eventHash, hash_algo: 'SHA256' });
    expect(p!.event.header).toEqual(e.header);
    expect(JSON.parse(p!.raw)).toEqual(e);
  });

  it("accepts the guide's client events and lists each v1.1 gap as a warning; strict mode refuses them", () => {
    const [p] = prepare(JSON.stringify(guideEvent()));
    const rules = p!.warnings.map((w) => `${w.path}:${w.rule}`);
    expect(rules).toContain('header.event_id:uuidv7');
    expect(rules).toContain('header.venue_id:required');
    expect(rules).toContain('header.event_type_code:required');
    const e = refusal(() => prepare(JSON.stringify(guideEvent()), 'json', { ...opts, strict: true }));
    expect(e.status).toBe(400);
    expect(issues(e).map((i) => `${i.path}:${i.rule}`)).toEqual(rules);
  });

  it('checks a client-supplied event_hash (including prev_hash) and refuses a mismatch naming the right hash', () => {
    const e = v11Event();
    const prev = 'ab'.repeat(32);
    const right = computeEventHash(e, { prevHash: prev });
    const [ok] = prepare(JSON.stringify({ ...e, security: { event_hash: right, prev_hash: prev } }));
    expect(ok!.eventHash).toBe(right);
    const bad = refusal(() =>
      prepare(JSON.stringify({ ...e, security: { event_hash: computeEventHash(e), prev_hash: prev } })),
    );
    expect(issues(bad)[0]).toMatchObject({ path: 'security.event_hash', rule: 'event-hash' });
    expect(issues(bad)[0]!.message).toContain(right);
  });

  it('refuses security.hash_algo that contradicts the header, and hashes with the declared algorithm', () => {
    const e = v11Event();
    const mixed = refusal(() => prepare(JSON.stringify({ ...e, security: { hash_algo: 'SHA3_256' } })));
    expect(issues(mixed)[0]).toMatchObject({ path: 'security.hash_algo', rule: 'hash-algo' });
    const sha3 = { ...e, header: { ...e.header, hash_algo: 'SHA3_256' } };
    expect(prepare(JSON.stringify(sha3))[0]!.eventHash).toBe(computeEventHash(sha3, { algo: 'SHA3_256' }));
  });

  it('drops client values of the fields the sidecar assigns, keeping signature fields', () => {
    const e = v11Event();
    const sec = {
      merkle_index: 99,
      merkle_root: 'cd'.repeat(32),
      anchor_reference: 'x',
      signature: 'sig',
      signing_key_id: 'k',
    };
    const [p] = prepare(JSON.stringify({ ...e, security: sec }));
    expect(p!.event.security).toEqual({
      signature: 'sig',
      signing_key_id: 'k',
      event_hash: p!.eventHash,
      hash_algo: 'SHA256',
    });
  });

  it('names every bad field of every batch item, with [i]. paths, and refuses the whole batch', () => {
    const good = v11Event(1);
    const badPrice = v11Event(2) as any;
    badPrice.payload.trade_data.price = 1.085;
    const badType = v11Event(3) as any;
    badType.header.timestamp_int = 1735689600123;
    badType.header.event_type = 'NOPE';
    const e = refusal(() => prepare(JSON.stringify([good, badPrice, badType])));
    expect(e.status).toBe(400);
    expect(issues(e).map((i) => `${i.path}:${i.rule}`)).toEqual([
      '[1].payload.trade_data.price:decimal-string',
      '[2].header.event_type:event-type',
      '[2].header.timestamp_int:int64-string',
    ]);
  });

  it('refuses wrong types at the top level and for header and payload', () => {
    for (const body of ['"a string"', '42', 'null', '[1]', '{"header":[],"payload":"x"}']) {
      const e = refusal(() => prepare(body));
      expect(e.status, body).toBe(400);
    }
  });

  it('refuses the same event_id twice in one batch (compared case-insensitively)', () => {
    const a = v11Event(1);
    const b = {
      ...v11Event(2),
      header: { ...v11Event(2).header, event_id: a.header.event_id.toUpperCase() },
    };
    const e = refusal(() => prepare(JSON.stringify([a, b])));
    expect(issues(e)[0]).toMatchObject({ path: '[1].header.event_id', rule: 'duplicate-in-batch' });
  });

  it('refuses lone surrogates: in hashed fields (canonical-json) and in unhashed ones (unicode)', () => {
    const e = v11Event();
    const inPayload = JSON.stringify(e).replace('"ORD-0"', '"ORD-\\ud800"');
    const a = refusal(() => prepare(inPayload));
    expect(issues(a)[0]).toMatchObject({ path: 'payload.trade_data.order_id', rule: 'canonical-json' });
    const inHeaderKey = JSON.stringify(e).replace('"venue_id":', '"\\udfff":"x","venue_id":');
    expect(issues(refusal(() => prepare(inHeaderKey)))[0]).toMatchObject({
      path: 'header.\\udfff',
      rule: 'canonical-json',
    });
    const inPolicy = JSON.stringify({
      ...e,
      policy_identification: { ...e.policy_identification, note: 'PLACEHOLDER' },
    }).replace('PLACEHOLDER', '\\udc00');
    expect(issues(refusal(() => prepare(inPolicy)))[0]).toMatchObject({ rule: 'unicode' });
    // A well-formed pair and an escaped backslash followed by "ud800" are fine.
    const fine = JSON.stringify({
      ...e,
      policy_identification: { ...e.policy_identification, note: '😀 \\ud800' },
    });
    expect(prepare(fine)).toHaveLength(1);
  });

  it('refuses "__proto__" keys and constructor.prototype (400 forbidden-key), naming the item and path', () => {
    const text = JSON.stringify([v11Event(0), v11Event(1)]).replace(
      '"trade_data":{"order_id":"ORD-1"',
      '"trade_data":{"__proto__":{"polluted":"yes"},"order_id":"ORD-1"',
    );
    const e = refusal(() => prepare(text));
    expect(e.status).toBe(400);
    expect(issues(e)[0]).toMatchObject({ rule: 'forbidden-key', path: '[1].payload.trade_data.__proto__' });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const c = refusal(() =>
      prepare(
        JSON.stringify(v11Event()).replace('"payload":{', '"payload":{"constructor":{"prototype":{"x":1}},'),
      ),
    );
    expect(issues(c)[0]).toMatchObject({ rule: 'forbidden-key', path: 'payload.constructor.prototype' });
    const nd = refusal(() => prepare(`${JSON.stringify(v11Event(0))}\n{"__proto__":1}\n`, 'ndjson'));
    expect(issues(nd)[0]).toMatchObject({ rule: 'forbidden-key', path: '[1].__proto__' });
  });

  it('refuses numbers a double cannot hold (400 number-precision) instead of storing them rounded', () => {
    const text = JSON.stringify(v11Event()).replace(
      '"trade_data":{',
      '"trade_data":{"ref_no":12345678901234567890,',
    );
    const e = refusal(() => prepare(text));
    expect(e.status).toBe(400);
    expect(issues(e)[0]).toMatchObject({ rule: 'number-precision', path: 'payload.trade_data.ref_no' });
    expect(issues(e)[0]!.message).toMatch(/decimal string/);
    const b = refusal(() =>
      prepare(
        `[${JSON.stringify(v11Event(0))},${JSON.stringify(v11Event(1)).replace('"trade_data":{', '"trade_data":{"x":0.10000000000000000001,')}]`,
      ),
    );
    expect(issues(b)[0]).toMatchObject({ rule: 'number-precision', path: '[1].payload.trade_data.x' });
  });

  it('refuses hostile shapes by the parser limits before building them: keys per object, depth, batch size', () => {
    const keys = Array.from({ length: 5000 }, (_, i) => `"k${i}":1`).join(',');
    const k = refusal(() => prepare(`{"header":{},"payload":{${keys}}}`));
    expect([k.status, issues(k)[0]!.rule, issues(k)[0]!.path]).toEqual([400, 'max-keys', 'payload']);
    expect(issues(refusal(() => prepare('['.repeat(1_000_000))))[0]!.rule).toBe('depth');
    // 101 items, refused at the 101st without parsing the rest (the text is not even closed).
    const many = refusal(() => prepare(`[${'{},'.repeat(101)}`));
    expect([many.status, many.extra.what]).toEqual([413, 'batch']);
  });

  it('checks a large body (over 1 MiB) on its bytes first, with the same rules and paths', () => {
    const big = { maxBatchEvents: 10_000, maxEventBytes: 128 * 1024 };
    const filler = JSON.stringify(Array.from({ length: 1500 }, (_, i) => v11Event(i)));
    expect(filler.length).toBeGreaterThan(1024 * 1024);
    // Valid: accepted as a whole.
    expect(parseLogBody(Buffer.from(filler), 'json', big).items).toHaveLength(1500);
    const keys = Array.from({ length: 5000 }, (_, i) => `"k${i}":1`).join(',');
    const wide = `${filler.slice(0, -1)},{"header":{},"payload":{"x":{${keys}}}}]`;
    const k = refusal(() => parseLogBody(Buffer.from(wide), 'json', big));
    expect([k.status, issues(k)[0]!.rule, issues(k)[0]!.path]).toEqual([400, 'max-keys', '[1500].payload.x']);
    const deep = `${filler.slice(0, -1)},${'['.repeat(100)}`;
    expect(issues(refusal(() => parseLogBody(Buffer.from(deep), 'json', big)))[0]!.rule).toBe('depth');
    // Checked before decoding: the limit is found even though the body is not UTF-8 (a small one says "utf8").
    const notUtf8 = Buffer.concat([
      Buffer.from('["\xff"'),
      Buffer.from(`,${filler.slice(1, -1)},${'['.repeat(100)}`),
    ]);
    notUtf8[2] = 0xff;
    expect(issues(refusal(() => parseLogBody(notUtf8, 'json', big)))[0]!.rule).toBe('depth');
    expect(issues(refusal(() => parseLogBody(notUtf8.subarray(0, 1000), 'json', big)))[0]!.rule).toBe('utf8');
    const long = `${filler.slice(0, -1)},{"payload":{"s":"${'x'.repeat(200_000)}"}}]`;
    expect(refusal(() => parseLogBody(Buffer.from(long), 'json', big)).extra).toMatchObject({
      what: 'event',
      path: '[1500]',
    });
  });

  it('refuses an event larger than the limit with 413 naming it', () => {
    const big = v11Event() as any;
    big.payload.note = 'x'.repeat(70 * 1024);
    const e = refusal(() => prepare(JSON.stringify([v11Event(1), big])));
    expect(e.status).toBe(413);
    expect(e.extra).toMatchObject({ what: 'event', path: '[1]', limit: 64 * 1024 });
  });
});
