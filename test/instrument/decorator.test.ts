/**
 * `@VcpLogged` / `@VcpComponent` in detail, on classes compiled by the real
 * TypeScript 6 compiler in both decorator modes (vitest's own transformer
 * cannot compile decorators) and imported into this process, so the test
 * can swap recorders, watch warnings and compare identities.
 */
import 'reflect-metadata';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createNamespace, currentStore, currentTrace, runWithTrace } from '../../src/context/index.ts';
import { VcpConfigError } from '../../src/core/errors.ts';
import type { VcpEvent } from '../../src/core/types.ts';
import * as mainEntry from '../../src/index.ts';
import {
  configureVcp,
  getInstrumentStats,
  getVcpConfig,
  getVcpMetadata,
  resetVcpConfig,
  type VcpCallContext,
  VcpComponent,
  VcpLogged,
} from '../../src/instrument/index.ts';
import { createTestRecorder } from '../../src/recorder/index.ts';
import type { VcpRecorder } from '../../src/recorder/types.ts';
import {
  compileTs6,
  esmEntry,
  linkEntry,
  makeWorkDir,
  missingNames,
  prepareSources,
  removeWorkDir,
  type Variant,
} from './fixtures/compile.ts';

type UnitClasses = typeof import('./fixtures/unit-classes.ts');

const MODES: Variant[] = [
  { compiler: 'ts6', mode: 'tc39', format: 'esm', reflect: true },
  { compiler: 'ts6', mode: 'legacy-meta', format: 'esm', reflect: true },
];

let work: string;
const compiled = new Map<string, UnitClasses>();

beforeAll(async () => {
  work = await makeWorkDir('vcp-decorator-unit-');
  const entry = await esmEntry(work, missingNames(mainEntry as Record<string, unknown>).length === 0);
  const sources = await prepareSources(['unit-classes.ts']);
  for (const v of MODES) {
    const out = path.join(work, v.mode);
    await compileTs6(sources, v, out);
    await linkEntry(out, entry, 'esm');
    compiled.set(v.mode, (await import(path.join(out, 'unit-classes.js'))) as UnitClasses);
  }
}, 120_000);

afterAll(async () => {
  if (work) await removeWorkDir(work);
});

function testRecorder() {
  const { recorder, sink } = createTestRecorder();
  return {
    recorder,
    sink,
    events: async (): Promise<readonly VcpEvent[]> => {
      await recorder.flush();
      return sink.events;
    },
  };
}

/** A recorder that only remembers what it was asked to record (to see the caller's side). */
function listRecorder(): VcpRecorder & {
  calls: Array<{ type: string; payload: unknown; options: unknown; trace: string | undefined }>;
} {
  const calls: Array<{ type: string; payload: unknown; options: unknown; trace: string | undefined }> = [];
  let extractorErrors = 0;
  return {
    calls,
    record(type, payload, options) {
      // The trace a recorder sees is the store current when record() is called.
      calls.push({ type, payload, options, trace: currentTrace() });
      return `id-${calls.length}`;
    },
    flush: async () => {},
    close: async () => {},
    stats: () => ({
      recorded: calls.length,
      sealed: 0,
      written: 0,
      dropped: 0,
      invalid: 0,
      sinkErrors: 0,
      queued: 0,
      spooled: 0,
      extractorErrors,
    }),
    noteExtractorError: () => {
      extractorErrors++;
    },
  };
}

beforeEach(() => resetVcpConfig());
afterEach(() => resetVcpConfig());

