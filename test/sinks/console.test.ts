import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { VcpEvent } from '../../src/core/types.ts';
import { ConsoleSink, formatEventLine } from '../../src/sinks/console.ts';
import { sealedEvents } from './_helpers.ts';

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

describe('ConsoleSink', () => {
  it('prints one readable line per event: time, type, short trace, trade fields, hash prefix', async () => {
    const { stream, text } = capture();
    const sink = new ConsoleSink({ stream, color: false });
    const events = sealedEvents(2);
    await sink.write(events);
    const lines = text().trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    const e = events[0]!;
    expect(lines[0]).toContain(e.header.timestamp_iso);
    expect(lines[0]).toMatch(/ ORD +trace=…/);
    expect(lines[0]).toContain(e.header.trace_id.slice(-8));
    expect(lines[0]).toContain('BUY 100000 EURUSD @ 1.0850');
    expect(lines[0]).toContain('order=O-0');
    expect(lines[0]).toContain(`#${e.security.event_hash.slice(0, 12)}`);
    expect(lines[0]).not.toContain('{'); // not JSON
  });

  it('keeps one line per event whatever the strings hold, and shows error details', () => {
    const e = sealedEvents(1)[0]!;
    const hostile: VcpEvent = {
      ...e,
      header: { ...e.header, event_type: 'ERR_SYSTEM' },
      payload: {
        trade_data: { order_id: 'A\nB\u2028C\u001b[31m' },
        error_details: {
          error_code: 'X',
          error_message: 'line1\r\nline2',
          severity: 'CRITICAL',
          affected_component: 'c',
        },
      },
    };
    const line = formatEventLine(hostile);
    expect(line).not.toMatch(/[\n\r\u2028\u001b]/);
    expect(line).toContain('order=A\\u000aB\\u2028C\\u001b[31m');
    expect(line).toContain('CRITICAL X: line1\\u000d\\u000aline2');
  });

  it('never throws on a malformed event', () => {
    expect(formatEventLine({} as VcpEvent)).toContain('#unsealed');
    const trap = new Proxy(
      {},
      {
        get: () => {
          throw new Error('boom');
        },
      },
    ) as VcpEvent;
    expect(formatEventLine(trap)).toBe('(unprintable event)');
  });

  it('colours error events on a TTY-like setting and writes synchronously on exit', () => {
    const e = sealedEvents(1)[0]!;
    const err = { ...e, header: { ...e.header, event_type: 'ERR_SYSTEM' as const } };
    expect(formatEventLine(err, true)).toMatch(/^\u001b\[31m.*\u001b\[39m$/);
    const { stream, text } = capture();
    new ConsoleSink({ stream }).writeSync([e]);
    expect(text()).toContain('order=O-0');
  });
});
