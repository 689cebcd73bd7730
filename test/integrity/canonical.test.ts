import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { VcpCanonicalizationError } from '../../src/core/errors.ts';
import { canonicalize, lastCanonicalShape } from '../../src/integrity/canonical.ts';
import { prng } from '../helpers/prng.ts';
import { formatNumber, ReferenceJcsError, referenceCanonicalize } from '../reference/jcs-reference.ts';

const JCS = path.join(import.meta.dirname, '../vectors/data/jcs');

/** The double whose IEEE 754 bits are `hex` (1 to 16 hex digits, as in the cyberphone corpus). */
function doubleFromHex(hex: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt('0x' + hex));
  return view.getFloat64(0);
}

/** The VcpCanonicalizationError `fn` throws (fails the test if it throws anything else). */
function rejection(fn: () => unknown): VcpCanonicalizationError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(VcpCanonicalizationError);
    return err as VcpCanonicalizationError;
  }
  throw new Error('expected a VcpCanonicalizationError, got a result');
}

/** Own data property, even for "__proto__" (a plain assignment would set the prototype). */
function define(o: object, key: string, value: unknown): void {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}

describe('RFC 8785 vectors (cyberphone/json-canonicalization testdata)', () => {
  const names = readdirSync(path.join(JCS, 'cyberphone/input')).filter((f) => f.endsWith('.json'));

  it('has the six upstream cases', () => {
    expect(names.sort()).toEqual([
      'arrays.json',
      'french.json',
      'structures.json',
      'unicode.json',
      'values.json',
      'weird.json',
    ]);
  });

  for (const name of names) {
    it(`${name}: output/ bytes and outhex/ bytes`, () => {
      const input = JSON.parse(readFileSync(path.join(JCS, 'cyberphone/input', name), 'utf8'));
      const bytes = Buffer.from(canonicalize(input), 'utf8');
      expect(bytes.equals(readFileSync(path.join(JCS, 'cyberphone/output', name)))).toBe(true);
      const hex = readFileSync(path.join(JCS, 'cyberphone/outhex', name.replace('.json', '.txt')), 'utf8');
      expect(bytes.toString('hex')).toBe(hex.trim().split(/\s+/).join(''));
    });
  }
});

describe('RFC 8785 numbers', () => {
  /** `hex,expected` rows; `expected` is `ERROR(...)` where JCS must reject the value. */
  function rows(file: string, header: boolean): [string, string][] {
    const lines = readFileSync(path.join(JCS, 'numbers', file), 'utf8')
      .split('\n')
      .filter(Boolean);
    return (header ? lines.slice(1) : lines).map((l) => l.split(',') as [string, string]);
  }

  it('es6testfile_first10000.txt: all 10 000 doubles serialize as the corpus says', () => {
    const all = rows('es6testfile_first10000.txt', false);
    expect(all).toHaveLength(10_000);
    const wrong: string[] = [];
    for (const [hex, expected] of all) {
      const x = doubleFromHex(hex);
      if (canonicalize(x) !== expected) wrong.push(`${hex}: got ${canonicalize(x)}, want ${expected}`);
      // The reference's hand-written layout must agree too (it is the oracle below).
      if (formatNumber(x) !== expected) wrong.push(`reference ${hex}: got ${formatNumber(x)}`);
      // Inside a structure as well as alone.
      if (canonicalize({ v: [x] }) !== `{"v":[${expected}]}`) wrong.push(`${hex} nested`);
    }
    expect(wrong).toEqual([]);
  });

  for (const [file, header] of [
    ['rfc8785_appendix_b.csv', true],
    ['readme_samples.csv', false],
  ] as const) {
    it(`${file}: finite rows match, NaN and ±Infinity rows are rejected`, () => {
      const all = rows(file, header);
      expect(all.length).toBeGreaterThan(5);
      let rejected = 0;
      for (const [hex, expected] of all) {
        const x = doubleFromHex(hex);
        if (expected.startsWith('ERROR')) {
          expect(Number.isFinite(x)).toBe(false);
          const err = rejection(() => canonicalize({ price: x }));
          expect(err.path).toBe('/price');
          expect(err.message).toMatch(/(NaN|Infinity) is not allowed/);
          rejected++;
        } else {
          expect(canonicalize(x)).toBe(expected);
        }
      }
      expect(rejected).toBeGreaterThanOrEqual(2);
    });
  }

  it('-0 is written 0, and integers beyond 2^53 keep ES6 form', () => {
    expect(canonicalize(-0)).toBe('0');
    expect(canonicalize([-0, 0])).toBe('[0,0]');
    expect(canonicalize(2 ** 53 + 2)).toBe('9007199254740994');
    expect(canonicalize(1e21)).toBe('1e+21');
  });
});

