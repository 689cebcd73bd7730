import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cls,
  createNamespace,
  currentTrace,
  destroyNamespace,
  getNamespace,
  resetNamespaces,
  runWithTrace,
} from '../../src/context/index.ts';
import { isUuidV7 } from '../../src/core/uuidv7.ts';

const tick = () => new Promise<void>((r) => setImmediate(r));

afterEach(() => resetNamespaces());

describe('cls-style namespace: registry', () => {
  it('createNamespace registers, getNamespace finds, destroyNamespace forgets', () => {
    const ns = createNamespace('app');
    expect(getNamespace('app')).toBe(ns);
    expect(ns.name).toBe('app');
    expect(createNamespace('app')).toBe(ns);
    destroyNamespace('app');
    expect(getNamespace('app')).toBeUndefined();
  });

  it('the cls object has cls-hooked’s module shape', () => {
    const ns = cls.createNamespace('shape');
    expect(cls.getNamespace('shape')).toBe(ns);
    cls.reset();
    expect(cls.getNamespace('shape')).toBeUndefined();
  });

  it('refuses a namespace without a name', () => {
    expect(() => createNamespace('')).toThrow('namespace must be given a name.');
    expect(() => createNamespace(undefined as unknown as string)).toThrow(TypeError);
  });
});

describe('cls-style namespace: contexts', () => {
  it('set outside any context throws cls-hooked’s error; get returns undefined; active is null', () => {
    const ns = createNamespace('outside');
    expect(() => ns.set('k', 1)).toThrow('No context available. ns.run() or ns.bind() must be called first.');
    expect(ns.get('k')).toBeUndefined();
    expect(ns.active).toBeNull();
  });

  it('run gives a context where set/get work; run returns the context, runAndReturn the value', () => {
    const ns = createNamespace('basic');
    let inner: unknown;
    const ctx = ns.run(() => {
      ns.set('user', 'alice');
      inner = ns.get('user');
    });
    expect(inner).toBe('alice');
    expect(ctx.user).toBe('alice');
    expect(ns.get('user')).toBeUndefined();
    expect(ns.runAndReturn(() => ns.set('x', 42))).toBe(42);
  });

  it('nested runs inherit the outer values and do not leak their own out', () => {
    const ns = createNamespace('nested');
    ns.run(() => {
      ns.set('a', 1);
      ns.run(() => {
        expect(ns.get('a')).toBe(1);
        ns.set('a', 2);
        ns.set('b', 3);
        expect(ns.get('a')).toBe(2);
      });
      expect(ns.get('a')).toBe(1);
      expect(ns.get('b')).toBeUndefined();
    });
  });

  it('namespaces are independent of each other', () => {
    const a = createNamespace('a');
    const b = createNamespace('b');
    a.run(() => {
      a.set('k', 'from-a');
      b.run(() => {
        b.set('k', 'from-b');
        expect(a.get('k')).toBe('from-a');
        expect(b.get('k')).toBe('from-b');
      });
      expect(b.get('k')).toBeUndefined();
    });
  });

  it('keeps the request’s trace: inside runWithTrace, ns.run keeps the trace id and ns.set needs no run', () => {
    const ns = createNamespace('trace');
    runWithTrace('req-1', () => {
      ns.set('user', 'bob');
      expect(ns.get('user')).toBe('bob');
      expect(ns.active).not.toBeNull();
      ns.run(() => {
        expect(currentTrace()).toBe('req-1');
        expect(ns.get('user')).toBe('bob');
      });
    });
  });

  it('run outside any trace starts a new trace', () => {
    const ns = createNamespace('new-trace');
    let id: string | undefined;
    ns.run(() => {
      id = currentTrace();
    });
    expect(isUuidV7(id ?? '')).toBe(true);
  });

  it('values follow setTimeout and promises', async () => {
    const ns = createNamespace('async');
    const seen = await ns.runPromise(async () => {
      ns.set('id', 7);
      await sleep(2);
      const afterTimeout = await new Promise((resolve) => setTimeout(() => resolve(ns.get('id')), 1));
      await tick();
      return [afterTimeout, ns.get('id')];
    });
    expect(seen).toEqual([7, 7]);
  });

  it('runPromise rejects like fn, tags the error with its context, and refuses a non-promise', async () => {
    const ns = createNamespace('promise');
    const boom = new Error('boom');
    let ctx: unknown;
    const p = ns.runPromise(async (c) => {
      ctx = c;
      ns.set('where', 'inside');
      await tick();
      throw boom;
    });
    await expect(p).rejects.toBe(boom);
    expect(ns.fromException(boom)).toBe(ctx);
    expect(ns.fromException(boom)?.where).toBe('inside');
    expect(() => ns.runPromise((() => 1) as unknown as () => Promise<number>)).toThrow(
      'fn must return a promise.',
    );
  });

  it('an error escaping run is tagged with its context, without becoming enumerable', () => {
    const ns = createNamespace('errors');
    const err = new Error('x');
    let ctx: unknown;
    expect(() =>
      ns.run((c) => {
        ctx = c;
        throw err;
      }),
    ).toThrow(err);
    expect(ns.fromException(err)).toBe(ctx);
    expect(Object.keys(err)).toEqual([]);
    expect(ns.fromException('not an object')).toBeUndefined();
    // A frozen error cannot carry the context, but the original still propagates unchanged.
    const frozen = Object.freeze(new Error('frozen'));
    expect(() =>
      ns.run(() => {
        throw frozen;
      }),
    ).toThrow(frozen);
  });

  it('bind runs the function in the context current at bind time, sharing later sets', async () => {
    const ns = createNamespace('bind');
    let bound!: () => unknown;
    ns.run(() => {
      ns.set('v', 1);
      bound = ns.bind(() => ns.get('v'));
      ns.set('v', 2);
    });
    expect(bound()).toBe(2);
    const named = ns.bind(function place(this: { x: number }, a: number, b: number) {
      return this.x + a + b;
    });
    expect(named.name).toBe('place');
    expect(named.length).toBe(2);
    expect(named.call({ x: 1 }, 2, 3)).toBe(6);
  });

  it('bind to an explicit context', () => {
    const ns = createNamespace('bind-ctx');
    const ctx = ns.createContext();
    ctx.k = 'explicit';
    const f = ns.bind(() => ns.get('k'), ctx);
    expect(f()).toBe('explicit');
    runWithTrace('other', () => {
      ns.set('k', 'trace-value');
      expect(f()).toBe('explicit');
      expect(ns.get('k')).toBe('trace-value');
    });
  });

  it('enter/exit (emulated with enterWith) make a context current until exit', async () => {
    const ns = createNamespace('enter');
    const ctx = ns.createContext();
    ctx.who = 'entered';
    await (async () => {
      ns.enter(ctx);
      expect(ns.get('who')).toBe('entered');
      await tick();
      expect(ns.get('who')).toBe('entered');
      ns.exit(ctx);
      expect(ns.get('who')).toBeUndefined();
      ns.exit(ctx); // exiting twice is a no-op
    })();
  });
});

