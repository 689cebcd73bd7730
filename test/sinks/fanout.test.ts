import { describe, expect, it } from 'vitest';
import { VcpConfigError } from '../../src/core/errors.ts';
import { FanoutSink } from '../../src/sinks/fanout.ts';
import { MemorySink } from '../../src/sinks/memory.ts';
import type { Sink } from '../../src/sinks/sink.ts';
import { ControlledSink, ControlledSyncSink, orderIds, sealedEvents } from './_helpers.ts';

describe("FanoutSink, mode 'all'", () => {
  it('writes every batch to every sink', async () => {
    const a = new MemorySink();
    const b = new ControlledSink();
    const sink = new FanoutSink([a, b]);
    await sink.write(sealedEvents(3));
    expect(orderIds(a.events)).toEqual(['O-0', 'O-1', 'O-2']);
    expect(orderIds(b.events)).toEqual(['O-0', 'O-1', 'O-2']);
  });

  it('fails when one sink fails, and a retry of the same batch does not duplicate it where it landed', async () => {
    const a = new MemorySink();
    const b = new ControlledSink();
    b.failures = 1;
    const sink = new FanoutSink([a, b]);
    const batch = sealedEvents(2);
    await expect(sink.write(batch)).rejects.toMatchObject({ retryable: true });
    await sink.write(batch);
    expect(orderIds(a.events)).toEqual(['O-0', 'O-1']);
    expect(orderIds(b.events)).toEqual(['O-0', 'O-1']);
  });

  it('reports several failures at once, retryable only if all are', async () => {
    const a = new ControlledSink('a');
    const b = new ControlledSink('b');
    a.down = true;
    b.refuse.add('O-0');
    const err = await new FanoutSink([a, b]).write(sealedEvents(1)).catch((e: unknown) => e);
    expect(err).toMatchObject({ retryable: false });
    expect((err as Error).message).toMatch(/2 sinks failed: a: .*; b: /);
  });

  it('can write synchronously only if every sink can', () => {
    expect(new FanoutSink([new MemorySink(), new ControlledSink()]).writeSync).toBeUndefined();
    const a = new MemorySink();
    const b = new ControlledSyncSink();
    new FanoutSink([a, b]).writeSync!(sealedEvents(1));
    expect(a.events).toHaveLength(1);
    expect(b.events).toHaveLength(1);
  });
});

describe("FanoutSink, mode 'primary'", () => {
  it('succeeds when the primary does; secondary failures are reported, not thrown', async () => {
    const primary = new MemorySink();
    const secondary = new ControlledSink('second');
    secondary.down = true;
    const errors: [string, number][] = [];
    const sink = new FanoutSink([primary, secondary], {
      mode: 'primary',
      onError: (s: Sink, _e, events) => errors.push([s.name, events.length]),
    });
    await sink.write(sealedEvents(2));
    await sink.flush();
    expect(primary.events).toHaveLength(2);
    expect(errors).toEqual([['second', 2]]);
    expect(sink.stats()).toEqual([{ sink: 'second', failed: 1, skipped: 0, pending: 0 }]);
  });

  it('keeps each secondary in order, and counts batches skipped when it falls too far behind', async () => {
    const primary = new MemorySink();
    const slow = new ControlledSink('slow');
    slow.hold();
    const skipped: number[] = [];
    const sink = new FanoutSink([primary, slow], {
      mode: 'primary',
      maxPending: 2,
      onError: (_s, _e, ev) => skipped.push(ev.length),
    });
    for (let i = 0; i < 4; i++) await sink.write(sealedEvents(1, i));
    slow.release();
    await sink.flush();
    expect(orderIds(primary.events)).toEqual(['O-0', 'O-1', 'O-2', 'O-3']);
    expect(orderIds(slow.events)).toEqual(['O-0', 'O-1']);
    expect(sink.stats()[0]).toMatchObject({ skipped: 2, failed: 0 });
    expect(skipped).toEqual([1, 1]);
  });

  it('the primary failing fails the write', async () => {
    const primary = new ControlledSink();
    primary.down = true;
    const sink = new FanoutSink([primary, new MemorySink()], { mode: 'primary' });
    await expect(sink.write(sealedEvents(1))).rejects.toThrow('down');
  });

  it('refuses a bad configuration', () => {
    expect(() => new FanoutSink([])).toThrow(VcpConfigError);
    expect(() => new FanoutSink([{} as Sink])).toThrow(/Sink/);
    expect(() => new FanoutSink([new MemorySink()], { mode: 'any' as never })).toThrow(/'all' or 'primary'/);
  });
});
