/**
 * What a caller hands to `record()` is checked before sealing: an invalid id
 * or a forbidden key becomes an ERR_SYSTEM event naming the field and the
 * rule (the recorder's policy for an invalid draft), never a throw, never a
 * sealed event the sidecar would refuse.
 */
import { describe, expect, it } from 'vitest';
import { createFixedClock } from '../../src/core/clock.ts';
import type { VcpEvent, VcpPayload } from '../../src/core/types.ts';
import { isUuid } from '../../src/core/uuidv7.ts';
import { validateEvent } from '../../src/core/validate.ts';
import { parseStrictJson } from '../../src/integrity/strict-json.ts';
import { checkCallerIds, findForbiddenKey, mayHoldForbiddenKey } from '../../src/recorder/caller-fields.ts';
import { createRecorder } from '../../src/recorder/recorder.ts';
import { createTestRecorder } from '../../src/recorder/test-recorder.ts';
import type { RecordOptions } from '../../src/recorder/types.ts';
import { parseLogBody } from '../../src/sidecar/ingest.ts';
import { MemorySink } from '../../src/sinks/memory.ts';
import { policy } from '../sinks/_helpers.ts';

const order = (i: number): VcpPayload => ({
  trade_data: { order_id: `O-${i}`, price: '1.0850', quantity: '100000' },
});

/** Record one event among good ones; what was sealed in its place, and the stats. */
async function recordAmongGood(payload: VcpPayload, options?: RecordOptions) {
  const { recorder, sink } = createTestRecorder({ onError: () => {} });
  recorder.record('ORD', order(0));
  let id: string | undefined;
  expect(() => {
    id = recorder.record('ORD', payload, options);
  }).not.toThrow();
  recorder.record('ORD', order(2));
  await recorder.flush();
  expect(sink.events).toHaveLength(3);
  expect(sink.events[0]!.payload.trade_data?.order_id).toBe('O-0');
  expect(sink.events[2]!.payload.trade_data?.order_id).toBe('O-2');
  // Everything sealed is what the sidecar accepts (no errors).
  for (const e of sink.events) expect(validateEvent(e).errors).toEqual([]);
  return { id, event: sink.events[1]!, stats: recorder.stats() };
}

function issuesOf(e: VcpEvent): { path: string; rule: string; message: string }[] {
  return (e.payload.error_details as unknown as { issues: { path: string; rule: string; message: string }[] })
    .issues;
}