describe('key order (RFC 8785 §3.2.3: UTF-16 code units)', () => {
  it('puts integer-like keys where their code units say, not first as JavaScript does', () => {
    const o = { b: 1, '10': 2, '2': 3, a: 4, '1': 5, '': 6 };
    expect(Object.keys(o)).toEqual(['1', '2', '10', 'b', 'a', '']); // engine order, for contrast
    expect(canonicalize(o)).toBe('{"":6,"1":5,"10":2,"2":3,"a":4,"b":1}');
  });

  it('sorts by code units, not code points: a surrogate pair sorts before U+E000..U+FFFF', () => {
    const o = { '\uFB33': 1, '\u{1F600}': 2, '\uE000': 3, '\u00F6': 4, z: 5 };
    // Code points would give z, ö, U+E000, U+FB33, U+1F600; code units put U+D83D first of the top three.
    expect(canonicalize(o)).toBe('{"z":5,"ö":4,"\u{1F600}":2,"\uE000":3,"\uFB33":1}');
  });

  it('is case-sensitive and locale-free', () => {
    expect(canonicalize({ b: 1, B: 2, a: 3, A: 4, é: 5, e: 6 })).toBe(
      '{"A":4,"B":2,"a":3,"b":1,"e":6,"é":5}',
    );
  });

  it('gives one answer for the same object built in any insertion order', () => {
    const keys = ['x', '10', 'a', '2', 'Z', '_', '-1', '01', ''];
    const expected = canonicalize(Object.fromEntries(keys.map((k) => [k, k])));
    for (let r = 0; r < 20; r++) {
      const shuffled = [...keys].sort(() => Math.sin(r * 7 + keys.length) - 0.5 + (r % 3) * 0.1);
      const rotated = [...shuffled.slice(r % keys.length), ...shuffled.slice(0, r % keys.length)];
      expect(canonicalize(Object.fromEntries(rotated.map((k) => [k, k])))).toBe(expected);
    }
  });

  it('gives the same text on the first, second and later sightings of a shape (layout cache)', () => {
    const shapes = [
      { b: 1, a: 'x', '10': [true], '2': null },
      { 'tab\t': 'v"q', '\u{1F600}': '\u{1F600}', '': 0 },
      { price: '1.0850', undefinedOne: undefined, quantity: '100000' },
    ];
    for (let round = 0; round < 4; round++) {
      for (const shape of shapes) {
        const fresh = JSON.parse(JSON.stringify(shape)); // same keys, new object
        expect(canonicalize(shape)).toBe(referenceCanonicalize(shape));
        expect(canonicalize(fresh)).toBe(referenceCanonicalize(fresh));
      }
      const err = rejection(() => canonicalize({ a: 1, 'k\ud800': 2 }));
      expect(err.path).toBe('/k\\ud800');
    }
  });

  it('stays right when many shapes share a first key (layout cache) and past its limits', () => {
    for (let i = 0; i < 2100; i++) {
      const j = i % 700; // every shape three times, far apart, past the cache's 512 entries
      const o: Record<string, number> = { a: 1 };
      o[`k${j}`] = j;
      if (j % 2) o.b = 2;
      expect(canonicalize(o)).toBe(j % 2 ? `{"a":1,"b":2,"k${j}":${j}}` : `{"a":1,"k${j}":${j}}`);
      expect(canonicalize(o)).toBe(canonicalize({ ...o })); // back to back: second sighting and hit
    }
    const wide = Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`key${149 - i}`, i]));
    expect(canonicalize(wide)).toBe(referenceCanonicalize(wide));
    const longKeys = { ['b'.repeat(3000)]: 1, ['a'.repeat(3000)]: 2 };
    expect(canonicalize(longKeys)).toBe(`{"${'a'.repeat(3000)}":2,"${'b'.repeat(3000)}":1}`);
  });
});

