/**
 * The canonical parts the strict parser finds (option `canonicalParts`, canonical-span.ts): a span it
 * returns must be exactly what RFC 8785 writes for the value parsed from it (the sidecar takes the
 * EventHash over that span), whatever the line; the separate reference walker must agree with it; and
 * the lines our own sinks write must be found canonical, or the fast path never runs.
 */
import { describe, expect, it } from 'vitest';
import { buildEvent, draftEvent } from '../../src/core/builder.ts';
import { createPolicy } from '../../src/core/policy.ts';
import { canonicalize } from '../../src/integrity/canonical.ts';
import { canonicalTextsOf } from '../../src/integrity/canonical-span.ts';
import { createHashChain } from '../../src/integrity/chain.ts';
import { eventHashOfCanonical } from '../../src/integrity/event-hash.ts';
import { parseJsonStrict } from '../../src/integrity/strict-json.ts';
import { createSealer } from '../../src/recorder/sealer.ts';
import { serializeEvent } from '../../src/sinks/serialize.ts';
import { prng } from '../helpers/prng.ts';
import { canonicalEventParts as referenceParts } from '../reference/canonical-parts-reference.ts';

/** A seeded integer source: r(n) in [0, n). */
function rng(seed: number): (n: number) => number {
  const next = prng(seed);
  return (n) => Math.floor(next() * n);
}

const KEYS = [
  'a',
  'b',
  'A',
  'aa',
  'price',
  'é',
  '😀',
  '\uff61',
  '10',
  '9',
  '',
  '__proto__',
  'x y',
  'q"t',
  'b\\s',
];
const STRINGS = [
  '',
  'EURUSD',
  '1.0850',
  'é',
  '😀',
  '\u2028',
  'q"t',
  'b\\s',
  '\n',
  ' spaced ',
  '{"a":1}',
  ']',
];
const NUMBERS = [0, 1, -1, 7, 10, 100, 2 ** 53 - 1, 1e21, 1e-7, 0.1, 1.5, -0.25, 123456789012345, 5e-324];

function randomValue(r: (n: number) => number, depth: number): unknown {
  switch (depth > 4 ? r(4) : r(6)) {
    case 0:
      return STRINGS[r(STRINGS.length)];
    case 1:
      return NUMBERS[r(NUMBERS.length)];
    case 2:
      return [true, false, null][r(3)];
    case 3:
      return r(2) ? {} : [];
    case 4: {
      const o: Record<string, unknown> = {};
      // defineProperty: an assignment to `__proto__` would set the prototype, not make a key.
      for (let k = r(6); k > 0; k--)
        Object.defineProperty(o, KEYS[r(KEYS.length)]!, {
          value: randomValue(r, depth + 1),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      return o;
    }
    default:
      return Array.from({ length: r(4) }, () => randomValue(r, depth + 1));
  }
}

/** Ways to write a value as JSON text: canonical, engine order, spaced, and with hand-made non-canonical forms. */
function writings(v: unknown): string[] {
  const canonical = canonicalize(v);
  return [
    canonical,
    JSON.stringify(v),
    JSON.stringify(v, null, 1),
    canonical.replace(/:(\d+)([,}\]])/, ':$1.0$2'),
    canonical.replace(/:1([,}\]])/, ':1E0$1'),
    canonical.replace(/:0([,}\]])/, ':-0$1'),
    canonical.replace(/"é"/, '"\\u00e9"'),
    canonical.replace(/,/, ' ,'),
    canonical.replace(/\{"a":/, '{"a" :'),
    canonical.replace(/\[/, '[ '),
  ];
}

/** The parser's parts for a one-event text (undefined when either part is not canonical); checks the reference agrees. */
function canonicalEventParts(text: string): [number, number, number, number] | undefined {
  let parts: number[] | undefined;
  try {
    parts = parseJsonStrict(text, { canonicalParts: true }).canonicalParts;
  } catch {
    return undefined; // refused by the strict parser (a duplicate or forbidden key): nothing is hashed
  }
  // As a reader takes them: canonicalTextsOf also refuses slices holding a lone surrogate.
  const found =
    canonicalTextsOf(text, parts, 0) !== undefined
      ? ([parts![0]!, parts![1]!, parts![2]!, parts![3]!] as [number, number, number, number])
      : undefined;
  expect(found, `reference and parser disagree on ${text}`).toEqual(referenceParts(text));
  return found;
}

