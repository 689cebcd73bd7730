import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { VcpConfigError } from '../../src/core/errors.ts';
import { computeEventHash } from '../../src/integrity/event-hash.ts';
import { FileSink, listLogFiles } from '../../src/sinks/file.ts';
import { orderIds, readJsonl, sealedEvents, tempDir } from './_helpers.ts';

let cleanup: (() => void) | undefined;
afterEach(() => {
  cleanup?.();
  cleanup = undefined;
});
function dir(): string {
  const t = tempDir('vcp-file-');
  cleanup = t.cleanup;
  return t.dir;
}

describe('FileSink', () => {
  it('appends one JSON event per line, in order, and every line still verifies', async () => {
    const file = path.join(dir(), 'logs', 'vcp.jsonl');
    const sink = new FileSink({ path: file });
    const events = sealedEvents(5);
    await sink.write(events.slice(0, 2));
    await sink.write(events.slice(2));
    await sink.close();
    const back = readJsonl(file);
    expect(orderIds(back)).toEqual(['O-0', 'O-1', 'O-2', 'O-3', 'O-4']);
    for (const e of back) {
      expect(computeEventHash(e, { prevHash: e.security.prev_hash })).toBe(e.security.event_hash);
    }
    expect(fs.statSync(file).mode & 0o777).toBe(0o640);
  });

  it('writes non-ASCII and large events byte-exact (the buffer grows as needed)', async () => {
    const file = path.join(dir(), 'vcp.jsonl');
    const sink = new FileSink({ path: file });
    const [a, b, c] = sealedEvents(3);
    const big = { ...a!, payload: { ...a!.payload, note: '€𝄞ü'.repeat(3000) } };
    const quoted = { ...b!, payload: { ...b!.payload, note: 'line\nbreak "quoted" \\ \u2028' } };
    await sink.write([big, quoted, c!]);
    await sink.close();
    const back = readJsonl(file);
    expect(back).toEqual(JSON.parse(JSON.stringify([big, quoted, c])));
    expect(fs.readFileSync(file, 'utf8').split('\n')).toHaveLength(4);
  });

  it('appends to an existing log across reopen', async () => {
    const file = path.join(dir(), 'vcp.jsonl');
    const a = new FileSink({ path: file });
    await a.write(sealedEvents(2));
    await a.close();
    const b = new FileSink({ path: file, fsync: 'never' });
    await b.write(sealedEvents(1, 2));
    await b.close();
    expect(orderIds(readJsonl(file))).toEqual(['O-0', 'O-1', 'O-2']);
  });

  it('cuts off a torn last line left by a crash, says so, and goes on appending cleanly', async () => {
    const file = path.join(dir(), 'vcp.jsonl');
    const events = sealedEvents(3);
    const whole = events
      .slice(0, 2)
      .map((e) => JSON.stringify(e) + '\n')
      .join('');
    const torn = JSON.stringify(events[2]).slice(0, 57);
    fs.writeFileSync(file, whole + torn);
    const reports: { truncatedBytes: number; preview: string; path: string }[] = [];
    const sink = new FileSink({ path: file, onRecover: (info) => reports.push(info) });
    expect(reports).toEqual([{ path: file, truncatedBytes: 57, preview: torn.slice(0, 57) }]);
    expect(fs.readFileSync(file, 'utf8')).toBe(whole);
    await sink.write(sealedEvents(1, 9));
    await sink.close();
    expect(orderIds(readJsonl(file))).toEqual(['O-0', 'O-1', 'O-9']);
  });

  it('recovers a file that is nothing but a partial line', () => {
    const file = path.join(dir(), 'vcp.jsonl');
    fs.writeFileSync(file, '{"header":{"ev');
    const reports: number[] = [];
    const sink = new FileSink({ path: file, onRecover: (i) => reports.push(i.truncatedBytes) });
    expect(reports).toEqual([14]);
    expect(fs.statSync(file).size).toBe(0);
    return sink.close();
  });

  it('rotates by size into numbered files, oldest first, losing and splitting nothing', async () => {
    const d = dir();
    const file = path.join(d, 'vcp.jsonl');
    const events = sealedEvents(20);
    const lineBytes = Buffer.byteLength(JSON.stringify(events[0]) + '\n');
    const rotated: string[] = [];
    const sink = new FileSink({ path: file, maxBytes: lineBytes * 3 + 10, onRotate: (p) => rotated.push(p) });
    for (let i = 0; i < 20; i += 4) await sink.write(events.slice(i, i + 4));
    await sink.close();
    const files = listLogFiles(file);
    expect(files[files.length - 1]).toBe(file);
    expect(files.slice(0, -1)).toEqual(rotated);
    expect(path.basename(files[0]!)).toBe('vcp.000001.jsonl');
    for (const f of files) expect(fs.statSync(f).size).toBeLessThanOrEqual(lineBytes * 3 + 10);
    expect(orderIds(files.flatMap((f) => readJsonl(f)))).toEqual(events.map((_, i) => `O-${i}`));
    // Reopening continues the sequence instead of overwriting rotated files.
    const again = new FileSink({ path: file, maxBytes: lineBytes * 3 + 10 });
    await again.write(sealedEvents(4, 100));
    await again.close();
    expect(listLogFiles(file).length).toBeGreaterThan(files.length);
    expect(orderIds(listLogFiles(file).flatMap((f) => readJsonl(f))).slice(20)).toEqual([
      'O-100',
      'O-101',
      'O-102',
      'O-103',
    ]);
  });

  it('writeSync does not write twice what an unfinished write already appended (the exit path)', async () => {
    const file = path.join(dir(), 'vcp.jsonl');
    const sink = new FileSink({ path: file });
    const batch = sealedEvents(3);
    const pending = sink.write(batch); // appended now, fsync still running
    const more = sealedEvents(2, 3);
    sink.writeSync([...batch, ...more]);
    await pending;
    await sink.close();
    expect(orderIds(readJsonl(file))).toEqual(['O-0', 'O-1', 'O-2', 'O-3', 'O-4']);
  });

  it("supports the 'interval' fsync policy and flushes on close", async () => {
    const file = path.join(dir(), 'vcp.jsonl');
    const sink = new FileSink({ path: file, fsync: 'interval', fsyncIntervalMs: 5 });
    await sink.write(sealedEvents(3));
    await sink.flush();
    await sink.close();
    expect(readJsonl(file)).toHaveLength(3);
  });

  it('refuses writes after close and bad options with a clear error', async () => {
    const file = path.join(dir(), 'vcp.jsonl');
    const sink = new FileSink({ path: file });
    await sink.close();
    await expect(sink.write(sealedEvents(1))).rejects.toThrow(/closed/);
    expect(() => new FileSink({ path: '' })).toThrow(VcpConfigError);
    expect(() => new FileSink({ path: file, fsync: 'sometimes' as never })).toThrow(/every-write/);
    expect(() => new FileSink({ path: file, maxBytes: 0 })).toThrow(/maxBytes/);
  });
});