describe('caller-given ids', () => {
  it.each([
    ['a path', '../../etc/passwd'],
    ['empty', ''],
    ['a UUID with a trailing newline', '0190f3a2-7c1e-7b3d-9a4f-2c8e5d6b1a09\n'],
    ['too long', 'x'.repeat(10_000)],
    ['braces', '{0190f3a2-7c1e-7b3d-9a4f-2c8e5d6b1a09}'],
  ])(
    'eventId %s: ERR_SYSTEM naming header.event_id [uuid], bounded message, nothing thrown',
    async (_n, bad) => {
      const { id, event, stats } = await recordAmongGood(order(1), { eventId: bad });
      expect(id).toBe(bad);
      expect(event.header.event_type).toBe('ERR_SYSTEM');
      expect(issuesOf(event)).toContainEqual(
        expect.objectContaining({ path: 'header.event_id', rule: 'uuid' }),
      );
      // A bad id is never used as an id (not as correlated_event_id either).
      expect(isUuid(event.header.event_id)).toBe(true);
      expect(event.payload.error_details?.correlated_event_id).toBeUndefined();
      expect(JSON.stringify(event).length).toBeLessThan(5000);
      expect(stats).toMatchObject({ invalid: 1, sealed: 3, internalErrors: 0 });
    },
  );

  it('eventId: a non-string (a caller bypassing the types) is refused the same way', async () => {
    const { event } = await recordAmongGood(order(1), { eventId: 42 as unknown as string });
    expect(issuesOf(event)).toContainEqual(
      expect.objectContaining({
        path: 'header.event_id',
        rule: 'uuid',
        message: expect.stringContaining('number'),
      }),
    );
  });

  it('eventId: any valid UUID is accepted (taps derive v8 ids), in any case', async () => {
    for (const good of ['0190f3a2-7c1e-7b3d-9a4f-2c8e5d6b1a09', '0190F3A2-7C1E-8B3D-9A4F-2C8E5D6B1A09']) {
      const { event, stats } = await recordAmongGood(order(1), { eventId: good });
      expect(event.header.event_id).toBe(good);
      expect(stats.invalid).toBe(0);
    }
  });

  it.each([
    ['empty', ''],
    ['129 characters', 't'.repeat(129)],
    ['a number', 7 as unknown as string],
  ])('traceId %s: ERR_SYSTEM naming header.trace_id [string], on a fresh trace', async (_n, bad) => {
    const { event } = await recordAmongGood(order(1), { traceId: bad });
    expect(event.header.event_type).toBe('ERR_SYSTEM');
    expect(issuesOf(event)).toContainEqual(
      expect.objectContaining({ path: 'header.trace_id', rule: 'string' }),
    );
    // The replacement does not inherit the broken trace id.
    expect(event.header.trace_id).not.toBe(bad);
    expect(validateEvent(event).errors).toEqual([]);
  });

  it('traceId of 128 characters (not a UUID) is accepted, as the sidecar accepts it (a warning there)', async () => {
    const { event, stats } = await recordAmongGood(order(1), { traceId: 't'.repeat(128) });
    expect(event.header.trace_id).toBe('t'.repeat(128));
    expect(stats.invalid).toBe(0);
  });

  it.each([
    ['venueId', { venueId: 42 as unknown as string }, 'header.venue_id', 'string'],
    ['symbol', { symbol: 'EUR\ud800USD' }, 'header.symbol', 'canonical-json'],
    ['accountId', { accountId: {} as unknown as string }, 'header.account_id', 'string'],
    ['operatorId', { operatorId: ['x'] as unknown as string }, 'header.operator_id', 'string'],
  ] as [string, RecordOptions, string, string][])(
    '%s that the sidecar would refuse: ERR_SYSTEM naming it, the replacement itself valid',
    async (_n, options, at, rule) => {
      const { event } = await recordAmongGood(order(1), options);
      expect(event.header.event_type).toBe('ERR_SYSTEM');
      expect(issuesOf(event)).toContainEqual(expect.objectContaining({ path: at, rule }));
      expect(validateEvent(event).errors).toEqual([]);
    },
  );

  it('options whose getters throw: counted and captured, never thrown into the caller', async () => {
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error('getter exploded');
        },
      },
    ) as RecordOptions;
    const { event, stats } = await recordAmongGood(order(1), hostile);
    expect(event.header.event_type).toBe('ERR_SYSTEM');
    expect(stats.internalErrors).toBe(1);
  });

  it('checkCallerIds names each bad field', () => {
    expect(checkCallerIds({ event_id: 'x', trace_id: '' }).map((i) => `${i.path} ${i.rule}`)).toEqual([
      'header.event_id uuid',
      'header.trace_id string',
    ]);
    expect(checkCallerIds({ event_id: '0190f3a2-7c1e-7b3d-9a4f-2c8e5d6b1a09', trace_id: 'abc' })).toEqual([]);
  });
});