describe.each(MODES.map((v) => [v.mode] as const))('%s decorators', (mode) => {
  const C = () => compiled.get(mode)!;

  describe('calls', () => {
    it('keeps this, arguments, return value, name and length', async () => {
      const { recorder, events } = testRecorder();
      configureVcp({ recorder });
      const One = C().makeOne('ORD', function (this: unknown, a, b) {
        return [(this as { tag: string }).tag, a, b];
      });
      const one = new One();
      expect(one.run(1, 'x')).toEqual(['one', 1, 'x']);
      expect(One.prototype.run.name).toBe('run');
      expect(One.prototype.run.length).toBe(0); // rest parameter: the original's length is 0 too
      expect((await events()).map((e) => e.header.event_type)).toEqual(['ORD']);
    });

    it('gives the extractor args, result and a context with trace, names and duration', () => {
      const rec = listRecorder();
      configureVcp({ recorder: rec });
      const seen: Array<[unknown[], unknown, VcpCallContext]> = [];
      const One = C().makeOne(
        'ORD',
        (x) => `r:${String(x)}`,
        (args, result, ctx) => {
          seen.push([args, result, ctx]);
          return { trade_data: { order_id: String(args[0]) } };
        },
      );
      const one = new One();
      runWithTrace('0190a5d0-0000-7000-8000-000000000001', () => one.run('A'));
      const [args, result, ctx] = seen[0]!;
      expect(args).toEqual(['A']);
      expect(result).toBe('r:A');
      expect(ctx).toMatchObject({
        traceId: '0190a5d0-0000-7000-8000-000000000001',
        methodName: 'run',
        className: 'One',
        isStatic: false,
        eventType: 'ORD',
      });
      expect(ctx.thisArg).toBe(one);
      expect(ctx.durationNs).toBeGreaterThanOrEqual(0);
      expect(rec.calls[0]!.trace).toBe('0190a5d0-0000-7000-8000-000000000001');
    });

    it('async: the caller gets the value; the event is recorded when the promise settles', async () => {
      const rec = listRecorder();
      configureVcp({ recorder: rec });
      let release!: (v: string) => void;
      const One = C().makeOne(
        'EXE',
        () => new Promise<string>((r) => (release = r)),
        (_a, result) => ({ trade_data: { order_id: String(result) } }),
      );
      const p = new One().run() as Promise<string>;
      expect(rec.calls).toHaveLength(0);
      release('filled');
      expect(await p).toBe('filled');
      expect(rec.calls[0]).toMatchObject({ type: 'EXE', payload: { trade_data: { order_id: 'filled' } } });
    });

    it('a non-native thenable is returned untouched (its then is never called) unless awaitThenables', async () => {
      const rec = listRecorder();
      configureVcp({ recorder: rec });
      let thenCalls = 0;
      const lazy = {
        // biome-ignore lint/suspicious/noThenProperty: a lazy thenable (query-builder style) is the point of this test
        then(resolve: (v: string) => void) {
          thenCalls++;
          resolve('ran');
        },
      };
      const Plain = C().makeOne('ORD', () => lazy);
      expect(new Plain().run()).toBe(lazy);
      expect(thenCalls).toBe(0);
      expect(rec.calls).toHaveLength(1);
      const Awaiting = C().makeOne('ORD', () => lazy, undefined, { awaitThenables: true });
      await new Awaiting().run();
      expect(thenCalls).toBe(1);
      expect(rec.calls).toHaveLength(2);
    });
  });

  describe('errors', () => {
    it('sync throw: ERR_* event, and the very same error object (same stack) reaches the caller', async () => {
      const { recorder, events } = testRecorder();
      configureVcp({ recorder });
      const boom = Object.assign(new Error('connect ECONNRESET'), { code: 'ECONNRESET' });
      const stack = boom.stack;
      const One = C().makeOne('ORD', () => {
        throw boom;
      });
      let caught: unknown;
      try {
        new One().run();
      } catch (e) {
        caught = e;
      }
      expect(caught).toBe(boom);
      expect((caught as Error).stack).toBe(stack);
      const [e] = await events();
      expect(e!.header.event_type).toBe('ERR_CONN');
      expect(e!.payload.error_details).toMatchObject({
        error_code: 'ECONNRESET',
        severity: 'CRITICAL',
        affected_component: 'One',
      });
    });

    it('async reject: the same error object rejects the caller’s promise', async () => {
      const { recorder, events } = testRecorder();
      configureVcp({ recorder });
      const boom = new SyntaxError('bad fix message');
      const One = C().makeOne('ORD', async () => {
        await new Promise((r) => setTimeout(r, 1));
        throw boom;
      });
      await expect(new One().run()).rejects.toBe(boom);
      const [e] = await events();
      expect(e!.header.event_type).toBe('ERR_PARSE');
      expect(e!.payload.error_details).toMatchObject({
        severity: 'WARNING',
        error_message: 'bad fix message',
      });
    });

    it('correlates the error with the previous event of the trace', async () => {
      const { recorder, events } = testRecorder();
      configureVcp({ recorder });
      const Ok = C().makeOne('ORD', () => 'ok');
      const Bad = C().makeOne('ACK', () => {
        throw new Error('nope');
      });
      runWithTrace(undefined, () => {
        new Ok().run();
        expect(() => new Bad().run()).toThrow('nope');
      });
      const [ord, err] = await events();
      expect(err!.header.event_type).toBe('ERR_SYSTEM');
      expect(err!.payload.error_details?.correlated_event_id).toBe(ord!.header.event_id);
      expect(err!.header.trace_id).toBe(ord!.header.trace_id);
    });

    it('errorType as a function, configureVcp mapError, and logErrors: false', () => {
      const rec = listRecorder();
      configureVcp({
        recorder: rec,
        mapError: (e) => ((e as Error).message === 'custom' ? 'ERR_SYNC' : undefined),
      });
      const thrower = (msg: string) => () => {
        throw new Error(msg);
      };
      const ByFn = C().makeOne('ORD', thrower('x'), undefined, { errorType: () => 'ERR_RISK' });
      const ByConfig = C().makeOne('ORD', thrower('custom'));
      const Silent = C().makeOne('ORD', thrower('quiet'), undefined, { logErrors: false });
      expect(() => new ByFn().run()).toThrow('x');
      expect(() => new ByConfig().run()).toThrow('custom');
      expect(() => new Silent().run()).toThrow('quiet');
      expect(rec.calls.map((c) => c.type)).toEqual(['ERR_RISK', 'ERR_SYNC']);
    });

    it('the extractor runs on the error path too (with context.error); if it throws there, the ERR event is still recorded', () => {
      const rec = listRecorder();
      configureVcp({ recorder: rec });
      const boom = new Error('venue down');
      const Kept = C().makeOne(
        'ORD',
        () => {
          throw boom;
        },
        (args, _r, ctx) => ({
          trade_data: { order_id: String(args[0]) },
          note: ctx.error === boom ? 'saw error' : 'no',
        }),
      );
      const Fragile = C().makeOne(
        'ORD',
        () => {
          throw boom;
        },
        (_a, result: { id: string }) => ({ trade_data: { order_id: result.id } }),
      );
      expect(() => new Kept().run('O-9')).toThrow(boom);
      expect(() => new Fragile().run('O-9')).toThrow(boom);
      expect(rec.calls[0]!.payload).toMatchObject({
        trade_data: { order_id: 'O-9' },
        note: 'saw error',
        error_details: { error_message: 'venue down' },
      });
      expect(rec.calls[1]!.payload).toMatchObject({ error_details: { error_message: 'venue down' } });
      expect(getInstrumentStats().extractorErrors).toBe(0);
    });
  });

  describe('failures of the capture itself never reach the call', () => {
    it('extractor throwing / returning junk: ERR_SYSTEM + counters, call unaffected', async () => {
      const { recorder, events } = testRecorder();
      configureVcp({ recorder });
      const junk = [
        () => {
          throw new Error('bug');
        },
        () => null,
        () => 42,
        () => [1, 2],
        () => Promise.resolve({}),
        () => undefined,
      ];
      for (const ex of junk) {
        const One = C().makeOne('ORD', (id) => `done:${String(id)}`, ex as never);
        expect(new One().run('Q')).toBe('done:Q');
      }
      const evs = await events();
      expect(evs.map((e) => e.header.event_type)).toEqual(Array(junk.length).fill('ERR_SYSTEM'));
      expect(evs.map((e) => e.payload.error_details?.error_code)).toEqual([
        'VCP_EXTRACTOR_ERROR',
        ...Array(junk.length - 1).fill('VCP_EXTRACTOR_INVALID'),
      ]);
      expect(evs[4]!.payload.error_details?.error_message).toContain('returned a promise');
      // The lost event's call is still summarised in the ERR_SYSTEM payload.
      expect(evs[0]!.payload.call).toMatchObject({
        class: 'One',
        method: 'run',
        args: ['Q'],
        event_type: 'ORD',
      });
      expect(getInstrumentStats().extractorErrors).toBe(junk.length);
      expect(recorder.stats().extractorErrors).toBe(junk.length);
    });

    it('an extractor returning a cycle or a float price: the call returns; the recorder swaps in ERR_SYSTEM', async () => {
      const { recorder, events } = testRecorder();
      configureVcp({ recorder });
      const cyclic: Record<string, unknown> = { trade_data: { order_id: 'C' } };
      cyclic.self = cyclic;
      const Cyc = C().makeOne(
        'ORD',
        () => 'ok',
        () => cyclic,
      );
      const Float = C().makeOne('ORD', () => 'ok', (() => ({
        trade_data: { order_id: 'F', price: 1.085 },
      })) as never);
      expect(new Cyc().run()).toBe('ok');
      expect(new Float().run()).toBe('ok');
      const evs = await events();
      expect(evs.map((e) => e.header.event_type)).toEqual(['ERR_SYSTEM', 'ERR_SYSTEM']);
      expect(recorder.stats().invalid).toBe(2);
    });

    it('a recorder that throws: the call returns normally, counted once-warned', async () => {
      const warnings: string[] = [];
      const onWarning = (w: Error & { code?: string }) => warnings.push(w.code ?? '');
      process.on('warning', onWarning);
      const broken = {
        ...listRecorder(),
        record: () => {
          throw new Error('disk on fire');
        },
      };
      configureVcp({ recorder: broken });
      const One = C().makeOne('ORD', () => 'fine');
      expect(new One().run()).toBe('fine');
      expect(new One().run()).toBe('fine');
      await new Promise((r) => setImmediate(r));
      process.off('warning', onWarning);
      expect(getInstrumentStats().recorderErrors).toBe(2);
      expect(warnings.filter((c) => c === 'VCP_RECORDER_THREW')).toHaveLength(1);
    });

    it('no recorder configured: the call runs, one warning per process, a counter', async () => {
      const warnings: string[] = [];
      const onWarning = (w: Error & { code?: string }) => warnings.push(w.code ?? '');
      process.on('warning', onWarning);
      const One = C().makeOne('ORD', () => 'unrecorded');
      expect(new One().run()).toBe('unrecorded');
      expect(new One().run()).toBe('unrecorded');
      await new Promise((r) => setImmediate(r));
      process.off('warning', onWarning);
      expect(getInstrumentStats().unrecorded).toBe(2);
      expect(warnings.filter((c) => c === 'VCP_NO_RECORDER')).toHaveLength(1);
    });

    it('hostile arguments in the default payload: proxies, throwing getters, cycles, __proto__, lone surrogates', () => {
      const rec = listRecorder();
      configureVcp({ recorder: rec });
      const cyclic: Record<string, unknown> = { a: 1 };
      cyclic.me = cyclic;
      const getterBomb = Object.defineProperty({}, 'x', {
        enumerable: true,
        get() {
          throw new Error('getter');
        },
      });
      const proxy = new Proxy(
        {},
        {
          ownKeys() {
            throw new Error('trap');
          },
        },
      );
      const protoKey = JSON.parse('{"__proto__": {"polluted": true}, "ok": 1}');
      const One = C().makeOne('SIG', () => 'ok');
      expect(
        new One().run(cyclic, getterBomb, proxy, protoKey, 'a\uD800b', 10n, Number.NaN, undefined, () => 1),
      ).toBe('ok');
      const args = (rec.calls[0]!.payload as { call: { args: unknown[] } }).call.args;
      expect(args[0]).toEqual({ a: '1', me: '[Circular]' });
      expect(args[1]).toEqual({ x: '[Unreadable]' });
      expect(args[2]).toBe('[Proxy]');
      expect(Object.getOwnPropertyNames(args[3])).toEqual(['__proto__', 'ok']);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(args[4]).toBe('a\uFFFDb');
      expect(args.slice(5)).toEqual(['10', 'NaN', '[undefined]', '[Function anonymous]']);
    });
  });

  describe('redaction', () => {
    it('redacts secret-looking keys at any depth, case-insensitively; options add keys', () => {
      const rec = listRecorder();
      configureVcp({ recorder: rec, redactKeys: ['accountNumber'] });
      const One = C().makeOne('SIG', () => ({ sessionToken: 't', fine: 1 }), undefined, {
        redactKeys: ['desk-secret-ish', 'clientName'],
      });
      new One().run({
        Password: 'p',
        nested: { deeper: { AUTHORIZATION: 'Bearer x', 'x-api-key': 'k', client_name: 'Ann' } },
        account_number: '123',
        list: [{ privateKey: 'pk' }],
        qty: '5',
      });
      const call = (rec.calls[0]!.payload as { call: { args: unknown[]; result: unknown } }).call;
      expect(call.args[0]).toEqual({
        Password: '[REDACTED]',
        nested: {
          deeper: { AUTHORIZATION: '[REDACTED]', 'x-api-key': '[REDACTED]', client_name: '[REDACTED]' },
        },
        account_number: '[REDACTED]',
        list: [{ privateKey: '[REDACTED]' }],
        qty: '5',
      });
      expect(call.result).toEqual({ sessionToken: '[REDACTED]', fine: '1' });
    });

    it('redactDefaults: false turns the built-in list off; includeResult: false drops the result', () => {
      const rec = listRecorder();
      configureVcp({ recorder: rec, redactDefaults: false });
      const One = C().makeOne('SIG', () => 'secret result', undefined, { includeResult: false });
      new One().run({ password: 'visible now' });
      const call = (rec.calls[0]!.payload as { call: Record<string, unknown> }).call;
      expect(call.args).toEqual([{ password: 'visible now' }]);
      expect('result' in call).toBe(false);
    });
  });

  describe('recorder resolution', () => {
    it('call site beats class, class beats global; resolved at call time', () => {
      const global = listRecorder();
      const classLevel = listRecorder();
      const callSite = listRecorder();
      const AllThree = C().makeOne(
        'ORD',
        () => 1,
        undefined,
        { recorder: callSite },
        { recorder: classLevel },
      );
      const ClassOnly = C().makeOne('ORD', () => 1, undefined, undefined, { recorder: classLevel });
      const GlobalOnly = C().makeOne('ORD', () => 1);
      configureVcp({ recorder: global }); // after the classes were defined
      new AllThree().run();
      new ClassOnly().run();
      new GlobalOnly().run();
      expect([callSite.calls.length, classLevel.calls.length, global.calls.length]).toEqual([1, 1, 1]);
      const swapped = listRecorder();
      configureVcp({ recorder: swapped });
      new GlobalOnly().run();
      expect(swapped.calls).toHaveLength(1);
      configureVcp({ recorder: null });
      expect(getVcpConfig().recorder).toBeUndefined();
    });

    it('@VcpComponent defaults and per-method overrides reach the header', async () => {
      const { recorder, events } = testRecorder();
      configureVcp({ recorder });
      const Defaults = C().makeWithComponent({ venue_id: 'XETR', account_id: 'ACC-9', symbol: 'DAX' });
      const Override = C().makeWithComponent(
        { venue_id: 'XETR', account_id: 'ACC-9' },
        { venue_id: 'XEUR', symbol: (args) => `S-${String(args[0])}`, operator_id: 'trader-7' },
      );
      new Defaults().place('1');
      new Override().place('2');
      const [a, b] = await events();
      expect(a!.header).toMatchObject({ venue_id: 'XETR', account_id: 'ACC-9', symbol: 'DAX' });
      expect(b!.header).toMatchObject({
        venue_id: 'XEUR',
        account_id: 'ACC-9',
        symbol: 'S-2',
        operator_id: 'trader-7',
      });
      expect(getVcpMetadata(Defaults)?.component).toEqual({
        venue_id: 'XETR',
        account_id: 'ACC-9',
        symbol: 'DAX',
      });
    });
  });

  describe('traces', () => {
    it('inside a trace every event carries it; outside, each event has its own id as trace', async () => {
      const { recorder, events } = testRecorder();
      configureVcp({ recorder });
      const One = C().makeOne('ORD', () => 1);
      const one = new One();
      runWithTrace('0190a5d0-0000-7000-8000-0000000000aa', () => {
        one.run();
        one.run();
      });
      one.run();
      const [a, b, c] = await events();
      expect(a!.header.trace_id).toBe('0190a5d0-0000-7000-8000-0000000000aa');
      expect(b!.header.trace_id).toBe('0190a5d0-0000-7000-8000-0000000000aa');
      expect(c!.header.trace_id).toBe(c!.header.event_id);
    });

    it('newTrace: "when-missing" starts a trace only outside one; nested decorated calls share it', async () => {
      const { recorder, events } = testRecorder();
      configureVcp({ recorder });
      const Inner = C().makeOne('ACK', () => 'inner');
      const inner = new Inner();
      const Outer = C().makeOne('ORD', () => inner.run(), undefined, { newTrace: 'when-missing' });
      new Outer().run();
      runWithTrace('0190a5d0-0000-7000-8000-0000000000bb', () => new Outer().run());
      const [i1, o1, i2, o2] = await events();
      expect(i1!.header.trace_id).toBe(o1!.header.trace_id);
      expect(o1!.header.trace_id).not.toBe(o1!.header.event_id);
      expect([i2!.header.trace_id, o2!.header.trace_id]).toEqual([
        '0190a5d0-0000-7000-8000-0000000000bb',
        '0190a5d0-0000-7000-8000-0000000000bb',
      ]);
    });

    it('events recorded inside a cls namespace run carry its trace; the decorator only reads the store', async () => {
      const { recorder, events } = testRecorder();
      configureVcp({ recorder });
      const ns = createNamespace('decorator-test');
      const One = C().makeOne('ORD', () => ns.get('user'));
      let trace: string | undefined;
      const result = ns.runAndReturn(() => {
        ns.set('user', 'ann');
        trace = currentStore()?.traceId;
        return new One().run();
      });
      expect(result).toBe('ann');
      const [e] = await events();
      expect(e!.header.trace_id).toBe(trace);
    });

    it('300 concurrent async calls in their own traces record their own trace ids', async () => {
      const rec = listRecorder();
      configureVcp({ recorder: rec });
      const One = C().makeOne(
        'ORD',
        async (id) => {
          await new Promise((r) => setTimeout(r, Math.random() * 5));
          return id;
        },
        (args) => ({ trade_data: { order_id: String(args[0]) } }),
      );
      const one = new One();
      const ids = Array.from(
        { length: 300 },
        (_, i) => `0190a5d0-0000-7000-8000-${String(i).padStart(12, '0')}`,
      );
      await Promise.all(ids.map((id) => runWithTrace(id, () => one.run(id))));
      for (const c of rec.calls) {
        expect(c.trace).toBe((c.payload as { trade_data: { order_id: string } }).trade_data.order_id);
      }
      expect(rec.calls).toHaveLength(300);
    });
  });

  describe('class hierarchies', () => {
    const ex = (args: unknown[], result: unknown, ctx: VcpCallContext) => ({
      trade_data: { order_id: String(args[0] ?? '-') },
      who: `${ctx.className}.${ctx.methodName}=${String(result)}`,
    });

    it('an override calling super is logged once; a non-decorated override still logs through the base', () => {
      const rec = listRecorder();
      configureVcp({ recorder: rec });
      const { Sub, Undecorated, Base } = C().makeHierarchy(ex);
      expect(new Sub().place('1')).toBe('sub>base:1');
      expect(new Undecorated().place('2')).toBe('plain>base:2');
      expect(new Base().place('3')).toBe('base:3');
      expect(Sub.info()).toBe('sub>base-info');
      expect(rec.calls.map((c) => (c.payload as { who: string }).who)).toEqual([
        'Sub.place=sub>base:1',
        'Undecorated.place=base:2',
        'Base.place=base:3',
        'Sub.info=sub>base-info',
      ]);
    });

    it('async override calling super after awaits: once per call, concurrent calls each logged, other instances unaffected', async () => {
      const rec = listRecorder();
      configureVcp({ recorder: rec });
      const { Sub, Base } = C().makeHierarchy(ex);
      const sub = new Sub();
      const base = new Base();
      await runWithTrace('0190a5d0-0000-7000-8000-0000000000cc', () =>
        Promise.all([sub.placeLater('a', 5), sub.placeLater('b', 1), base.placeLater('c', 2)]),
      );
      expect(rec.calls.map((c) => (c.payload as { who: string }).who).sort()).toEqual([
        'Base.placeLater=base:c',
        'Sub.placeLater=sub>base:a',
        'Sub.placeLater=sub>base:b',
      ]);
      expect(sub.calls).toBe(2);
    });

    it('getVcpMetadata: own and inherited methods, static flags; undefined for plain classes', () => {
      const { Sub, Undecorated } = C().makeHierarchy(ex);
      // Order differs by mode (TC39 decorates static members first); the set is what matters.
      const methods = getVcpMetadata(Sub)?.methods.map(
        (m) => `${m.static ? 'static ' : ''}${String(m.name)}:${m.eventType}:${m.inherited}`,
      );
      expect(methods?.sort()).toEqual(['place:ORD:false', 'placeLater:ORD:false', 'static info:AUD:false']);
      expect(getVcpMetadata(Undecorated)?.methods.every((m) => m.inherited)).toBe(true);
      expect(getVcpMetadata(class Plain {})).toBeUndefined();
      expect(getVcpMetadata('nope' as never)).toBeUndefined();
    });
  });

  describe('metadata of other decorators', () => {
    it('reflect-metadata keys set before or after @VcpLogged are on the installed method', () => {
      const Tagged = C().makeTagged();
      const md = (k: string, f: object) =>
        (Reflect as unknown as { getMetadata: (k: string, t: object) => unknown }).getMetadata(k, f);
      expect(md('test:after', Tagged.prototype.after)).toBe('A');
      expect(md('test:before', Tagged.prototype.before)).toBe('B');
    });
  });

  describe('misuse is reported when the class is defined', () => {
    it('on a getter', () => {
      expect(() => C().makeGetter()).toThrow(VcpConfigError);
      expect(() => C().makeGetter()).toThrow(/decorates methods only/);
    });
  });
});

