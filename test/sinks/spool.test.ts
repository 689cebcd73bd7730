import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { VcpConfigError } from '../../src/core/errors.ts';
import { withSpool } from '../../src/sinks/spool.ts';
import { ControlledSink, orderIds, readJsonl, sealedEvents, tempDir } from './_helpers.ts';

let cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups) c();
  cleanups = [];
});
function dir(): string {
  const t = tempDir('vcp-spool-');
  cleanups.push(t.cleanup);
  return t.dir;
}
function segments(d: string): string[] {
  return fs
    .readdirSync(d)
    .filter((n) => n.startsWith('spool-'))
    .sort();
}

describe('withSpool', () => {
  it('writes straight through while the downstream is up, leaving no files', async () => {
    const d = dir();
    const inner = new ControlledSink();
    const sink = withSpool(inner, { dir: d });
    await sink.write(sealedEvents(3));
    expect(orderIds(inner.events)).toEqual(['O-0', 'O-1', 'O-2']);
    expect(segments(d)).toEqual([]);
    await sink.close();
    expect(fs.existsSync(path.join(d, 'spool.lock'))).toBe(false);
  });

  it('spools while the downstream is down (the write succeeds: the events are on disk) and replays them in order', async () => {
    const d = dir();
    const inner = new ControlledSink();
    const replayed: number[] = [];
    const sink = withSpool(inner, {
      dir: d,
      replayIntervalMs: 10,
      batchSize: 4,
      onReplay: (n) => replayed.push(n),
    });
    inner.down = true;
    await sink.write(sealedEvents(5, 0));
    await sink.write(sealedEvents(5, 5));
    expect(inner.events).toEqual([]);
    expect(sink.spooling).toBe(true);
    expect(sink.spooledEvents()).toBe(10);
    expect(orderIds(segments(d).flatMap((s) => readJsonl(path.join(d, s))))).toEqual(
      Array.from({ length: 10 }, (_, i) => `O-${i}`),
    );
    inner.down = false;
    // A write made while the spool is draining is queued behind the spooled events.
    await sink.write(sealedEvents(2, 10));
    expect(await sink.drain(5000)).toBe(true);
    expect(orderIds(inner.events)).toEqual(Array.from({ length: 12 }, (_, i) => `O-${i}`));
    expect(segments(d)).toEqual([]);
    expect(sink.stats()).toMatchObject({ spooled: 0, spooledBytes: 0, replayed: 12 });
    expect(replayed.reduce((a, b) => a + b, 0)).toBe(12);
    // Back to direct writes.
    await sink.write(sealedEvents(1, 12));
    expect(inner.events).toHaveLength(13);
    await sink.close();
  });

  it("replays a previous run's spool before anything new, across a restart", async () => {
    const d = dir();
    const first = new ControlledSink();
    first.down = true;
    const a = withSpool(first, { dir: d, replayIntervalMs: 60_000 });
    await a.write(sealedEvents(3, 0));
    await a.close();
    expect(segments(d)).toHaveLength(1);

    const second = new ControlledSink();
    const b = withSpool(second, { dir: d, replayIntervalMs: 10 });
    expect(b.spooledEvents()).toBe(3);
    await b.write(sealedEvents(2, 3)); // goes behind the old spool
    expect(await b.drain(5000)).toBe(true);
    expect(orderIds(second.events)).toEqual(['O-0', 'O-1', 'O-2', 'O-3', 'O-4']);
    await b.close();
  });

  it('does not spool refused events: the caller hears about them', async () => {
    const inner = new ControlledSink();
    inner.refuse.add('O-1');
    const sink = withSpool(inner, { dir: dir() });
    await expect(sink.write(sealedEvents(2))).rejects.toMatchObject({ retryable: false });
    expect(sink.spooling).toBe(false);
    await sink.close();
  });

  it('on replay, isolates refused events by halving the batch, sets them aside, delivers the rest', async () => {
    const d = dir();
    const inner = new ControlledSink();
    inner.down = true;
    const refused: string[] = [];
    const sink = withSpool(inner, {
      dir: d,
      replayIntervalMs: 10,
      batchSize: 8,
      onRejected: (events) => refused.push(...orderIds(events)),
    });
    await sink.write(sealedEvents(8));
    inner.refuse.add('O-2').add('O-5');
    inner.down = false;
    expect(await sink.drain(5000)).toBe(true);
    expect(orderIds(inner.events)).toEqual(['O-0', 'O-1', 'O-3', 'O-4', 'O-6', 'O-7']);
    expect(refused).toEqual(['O-2', 'O-5']);
    // Dead letters: a header line with the reason, then the events as they were.
    const lines = fs
      .readdirSync(d)
      .filter((n) => n.startsWith('vcp-dead-letter-'))
      .flatMap((f) => readJsonl(path.join(d, f)) as unknown[]);
    const headers = lines.filter((l) => (l as { vcp_dead_letter?: unknown }).vcp_dead_letter);
    expect(
      headers.map((h) => (h as { vcp_dead_letter: { reasons: unknown[] } }).vcp_dead_letter.reasons[0]),
    ).toEqual([
      expect.objectContaining({
        rule: 'rejected',
        message: expect.stringContaining('refused: invalid event'),
      }),
      expect.objectContaining({ rule: 'rejected' }),
    ]);
    expect(orderIds(lines.filter((l) => !headers.includes(l))).sort()).toEqual(['O-2', 'O-5']);
    expect(sink.stats().rejected).toBe(2);
    await sink.close();
  });

  it('is bounded on disk: past maxBytes a write fails as retryable spool_full', async () => {
    const inner = new ControlledSink();
    inner.down = true;
    const sink = withSpool(inner, { dir: dir(), maxBytes: 4000, replayIntervalMs: 60_000 });
    await sink.write(sealedEvents(1));
    let err: unknown;
    for (let i = 0; i < 20 && !err; i++)
      err = await sink.write(sealedEvents(1, i + 1)).catch((e: unknown) => e);
    expect(err).toMatchObject({ retryable: true, reason: 'spool_full' });
    expect(sink.stats().spooledBytes).toBeLessThanOrEqual(4000);
    await sink.close();
  });

  it('rotates segments by size and keeps their order', async () => {
    const d = dir();
    const inner = new ControlledSink();
    inner.down = true;
    const sink = withSpool(inner, { dir: d, segmentBytes: 2000, replayIntervalMs: 10 });
    for (let i = 0; i < 10; i++) await sink.write(sealedEvents(1, i));
    expect(segments(d).length).toBeGreaterThan(2);
    inner.down = false;
    expect(await sink.drain(5000)).toBe(true);
    expect(orderIds(inner.events)).toEqual(Array.from({ length: 10 }, (_, i) => `O-${i}`));
    await sink.close();
  });

  it('writeSync appends to the spool for the next start (the exit path)', async () => {
    const d = dir();
    const sink = withSpool(new ControlledSink(), { dir: d });
    sink.writeSync(sealedEvents(2));
    expect(orderIds(readJsonl(path.join(d, segments(d)[0]!)))).toEqual(['O-0', 'O-1']);
    await sink.close();
  });

  it('announces dead letters left in its directory at start (nothing replays them by itself)', async () => {
    const d = dir();
    fs.writeFileSync(path.join(d, 'vcp-dead-letter-1-2-3.jsonl'), '');
    fs.writeFileSync(path.join(d, 'vcp-rejected-1-2.jsonl'), '');
    const said: [string, string][] = [];
    const sink = withSpool(new ControlledSink(), { dir: d, onWarning: (m, c) => said.push([m, c]) });
    expect(said).toEqual([
      [expect.stringMatching(/2 dead-letter file\(s\) in .*vcp spool list/), 'VCP_DEAD_LETTER'],
    ]);
    await sink.close();
  });

  it('one owner per directory', async () => {
    const d = dir();
    const a = withSpool(new ControlledSink(), { dir: d });
    expect(() => withSpool(new ControlledSink(), { dir: d })).toThrow(VcpConfigError);
    await a.close();
    // A lock left by a process that no longer exists is taken over.
    fs.writeFileSync(path.join(d, 'spool.lock'), '999999999');
    const b = withSpool(new ControlledSink(), { dir: d });
    expect(fs.readFileSync(path.join(d, 'spool.lock'), 'utf8')).toBe(String(process.pid));
    await b.close();
  });
});
