/**
 * The same decorated classes compiled by TypeScript 6 (compiler API) and
 * TypeScript 7 (native CLI) in every decorator mode each supports, as ESM
 * and CommonJS, type-checked, then run in a child `node`: every variant
 * must behave the same. CJS runs load a tsdown CommonJS build of the
 * package entry (what NestJS apps `require`).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as mainEntry from '../../src/index.ts';
import { computeEventHash } from '../../src/integrity/event-hash.ts';
import {
  buildCjs,
  compileTs6,
  compileTs7,
  esmEntry,
  linkEntry,
  type Mode,
  makeWorkDir,
  missingNames,
  prepareSources,
  REPO,
  removeWorkDir,
  runNodeJson,
  tsc7Errors,
  typecheckTs6,
  typecheckTs7,
  type Variant,
  variantName,
  writeDriver,
} from './fixtures/compile.ts';

const FILES = ['classes.ts', 'scenario.ts', 'desk-example.ts'];
const mainMissing = missingNames(mainEntry as Record<string, unknown>);

const VARIANTS: Variant[] = [
  { compiler: 'ts6', mode: 'tc39', format: 'esm', reflect: false },
  { compiler: 'ts6', mode: 'tc39', format: 'cjs', reflect: false },
  { compiler: 'ts6', mode: 'legacy', format: 'esm', reflect: false },
  { compiler: 'ts6', mode: 'legacy-meta', format: 'esm', reflect: true },
  { compiler: 'ts6', mode: 'legacy-meta', format: 'cjs', reflect: true },
  // Down-levelled async (generators + __awaiter) and an older class emit, as older NestJS configs produce.
  { compiler: 'ts6', mode: 'legacy-meta', format: 'cjs', reflect: true, target: 'ES2017' },
  { compiler: 'ts7', mode: 'tc39', format: 'esm', reflect: false },
  { compiler: 'ts7', mode: 'tc39', format: 'cjs', reflect: false },
  { compiler: 'ts7', mode: 'legacy', format: 'cjs', reflect: false },
  { compiler: 'ts7', mode: 'legacy-meta', format: 'esm', reflect: true },
  { compiler: 'ts7', mode: 'legacy-meta', format: 'cjs', reflect: true },
];

let work: string;
let esm: string;
let cjs: string;
const results = new Map<string, Record<string, unknown>>();

beforeAll(async () => {
  work = await makeWorkDir();
  esm = await esmEntry(work, mainMissing.length === 0);
  cjs = await buildCjs(work, esm);
  const sources = await prepareSources(FILES);
  // Compile everything first, then run two children at a time (the machine has 2 cores).
  const jobs = await Promise.all(
    VARIANTS.map(async (v) => {
      const out = path.join(work, variantName(v));
      if (v.compiler === 'ts6') await compileTs6(sources, v, out);
      else await compileTs7(sources, v, work, out);
      await linkEntry(out, v.format === 'esm' ? esm : cjs, v.format);
      const driver = await writeDriver(out, v, [
        { file: 'desk-example.js', fn: 'main', key: 'desk' },
        { file: 'scenario.js', fn: 'runScenario', key: 'scenario' },
      ]);
      return { v, driver };
    }),
  );
  for (let i = 0; i < jobs.length; i += 2) {
    await Promise.all(
      jobs
        .slice(i, i + 2)
        .map(async ({ v, driver }) => results.set(variantName(v), await runNodeJson(driver))),
    );
  }
}, 300_000);

afterAll(async () => {
  if (work) await removeWorkDir(work);
});

describe('type checking the fixtures', () => {
  const modes: Mode[] = ['tc39', 'legacy', 'legacy-meta'];
  it.each(modes)('TypeScript 6 accepts the decorators in %s mode', (mode) => {
    expect(typecheckTs6(FILES, mode)).toEqual([]);
  });
  it.each(modes)('TypeScript 7 accepts the decorators in %s mode', async (mode) => {
    expect(await typecheckTs7(work, FILES, mode)).toEqual([]);
  });
});

/** A fixture that must NOT compile in any mode: an unknown event type given to the decorator, and a plain type error. */
async function writeBadFixture(dir: string): Promise<string> {
  const folder = path.join(dir, 'must-not-compile');
  await mkdir(folder, { recursive: true });
  await writeFile(path.join(folder, 'package.json'), JSON.stringify({ type: 'module' }));
  const file = path.join(folder, 'bad-fixture.ts');
  await writeFile(
    file,
    `import { VcpLogged } from ${JSON.stringify(path.join(REPO, 'src/index.ts'))};
export class Bad {
  @VcpLogged('NOT_AN_EVENT_TYPE')
  place(id: string): string {
    return id;
  }
}
export const n: number = 'not a number';
`,
  );
  return file;
}