describe('argument checks (independent of the decorator mode)', () => {
  it('refuses unknown event types, non-function extractors and bad options with VcpConfigError', () => {
    expect(() => VcpLogged('NOPE' as never)).toThrow(/unknown event type "NOPE"/);
    expect(() => VcpLogged('ORD', 'x' as never)).toThrow(/extractor must be a function/);
    expect(() => VcpLogged('ORD', undefined, { errorType: 'ORD' as never })).toThrow(/errorType/);
    expect(() => VcpLogged('ORD', undefined, { severity: 'LOUD' as never })).toThrow(/severity/);
    expect(() => VcpLogged('ORD', undefined, { venue_id: 5 as never })).toThrow(/venue_id/);
    expect(() => VcpLogged('ORD', undefined, { recorder: {} as never })).toThrow(/recorder/);
    expect(() => VcpLogged('ORD', undefined, { newTrace: 'yes' as never })).toThrow(/newTrace/);
    expect(() => VcpComponent(null as never)).toThrow(VcpConfigError);
    expect(() => configureVcp({ recorder: { nope: 1 } as never })).toThrow(VcpConfigError);
    expect(() => configureVcp({ summary: { maxDepth: 0 } })).toThrow(/maxDepth/);
  });

  it('refuses to decorate things that are not methods', () => {
    const dec = VcpLogged('ORD') as unknown as (...a: unknown[]) => unknown;
    expect(() => dec(undefined, { kind: 'field', name: 'x' })).toThrow(/methods only, not a field/);
    expect(() => dec({}, 'x')).toThrow(VcpConfigError);
    expect(() => dec({}, 'x', { get: () => 1 })).toThrow(/not accessors or fields/);
    const cls = VcpComponent({}) as unknown as (...a: unknown[]) => unknown;
    expect(() => cls(() => 1, { kind: 'method', name: 'm' })).toThrow(/classes only/);
  });
});