describe('strings (RFC 8785 §3.2.2.2)', () => {
  it('escapes exactly the JSON-mandated characters, with lowercase hex', () => {
    expect(canonicalize('\u0000\u0008\u0009\u000a\u000b\u000c\u000d\u001f')).toBe(
      '"\\u0000\\b\\t\\n\\u000b\\f\\r\\u001f"',
    );
    expect(canonicalize('"\\/')).toBe('"\\"\\\\/"');
    expect(canonicalize('\u007f\u2028\u2029€😂<>&')).toBe('"\u007f\u2028\u2029€😂<>&"');
  });

  it('rejects a lone surrogate in a value, naming the path and the code unit', () => {
    for (const bad of ['\ud800', 'a\udfff', '\ude02\ud83d', 'x\ud83d']) {
      const err = rejection(() => canonicalize({ payload: { note: [bad] } }));
      expect(err.path).toBe('/payload/note/0');
      expect(err.message).toMatch(/lone surrogate \(\\ud[89a-f][0-9a-f]{2} at index \d\)/);
    }
  });

  it('rejects a lone surrogate in a key, even when its value is undefined', () => {
    const err = rejection(() => canonicalize({ trade_data: { 'p\ud800': 1 } }));
    expect(err.message).toContain('object key contains a lone surrogate');
    expect(err.path).toBe('/trade_data/p\\ud800'); // shown, not embedded raw
    expect(rejection(() => canonicalize({ '\udc00': undefined })).path).toBe('/\\udc00');
  });
});

describe('rejected values: clear message, JSON-pointer path', () => {
  const cases: [string, unknown, string, RegExp][] = [
    ['NaN', { a: { price: Number.NaN } }, '/a/price', /NaN is not allowed/],
    ['Infinity', { a: [1, Number.POSITIVE_INFINITY] }, '/a/1', /Infinity is not allowed/],
    ['-Infinity', [Number.NEGATIVE_INFINITY], '/0', /-Infinity is not allowed/],
    ['BigInt', { header: { timestamp_int: 1n } }, '/header/timestamp_int', /BigInt.*decimal string/],
    ['function', { f: () => 1 }, '/f', /function is not allowed/],
    ['symbol', { s: Symbol('x') }, '/s', /symbol is not allowed/],
    ['undefined in an array', { list: [1, undefined] }, '/list/1', /undefined is not allowed in an array/],
    // biome-ignore lint/suspicious/noSparseArray: the hole is the point
    ['array hole', { list: [1, , 3] }, '/list/1', /array hole/],
    ['Date', { at: new Date(0) }, '/at', /Date is not a plain object; convert it to an ISO 8601 string/],
    ['Map', { m: new Map() }, '/m', /Map is not a plain object/],
    ['Set', { s: new Set() }, '/s', /Set is not a plain object/],
    ['Buffer', { b: Buffer.from('x') }, '/b', /Buffer is not a plain object; encode binary data/],
    ['Uint8Array', { b: new Uint8Array(1) }, '/b', /Uint8Array is not a plain object/],
    ['RegExp', { r: /x/ }, '/r', /RegExp is not a plain object/],
    ['boxed string', { s: new String('x') }, '/s', /String is not a plain object; pass the primitive/],
    ['class instance', { o: new (class Order {})() }, '/o', /Order is not a plain object/],
    [
      'toJSON is not honoured',
      {
        o: new (class Px {
          toJSON() {
            return '1.0';
          }
        })(),
      },
      '/o',
      /toJSON is not honoured/,
    ],
    ['toJSON own property is a function', { o: { toJSON: () => 'x' } }, '/o/toJSON', /function/],
    ['another realm', { o: vm.runInNewContext('({ a: 1 })') }, '/o', /another realm/],
    ['undefined root', undefined, '', /undefined is not allowed in canonical JSON \(root value\)/],
    ['odd keys in the path', { 'a/b': { '~c': Number.NaN } }, '/a~1b/~0c', /NaN/],
  ];
  for (const [name, value, where, message] of cases) {
    it(name, () => {
      const err = rejection(() => canonicalize(value));
      expect(err.path).toBe(where);
      expect(err.message).toMatch(message);
      expect(err.code).toBe('VCP_CANONICALIZATION');
      if (where) expect(err.message.endsWith(` at ${where}`)).toBe(true);
    });
  }

  it('skips undefined-valued properties, as JSON.stringify does', () => {
    expect(canonicalize({ a: undefined, b: 1, c: undefined })).toBe('{"b":1}');
    expect(canonicalize({ a: undefined })).toBe('{}');
  });

  it('lets an error thrown by a getter through unchanged', () => {
    const boom = new TypeError('getter failed');
    const o = {
      get x() {
        throw boom;
      },
    };
    expect(() => canonicalize(o)).toThrow(boom);
  });

  it('reads each property once and never pairs a key with another key’s value', () => {
    let reads = 0;
    const o: Record<string, unknown> = {
      get a() {
        reads++;
        delete o.b; // a hostile getter rearranging the object mid-walk
        return 1;
      },
      b: 2,
      c: 3,
    };
    expect(canonicalize(o)).toBe('{"a":1,"c":3}');
    expect(reads).toBe(1);
  });
});