describe('the type-check harness reports failures (negative cases)', () => {
  const modes: Mode[] = ['tc39', 'legacy', 'legacy-meta'];
  it.each(modes)('a fixture with type errors is reported by TypeScript 6 and 7 in %s mode', async (mode) => {
    const bad = await writeBadFixture(work);
    for (const [compiler, errors] of [
      ['TypeScript 6', typecheckTs6([bad], mode)],
      ['TypeScript 7', await typecheckTs7(work, [bad], mode)],
    ] as const) {
      const text = errors.join('\n');
      expect(
        errors.filter((e) => e.includes('bad-fixture.ts')),
        `${compiler}:\n${text}`,
      ).toHaveLength(2);
      expect(text, compiler).toMatch(/bad-fixture\.ts: error TS2345: .*NOT_AN_EVENT_TYPE/);
      expect(text, compiler).toMatch(/bad-fixture\.ts: error TS2322: /);
    }
  });

  it('a missing config or a missing fixture file is an error, not an empty list', async () => {
    expect(await tsc7Errors(path.join(work, 'no-such-tsconfig.json'))).toEqual([
      expect.stringMatching(/error TS5058: .*no-such-tsconfig\.json/),
    ]);
    expect(typecheckTs6(['no-such-fixture.ts'], 'tc39')).toEqual([
      expect.stringMatching(/error TS6053: .*no-such-fixture\.ts/),
    ]);
    expect((await typecheckTs7(work, ['no-such-fixture.ts'], 'tc39')).join('\n')).toMatch(
      /error TS6053: .*no-such-fixture\.ts/,
    );
  });
});

describe('the package entry', () => {
  it('src/index.ts exports what decorator users import', () => {
    expect(mainMissing, `src/index.ts does not export: ${mainMissing.join(', ')}`).toEqual([]);
  });
});

describe.each(VARIANTS.map((v) => [variantName(v), v] as const))('%s', (name, v) => {
  const result = () => {
    const r = results.get(name);
    if (!r) throw new Error(`variant ${name} did not run`);
    return r;
  };

  it('runs the issue’s example: one sealed ORD event with a correct event hash', () => {
    const events = result().desk as Array<{
      header: Record<string, unknown>;
      payload: Record<string, unknown>;
      security: { event_hash: string; prev_hash?: string };
    }>;
    expect(events).toHaveLength(1);
    const [e] = events;
    expect(e!.header.event_type).toBe('ORD');
    expect(e!.header.event_type_code).toBe(2);
    expect(e!.payload).toEqual({
      trade_data: {
        order_id: 'ORD-1',
        side: 'BUY',
        order_type: 'LIMIT',
        price: '1.0850',
        quantity: '100000',
      },
    });
    expect(e!.security.event_hash).toMatch(/^[0-9a-f]{64}$/);
    const prev = e!.security.prev_hash;
    expect(computeEventHash(e!, prev ? { prevHash: prev } : {})).toBe(e!.security.event_hash);
  });

  it('behaves like the reference variant (TypeScript 6, TC39, ESM)', () => {
    const reference = { ...(results.get('ts6-tc39-esm')?.scenario as Record<string, unknown>) };
    const mine = { ...(result().scenario as Record<string, unknown>) };
    // Design-type metadata exists only with emitDecoratorMetadata + reflect-metadata; compared separately.
    const { reflect: refReflect, ...refRest } = reference;
    const { reflect: myReflect, ...myRest } = mine;
    expect(myRest).toEqual(refRest);
    const r = myReflect as Record<string, unknown>;
    expect(r.directTags).toEqual((refReflect as Record<string, unknown>).directTags);
    if (v.reflect) {
      expect([r.routeA, r.routeB]).toEqual(['a', 'b']);
      // Legacy decorators mirror class defaults to reflect-metadata, as NestJS tooling reads them.
      expect(r.vcpComponentVenue).toBe(v.mode === 'tc39' ? null : 'XNAS');
    }
    if (v.mode === 'legacy-meta' && v.reflect) {
      expect(r.paramtypes).toEqual(['String', 'Number']);
      expect(r.returntype).toBe('String');
    }
  });
});

