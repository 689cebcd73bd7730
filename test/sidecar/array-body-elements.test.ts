/**
 * A large JSON array body is parsed one element at a time (src/sidecar/array-body-elements.ts).
 * What must hold: a body that path takes gives exactly the items, texts and RFC 8785 offsets a
 * parse of the whole body gives; a body it cannot cut cleanly (an element holding `},{`, bad
 * JSON, a duplicate key, too many items…) is left to the whole-body parse, so every refusal is
 * the one the sidecar always gave.
 */
import { describe, expect, it } from 'vitest';
import type { VcpEvent } from '../../src/core/types.ts';
import { canonicalize } from '../../src/integrity/canonical.ts';
import { ELEMENT_PARSE_MIN_BYTES, parseArrayElements } from '../../src/sidecar/array-body-elements.ts';
import { HttpError } from '../../src/sidecar/http.ts';
import { type ParsedBody, parseLogBody, prepareEvents } from '../../src/sidecar/ingest.ts';
import { eventLine } from '../../src/sinks/serialize.ts';
import { guideEvent, v11Event } from './helpers.ts';

const limits = { maxBatchEvents: 1000, maxEventBytes: 64 * 1024 };
const scanLimits = { maxKeysPerObject: 10_000, maxStringLength: limits.maxEventBytes, maxItems: 1000 };

/** `n` events as texts: guide-shaped and v1.1, every other one as the sinks write it (RFC 8785 header and payload). */
function eventTexts(n: number, edit?: (e: Record<string, unknown>, i: number) => void): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const e = (i % 3 === 0 ? guideEvent(`ORD-${i}`) : v11Event(i)) as unknown as Record<string, unknown>;
    edit?.(e, i);
    const ev = e as unknown as VcpEvent;
    out.push(
      i % 2 === 0 ? eventLine(ev, canonicalize(ev.header), canonicalize(ev.payload)) : JSON.stringify(e),
    );
  }
  return out;
}

function parse(body: string, max = limits.maxBatchEvents): ParsedBody {
  return parseLogBody(Buffer.from(body), 'json', { ...limits, maxBatchEvents: max });
}

/** The same elements with `, ` between them: no `},{` to cut at, so the body is parsed whole. */
function parsedWhole(texts: string[]): ParsedBody {
  return parse(`[${texts.join(', ')}]`);
}

function expectSameAsWhole(body: string, texts: string[]): ParsedBody {
  const got = parse(body);
  const whole = parsedWhole(texts);
  expect(got.items).toEqual(whole.items);
  expect(got.raws).toEqual(whole.raws);
  expect(got.batch).toBe(true);
  const parts = (p: ParsedBody) => p.canonicalParts ?? new Array<number>(4 * p.items.length).fill(-1);
  expect(parts(got)).toEqual(parts(whole));
  return got;
}

/** The refusal of a body, by its parse or by the checks of its events (as the sidecar runs them). */
function refusal(body: string, max?: number): HttpError {
  try {
    prepareEvents(parse(body, max), { ...limits, strict: false });
  } catch (e) {
    expect(e).toBeInstanceOf(HttpError);
    return e as HttpError;
  }
  throw new Error('the body was accepted');
}