describe('plain objects and __proto__', () => {
  it('serializes an own "__proto__" key as an ordinary key, without touching any prototype', () => {
    const parsed = JSON.parse('{"b":1,"__proto__":{"polluted":true},"a":[{"__proto__":null}]}');
    expect(canonicalize(parsed)).toBe('{"__proto__":{"polluted":true},"a":[{"__proto__":null}],"b":1}');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
  });

  it('accepts null-prototype objects as plain', () => {
    const o = Object.create(null) as Record<string, unknown>;
    o.z = 1;
    define(o, '__proto__', 'own');
    expect(canonicalize({ o })).toBe('{"o":{"__proto__":"own","z":1}}');
  });

  it('ignores symbol-keyed and non-enumerable properties', () => {
    const o: Record<string | symbol, unknown> = { a: 1, [Symbol('s')]: 2 };
    Object.defineProperty(o, 'hidden', { value: 3, enumerable: false });
    expect(canonicalize(o)).toBe('{"a":1}');
  });

  it('accepts shared (non-cyclic) references', () => {
    const shared = { p: '1.0850' };
    expect(canonicalize({ a: shared, b: [shared, shared] })).toBe(
      '{"a":{"p":"1.0850"},"b":[{"p":"1.0850"},{"p":"1.0850"}]}',
    );
  });
});