describe('what every variant does (checked on the reference run)', () => {
  const scenario = () => results.get('ts6-tc39-esm')!.scenario as Record<string, unknown>;
  type Ev = {
    type: string;
    trace: string;
    venue: string;
    account: string;
    symbol: string;
    payload: Record<string, Record<string, unknown>>;
  };
  const events = () => scenario().events as Ev[];

  it('preserves return values, this, name and length; static and async methods work', () => {
    const s = scenario();
    expect(s.sync).toBe('D-O1-5');
    expect(s.nameLength).toEqual(['place', 2, 'fill']);
    expect(s.callApply).toEqual(['X-O2-1', 'Y-O3-2']);
    expect(s.static).toEqual(['v1:Desk', 'version']);
    expect(s.async).toEqual([true, { id: 'O4', px: '1.0851' }]);
    expect(s.promiseReturning).toBe('ack:O5');
  });

  it('rethrows the original error object with its stack, sync and async', () => {
    const s = scenario();
    expect(s.syncErrors).toEqual(Array(8).fill({ same: true, sameStack: true }));
    expect(s.asyncError).toEqual({ same: true, sameStack: true });
    expect(s.fixedError).toEqual({ same: true, sameStack: true });
  });

  it('records the expected sequence of event types', () => {
    expect(events().map((e) => e.type)).toEqual([
      'ORD', // place O1
      'ORD', // call with {prefix:'X'}
      'ORD', // apply with {prefix:'Y'}
      'AUD', // static version()
      'EXE', // async fill
      'ACK', // promise-returning acknowledge
      'ORD', // place T1 inside the trace
      'ERR_TIMEOUT',
      'ERR_CONN',
      'ERR_AUTH',
      'ERR_REJECT',
      'ERR_RISK',
      'ERR_PARSE',
      'ERR_SYSTEM', // a thrown string
      'ERR_SYSTEM', // a TypeError
      'ERR_RISK', // async reject
      'ERR_REJECT', // failFixed: errorType option
      'SIG', // no extractor: default payload
      'ERR_SYSTEM', // extractor threw
      'ERR_SYSTEM', // extractor returned a string
      'ORD', // routeA
      'ORD', // routeB
      'ORD', // per-call headers
      'ORD', // withNewTrace's inner place
      'ORD', // withNewTrace
      'ORD', // SubDesk.place (super call not logged again)
      'ORD', // SubDesk.placeAsync (super after await, not logged again)
      'ORD', // concurrent override C1
      'ORD', // concurrent override C2
      'ORD', // PlainSub.place (inherited)
      'ORD', // LondonDesk.place (inherited, class defaults)
      'ORD', // recurse(0)
      'ORD', // recurse(1)
      'ORD', // recurse(2)
    ]);
  });

  it('puts class defaults in the header and the call context in the extractor', () => {
    const [first] = events();
    expect(first).toMatchObject({ venue: 'XNAS', account: 'ACC-1', symbol: 'EURUSD', trace: 'own' });
    expect(first!.payload.call_info).toEqual({
      result: 'D-O1-5',
      method: 'place',
      class: 'Desk',
      trace: 'none',
    });
    // call() with a plain object: the declaring class's defaults and name still apply.
    expect(events()[1]).toMatchObject({ venue: 'XNAS', payload: { call_info: { class: 'Desk' } } });
    const perCall = events()[22]!;
    expect(perCall).toMatchObject({ venue: 'XPAR', symbol: 'SYM-PC', account: 'ACC-1' });
  });

  it('records error details with the mapped severity, the component and the correlated event', () => {
    const timeout = events()[7]!;
    expect(timeout.trace).toBe('TRACE');
    expect(timeout.payload).toEqual({
      trade_data: { order_id: 'F-timeout' },
      error_details: {
        error_code: 'ETIMEDOUT',
        error_message: 'connect ETIMEDOUT 10.0.0.1:443',
        severity: 'WARNING',
        affected_component: 'desk-eu',
        correlated_event_id: '#6',
      },
    });
    expect(events()[8]!.payload.error_details).toMatchObject({
      severity: 'CRITICAL',
      error_code: 'ECONNREFUSED',
    });
    expect(events()[13]!.payload.error_details).toMatchObject({
      error_code: 'NonError(string)',
      error_message: 'plain string thrown',
    });
    expect(events()[16]!.payload.error_details).toMatchObject({
      severity: 'INFO',
      affected_component: 'gateway',
    });
  });

  it('summarises arguments safely when there is no extractor', () => {
    const sig = events()[17]!;
    const call = sig.payload.call as { class: string; method: string; args: unknown[]; result: unknown };
    expect(call.class).toBe('Desk');
    expect(call.method).toBe('noExtractor');
    expect(call.args[0]).toEqual({
      symbol: 'EURUSD',
      qty: '1000000',
      password: '[REDACTED]',
      nested: { apiKey: '[REDACTED]', ok: 'visible' },
    });
    expect(call.args[1]).toBe(`${'x'.repeat(120)}…(+180 chars)`);
    expect(call.result).toEqual({ accepted: true });
  });

  it('turns a failing extractor into ERR_SYSTEM and counts it, without touching the call', () => {
    const s = scenario();
    expect(s.badExtractor).toBe('B1');
    expect(s.invalidExtractor).toBe('I1');
    expect(events()[18]!.payload.error_details).toMatchObject({
      error_code: 'VCP_EXTRACTOR_ERROR',
      error_message: 'extractor of Desk.badExtractor (ORD) threw: extractor bug',
    });
    expect(events()[19]!.payload.error_details).toMatchObject({ error_code: 'VCP_EXTRACTOR_INVALID' });
    expect(s.stats).toEqual({ extractorErrors: 2, recorderExtractorErrors: 2 });
  });

  it('newTrace gives the method and the decorated calls inside it one fresh trace', () => {
    const inner = events()[23]!;
    const outer = events()[24]!;
    expect(inner.trace).toBe(outer.trace);
    expect(inner.trace).toMatch(/^t\d+$/);
  });

  it('logs an override that calls super once, also when super is called after an await', () => {
    const s = scenario();
    expect(s.override).toEqual(['sub>base:S1', 'sub>base:S2']);
    expect(s.concurrentOverride).toEqual(['sub>base:C1', 'sub>base:C2']);
    expect(events()[25]!.payload.call_info).toMatchObject({ class: 'SubDesk', result: 'sub>base:S1' });
    expect(events()[27]!.trace).toBe('TRACE');
  });

  it('inherited methods report the runtime class and its @VcpComponent defaults', () => {
    expect(events()[29]!.payload.call_info).toMatchObject({ class: 'PlainSub' });
    expect(events()[30]).toMatchObject({ venue: 'XLON', account: 'ACC-LDN', symbol: 'GBPUSD' });
  });

  it('getVcpMetadata lists what is instrumented, own and inherited, static included', () => {
    const m = scenario().metadata as Record<
      string,
      { className: string; component: unknown; methods: string[] }
    >;
    expect(m.Desk!.component).toEqual({
      venue_id: 'XNAS',
      account_id: 'ACC-1',
      symbol: 'EURUSD',
      component: 'desk-eu',
    });
    expect(m.Desk!.methods).toEqual(
      [
        'acknowledge:ACK',
        'badExtractor:ORD',
        'fail:ORD',
        'failFixed:ORD',
        'fill:EXE',
        'invalidExtractor:ORD',
        'noExtractor:SIG',
        'perCallHeaders:ORD',
        'place:ORD',
        'reject:ORD',
        'routeA:ORD',
        'routeB:ORD',
        'static version:AUD',
        'withNewTrace:ORD',
      ].sort(),
    );
    expect(m.SubDesk!.methods).toEqual(['place:ORD', 'placeAsync:ORD', 'recurse:ORD (inherited)']);
    expect(m.PlainSub!.methods).toEqual([
      'place:ORD (inherited)',
      'placeAsync:ORD (inherited)',
      'recurse:ORD (inherited)',
    ]);
    expect(m.LondonDesk!.component).toEqual({ venue_id: 'XLON', account_id: 'ACC-LDN', symbol: 'GBPUSD' });
    expect(m.Object).toBeNull();
  });

  it('every event is sealed', () => {
    expect(scenario().hashes).toBe(true);
  });
});