describe('forbidden keys (rule forbidden-key)', () => {
  const refused: [string, string, string][] = [
    [
      '__proto__ at the top of payload',
      'payload.__proto__',
      '{"__proto__":{"x":1},"trade_data":{"order_id":"a"}}',
    ],
    [
      '__proto__ deep inside',
      'payload.meta.a.b.__proto__',
      '{"trade_data":{"order_id":"a"},"meta":{"a":{"b":{"__proto__":null}}}}',
    ],
    ['__proto__ inside an array', 'payload.meta.list[1].__proto__', '{"meta":{"list":[1,{"__proto__":{}}]}}'],
    [
      '__proto__ inside trade_data',
      'payload.trade_data.__proto__',
      '{"trade_data":{"order_id":"a","__proto__":"x"}}',
    ],
    [
      'constructor holding prototype',
      'payload.meta.constructor.prototype',
      '{"meta":{"constructor":{"prototype":{"polluted":"yes"}}}}',
    ],
    [
      'constructor.prototype holding null',
      'payload.meta.constructor.prototype',
      '{"meta":{"constructor":{"prototype":null}}}',
    ],
  ];
  it.each(refused)('%s: ERR_SYSTEM naming %s, nothing thrown, no prototype touched', async (_n, at, json) => {
    const { event, stats } = await recordAmongGood(JSON.parse(json) as VcpPayload);
    expect(event.header.event_type).toBe('ERR_SYSTEM');
    expect(issuesOf(event)).toEqual([expect.objectContaining({ path: at, rule: 'forbidden-key' })]);
    expect(stats.invalid).toBe(1);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  const allowed: [string, string][] = [
    ['"__proto__" as a string value', '{"meta":{"note":"__proto__","list":["__proto__"]}}'],
    ['a key "prototype" alone', '{"meta":{"prototype":{"a":"b"}}}'],
    ['a key "constructor" holding other keys', '{"meta":{"constructor":{"name":"Foo"}}}'],
    ['a key "constructor" holding a string "prototype"', '{"meta":{"constructor":"prototype"}}'],
    ['look-alike keys', '{"meta":{"__proto":1,"proto__":2,"__PROTO__":3,"_proto_":4}}'],
    ['a quoted "__proto__" inside a string', '{"meta":{"note":"say \\"__proto__\\" twice"}}'],
  ];
  it.each(allowed)('%s is ordinary data: sealed as given', async (_n, json) => {
    const payload = JSON.parse(json) as VcpPayload;
    const { event, stats } = await recordAmongGood(payload);
    expect(event.header.event_type).toBe('ORD');
    expect(event.payload).toEqual(payload);
    expect(stats.invalid).toBe(0);
  });

  it('a forbidden key in a caller-given header field value is only a value (symbol "__proto__")', async () => {
    const { event } = await recordAmongGood(order(1), { symbol: '__proto__' });
    expect(event.header.symbol).toBe('__proto__');
  });

  it('the substring pre-check never misses a forbidden key the walk finds (random payloads)', () => {
    const keys = ['a', 'b', '__proto__', 'constructor', 'prototype', 'x"y', 'é', '__proto'];
    // mulberry32: a small seeded generator, so a failure replays.
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n) | 0;
    };
    const gen = (depth: number): unknown => {
      const k = rnd(depth > 3 ? 3 : 6);
      if (k === 0) return 'v';
      if (k === 1) return keys[rnd(keys.length)];
      if (k === 2) return null;
      if (k === 3) return [gen(depth + 1), gen(depth + 1)];
      const o: Record<string, unknown> = {};
      for (let i = rnd(4); i > 0; i--)
        Object.defineProperty(o, keys[rnd(keys.length)]!, {
          value: gen(depth + 1),
          enumerable: true,
          configurable: true,
          writable: true,
        });
      return o;
    };
    let found = 0;
    for (let n = 0; n < 3000; n++) {
      const v = gen(0);
      const text = JSON.stringify(v) ?? '';
      const hit = findForbiddenKey(v, 'payload');
      if (hit) {
        found++;
        expect(mayHoldForbiddenKey(text)).toBe(true);
      }
      // And the walk agrees with a reading of the JSON text by a fresh parser.
      const reparsed = JSON.parse(text) as unknown;
      expect(findForbiddenKey(reparsed, 'payload')?.path).toBe(hit?.path);
    }
    expect(found).toBeGreaterThan(100);
  });

  it('checks every event of a real recorder too (not only the test recorder)', async () => {
    const sink = new MemorySink();
    const recorder = createRecorder({
      policy,
      sink,
      exitHooks: false,
      clock: createFixedClock(),
      onError: () => {},
    });
    recorder.record('ORD', JSON.parse('{"trade_data":{"order_id":"a"},"m":{"__proto__":1}}') as VcpPayload);
    await recorder.close();
    expect(sink.events[0]!.header.event_type).toBe('ERR_SYSTEM');
  });
});

describe('nesting and key counts (rules depth, max-keys): what the sidecar and vcp verify would refuse', () => {
  /** A payload whose deepest object sits at `level` of the event line (event 1, payload 2, meta 3). */
  const deepPayload = (level: number): VcpPayload => {
    let v: unknown = { leaf: 'x' };
    for (let l = level; l > 3; l--) v = { n: v };
    return { trade_data: { order_id: 'D-1' }, meta: v } as unknown as VcpPayload;
  };

  it('seals an event nested to level 64, which the sidecar takes in a JSON array batch and vcp verify reads', async () => {
    const { event, stats } = await recordAmongGood(deepPayload(64));
    expect(event.header.event_type).toBe('ORD');
    expect(stats.invalid).toBe(0);
    const line = JSON.stringify(event);
    expect(() => parseStrictJson(line, { canonicalNumbers: true })).not.toThrow();
    const body = Buffer.from(`[${JSON.stringify(order(0))},${line}]`);
    expect(parseLogBody(body, 'json', { maxBatchEvents: 10 }).items).toHaveLength(2);
  });

  it('refuses level 65 as ERR_SYSTEM naming the path (the sidecar and vcp verify refuse it too)', async () => {
    const { event, stats } = await recordAmongGood(deepPayload(65));
    expect(event.header.event_type).toBe('ERR_SYSTEM');
    expect(stats.invalid).toBe(1);
    const [issue] = issuesOf(event);
    expect(issue).toMatchObject({ rule: 'depth' });
    expect(issue!.path).toMatch(/^payload\.meta(\.n)+$/);
  });

  it('refuses more than 1 000 keys in one object (max-keys), seals 1 000', async () => {
    const wide = (n: number) =>
      ({
        trade_data: { order_id: 'W-1' },
        meta: Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'v'])),
      }) as unknown as VcpPayload;
    expect((await recordAmongGood(wide(1000))).event.header.event_type).toBe('ORD');
    const { event } = await recordAmongGood(wide(1001));
    expect(event.header.event_type).toBe('ERR_SYSTEM');
    expect(issuesOf(event)).toEqual([expect.objectContaining({ path: 'payload.meta', rule: 'max-keys' })]);
  });
});
