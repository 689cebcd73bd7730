/**
 * The recorder's size limit is the size of the line a sink writes: with the defaults, every
 * line a FileSink holds is one `vcp verify` reads (its default longest line is 1 MiB). The
 * limit used to count the canonical header and payload only, so an event just under it made a
 * line over 1 MiB, and `vcp verify` called the whole log INVALID (line-too-long).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { VcpConfigError } from '../../src/core/errors.ts';
import type { VcpPayload } from '../../src/core/types.ts';
import { createRecorder } from '../../src/recorder/recorder.ts';
import { generateWorkerSigner } from '../../src/recorder/worker-signer.ts';
import { FileSink } from '../../src/sinks/file.ts';
import { MemorySink } from '../../src/sinks/memory.ts';
import { serializeEvent } from '../../src/sinks/serialize.ts';
import { DEFAULT_MAX_LINE_BYTES, readFileLines } from '../../src/verify/line-reader.ts';
import { Verifier } from '../../src/verify/verifier.ts';
import { policy, tempDir } from '../sinks/_helpers.ts';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

const withNote = (id: string, chars: number): VcpPayload =>
  ({ trade_data: { order_id: id }, note: 'x'.repeat(chars) }) as unknown as VcpPayload;

describe('maxEventBytes counts the line a sink writes', () => {
  it('a FileSink writes an event of 30 000 characters, first in its first batch, as exactly its line', async () => {
    // The encoder once returned 65 535 bytes of uninitialised memory for a first line over 21 845
    // characters: the file held garbage and no event.
    const { dir, cleanup } = tempDir('vcp-size-');
    cleanups.push(cleanup);
    const file = join(dir, 'events.jsonl');
    const sink = new FileSink({ path: file });
    const recorder = createRecorder({ sink, policy, onError: () => {} });
    recorder.record('ORD', withNote('thirty-k', 30_000));
    await recorder.close();
    const text = readFileSync(file, 'utf8');
    const lines = text.split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toBe('');
    const event = JSON.parse(lines[0]!) as { payload: { note: string } };
    expect(event.payload.note).toHaveLength(30_000);
    expect(recorder.stats()).toMatchObject({ written: 1, dropped: 0 });
  });

  it('with the defaults, vcp verify reads every line of the FileSink; an event too large for that becomes ERR_SYSTEM', async () => {
    const { dir, cleanup } = tempDir('vcp-size-');
    cleanups.push(cleanup);
    const file = join(dir, 'events.jsonl');
    const recorder = createRecorder({ sink: new FileSink({ path: file }), policy, onError: () => {} });
    recorder.record('ORD', withNote('fits', DEFAULT_MAX_LINE_BYTES - 3000));
    // Canonical header + payload just under 1 MiB: accepted by the old rule, a line over 1 MiB.
    recorder.record('ORD', withNote('too-large', DEFAULT_MAX_LINE_BYTES - 520));
    recorder.record('ORD', withNote('after', 10));
    await recorder.close();

    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    expect(lines.map((l) => (JSON.parse(l) as { header: { event_type: string } }).header.event_type)).toEqual(
      ['ORD', 'ERR_SYSTEM', 'ORD'],
    );
    for (const l of lines) expect(Buffer.byteLength(l)).toBeLessThanOrEqual(DEFAULT_MAX_LINE_BYTES);
    expect(Buffer.byteLength(lines[0]!)).toBeGreaterThan(DEFAULT_MAX_LINE_BYTES - 3000);
    expect(lines[1]).toContain('max-size');

    const v = new Verifier({});
    await v.pushAll(readFileLines(file));
    const report = await v.finish();
    expect(report.verdict).not.toBe('INVALID');
    expect(JSON.stringify(report)).not.toContain('line-too-long');
  });

  it('refuses a limit too small for the ERR_SYSTEM replacement, and a policy no event could carry, when created', () => {
    const sink = new MemorySink();
    expect(() => createRecorder({ sink, policy, maxEventBytes: 1024 })).toThrow(VcpConfigError);
    expect(() => createRecorder({ sink, policy, maxEventBytes: 4096 })).not.toThrow();
    const deep = JSON.parse(`${'{"n":'.repeat(70)}1${'}'.repeat(70)}`) as unknown;
    const bad = { ...policy, extra: deep } as unknown as typeof policy;
    expect(() => createRecorder({ sink, policy: bad })).toThrow(/policy_identification\.extra.*\[depth\]/);
  });

  it('counts the fields a batch signer adds after sealing: a signed line never passes the limit', async () => {
    const signer = generateWorkerSigner();
    cleanups.push(() => void signer.close());
    const sink = new MemorySink();
    const limit = 8192;
    const recorder = createRecorder({ sink, policy, signer, maxEventBytes: limit, onError: () => {} });
    // Notes from 6 000 to 7 800 characters: the lines cross the limit somewhere in between.
    for (let chars = 6000; chars <= 7800; chars += 60) recorder.record('ORD', withNote(`n-${chars}`, chars));
    await recorder.close();
    const kinds = new Set(sink.events.map((e) => e.header.event_type));
    expect(kinds).toEqual(new Set(['ORD', 'ERR_SYSTEM']));
    for (const e of sink.events) {
      expect(e.security.signature).toBeTypeOf('string');
      expect(Buffer.byteLength(serializeEvent(e))).toBeLessThanOrEqual(limit);
    }
  });
});