describe('two copies of the package in one process (ESM sources + the CommonJS build)', () => {
  it('share the trace store, the recorder configuration and the namespace registry', async () => {
    const script = path.join(work, 'dual.mjs');
    const trace = '0190a5d0-3333-7000-8000-000000000001';
    await writeFile(
      script,
      `import { createRequire } from 'node:module';
import * as esm from ${JSON.stringify(new URL(`file://${esm}`).href)};
const cjs = createRequire(import.meta.url)(${JSON.stringify(cjs)});
const { recorder, sink } = esm.createTestRecorder();
esm.configureVcp({ recorder });
class Desk { place(id) { return id; } }
const context = { kind: 'method', name: 'place', static: false, private: false, addInitializer() {}, metadata: {} };
Desk.prototype.place = cjs.VcpLogged('ORD', (a) => ({ trade_data: { order_id: a[0] } }))(Desk.prototype.place, context);
const seen = esm.runWithTrace(${JSON.stringify(trace)}, () => [cjs.currentTrace(), new Desk().place('X-1')]);
esm.createNamespace('shared-ns');
await recorder.flush();
process.stdout.write(JSON.stringify({
  differentCopies: esm.VcpLogged !== cjs.VcpLogged,
  seen,
  events: sink.events.map((e) => [e.header.event_type, e.header.trace_id, e.payload.trade_data.order_id]),
  namespaceShared: cjs.getNamespace('shared-ns') !== undefined,
  unrecorded: cjs.getInstrumentStats().unrecorded,
}));
`,
    );
    expect(await runNodeJson(script)).toEqual({
      differentCopies: true,
      seen: [trace, 'X-1'],
      events: [['ORD', trace, 'X-1']],
      namespaceShared: true,
      unrecorded: 0,
    });
  });
});