describe('cls-style namespace: bindEmitter', () => {
  it('listeners run in the context they were added in, whoever emits', () => {
    const ns = createNamespace('emitter');
    const bus = new EventEmitter();
    ns.bindEmitter(bus);
    const seen: unknown[] = [];
    ns.run(() => {
      ns.set('sub', 'first');
      bus.on('e', () => seen.push(ns.get('sub')));
    });
    ns.run(() => {
      ns.set('sub', 'second');
      bus.prependListener('e', () => seen.push(ns.get('sub')));
    });
    ns.run(() => {
      ns.set('sub', 'emitter-side');
      bus.emit('e');
    });
    expect(seen).toEqual(['second', 'first']);
  });

  it('once listeners fire once, and removeListener / listeners() see the original function', () => {
    const ns = createNamespace('emitter-once');
    const bus = new EventEmitter();
    ns.bindEmitter(bus);
    ns.bindEmitter(bus); // binding twice changes nothing
    let count = 0;
    const onOnce = () => count++;
    const onAlways = () => count++;
    ns.run(() => {
      bus.once('e', onOnce);
      bus.on('e', onAlways);
    });
    expect(bus.listeners('e')).toEqual([onOnce, onAlways]);
    bus.emit('e');
    bus.emit('e');
    expect(count).toBe(3);
    bus.removeListener('e', onAlways);
    bus.emit('e');
    expect(count).toBe(3);
    expect(bus.listenerCount('e')).toBe(0);
    ns.run(() => bus.once('x', onOnce));
    bus.off('x', onOnce);
    expect(bus.listenerCount('x')).toBe(0);
  });

  it('refuses things that are not emitters', () => {
    const ns = createNamespace('not-ee');
    expect(() => ns.bindEmitter({} as EventEmitter)).toThrow('can only bind real EEs');
  });

  it('bound streams deliver data in the consumer’s context', async () => {
    const ns = createNamespace('stream');
    const stream = new PassThrough();
    ns.bindEmitter(stream);
    const got: unknown[] = [];
    const done = new Promise<void>((resolve) => {
      ns.run(() => {
        ns.set('consumer', 'c1');
        stream.on('data', () => got.push(ns.get('consumer')));
        stream.on('end', () => resolve());
      });
    });
    ns.run(() => {
      ns.set('consumer', 'producer');
      stream.write('a');
      stream.end('b');
    });
    await done;
    expect(got).toEqual(['c1', 'c1']);
  });
});

describe('cls-style namespace: concurrency', () => {
  it('500 concurrent flows with random awaits each see only their own values', async () => {
    const ns = createNamespace('load');
    const flows = Array.from({ length: 500 }, (_, i) =>
      ns.runPromise(async () => {
        ns.set('req', i);
        const wrong: string[] = [];
        for (let step = 0; step < 4; step++) {
          const r = Math.random();
          if (r < 0.4) await sleep(Math.floor(Math.random() * 3));
          else if (r < 0.7) await tick();
          else await Promise.resolve();
          if (ns.get('req') !== i) wrong.push(`${i}@${step}:${String(ns.get('req'))}`);
          if (step === 2) ns.set('req', i); // re-setting our own value never crosses flows
        }
        return wrong;
      }),
    );
    expect((await Promise.all(flows)).flat()).toEqual([]);
  });
});