function line(header: string, payload: string, extra = ''): string {
  return `{"header":${header},"payload":${payload}${extra}}`;
}

describe('canonicalEventParts', () => {
  it('finds the canonical texts in lines the sinks write, and they are what the EventHash covers', () => {
    const policy = createPolicy({ policyId: 'com.example:span', tier: 'GOLD' });
    const draft = draftEvent(
      'ORD',
      {
        trade_data: { order_id: 'O-1', price: '1.0850', quantity: '100', side: 'BUY' },
        vcp_gov: { algo_id: 'é😀' },
      },
      { policy, venueId: 'XLON', accountId: 'ACC-1' },
    );
    const sealed = createSealer({ chain: createHashChain() }).seal(draft);
    if (!sealed.ok) throw new Error(JSON.stringify(sealed.issues));
    const event = sealed.event;
    // As the recorder's file and HTTP sinks write it.
    const text = serializeEvent(event);
    const parts = canonicalEventParts(text);
    expect(parts).toBeDefined();
    const [h0, h1, p0, p1] = parts!;
    expect(text.slice(h0, h1)).toBe(canonicalize(event.header));
    expect(text.slice(p0, p1)).toBe(canonicalize(event.payload));
    expect(eventHashOfCanonical(text.slice(h0, h1), text.slice(p0, p1))).toBe(event.security.event_hash);
    // A line written from the objects in another key order (JSON.stringify of a built event) is not canonical.
    expect(canonicalEventParts(JSON.stringify(buildEvent('ORD', {}, { policy })))).toBeUndefined();
  });

  it('allows whitespace between the line’s own members and any order of them', () => {
    const h = '{"a":1,"b":"x"}';
    const p = '{"c":[1,2]}';
    const text = ` { "security" : {"event_hash" : "00"} ,\n "payload" :${p} , "header":${h} } `;
    const parts = canonicalEventParts(text)!;
    expect(text.slice(parts[0], parts[1])).toBe(h);
    expect(text.slice(parts[2], parts[3])).toBe(p);
  });

  it('refuses what RFC 8785 would write differently', () => {
    const p = '{"c":1}';
    for (const header of [
      '{"b":1,"a":2}', // keys out of order
      '{"a":1,"a":1}', // a key twice
      '{"a": 1}', // whitespace
      '{"a":1.0}', // number spelling
      '{"a":1E2}',
      '{"a":-0}',
      '{"a":01}',
      '{"a":"\\u0041"}', // an escape RFC 8785 would not write
      '{"a":"\\n"}', // a canonical escape: still the slow path (no backslash is trusted)
      '{"10":1,"9":2,"a":[1 ]}',
      '{"a":"\ud800"}', // a lone surrogate
      '[1]', // not an object
      '"x"',
    ]) {
      expect(canonicalEventParts(line(header, p)), header).toBeUndefined();
    }
    expect(canonicalEventParts('{"header":{"a":1}}')).toBeUndefined(); // no payload
    expect(canonicalEventParts(`{"header":{"a":1},"header":{"a":1},"payload":${p}}`)).toBeUndefined();
    expect(canonicalEventParts(`{"header":{"a":1},"payload":${p}} x`)).toBeUndefined();
  });

  it('takes integer-like keys in code unit order, as RFC 8785 sorts them (not JavaScript’s)', () => {
    const h = '{"10":1,"9":2}';
    expect(canonicalize(JSON.parse(h))).toBe(h);
    const parts = canonicalEventParts(line(h, '{}'))!;
    expect(parts).toBeDefined();
    expect(canonicalEventParts(line('{"9":2,"10":1}', '{}'))).toBeUndefined();
  });

  it('finds the parts of each event of a JSON array, as offsets into the whole text', () => {
    const a = line('{"a":1}', '{"b":"x"}');
    const b = line('{"b":1,"a":2}', '{}'); // header keys out of order
    const c = `{"payload":{"z":[true,null]},"header":{"id":"é"}}`;
    const text = ` [ ${a} ,\n${b}, 5, "s", ${c} ] `;
    const { value, elements, canonicalParts } = parseJsonStrict(text, { canonicalParts: true });
    expect((value as unknown[]).length).toBe(5);
    expect(canonicalParts).toHaveLength(20);
    const texts = elements!.map((_, k) => canonicalTextsOf(text, canonicalParts, k));
    expect(texts).toEqual([
      ['{"a":1}', '{"b":"x"}'],
      undefined,
      undefined,
      undefined,
      ['{"id":"é"}', '{"z":[true,null]}'],
    ]);
  });

  it('leaves the look for lone surrogates to canonicalTextsOf, which a reader of UTF-8 text may skip', () => {
    const text = line('{"a":"\ud800"}', '{}'); // a raw lone surrogate: not from UTF-8
    const { canonicalParts } = parseJsonStrict(text, { canonicalParts: true });
    expect(canonicalParts![0]).toBe(10);
    expect(canonicalTextsOf(text, canonicalParts, 0)).toBeUndefined();
    expect(canonicalTextsOf(text, canonicalParts, 0, true)).toEqual(['{"a":"\ud800"}', '{}']);
    const decoded = Buffer.from(text, 'utf8').toString('utf8'); // what a reader of the bytes gets: U+FFFD
    expect(
      canonicalTextsOf(decoded, parseJsonStrict(decoded, { canonicalParts: true }).canonicalParts, 0),
    ).toEqual(['{"a":"\ufffd"}', '{}']);
  });

  it('finds nothing when the text takes the full scan (an escaped key) or without the option', () => {
    expect(
      parseJsonStrict(`[${line('{"a":1}', '{}')},{"k\\u0041":1}]`, { canonicalParts: true }).canonicalParts,
    ).toBeUndefined();
    expect(parseJsonStrict(line('{"a":1}', '{}')).canonicalParts).toBeUndefined();
  });

  it('never returns a span RFC 8785 would write differently (seeded fuzz against canonicalize)', () => {
    const r = rng(0x5eed);
    let found = 0;
    let canonicalSeen = 0;
    for (let round = 0; round < 3000; round++) {
      const header = randomValue(r, 1);
      const payload = randomValue(r, 1);
      for (const h of writings(header)) {
        for (const p of [canonicalize(payload), JSON.stringify(payload)]) {
          const text = line(h, p, r(2) ? ',"security":{"x":[1, "\\"]}' : '');
          let parsed: { header: unknown; payload: unknown };
          try {
            parsed = JSON.parse(text);
          } catch {
            continue; // the function's contract starts from text JSON.parse accepted
          }
          const parts = canonicalEventParts(text);
          const wantHeader = safeCanonical(parsed.header);
          const wantPayload = safeCanonical(parsed.payload);
          if (parts !== undefined) {
            found++;
            expect(text.slice(parts[0], parts[1])).toBe(wantHeader);
            expect(text.slice(parts[2], parts[3])).toBe(wantPayload);
          } else if (
            h === wantHeader &&
            p === wantPayload &&
            typeof parsed.header === 'object' &&
            typeof parsed.payload === 'object' &&
            !Array.isArray(parsed.header) &&
            !Array.isArray(parsed.payload) &&
            parsed.header !== null &&
            parsed.payload !== null &&
            !text.includes('\\') &&
            strictAccepts(text)
          ) {
            canonicalSeen++;
            throw new Error(`a canonical line was not found canonical: ${text}`);
          }
        }
      }
    }
    expect(canonicalSeen).toBe(0);
    expect(found).toBeGreaterThan(500);
  });
});

function strictAccepts(text: string): boolean {
  try {
    parseJsonStrict(text);
    return true;
  } catch {
    return false;
  }
}

function safeCanonical(v: unknown): string | undefined {
  try {
    return canonicalize(v);
  } catch {
    return undefined;
  }
}
