import { describe, expect, it } from 'vitest';
import { VcpIoError } from '../../src/core/errors.ts';
import { MemorySink } from '../../src/sinks/memory.ts';
import { orderIds, sealedEvents } from './_helpers.ts';

describe('MemorySink', () => {
  it('keeps events in write order and filters them by type', async () => {
    const sink = new MemorySink();
    const [a, b, c] = sealedEvents(3);
    const hbt = { ...c!, header: { ...c!.header, event_type: 'HBT' as const } };
    await sink.write([a!, b!]);
    sink.writeSync([hbt]);
    expect(orderIds(sink.events)).toEqual(['O-0', 'O-1', 'O-2']);
    expect(sink.ofType('ORD')).toHaveLength(2);
    expect(sink.ofType('HBT')).toEqual([hbt]);
    expect(sink.ofType('EXE')).toEqual([]);
  });

  it('waitFor resolves once n events arrived, and at once if they already have', async () => {
    const sink = new MemorySink();
    const events = sealedEvents(3);
    const waiting = sink.waitFor(3);
    await sink.write(events.slice(0, 2));
    await sink.write(events.slice(2));
    expect(await waiting).toHaveLength(3);
    expect(await sink.waitFor(2)).toHaveLength(3);
  });

  it('waitFor fails with a message saying how many arrived instead of hanging', async () => {
    const sink = new MemorySink();
    await sink.write(sealedEvents(1));
    const err = await sink.waitFor(5, 20).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VcpIoError);
    expect((err as Error).message).toMatch(/waited 20 ms for 5 events, 1 arrived/);
  });

  it('clear forgets everything; a closed sink refuses writes', async () => {
    const sink = new MemorySink();
    await sink.write(sealedEvents(2));
    sink.clear();
    expect(sink.events).toHaveLength(0);
    await sink.close();
    await expect(sink.write(sealedEvents(1))).rejects.toThrow(/closed/);
  });
});
