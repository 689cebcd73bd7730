/**
 * Differential fuzz of the compiled-layout fast path of src/integrity/canonical.ts.
 *
 * A key sequence seen often enough is compiled with `new Function` into straight-line code
 * that holds the keys as string literals. A wrong byte there is a wrong EventHash, and a key
 * that escaped its literal would run client-chosen code, so every case below is written well
 * past the compile point and compared with the slow reference (test/reference/jcs-reference.ts)
 * byte for byte, errors included (same JSON-pointer path, same kind of complaint).
 *
 * `globalThis.Function` is wrapped for the whole file (restored at the end) so the tests can see
 * what was compiled, when, and how often each compiled writer ran: a case only counts as
 * covering the compiled path if that writer demonstrably wrote it.
 *
 * Module state (layout cache, compile budget) lives as long as this file's worker: the budget
 * test runs last because it spends the budget.
 */

import { spawnSync } from 'node:child_process';
import path from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VcpCanonicalizationError } from '../../src/core/errors.ts';
import { canonicalize } from '../../src/integrity/canonical.ts';
import { prng } from '../helpers/prng.ts';
import { ReferenceJcsError, referenceCanonicalize } from '../reference/jcs-reference.ts';

/** Sightings of a key sequence up to its compilation: the first builds no layout, so the 65th is the layout's 64th use. */
const SIGHTINGS_TO_COMPILE = 65;
/** Layouts compiled at most per process. */
const COMPILE_BUDGET = 1024;

// ---------------------------------------------------------------------------------------------
// Watching `new Function`

interface Compiled {
  readonly source: string;
  /** Keys the generated code reads, as `o[<string literal>]`, in source order. */
  readonly reads: readonly string[];
  /** Objects this compiled writer has written (or tried to). */
  writes: number;
}

const compiled: Compiled[] = [];
let attempts = 0;
/** When set, the next `new Function` throws what it returns (a host refusing, or a stack running out). */
let refuseNext: (() => Error) | undefined;
const RealFunction = globalThis.Function;

beforeAll(() => {
  globalThis.Function = new Proxy(RealFunction, {
    construct(target, args: unknown[]) {
      // Only the canonicalizer's compiles are watched; anyone else gets the real thing.
      if (!/integrity[\\/]canonical\.ts/.test(new Error().stack ?? ''))
        return Reflect.construct(target, args);
      attempts++;
      const refusal = refuseNext;
      refuseNext = undefined;
      if (refusal) throw refusal();
      const factory = Reflect.construct(target, args) as (...a: unknown[]) => unknown;
      const source = String(args[args.length - 1]);
      const entry: Compiled = { source, reads: tokens(source).reads, writes: 0 };
      compiled.push(entry);
      return (...fargs: unknown[]) => {
        const write = factory(...fargs) as (o: object, depth: number) => string;
        return (o: object, depth: number) => {
          entry.writes++;
          return write(o, depth);
        };
      };
    },
  });
});

afterAll(() => {
  globalThis.Function = RealFunction;
});

/** The compiled writer whose reads are exactly `keys` (any order), the latest one. */
function compiledFor(keys: readonly string[]): Compiled | undefined {
  const want = [...keys].sort();
  for (let i = compiled.length - 1; i >= 0; i--) {
    const got = [...compiled[i]!.reads].sort();
    if (got.length === want.length && got.every((k, j) => k === want[j])) return compiled[i];
  }
  return undefined;
}

/**
 * The source's tokens, as V8 would split them (TypeScript's scanner, which accepts U+2028 and
 * U+2029 inside string literals as ES2019 does): `shape` is every token with string literals
 * reduced to their kind, `reads` the literal after each `[`.
 */
function tokens(source: string): { shape: string[]; reads: string[] } {
  const scanner = ts.createScanner(ts.ScriptTarget.Latest, true, ts.LanguageVariant.Standard, source, (m) => {
    throw new Error(`generated source does not scan: ${m.key}`);
  });
  const shape: string[] = [];
  const reads: string[] = [];
  let previous: ts.SyntaxKind | undefined;
  for (let k = scanner.scan(); k !== ts.SyntaxKind.EndOfFileToken; k = scanner.scan()) {
    if (k === ts.SyntaxKind.StringLiteral) {
      shape.push('<string>');
      if (previous === ts.SyntaxKind.OpenBracketToken) reads.push(scanner.getTokenValue());
    } else {
      shape.push(scanner.getTokenText());
    }
    previous = k;
  }
  return { shape, reads };
}

// ---------------------------------------------------------------------------------------------
// Comparing with the reference

/** Own enumerable data property, even for "__proto__" (a plain assignment would set the prototype). */
function define(o: object, key: string, value: unknown): void {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}

function build(
  keys: readonly string[],
  values: readonly unknown[],
  nullProto = false,
): Record<string, unknown> {
  const o: Record<string, unknown> = nullProto ? Object.create(null) : {};
  for (let i = 0; i < keys.length; i++) define(o, keys[i]!, values[i]);
  return o;
}

/** Words our message must hold for each kind of rejection the reference reports. */
const KIND_WORDS: Record<string, string> = {
  NaN: 'NaN',
  Infinity: 'Infinity',
  'lone surrogate': 'string contains a lone surrogate',
  'lone surrogate key': 'object key contains a lone surrogate',
  hole: 'array hole',
  undefined: 'undefined is not allowed',
  'not plain': 'is not a plain object',
  bigint: 'BigInt',
  function: 'function',
  symbol: 'symbol',
  cycle: 'circular reference',
  'too deep': 'nesting deeper',
};

