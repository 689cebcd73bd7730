import type { AsyncLocalStorage } from 'node:async_hooks';
import { EventEmitter, once } from 'node:events';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import {
  bindToCurrentTrace,
  createTraceStore,
  currentStore,
  currentTrace,
  runWithStore,
  runWithTrace,
  traceStorage,
} from '../../src/context/index.ts';
import { isUuidV7 } from '../../src/core/uuidv7.ts';

const tick = () => new Promise<void>((r) => setImmediate(r));

describe('trace store', () => {
  it('is undefined outside any trace and set inside one', () => {
    expect(currentTrace()).toBeUndefined();
    expect(currentStore()).toBeUndefined();
    runWithTrace('trace-a', () => {
      expect(currentTrace()).toBe('trace-a');
      expect(currentStore()?.values).toBeInstanceOf(Map);
    });
    expect(currentTrace()).toBeUndefined();
  });

  it('makes a new UUIDv7 trace id when given none', () => {
    const id = runWithTrace(undefined, () => currentTrace());
    expect(isUuidV7(id ?? '')).toBe(true);
    expect(runWithTrace(undefined, () => currentTrace())).not.toBe(id);
  });

  it('nested runs see their own trace and restore the outer one, also across awaits', async () => {
    await runWithTrace('outer', async () => {
      expect(currentTrace()).toBe('outer');
      await runWithTrace('inner', async () => {
        await tick();
        expect(currentTrace()).toBe('inner');
      });
      await tick();
      expect(currentTrace()).toBe('outer');
    });
  });

  it('follows setTimeout, setImmediate, queueMicrotask and process.nextTick', async () => {
    const seen = await runWithTrace('timers', async () => {
      const got: (string | undefined)[] = [];
      await new Promise<void>((resolve) => {
        setTimeout(() => {
          got.push(currentTrace());
          setImmediate(() => {
            got.push(currentTrace());
            queueMicrotask(() => {
              got.push(currentTrace());
              process.nextTick(() => {
                got.push(currentTrace());
                resolve();
              });
            });
          });
        }, 1);
      });
      return got;
    });
    expect(seen).toEqual(['timers', 'timers', 'timers', 'timers']);
  });

  it('a shared emitter calls listeners in the emitter’s trace unless the listener is bound', async () => {
    const bus = new EventEmitter();
    const seen: Record<string, string | undefined> = {};
    runWithTrace('subscriber', () => {
      bus.on('plain', () => {
        seen.plain = currentTrace();
      });
      bus.on(
        'bound',
        bindToCurrentTrace(() => {
          seen.bound = currentTrace();
        }),
      );
    });
    runWithTrace('publisher', () => {
      bus.emit('plain');
      bus.emit('bound');
    });
    expect(seen).toEqual({ plain: 'publisher', bound: 'subscriber' });
  });

  it('streams keep the trace of the pipeline that runs them', async () => {
    const run = (id: string) =>
      runWithTrace(id, async () => {
        const seen = new Set<string | undefined>();
        await pipeline(
          Readable.from(['a', 'b', 'c']),
          new Transform({
            objectMode: true,
            transform(chunk, _enc, cb) {
              seen.add(currentTrace());
              setTimeout(() => cb(null, String(chunk).toUpperCase()), Math.random() * 3);
            },
          }),
          new Writable({
            objectMode: true,
            write(_chunk, _enc, cb) {
              seen.add(currentTrace());
              cb();
            },
          }),
        );
        return [...seen];
      });
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => run(`pipe-${i}`)));
    results.forEach((seen, i) => {
      expect(seen).toEqual([`pipe-${i}`]);
    });
  });

  it('500 interleaved concurrent flows never see each other’s trace', async () => {
    const flows = Array.from({ length: 500 }, (_, i) =>
      runWithTrace(`req-${i}`, async () => {
        const me = `req-${i}`;
        const wrong: string[] = [];
        const check = (step: string) => {
          const t = currentTrace();
          if (t !== me) wrong.push(`${step}:${t}`);
        };
        check('start');
        for (let step = 0; step < 5; step++) {
          const r = Math.random();
          if (r < 0.3) await sleep(Math.floor(Math.random() * 4));
          else if (r < 0.6) await tick();
          else if (r < 0.8) await Promise.resolve();
          else {
            const emitter = new EventEmitter();
            const fired = once(emitter, 'go');
            setTimeout(() => emitter.emit('go'), 0);
            await fired;
          }
          check(`step${step}`);
        }
        return wrong;
      }),
    );
    const results = await Promise.all(flows);
    expect(results.flat()).toEqual([]);
  });

  it('runWithStore runs with a store built by the caller, and mutations are visible through it', () => {
    const store = createTraceStore('mw-trace');
    runWithStore(store, () => {
      currentStore()!.lastEventId = 'e1';
      currentStore()!.values.set('k', 1);
    });
    expect(store.lastEventId).toBe('e1');
    expect(store.values.get('k')).toBe(1);
  });

  it('is one AsyncLocalStorage per process, on a Symbol.for global, so a second copy shares it', () => {
    const shared = (
      globalThis as unknown as Record<symbol, { version: number; als: AsyncLocalStorage<unknown> }>
    )[Symbol.for('vcp-instrument.trace-store')];
    expect(shared?.als).toBe(traceStorage);
    // A second copy of the package would find the same storage and see our trace.
    runWithTrace('shared', () => {
      expect((shared!.als.getStore() as { traceId: string }).traceId).toBe('shared');
    });
  });
});