describe('a large JSON array body parsed by element', () => {
  it('gives the items, texts and RFC 8785 offsets of a whole-body parse, with each text a slice of the body', () => {
    const texts = eventTexts(300);
    const body = `\n [${texts.join(',')}] \r\n`;
    expect(Buffer.byteLength(body)).toBeGreaterThan(ELEMENT_PARSE_MIN_BYTES);
    expect(parseArrayElements(Buffer.from(body), scanLimits)).toBeDefined();
    const got = expectSameAsWhole(body, texts);
    expect(got.items).toEqual(texts.map((t) => JSON.parse(t)));
    expect(got.spans).toBeDefined();
    for (const [k, raw] of got.raws.entries())
      expect(body.slice(got.spans![2 * k]!, got.spans![2 * k + 1]!)).toBe(raw);
    // The events written as the sinks write them are found as RFC 8785 text, the others not.
    const found = got.items.map((_, k) => got.canonicalParts![4 * k]! >= 0);
    expect(found).toEqual(got.items.map((_, k) => k % 2 === 0));
  });

  it('decodes non-ASCII elements as UTF-8 (texts as strings, no byte spans)', () => {
    const texts = eventTexts(300, (e, i) => {
      if (i === 7) (e.payload as { trade_data: { order_id: string } }).trade_data.order_id = 'ORD-é-€-𝄞';
    });
    const body = `[${texts.join(',')}]`;
    expect(parseArrayElements(Buffer.from(body), scanLimits)).toBeDefined();
    const got = expectSameAsWhole(body, texts);
    expect(got.spans).toBeUndefined();
    expect(JSON.stringify(got.items[7])).toContain('ORD-é-€-𝄞');
  });

  it('stores line breaks between tokens as spaces, as a whole-body parse does', () => {
    const texts = eventTexts(200).map((t) => JSON.stringify(JSON.parse(t), null, 1));
    const body = `[${texts.join(',')}]`;
    expect(parseArrayElements(Buffer.from(body), scanLimits)).toBeDefined();
    const got = expectSameAsWhole(body, texts);
    expect(got.spans).toBeUndefined();
    for (const raw of got.raws) expect(raw).not.toMatch(/[\r\n]/);
  });

  it('leaves a body whose cuts fall inside an element to the whole-body parse, with the same result', () => {
    for (const edit of [
      (e: Record<string, unknown>) => {
        (e.payload as Record<string, unknown>).note = 'a},{"header":{}},{b';
      },
      (e: Record<string, unknown>) => {
        (e.payload as Record<string, unknown>).fills = [{ px: '1.1' }, { px: '1.2' }];
      },
    ]) {
      const texts = eventTexts(300, (e, i) => i === 150 && edit(e));
      const body = `[${texts.join(',')}]`;
      expect(parseArrayElements(Buffer.from(body), scanLimits)).toBeUndefined();
      const got = expectSameAsWhole(body, texts);
      expect(got.items).toHaveLength(300);
    }
  });

  it('never refuses a body itself: what the whole-body parse refuses, it refuses as before', () => {
    const texts = eventTexts(300);
    const good = texts.join(',');
    const dup = texts[150]!.replace('"header":{', '"header":{"event_id":"x",');
    const cases: [string, string, number, number?][] = [
      [
        'a duplicate key in one element',
        `[${[...texts.slice(0, 150), dup, ...texts.slice(151)].join(',')}]`,
        400,
      ],
      ['a __proto__ key', `[${good},{"__proto__":{}}]`, 400],
      ['a trailing comma', `[${good},]`, 400],
      ['a cut-off body', `[${good},{"header":`, 400],
      ['two arrays', `[${good}],[${good}]`, 400],
      ['a lone surrogate escape', `[${good},{"header":{"x":"\\ud800"}}]`, 400],
      ['a number with 400 digits', `[${good},{"n":${'9'.repeat(400)}}]`, 400],
      ['more items than a batch may hold', `[${good}]`, 413, 299],
      ['nesting deeper than an event may', `[${good},${'{"a":'.repeat(70)}1${'}'.repeat(70)}]`, 400],
    ];
    for (const [name, body, status, max] of cases) {
      expect(Buffer.byteLength(body), name).toBeGreaterThan(ELEMENT_PARSE_MIN_BYTES);
      const scan = { ...scanLimits, maxItems: max ?? scanLimits.maxItems };
      const cut = parseArrayElements(Buffer.from(body), scan);
      // Either not cut at all, or cut into items the per-event checks refuse (the lone surrogate, the number).
      if (cut) expect(['a lone surrogate escape', 'a number with 400 digits']).toContain(name);
      if (status === 413) expect(cut, name).toBeUndefined();
      const e = refusal(body, max);
      expect(e.status, name).toBe(status);
      if (name.startsWith('nesting')) expect(e.message + JSON.stringify(e.extra)).toContain('nested deeper');
    }
  });
});