/** The reference's raw RFC 6901 path as our errors show it (unprintable code units as \uXXXX, long segments shortened). */
function shownPath(raw: string): string {
  if (raw === '') return '';
  const segments = raw
    .slice(1)
    .split('/')
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
  let p = '';
  for (let s of segments) {
    if (s.length > 200) s = s.slice(0, 100) + '…' + s.slice(-99);
    p += '/' + s.replaceAll('~', '~0').replaceAll('/', '~1');
  }
  return p.replace(
    /[\u0000-\u001f\u007f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
    (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'),
  );
}

type Outcome = { text: string } | { error: unknown };

function outcome(f: () => string): Outcome {
  try {
    return { text: f() };
  } catch (error) {
    return { error };
  }
}

/**
 * '' when `canonicalize` and the reference agree on the value, else what differs. A function is
 * called once per side for a fresh value (for getters that change the object as they are read).
 * `canonicalize` runs exactly once.
 */
function disagreement(value: unknown, fresh = false): string {
  return compare(value, fresh).diff;
}

function compare(value: unknown, fresh: boolean): { diff: string; rejected: boolean } {
  const make = fresh ? (value as () => unknown) : () => value;
  const want = outcome(() => referenceCanonicalize(make()));
  const got = outcome(() => canonicalize(make()));
  const rejected = 'error' in got;
  const diff = (d: string) => ({ diff: d, rejected });
  if ('text' in want) {
    if ('text' in got) return diff(got.text === want.text ? '' : `wrote ${got.text}, reference ${want.text}`);
    return diff(`threw ${String(got.error)}, reference wrote ${want.text}`);
  }
  if ('text' in got) return diff(`wrote ${got.text}, reference threw ${String(want.error)}`);
  if (!(want.error instanceof ReferenceJcsError)) {
    // The caller's own error (a getter's): ours must let the same one through.
    const same = got.error instanceof Error && String(got.error) === String(want.error);
    return diff(same ? '' : `threw ${String(got.error)}, reference let through ${String(want.error)}`);
  }
  if (!(got.error instanceof VcpCanonicalizationError))
    return diff(`threw ${String(got.error)}, not a rejection`);
  const path = shownPath(want.error.path);
  if (got.error.path !== path) return diff(`rejected at ${got.error.path}, reference at ${path}`);
  const words = KIND_WORDS[want.error.kind];
  if (words === undefined || !got.error.message.includes(words))
    return diff(`rejected with "${got.error.message}", reference: ${want.error.kind}`);
  return diff('');
}

/** Collects disagreements with a label; `expect(d.found).toEqual([])` shows them all. */
class Disagreements {
  readonly found: string[] = [];
  compared = 0;
  rejected = 0;

  check(label: string, value: unknown, fresh = false): void {
    this.compared++;
    const { diff, rejected } = compare(value, fresh);
    if (rejected) this.rejected++;
    if (diff !== '' && this.found.length < 20) this.found.push(`${label}: ${diff}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Hostile material

/** Prototype names, integer-like and number-like keys, escapes, code-breaking text, astral and edge code points. */
const HOSTILE_KEYS = [
  '__proto__',
  'constructor',
  'toString',
  'valueOf',
  'hasOwnProperty',
  'toJSON',
  'prototype',
  'length',
  '0',
  '1',
  '01',
  '-0',
  '-1',
  '1e3',
  '1.5',
  '10',
  '4294967294',
  '4294967295',
  '9007199254740993',
  'NaN',
  'Infinity',
  '',
  ' ',
  'a',
  'A',
  'b',
  'é',
  'e\u0301',
  '"',
  '\\',
  'a"b',
  'x\\',
  '\\"',
  '\n',
  '\r\n',
  '\t',
  '\b\f',
  '\u0000',
  '\u001f',
  '\u007f',
  '\u2028',
  '\u2029',
  '\u2028x',
  '*/',
  '/*',
  '//',
  '${',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: template syntax as data is the point
  '${x}',
  '`',
  "'",
  '</script>',
  '"]);process.exit(1);//',
  '\u{1F600}',
  '\uD83D\uDE00x',
  '\uE000',
  '\uFB33',
  '\uFFFF',
  '\uFEFF',
  '\u{10FFFF}',
];

/** Keys that would set `globalThis.__jcsPwned` (or end the process) if they left their string literal. */
const INJECTIONS = [
  '"]);process.exit(1);//',
  '"]; globalThis.__jcsPwned = 1; //',
  '" + (globalThis.__jcsPwned = 1) + "',
  "' + (globalThis.__jcsPwned = 1) + '",
  '`+(globalThis.__jcsPwned = 1)+`',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: template syntax as data is the point
  '${globalThis.__jcsPwned = 1}',
  '*/ globalThis.__jcsPwned = 1; /*',
  '\u2028globalThis.__jcsPwned = 1;//',
  '\u2029globalThis.__jcsPwned = 1;//',
  '\n globalThis.__jcsPwned = 1; //',
  '\r globalThis.__jcsPwned = 1; //',
  '</script><script>globalThis.__jcsPwned = 1</script>',
  '\\u0022]); globalThis.__jcsPwned = 1; //',
  '}}}; globalThis.__jcsPwned = 1; {{{',
  '\\',
  'x\\',
  '\\"',
  '\\\\"',
  '\u0000"',
];

/** Key characters for random keys (well-formed: lone surrogates are tested on their own). */
const KEY_CHARS = [
  'a',
  'z',
  'A',
  '0',
  '9',
  '_',
  '-',
  ' ',
  '"',
  '\\',
  '/',
  '\n',
  '\u0001',
  '\u2028',
  'é',
  '\uFFFF',
  '\u{1F600}',
];

/** Strings of 23..26 code units (the escape scan changes method past 24) with something to escape at either edge. */
const EDGE_STRINGS: string[] = [];
/** The same with a lone surrogate at an edge: each must be refused. */
const EDGE_BAD_STRINGS: string[] = [];
for (const n of [23, 24, 25, 26]) {
  for (const c of ['"', '\\', '\n', '\u0000', '\u001f', '\u007f', '\u2028', '\u{1F600}', 'é']) {
    EDGE_STRINGS.push(c + 'm'.repeat(n - c.length), 'm'.repeat(n - c.length) + c);
    EDGE_STRINGS.push(c + 'm'.repeat(Math.max(0, n - 2 * c.length)) + c);
  }
  EDGE_STRINGS.push('m'.repeat(n));
  for (const c of ['\ud800', '\udbff', '\udc00', '\udfff']) {
    EDGE_BAD_STRINGS.push(c + 'm'.repeat(n - 1), 'm'.repeat(n - 1) + c);
  }
  // Half of a pair at each end, the other half missing.
  EDGE_BAD_STRINGS.push('\ude00' + 'm'.repeat(n - 3) + '\ud83d' + 'm');
}

const EDGE_NUMBERS = [
  0,
  -0,
  1,
  -1,
  0.1,
  0.1 + 0.2,
  1e21,
  1e21 - 65536,
  -1e21,
  1e-7,
  1e-6,
  5e-324,
  -5e-324,
  Number.MIN_VALUE,
  Number.MAX_VALUE,
  -Number.MAX_VALUE,
  Number.MAX_SAFE_INTEGER,
  Number.MIN_SAFE_INTEGER,
  2 ** 53 + 2,
  123456789012345680000,
  1.7976931348623157e308,
  2.2250738585072014e-308,
];
const BAD_NUMBERS = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];

class Point {
  x = 1;
  y = 2;
}

/** Values that must be refused, each with what makes it so. */
function badValue(rand: () => number): unknown {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  switch (Math.floor(rand() * 12)) {
    case 0:
      return pick(BAD_NUMBERS);
    case 1:
      return pick(EDGE_BAD_STRINGS);
    case 2:
      return 12n;
    case 3:
      return () => 1;
    case 4:
      return Symbol('s');
    case 5:
      return new Date(0);
    case 6:
      return new Point();
    case 7:
      // biome-ignore lint/suspicious/noSparseArray: a hole is the point
      return [1, , 3];
    case 8: {
      const sparse: unknown[] = [];
      sparse[3] = 'x';
      return sparse;
    }
    case 9:
      return [1, undefined];
    case 10:
      return { 'nest:x': 1, ['nest:\udc00']: 2 };
    default:
      return new Map([['a', 1]]);
  }
}

/** Keys of nested objects: their own pool, so nested shapes never crowd the outer layout's cache bucket. */
const NEST_KEYS = ['nest:x', 'nest:y', 'nest:z', 'nest:__proto__', 'nest:"'];

function goodValue(rand: () => number, depth: number): unknown {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const r = rand();
  if (depth >= 2 || r < 0.6) {
    switch (Math.floor(rand() * 6)) {
      case 0:
        return pick([null, true, false]);
      case 1:
        return pick(EDGE_NUMBERS);
      case 2: {
        const view = new DataView(new ArrayBuffer(8));
        view.setUint32(0, Math.floor(rand() * 2 ** 32));
        view.setUint32(4, Math.floor(rand() * 2 ** 32));
        const x = view.getFloat64(0);
        return Number.isFinite(x) ? x : 0.5;
      }
      case 3:
        return pick(EDGE_STRINGS);
      case 4:
        return pick(HOSTILE_KEYS);
      default: {
        let s = '';
        const n = Math.floor(rand() * 30);
        for (let i = 0; i < n; i++) s += pick(KEY_CHARS);
        return s;
      }
    }
  }
  if (r < 0.75) return Array.from({ length: Math.floor(rand() * 4) }, () => goodValue(rand, depth + 1));
  const o = nestedObject(rand);
  for (const k of NEST_KEYS) if (rand() < 0.5) define(o, k, goodValue(rand, depth + 1));
  return o;
}

/** A plain object of some kind: null prototype, symbol keys, non-enumerable or getter properties. */
function nestedObject(rand: () => number): Record<string, unknown> {
  const o: Record<string | symbol, unknown> = rand() < 0.3 ? Object.create(null) : {};
  if (rand() < 0.2) o[Symbol('ignored')] = 'symbol-keyed';
  if (rand() < 0.2) Object.defineProperty(o, 'nest:hidden', { value: 1, enumerable: false });
  if (rand() < 0.2) {
    Object.defineProperty(o, 'nest:get', {
      enumerable: true,
      configurable: true,
      get: () => 'from a getter',
    });
  }
  return o as Record<string, unknown>;
}

/** One value of each type, in the order string → number → null → object → array → undefined → boolean. */
function rotatingValue(step: number, rand: () => number): unknown {
  switch (step % 7) {
    case 0:
      return rand() < 0.5 ? 'plain' : EDGE_STRINGS[Math.floor(rand() * EDGE_STRINGS.length)];
    case 1:
      return EDGE_NUMBERS[Math.floor(rand() * EDGE_NUMBERS.length)];
    case 2:
      return null;
    case 3:
      return { 'nest:x': 'n', 'nest:y': [-0] };
    case 4:
      return [1, 'a', { 'nest:z': null }];
    case 5:
      return undefined;
    default:
      return rand() < 0.5;
  }
}

function shuffle<T>(xs: T[], rand: () => number): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

function isWellFormed(s: string): boolean {
  return !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
}

// ---------------------------------------------------------------------------------------------

describe('the compile threshold', () => {
  it('compiles on the 65th sighting (64th layout use) and writes the same bytes on either side of it', () => {
    const keys = ['threshold:b', 'threshold:a', 'threshold:"q"', '10', '2'];
    const values = ['x', -0, `${'y'.repeat(24)}"`, [1e21, 5e-324], { 'nest:x': null }];
    const texts: string[] = [];
    const compiledAt: number[] = [];
    const before = compiled.length;
    for (let sighting = 1; sighting <= 70; sighting++) {
      texts.push(canonicalize(build(keys, values, sighting % 2 === 0)));
      if (compiled.length > before && compiledAt.length === 0) compiledAt.push(sighting);
    }
    expect(compiledAt).toEqual([SIGHTINGS_TO_COMPILE]);
    const writer = compiledFor(keys)!;
    // The 66th to 70th sightings were written by the compiled code, the 65th still generically.
    expect(writer.writes).toBe(70 - SIGHTINGS_TO_COMPILE);
    const want = referenceCanonicalize(build(keys, values));
    expect(want).toBe(
      '{"10":[1e+21,5e-324],"2":{"nest:x":null},"threshold:\\"q\\"":"yyyyyyyyyyyyyyyyyyyyyyyy\\"","threshold:a":0,"threshold:b":"x"}',
    );
    // Layout uses 63, 64, 65 (sightings 64, 65, 66) and everything around them.
    expect(new Set(texts)).toEqual(new Set([want]));
  });
});

describe('differential fuzz over hostile layouts, warmed past compilation', () => {
  it('agrees with the reference byte for byte on 160 random hostile layouts before and after they compile', () => {
    const rand = prng(0x8785);
    const d = new Disagreements();
    let layoutsCompiled = 0;
    let compiledWrites = 0;
    for (let L = 0; L < 160; L++) {
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
      // A distinct first key per layout keeps its cache bucket to itself (insertion order can
      // still put an integer-like key first, which is the point of having them).
      const keys = new Set<string>([`layout${L}:${pick(HOSTILE_KEYS)}`]);
      const n = 1 + Math.floor(rand() * 11);
      while (keys.size < n) {
        const r = rand();
        if (r < 0.6) keys.add(pick(HOSTILE_KEYS));
        else if (r < 0.95) {
          let s = '';
          const len = Math.floor(rand() * 30);
          for (let i = 0; i < len; i++) s += pick(KEY_CHARS);
          keys.add(s);
        } else
          keys.add(pick(['"', '\\', '\u2028', 'k']) + 'L'.repeat(300 + Math.floor(rand() * 1500)) + '\\');
      }
      if (rand() < 0.05) keys.add(pick(['\ud800', 'x\udfff', '\udbffy']));
      const order = shuffle([...keys], rand);
      const label = `layout ${L} ${JSON.stringify(order).slice(0, 80)}`;
      const chars = order.reduce((a, k) => a + k.length, 0);
      const compilable = order.length <= 64 && chars <= 2048 && order.every(isWellFormed);

      // Warm-up with well-formed values (a refused value still counts as a use).
      for (let use = 0; use < SIGHTINGS_TO_COMPILE + 1; use++) {
        d.check(
          `${label} warm-up ${use}`,
          build(
            order,
            order.map(() => goodValue(rand, 0)),
            rand() < 0.2,
          ),
        );
      }
      const writer = compiledFor(order);
      if (compilable) {
        expect(writer, `${label} compiled`).toBeDefined();
        layoutsCompiled++;
      } else {
        expect(writer, `${label} never compiled`).toBeUndefined();
      }
      const writesBefore = writer?.writes ?? 0;

      // Every key through string → number → null → object → array → undefined → boolean.
      for (let step = 0; step < 14; step++) {
        d.check(
          `${label} rotation ${step}`,
          build(
            order,
            order.map((_, j) => rotatingValue(step + j, rand)),
          ),
        );
      }
      // Random values, some refused (the refusal must name the same path as the reference).
      for (let use = 0; use < 30; use++) {
        const values = order.map(() => (rand() < 0.08 ? badValue(rand) : goodValue(rand, 0)));
        d.check(`${label} random ${use}`, build(order, values, rand() < 0.2));
      }
      // The compiled object inside a container, and as a nested value of itself.
      const inner = build(
        order,
        order.map(() => goodValue(rand, 0)),
      );
      d.check(`${label} wrapped`, { 'nest:x': [inner, { 'nest:y': inner }] });
      d.check(
        `${label} self-nested`,
        build(
          order,
          order.map(() => inner),
        ),
      );
      if (writer) {
        // Rotation (14) + random (30) + self-nested (1 outer + up to n inner) all went through it.
        expect(writer.writes - writesBefore, `${label} compiled writes`).toBeGreaterThanOrEqual(45);
        compiledWrites += writer.writes - writesBefore;
      }

      // Same keys, another insertion order; one key more; one key fewer.
      const values = order.map(() => goodValue(rand, 0));
      const byValue = new Map(order.map((k, i) => [k, values[i]]));
      const reordered = shuffle([...order], rand);
      d.check(
        `${label} reordered`,
        build(
          reordered,
          reordered.map((k) => byValue.get(k)),
        ),
      );
      d.check(`${label} extra key`, build([...order, `extra${L}`], [...values, 'extra']));
      d.check(`${label} missing key`, build(order.slice(0, -1), values.slice(0, -1)));
    }
    expect(d.found).toEqual([]);
    // The generator reaches what it is meant to: most layouts compile, and refusals happen.
    expect(layoutsCompiled).toBeGreaterThan(140);
    expect(compiledWrites).toBeGreaterThan(140 * 45);
    expect(d.rejected).toBeGreaterThan(200);
  });

  it('agrees on integer-like keys in every insertion order (JavaScript lists them first, RFC 8785 does not)', () => {
    const keys = ['10', '2', '01', '-0', '1e3', '4294967295', '4294967294', 'int:b', 'int:a', ''];
    const rand = prng(10);
    const d = new Disagreements();
    const orders = Array.from({ length: 6 }, () => shuffle([...keys], rand));
    for (const order of orders) {
      for (let use = 0; use < SIGHTINGS_TO_COMPILE + 20; use++) {
        d.check(
          `order ${JSON.stringify(order)} use ${use}`,
          build(
            order,
            order.map((_, j) => rotatingValue(use + j, rand)),
          ),
        );
      }
    }
    expect(d.found).toEqual([]);
    const writer = compiledFor(keys)!;
    expect(writer.writes).toBeGreaterThan(19);
    expect(
      canonicalize(
        build(
          keys,
          keys.map((k) => k),
        ),
      ),
    ).toBe(
      '{"":"","-0":"-0","01":"01","10":"10","1e3":"1e3","2":"2","4294967294":"4294967294","4294967295":"4294967295","int:a":"int:a","int:b":"int:b"}',
    );
  });
});

describe('values written by a compiled layout', () => {
  const keys = ['values:a', 'values:b', 'values:c'];
  function warm(): Compiled {
    for (let i = 0; i < SIGHTINGS_TO_COMPILE + 1; i++) canonicalize(build(keys, [i, 'x', null]));
    return compiledFor(keys)!;
  }

  it('numbers: -0, 1e21, 5e-324, MAX_VALUE and the rest as ECMAScript writes them; NaN and ±Infinity refused', () => {
    const writer = warm();
    const before = writer.writes;
    const d = new Disagreements();
    for (const x of [...EDGE_NUMBERS, ...BAD_NUMBERS]) {
      for (let at = 0; at < 3; at++) {
        const values: unknown[] = ['s', 1, 'e'];
        values[at] = x;
        d.check(`${x} at ${at}`, build(keys, values));
      }
    }
    expect(d.found).toEqual([]);
    expect(writer.writes - before).toBe(d.compared);
    expect(d.rejected).toBe(9);
    expect(canonicalize(build(keys, [-0, 1e21, 5e-324]))).toBe(
      '{"values:a":0,"values:b":1e+21,"values:c":5e-324}',
    );
    expect(canonicalize(build(keys, [Number.MAX_VALUE, 1e-7, 2 ** 53 + 2]))).toBe(
      '{"values:a":1.7976931348623157e+308,"values:b":1e-7,"values:c":9007199254740994}',
    );
  });

  it('strings of 23 to 26 code units with escapes at the edges; lone surrogates at the edges refused', () => {
    const writer = warm();
    const before = writer.writes;
    const d = new Disagreements();
    for (const s of [...EDGE_STRINGS, ...EDGE_BAD_STRINGS]) {
      for (let at = 0; at < 3; at++) {
        const values: unknown[] = ['s', 's', 's'];
        values[at] = s;
        d.check(`${JSON.stringify(s)} at ${at}`, build(keys, values));
        // Next to a number and a string, so the owed closing quote meets every prefix.
        values[(at + 1) % 3] = 7;
        d.check(`${JSON.stringify(s)} at ${at} beside a number`, build(keys, values));
      }
    }
    expect(d.found).toEqual([]);
    expect(writer.writes - before).toBe(d.compared);
    expect(d.rejected).toBe(EDGE_BAD_STRINGS.length * 6);
    expect(canonicalize(build(keys, [`"${'m'.repeat(23)}`, `${'m'.repeat(24)}\\`, '\u2028']))).toBe(
      `{"values:a":"\\"${'m'.repeat(23)}","values:b":"${'m'.repeat(24)}\\\\","values:c":"\u2028"}`,
    );
  });

  it('objects: null prototype, symbol keys, non-enumerable, getters, proxies, class instances, Date, Map', () => {
    const writer = warm();
    const before = writer.writes;
    const d = new Disagreements();
    const nested = (o: object) => build(keys, ['s', o, 1]);
    const nullProto = Object.assign(Object.create(null), { 'nest:x': 1 });
    d.check('null-prototype value', nested(nullProto));
    d.check('null-prototype outer', build(keys, [1, 2, 3], true));
    const withSymbol = build(keys, [1, 2, 3]) as Record<string | symbol, unknown>;
    withSymbol[Symbol('s')] = 'ignored';
    Object.defineProperty(withSymbol, 'values:hidden', { value: 'ignored', enumerable: false });
    d.check('symbol key and non-enumerable property on the compiled object', withSymbol);
    const getter = build(keys, [1, 2, 3]);
    Object.defineProperty(getter, 'values:b', { enumerable: true, get: () => ({ 'nest:x': 'got' }) });
    d.check('getter', getter);
    const thrower = build(keys, [1, 2, 3]);
    Object.defineProperty(thrower, 'values:c', {
      enumerable: true,
      get() {
        throw new TypeError('getter failed');
      },
    });
    d.check('getter that throws', thrower);
    // A getter that deletes a later key: both then read it through the prototype chain.
    d.check(
      'getter deleting a later key',
      () => {
        const o = build(['values:a', 'values:b', 'values:c'], [1, 2, 3]);
        Object.defineProperty(o, 'values:a', {
          enumerable: true,
          configurable: true,
          get() {
            delete o['values:c'];
            return 'a';
          },
        });
        return o;
      },
      true,
    );
    d.check(
      'proxy over a plain object',
      new Proxy(build(keys, [1, 2, 3]), {
        get: (t, k) => (k === 'values:b' ? 'proxied' : Reflect.get(t, k)),
      }),
    );
    const instance = Object.assign(new Point(), {}) as unknown as Record<string, unknown>;
    for (const k of keys) instance[k] = 1;
    d.check('class instance with the compiled keys', instance);
    d.check('class instance as a value', nested(new Point()));
    d.check('Date as a value', nested(new Date(0)));
    d.check('Map as a value', nested(new Map()));
    d.check('boxed string as a value', nested(new String('s')));
    d.check('typed array as a value', nested(new Uint8Array(2)));
    expect(writer.writes - before).toBe(d.compared - 1); // all but the class instance (refused first)
    const cyclic = build(keys, [1, 2, 3]);
    cyclic['values:b'] = { 'nest:x': cyclic };
    d.check('cycle through the compiled object', cyclic);
    expect(d.found).toEqual([]);
  });

  it('prototype properties: an inherited enumerable key is never written, own __proto__/constructor/toString are', () => {
    const d = new Disagreements();
    const protoKeys = ['__proto__', 'constructor', 'toString', 'values:x'];
    for (let i = 0; i < SIGHTINGS_TO_COMPILE + 10; i++) {
      d.check(
        `own prototype names ${i}`,
        build(protoKeys, [{ 'nest:x': i }, 'c', i % 2 === 0 ? 't' : undefined, i]),
      );
    }
    const parsed = JSON.parse(
      '{"__proto__":{"nest:x":"not a prototype"},"constructor":1,"toString":2,"values:x":3}',
    );
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
    d.check('JSON.parse own __proto__', parsed);
    expect(canonicalize(parsed)).toBe(
      '{"__proto__":{"nest:x":"not a prototype"},"constructor":1,"toString":2,"values:x":3}',
    );
    Object.defineProperty(Object.prototype, 'values:polluted', {
      value: 'inherited',
      enumerable: true,
      configurable: true,
    });
    let text: string;
    try {
      for (let i = 0; i < 5; i++) d.check(`polluted Object.prototype ${i}`, build(protoKeys, [1, 2, 3, 4]));
      text = canonicalize(build(protoKeys, [1, 2, 3, 4]));
    } finally {
      delete (Object.prototype as Record<string, unknown>)['values:polluted'];
    }
    expect(text).toBe('{"__proto__":1,"constructor":2,"toString":3,"values:x":4}');
    expect(d.found).toEqual([]);
    expect(compiledFor(protoKeys)!.writes).toBeGreaterThanOrEqual(10 + 1 + 6);
    // Nothing reached a real prototype.
    expect(Object.prototype).not.toHaveProperty('nest:x');
  });

  it('arrays with holes, sparse arrays and undefined elements are refused at the element', () => {
    const writer = warm();
    const before = writer.writes;
    const d = new Disagreements();
    const sparse: unknown[] = [];
    sparse[5] = 1;
    // biome-ignore lint/suspicious/noSparseArray: a hole is the point
    for (const a of [[1, , 3], sparse, new Array(2), [undefined], [1, [2, , 4]]]) {
      for (let at = 0; at < 3; at++) {
        const values: unknown[] = [1, 2, 3];
        values[at] = a;
        d.check(`array ${at}`, build(keys, values));
      }
    }
    expect(d.found).toEqual([]);
    expect(d.rejected).toBe(15);
    expect(writer.writes - before).toBe(15);
  });
});

describe('hostile keys never become code', () => {
  it('writes injection-shaped keys as data: same token shape as a benign layout, correct bytes, no side effect', () => {
    const g = globalThis as { __jcsPwned?: unknown };
    delete g.__jcsPwned;
    const benign = INJECTIONS.map((_, i) => `benign${String(i).padStart(2, '0')}`);
    for (let i = 0; i < SIGHTINGS_TO_COMPILE + 1; i++) canonicalize(build(benign, benign));
    const benignShape = tokens(compiledFor(benign)!.source).shape;

    const d = new Disagreements();
    const rand = prng(2028);
    for (let use = 0; use < SIGHTINGS_TO_COMPILE + 40; use++) {
      const values = INJECTIONS.map((k, j) => (use % 3 === 0 ? k : rotatingValue(use + j, rand)));
      d.check(`all injections, use ${use}`, build(INJECTIONS, values));
    }
    // Each alone beside an ordinary key, too (a different source: the key first or last).
    for (const k of INJECTIONS) {
      for (const pair of [
        ['inj:a', k],
        [k, 'inj:zzz'],
      ]) {
        for (let use = 0; use < SIGHTINGS_TO_COMPILE + 3; use++)
          d.check(`${JSON.stringify(pair)} ${use}`, build(pair, [k, use]));
        const w = compiledFor(pair);
        expect(w, JSON.stringify(pair)).toBeDefined();
        expect(w!.writes).toBeGreaterThanOrEqual(2);
        const pairShape = tokens(w!.source);
        expect(new Set(pairShape.reads)).toEqual(new Set(pair));
      }
    }
    expect(d.found).toEqual([]);
    expect(g.__jcsPwned).toBeUndefined();

    const writer = compiledFor(INJECTIONS)!;
    expect(writer.writes).toBeGreaterThanOrEqual(40);
    const hostile = tokens(writer.source);
    // Every key is one string literal read by name, and nothing else differs from benign code.
    expect(hostile.reads).toEqual([...INJECTIONS].sort());
    expect(hostile.shape).toEqual(benignShape);
    const text = canonicalize(build(INJECTIONS, INJECTIONS));
    expect(JSON.parse(text)).toEqual(Object.fromEntries(INJECTIONS.map((k) => [k, k])));
    expect(g.__jcsPwned).toBeUndefined();
  });

  it('refuses keys with lone surrogates on every sighting and never compiles them', () => {
    const cases: string[][] = [
      ['lone:ok', 'lone:\ud800'],
      ['\udc00'],
      ['lone:a', 'lone:b\ud83d'],
      ['lone:\ude00x', 'lone:y'],
      ['\ud83d', '\ude00'], // the two halves of a pair, in two keys
    ];
    const before = attempts;
    for (const keys of cases) {
      for (let use = 0; use < 3 * SIGHTINGS_TO_COMPILE; use++) {
        // Refused even when the bad key's value is undefined (keys are checked before values).
        const values = keys.map((_, j) => (use % 2 === 0 && j === keys.length - 1 ? undefined : use));
        const err = (() => {
          try {
            canonicalize(build(keys, values));
          } catch (e) {
            return e;
          }
          return undefined;
        })();
        expect(err).toBeInstanceOf(VcpCanonicalizationError);
        expect((err as Error).message).toContain('object key contains a lone surrogate');
        expect(disagreement(build(keys, values))).toBe('');
      }
    }
    expect(attempts).toBe(before);
    // Inside a compiled layout, the path names the bad key (escaped).
    const outer = ['lone:outer', 'lone:other'];
    for (let i = 0; i < SIGHTINGS_TO_COMPILE + 1; i++) canonicalize(build(outer, [{}, i]));
    const err = (() => {
      try {
        canonicalize(build(outer, [{ 'lone:\ud800': 1 }, 0]));
      } catch (e) {
        return e as VcpCanonicalizationError;
      }
      return undefined;
    })();
    expect(err?.path).toBe('/lone:outer/lone:\\ud800');
    // A well-formed pair in a key compiles and writes as itself.
    const astral = ['\ud83d\ude00', 'lone:pair'];
    for (let i = 0; i < SIGHTINGS_TO_COMPILE + 1; i++) canonicalize(build(astral, [i, i]));
    expect(compiledFor(astral)).toBeDefined();
    expect(canonicalize(build(astral, [1, 2]))).toBe('{"lone:pair":2,"\u{1F600}":1}');
  });
});

describe('layout limits', () => {
  it('very long keys and many keys: compiled up to 64 keys / 2048 key chars, generic past that, same bytes', () => {
    const long = (n: number, edge: string) => edge + 'k'.repeat(n - 2 * edge.length) + edge;
    const cases: [string[], boolean][] = [
      [[long(2048, '"')], true],
      [[long(2049, '"')], false],
      [[long(1024, '\\'), long(1024, '\u2028')], true],
      [[long(1024, '\\'), long(1025, '\u2028')], false],
      [Array.from({ length: 64 }, (_, i) => `many:${i}`), true],
      [Array.from({ length: 65 }, (_, i) => `many:${i}`), false],
      [[long(1500, '\u{1F600}'), '', '\u2029'], true],
    ];
    const d = new Disagreements();
    const rand = prng(64);
    for (const [keys, compiles] of cases) {
      for (let use = 0; use < SIGHTINGS_TO_COMPILE + 15; use++) {
        d.check(
          `${keys.length} keys of ${keys[0]!.length} use ${use}`,
          build(
            keys,
            keys.map((_, j) => rotatingValue(use + j, rand)),
          ),
        );
      }
      const w = compiledFor(keys);
      if (compiles) expect(w?.writes).toBeGreaterThanOrEqual(15);
      else expect(w).toBeUndefined();
    }
    expect(d.found).toEqual([]);
  });
});

describe('a compile that fails', () => {
  function attemptsFor(keys: string[], sightings: number): number {
    const before = attempts;
    for (let i = 0; i < sightings; i++) expect(disagreement(build(keys, [i, `${i}`]))).toBe('');
    return attempts - before;
  }

  // Where the caller's stack is nearly used up, `new Function` throws a RangeError. Before the
  // retry, that layout stayed generic for the life of the process: a probe that reaches each of
  // 30 layouts' compile point one frame at a time from too deep left 19 of them uncompiled.
  // Which layouts hit it depends on JIT frame sizes, so the refusal is simulated here.
  it('is tried again after a RangeError (the stack ran out while compiling), not left generic for good', () => {
    const keys = ['retry:a', 'retry:b'];
    for (let i = 0; i < SIGHTINGS_TO_COMPILE - 1; i++) canonicalize(build(keys, [i, 'x']));
    refuseNext = () => new RangeError('Maximum call stack size exceeded');
    expect(attemptsFor(keys, 1)).toBe(1); // the refused attempt: written generically, same bytes
    expect(compiledFor(keys)).toBeUndefined();
    expect(attemptsFor(keys, 5)).toBe(1); // compiled on the next use
    expect(compiledFor(keys)?.writes).toBe(4);
  });

  it('stops being tried where the host forbids code generation, with the same bytes (--disallow-code-generation-from-strings)', () => {
    const canonical = path.join(import.meta.dirname, '../../src/integrity/canonical.ts');
    const reference = path.join(import.meta.dirname, '../reference/jcs-reference.ts');
    const script = `
      import { canonicalize } from ${JSON.stringify(canonical)};
      import { referenceCanonicalize } from ${JSON.stringify(reference)};
      let attempts = 0;
      const Real = Function;
      globalThis.Function = new Proxy(Real, { construct(t, a) { attempts++; return Reflect.construct(t, a); } });
      let mismatches = 0, writes = 0;
      for (let L = 0; L < 40; L++) {
        for (let i = 0; i < 80; i++) {
          const o = { ['csp' + L]: i, b: 'x\\u2028' + i, '10': [-0, 1e21], ['"' + L]: { y: i } };
          writes++;
          if (canonicalize(o) !== referenceCanonicalize(o)) mismatches++;
        }
      }
      console.log(JSON.stringify({ attempts, mismatches, writes }));`;
    const r = spawnSync(
      process.execPath,
      ['--disallow-code-generation-from-strings', '--input-type=module', '-e', script],
      { encoding: 'utf8' },
    );
    expect(r.stderr).toBe('');
    // One refused attempt tells the host's policy; 40 layouts do not try 40 times.
    expect(JSON.parse(r.stdout)).toEqual({ attempts: 1, mismatches: 0, writes: 3200 });
  });
});

// Last: it spends the compile budget of this file's process.
describe('the compile budget (1024 layouts per process)', () => {
  it('stops compiling after 1024 layouts, and every layout past it writes the same bytes generically', () => {
    const d = new Disagreements();
    const rand = prng(1024);
    const already = compiled.length;
    expect(already).toBeLessThan(COMPILE_BUDGET);
    const layouts = COMPILE_BUDGET - already + 120;
    for (let L = 0; L < layouts; L++) {
      // Half share one first key ('7' sorts first in JavaScript) and evict each other from its
      // bucket; half have their own, and overflow the cache, which is then cleared.
      const keys = [`budget${L}`, 'budget:"b"', L % 2 === 0 ? '7' : 'budget:z'];
      for (let use = 0; use < SIGHTINGS_TO_COMPILE + 1; use++) {
        const o = build(keys, [use, rotatingValue(use, rand), 'x']);
        // Compared on the uses around the compile point (cheap enough for ~1.1 k layouts).
        if (use >= SIGHTINGS_TO_COMPILE - 2) d.check(`budget layout ${L} use ${use}`, o);
        else canonicalize(o);
      }
    }
    expect(compiled.length).toBe(COMPILE_BUDGET);
    // A layout past the budget, used a lot, with values of changing types.
    const late = ['late:a', 'late:"b"', '1'];
    for (let use = 0; use < 300; use++) {
      d.check(
        `late layout use ${use}`,
        build(
          late,
          late.map((_, j) => rotatingValue(use + j, rand)),
        ),
      );
    }
    expect(compiledFor(late)).toBeUndefined();
    // A layout compiled early and since dropped from the cache is rebuilt, not compiled again.
    const first = ['threshold:b', 'threshold:a', 'threshold:"q"', '10', '2'];
    for (let use = 0; use < 100; use++)
      d.check(
        `early layout use ${use}`,
        build(
          first,
          first.map((_, j) => rotatingValue(use + j, rand)),
        ),
      );
    expect(compiled.length).toBe(COMPILE_BUDGET);
    expect(d.found).toEqual([]);
  });
});
