import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { type LogLine, parseLogLine, readLogLines } from '../../../src/adapters/fix/log-reader.ts';
import { parseFixTimestamp, parseLogTimestamp } from '../../../src/adapters/fix/time.ts';

const dir = mkdtempSync(join(tmpdir(), 'vcp-fix-log-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function all(source: string | Readable, options = {}): Promise<LogLine[]> {
  const out: LogLine[] = [];
  for await (const batch of readLogLines(source, options)) out.push(...batch);
  return out;
}

describe('log line prefixes', () => {
  it('QuickFIX/J, QuickFIX, ISO with offset or comma, none', () => {
    const m = '8=FIX.4.4\x019=5\x0135=0\x0110=000\x01';
    const cases: [string, string | undefined, string | undefined][] = [
      [`20240102-13:45:01.123: ${m}`, '2024-01-02T13:45:01.123Z', undefined],
      [`20240102-13:45:01.123 : ${m}`, '2024-01-02T13:45:01.123Z', undefined],
      [`20240102-13:45:01 : ${m}`, '2024-01-02T13:45:01.000Z', undefined],
      [`2024-01-02T13:45:01.123456Z IN ${m}`, '2024-01-02T13:45:01.123456Z', 'in'],
      [`2024-01-02 14:45:01,5 +01:00 [OUTGOING] ${m}`, '2024-01-02T13:45:01.500Z', 'out'],
      [`<sent> 2024-01-02T13:45:01.123456789Z ${m}`, '2024-01-02T13:45:01.123456789Z', 'out'],
      [`session FIX.4.4:A->B ${m}`, undefined, undefined],
      [m, undefined, undefined],
    ];
    for (const [line, iso, direction] of cases) {
      const e = parseLogLine(`${line}\r`);
      expect(e.message).toBe(m);
      expect(e.direction, line).toBe(direction);
      if (iso === undefined) expect(e.time).toBeUndefined();
      else {
        const t = e.time!;
        const digits = iso.length - 21; // fraction digits
        expect(new Date(t.ms).toISOString().slice(0, 23)).toBe(iso.slice(0, 23));
        expect(t.precision).toBe(digits > 6 ? 'NANOSECOND' : digits > 3 ? 'MICROSECOND' : 'MILLISECOND');
      }
    }
    expect(parseLogLine('   ')).toEqual({
      prefix: '',
      message: undefined,
      time: undefined,
      direction: undefined,
    });
    expect(parseLogLine('Created session').message).toBeUndefined();
  });

  it('impossible dates are not times', () => {
    expect(parseFixTimestamp('20240230-10:00:00')).toBeUndefined();
    expect(parseFixTimestamp('20241301-10:00:00')).toBeUndefined();
    expect(parseFixTimestamp('20240101-24:00:00')).toBeUndefined();
    expect(parseFixTimestamp('20240101-10:00:00.1234567890')).toBeUndefined();
    expect(parseFixTimestamp('20240229-23:59:59.999999999')).toEqual({
      ms: Date.UTC(2024, 1, 29, 23, 59, 59, 999),
      subMsNs: 999999,
      precision: 'NANOSECOND',
    });
    expect(parseLogTimestamp('2024-01-01T10:00:00+25:00')).toBeUndefined();
    expect(parseLogTimestamp('x'.repeat(1000))).toBeUndefined();
  });
});

describe('readLogLines', () => {
  it('splits on \\n and \\r\\n across any chunk boundaries, keeping bytes exact', async () => {
    const text = 'a\r\nb\x01\xe9\n\nlast-without-newline';
    const bytes = Buffer.from(text, 'latin1');
    const expected = ['a', 'b\x01\xe9', '', 'last-without-newline'];
    for (let size = 1; size <= bytes.length; size++) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
      const lines = await all(Readable.from(chunks));
      expect(lines.map((l) => l.text)).toEqual(expected);
      expect(lines.map((l) => l.line)).toEqual([1, 2, 3, 4]);
    }
  });

  it('a 10 MB line is not held: its head is kept, its length counted, the next line read normally', async () => {
    const file = join(dir, 'huge.log');
    writeFileSync(file, `first\n8=FIX.4.4\x01${'z'.repeat(10 * 1024 * 1024)}\nafter\n`, 'latin1');
    const lines = await all(file, { keepBytes: 100 });
    expect(lines.map((l) => [l.line, l.truncated, l.bytes])).toEqual([
      [1, false, 5],
      [2, true, 10 * 1024 * 1024 + 10],
      [3, false, 5],
    ]);
    expect(lines[1]!.text).toBe(`8=FIX.4.4\x01${'z'.repeat(90)}`);
    expect(lines[2]!.text).toBe('after');
  });

  it('an empty file gives no lines; a missing one rejects with ENOENT', async () => {
    writeFileSync(join(dir, 'empty.log'), '');
    expect(await all(join(dir, 'empty.log'))).toEqual([]);
    await expect(all(join(dir, 'missing.log'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