describe('depth and cycles', () => {
  function nested(depth: number, inArray: boolean): unknown {
    let v: unknown = 'leaf';
    for (let i = 0; i < depth; i++) v = inArray ? [v] : { d: v };
    return v;
  }

  it('accepts 1000 levels of arrays or objects and rejects 1001 clearly', () => {
    expect(canonicalize(nested(1000, true))).toBe('['.repeat(1000) + '"leaf"' + ']'.repeat(1000));
    expect(canonicalize(nested(1000, false)).length).toBe(1000 * 6 + 6);
    for (const inArray of [true, false]) {
      const err = rejection(() => canonicalize(nested(1001, inArray)));
      expect(err.message).toMatch(/nesting deeper than 1000 arrays\/objects/);
      expect(err.path).toMatch(inArray ? /^\/0\/0\// : /^\/d\/d\//);
      expect(err.path).toContain('…(936 more)…'); // 1000 segments, shown as 32 + 32
    }
  });

  it('rejects absurd depth without a stack overflow', () => {
    expect(rejection(() => canonicalize(nested(200_000, true))).message).toMatch(/nesting deeper/);
  });

  it('never leaks a RangeError when the caller’s own stack is nearly used up', () => {
    // Call canonicalize from ever deeper caller stacks until the caller itself overflows;
    // somewhere before that, canonicalize runs out of stack half-way and must say so cleanly.
    const value = nested(1000, false);
    const outcomes: string[] = [];
    const recurse = (n: number): void => {
      if (n > 0) {
        recurse(n - 1);
        return;
      }
      try {
        outcomes.push(canonicalize(value).startsWith('{"d":{"d":') ? 'ok' : 'wrong');
      } catch (err) {
        const e = err as Error;
        if (e instanceof VcpCanonicalizationError && /call stack/.test(e.message)) outcomes.push('stack');
        // The one overflow nobody can convert: in canonicalize's own prologue, before any of
        // its code runs (the same would happen calling any function there).
        else if (e instanceof RangeError && /^\s*at canonicalize /.test(e.stack?.split('\n')[1] ?? ''))
          outcomes.push('entry');
        else outcomes.push(`${e.name}: ${e.message} ${e.stack?.split('\n').slice(1, 4).join(' <- ')}`);
      }
    };
    let callerOverflowed = false;
    for (let depth = 0; depth < 1_000_000 && !callerOverflowed; depth += 25) {
      try {
        recurse(depth);
      } catch (err) {
        expect(err).toBeInstanceOf(RangeError); // the caller's own recursion, not canonicalize
        callerOverflowed = true;
      }
    }
    expect(callerOverflowed).toBe(true);
    expect(outcomes.filter((o) => o !== 'ok' && o !== 'stack' && o !== 'entry')).toEqual([]);
    expect(outcomes).toContain('ok');
    expect(outcomes).toContain('stack');
  });

  it('reports a cycle as a circular reference, with both paths', () => {
    const order: Record<string, unknown> = { id: 'o1', legs: [] };
    (order.legs as unknown[]).push({ parent: order });
    const err = rejection(() => canonicalize({ payload: order }));
    expect(err.path).toBe('/payload/legs/0/parent');
    expect(err.message).toMatch(/circular reference \(this value is its own ancestor at \/payload\)/);

    const self: unknown[] = [];
    self.push(self);
    const rootErr = rejection(() => canonicalize(self));
    expect(rootErr.path).toBe('/0');
    expect(rootErr.message).toMatch(/ancestor at the root/);
  });
});

describe('cross-check against the slow reference (test/reference/jcs-reference.ts)', () => {
  const KEY_POOL = [
    'a',
    'b',
    'A',
    '',
    '0',
    '1',
    '2',
    '10',
    '01',
    '-1',
    '4294967294',
    '4294967295',
    '__proto__',
    'price',
    'trade_data',
    'é',
    'e\u0301',
    '\u{1F600}',
    '\uE000',
    '\uFB33',
    'a"b',
    'a\\b',
    'tab\t',
    '~/',
    'toJSON',
  ];
  const CHARS = [
    'a',
    'Z',
    '0',
    ' ',
    '"',
    '\\',
    '/',
    '\n',
    '\u0000',
    '\u001f',
    '\u007f',
    'é',
    '€',
    '\u2028',
    '\uFFFF',
    '\u{1F600}',
    '\u{10FFFF}',
    '\uD800\uDC00',
  ];

  function gen(rand: () => number, depth: number): unknown {
    const r = rand();
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    if (depth > 4 || r < 0.45) {
      const kind = Math.floor(rand() * 6);
      if (kind === 0) return pick([null, true, false]);
      if (kind === 1) return Math.floor(rand() * 2000) - 1000;
      if (kind === 2) {
        const view = new DataView(new ArrayBuffer(8));
        view.setUint32(0, Math.floor(rand() * 2 ** 32));
        view.setUint32(4, Math.floor(rand() * 2 ** 32));
        const x = view.getFloat64(0);
        return Number.isFinite(x) ? x : pick([0, -0, 5e-324, 1e21, 1e-7, 0.1]);
      }
      if (kind === 3) return Math.round((rand() - 0.5) * 1e6) / 10 ** Math.floor(rand() * 8);
      let s = '';
      const len = Math.floor(rand() * 12);
      for (let i = 0; i < len; i++) s += pick(CHARS);
      return s;
    }
    if (r < 0.7) return Array.from({ length: Math.floor(rand() * 5) }, () => gen(rand, depth + 1));
    const o: Record<string, unknown> = rand() < 0.1 ? Object.create(null) : {};
    const n = Math.floor(rand() * 7);
    for (let i = 0; i < n; i++) define(o, pick(KEY_POOL), rand() < 0.05 ? undefined : gen(rand, depth + 1));
    return o;
  }

  it('agrees on 4000 random JSON values, and canonical output is a fixed point', () => {
    const rand = prng(8785);
    let withSpecials = 0;
    for (let i = 0; i < 4000; i++) {
      const v = gen(rand, 0);
      const ours = canonicalize(v);
      expect(ours).toBe(referenceCanonicalize(v));
      // Idempotence: parsing the canonical text and canonicalizing again changes nothing.
      expect(canonicalize(JSON.parse(ours))).toBe(ours);
      if (/\\|__proto__|"10"/.test(ours)) withSpecials++;
    }
    expect(withSpecials).toBeGreaterThan(500); // the generator does reach the tricky cases
  });

  it('rejects the same first offender at the same path on 1500 random broken values', () => {
    const rand = prng(6901);
    const poison: (() => unknown)[] = [
      () => Number.NaN,
      () => Number.NEGATIVE_INFINITY,
      () => 'x\ud800',
      () => 2n,
      () => () => 0,
      () => new Date(0),
      () => new Map(),
    ];
    let compared = 0;
    for (let i = 0; i < 1500; i++) {
      const root = { wrap: gen(rand, 1) } as Record<string, unknown>;
      // Walk down a random branch and plant one or two bad values there.
      let at: Record<string, unknown> | unknown[] = root;
      for (let d = 0; d < 4; d++) {
        const kids = Object.keys(at).filter((k) => {
          const c = (at as Record<string, unknown>)[k];
          return typeof c === 'object' && c !== null;
        });
        if (kids.length === 0 || rand() < 0.3) break;
        at = (at as Record<string, unknown>)[kids[Math.floor(rand() * kids.length)]!] as typeof at;
      }
      const bad = poison[Math.floor(rand() * poison.length)]!();
      if (Array.isArray(at)) {
        if (rand() < 0.2) at.push(undefined);
        else at.push(bad);
      } else if (rand() < 0.15) {
        define(at, 'k\udc00', 1);
      } else {
        define(at, `bad${i % 3}`, bad);
      }
      let want: ReferenceJcsError | undefined;
      try {
        referenceCanonicalize(root);
      } catch (err) {
        want = err as ReferenceJcsError;
      }
      expect(want).toBeInstanceOf(ReferenceJcsError);
      const err = rejection(() => canonicalize(root));
      // Our path shows control characters and lone surrogates as \uXXXX; the reference's is raw.
      const shown = want!.path.replace(
        /[\u0000-\u001f\u007f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
        (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'),
      );
      expect(err.path).toBe(shown);
      compared++;
    }
    expect(compared).toBe(1500);
  });
});

describe('compiled layouts (a key sequence used often enough gets straight-line code)', () => {
  // Each shape below is written far more often than the compile threshold, with values that
  // change on every use, so both the generic writer and the compiled one run on it.
  const VALUES: unknown[] = [
    'plain',
    '',
    'q"uote',
    'back\\slash',
    'ctl\u0001\u001f',
    '\u2028\u2029',
    'é€😀',
    '\u{10FFFF}',
    // Longer than 24 code units (needsEscape scans those with a RegExp, shorter ones with a loop).
    `${'x'.repeat(30)}"`,
    `${'y'.repeat(40)}\n`,
    `\\${'w'.repeat(25)}`,
    '\u{1F600}'.repeat(20),
    'é'.repeat(30),
    'a'.repeat(25),
    -0,
    0,
    1e21,
    1e-7,
    5e-324,
    -1.5,
    2 ** 53 + 2,
    true,
    false,
    null,
    undefined,
    [],
    {},
    [1, 'a', [null, [-0]]],
    { z: 1, a: [{ '10': 'x', '2': 'y' }] },
  ];
  const KEYSETS: string[][] = [
    ['price', 'quantity', 'side', 'symbol'],
    ['b', 'a', '10', '2', '', '__proto__'],
    ['\u{1F600}', '\uE000', '\uFB33', 'é', 'e\u0301', 'A', 'a'],
    ['a"b', 'a\\b', 'tab\t', '~/', 'toJSON', 'line\u2028sep'],
  ];

  function build(keys: string[], round: number): Record<string, unknown> {
    const o: Record<string, unknown> = {};
    for (let j = 0; j < keys.length; j++) define(o, keys[j]!, VALUES[(round * 7 + j * 3) % VALUES.length]);
    return o;
  }

  it('matches the slow reference on every use, before and after compilation', () => {
    for (let round = 0; round < 300; round++) {
      for (const keys of KEYSETS) {
        const o = build(keys, round);
        expect(canonicalize(o)).toBe(referenceCanonicalize(o));
        // Nested inside an array and an object of a compiled shape too.
        const wrapped = { outer: [o, { inner: o }], n: round };
        expect(canonicalize(wrapped)).toBe(referenceCanonicalize(wrapped));
      }
    }
  });

  it('rejects bad values at the same path after compilation (lone surrogate, NaN, BigInt, holes)', () => {
    const keys = ['price', 'quantity', 'side', 'symbol'];
    for (let i = 0; i < 200; i++) canonicalize({ wrap: build(keys, i) });
    const poison: [unknown, string][] = [
      ['x\ud800', 'string contains a lone surrogate'],
      [`${'z'.repeat(30)}\udc00`, 'string contains a lone surrogate'],
      [`\ud83d${'z'.repeat(30)}`, 'string contains a lone surrogate'],
      [Number.NaN, 'NaN'],
      [2n, 'BigInt'],
      // biome-ignore lint/suspicious/noSparseArray: a hole is the point
      [[1, , 3], 'array hole'],
      [{ deep: new Date(0) }, 'Date'],
    ];
    for (const [bad, words] of poison) {
      for (const k of keys) {
        const o = build(keys, 1);
        define(o, k, bad);
        const err = rejection(() => canonicalize({ wrap: o }));
        const tail = Array.isArray(bad) ? '/1' : typeof bad === 'object' ? '/deep' : '';
        expect(err.path).toBe(`/wrap/${k}${tail}`);
        expect(err.message).toContain(words);
      }
    }
  });

  it('reads each property once through getters, and lets a getter’s own error through', () => {
    const keys = ['price', 'quantity', 'side', 'symbol'];
    for (let i = 0; i < 200; i++) canonicalize(build(keys, i));
    let reads = 0;
    const o = build(keys, 3);
    Object.defineProperty(o, 'side', {
      enumerable: true,
      get() {
        reads++;
        return 'BUY';
      },
    });
    expect(canonicalize(o)).toBe(referenceCanonicalize({ ...o }));
    expect(reads).toBe(2); // once by us, once by the spread for the reference
    const boom = new Error('getter failed');
    Object.defineProperty(o, 'quantity', {
      enumerable: true,
      get() {
        throw boom;
      },
    });
    expect(() => canonicalize(o)).toThrow(boom);
  });
});

describe('compiled layouts where the host forbids code generation', () => {
  it('falls back to the generic writer with the same output', () => {
    const mod = path.join(import.meta.dirname, '../../src/integrity/canonical.ts');
    const script = `import { canonicalize } from ${JSON.stringify(mod)};
      let s = '';
      for (let i = 0; i < 300; i++) s = canonicalize({ b: i, a: 'x\\u00e9', c: [{ y: -0, x: 1e21 }] });
      console.log(s);`;
    const r = spawnSync(
      process.execPath,
      ['--disallow-code-generation-from-strings', '--input-type=module', '-e', script],
      { encoding: 'utf8' },
    );
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('{"a":"x\u00e9","b":299,"c":[{"x":1e+21,"y":0}]}');
  });
});

describe('lastCanonicalShape: the nesting and widest object of what canonicalize wrote', () => {
  it('reports levels of arrays and objects and the most keys in one object, through compiled layouts too', () => {
    canonicalize('x');
    expect(lastCanonicalShape()).toEqual({ depth: 0, maxKeys: 0 });
    canonicalize({ a: 1, b: { c: [1, [2, { d: 3 }]] } });
    expect(lastCanonicalShape()).toEqual({ depth: 5, maxKeys: 2 });
    const wide = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, { v: [i] }]));
    // Past the uses after which a layout is compiled to straight-line code, the shape is the same.
    for (let i = 0; i < 200; i++) canonicalize({ x: wide, y: [] });
    expect(lastCanonicalShape()).toEqual({ depth: 4, maxKeys: 40 });
    // Each call starts afresh.
    canonicalize({ a: 1 });
    expect(lastCanonicalShape()).toEqual({ depth: 1, maxKeys: 1 });
  });

  it('a call from a getter inside a call never makes the outer shape smaller (an upper bound at worst)', () => {
    const outer = {
      deep: { a: { b: { c: {} } } },
      get z() {
        canonicalize({ flat: 1 });
        return 1;
      },
    };
    canonicalize(outer);
    expect(lastCanonicalShape().depth).toBeGreaterThanOrEqual(4);
  });
});
