/**
 * The shortcuts of the ingest path must not change a verdict: the event
 * size is counted in UTF-8 bytes (multi-byte text included), a lone
 * surrogate outside header and payload is still found, line breaks
 * inside a batch item are still flattened, and an EventHash taken over the
 * line's own RFC 8785 texts is the hash of the parsed event.
 */
import { describe, expect, it } from 'vitest';
import type { VcpEvent } from '../../src/core/types.ts';
import { canonicalize } from '../../src/integrity/canonical.ts';
import { computeEventHash } from '../../src/integrity/event-hash.ts';
import { parseLogBody, prepareEvents } from '../../src/sidecar/ingest.ts';
import { eventLine } from '../../src/sinks/serialize.ts';
import { refusal, v11Event } from './helpers.ts';

/** An event line as the recorder's sinks write it: header and payload as RFC 8785 text. */
function canonicalLine(n: number, extraPayload: Record<string, unknown> = {}): string {
  const ev = v11Event(n);
  Object.assign(ev.payload, extraPayload);
  return eventLine(ev as VcpEvent, canonicalize(ev.header), canonicalize(ev.payload));
}

describe('ingest fast paths', () => {
  it('refuses an event over the byte limit that is under it in characters (3-byte UTF-8 text)', () => {
    const ev = v11Event(1) as unknown as { payload: { trade_data: Record<string, unknown> } };
    ev.payload.trade_data.note = '€'.repeat(600);
    const text = JSON.stringify(ev);
    const bytes = Buffer.byteLength(text);
    const maxEventBytes = text.length + 200; // more than its characters, fewer than its bytes
    expect(bytes).toBeGreaterThan(maxEventBytes);
    const limits = { maxBatchEvents: 10, maxEventBytes };
    const e = refusal(() =>
      prepareEvents(parseLogBody(Buffer.from(`[${text}]`), 'json', limits), { ...limits, strict: false }),
    );
    expect(e.status).toBe(413);
    expect(e.message).toContain(`${bytes} bytes as stored`);
    // The same event fits when the limit counts its bytes.
    const roomy = { maxBatchEvents: 10, maxEventBytes: bytes };
    expect(
      prepareEvents(parseLogBody(Buffer.from(text), 'json', roomy), { ...roomy, strict: false }),
    ).toHaveLength(1);
  });

  it('refuses an NDJSON line with a string longer than an event may be with 413, as a JSON array is refused', () => {
    const ev = v11Event(5) as unknown as { payload: { trade_data: Record<string, unknown> } };
    ev.payload.trade_data.note = 'x'.repeat(5000);
    const limits = { maxBatchEvents: 10, maxEventBytes: 4000 };
    const text = JSON.stringify(ev);
    const asArray = refusal(() => parseLogBody(Buffer.from(`[${text}]`), 'json', limits));
    const asLines = refusal(() =>
      parseLogBody(Buffer.from(`${JSON.stringify(v11Event(6))}\n${text}\n`), 'ndjson', limits),
    );
    expect(asArray.status).toBe(413);
    expect(asLines.status).toBe(413);
  });

  it('finds a lone surrogate escaped outside header and payload', () => {
    const ev = v11Event(2) as unknown as Record<string, unknown>;
    const text = JSON.stringify(ev).replace(/\}$/, ',"extra":{"k":"a\\ud800b"}}');
    const limits = { maxBatchEvents: 10, maxEventBytes: 64 * 1024 };
    const e = refusal(() =>
      prepareEvents(parseLogBody(Buffer.from(`[${text}]`), 'json', limits), { ...limits, strict: false }),
    );
    expect(e.status).toBe(400);
    expect(e.extra.errors).toEqual([expect.objectContaining({ path: '[0].extra.k', rule: 'unicode' })]);
  });

  it('flattens line breaks between the tokens of a batch item, and keeps flat items as sent', () => {
    const a = JSON.stringify(v11Event(3));
    const b = JSON.stringify(v11Event(4), null, 2);
    const parsed = parseLogBody(Buffer.from(`[${a},\r\n${b}]`), 'json', { maxBatchEvents: 10 });
    expect(parsed.raws[0]).toBe(a);
    expect(parsed.raws[1]).not.toMatch(/[\r\n]/);
    expect(JSON.parse(parsed.raws[1]!)).toEqual(JSON.parse(b));
    const flat = parseLogBody(Buffer.from(`[${a}]`), 'json', { maxBatchEvents: 10 });
    expect(flat.raws[0]).toBe(a);
  });

  it('hashes the RFC 8785 texts of canonical lines in place, with the same hash as from the objects, in every body form', () => {
    const limits = { maxBatchEvents: 10, maxEventBytes: 64 * 1024 };
    const a = canonicalLine(10);
    const b = JSON.stringify(v11Event(11)); // header keys in the builder's order: not canonical
    const c = canonicalLine(12, { z: [1, 1.5, -2, true, null, {}] });
    const bodies: [string, 'json' | 'ndjson'][] = [
      [`[${a},${b},${c}]`, 'json'],
      [` [ ${a} ,\r\n ${b},\n${c} ] `, 'json'],
      [`  ${a}\r\n${b}\n\t${c}\n`, 'ndjson'],
      [` \n${a} `, 'json'],
    ];
    for (const [body, kind] of bodies) {
      const parsed = parseLogBody(Buffer.from(body), kind, limits);
      const found = Array.from(
        { length: parsed.items.length },
        (_, k) => parsed.canonicalParts![4 * k]! >= 0,
      );
      expect(found, body).toEqual(parsed.items.length === 1 ? [true] : [true, false, true]);
      const prepared = prepareEvents(parsed, { ...limits, strict: false });
      for (let k = 0; k < prepared.length; k++) {
        const item = parsed.items[k] as { header: object; payload: object };
        expect(prepared[k]!.eventHash, body).toBe(computeEventHash(item));
      }
    }
  });

  it('refuses an NDJSON line holding an array of canonical events as one item, and a duplicated header member', () => {
    const limits = { maxBatchEvents: 10, maxEventBytes: 64 * 1024 };
    const a = canonicalLine(14);
    const parsed = parseLogBody(Buffer.from(`${a}\n[${a}]\n`), 'ndjson', limits);
    expect(Array.from(parsed.canonicalParts!.slice(4))).toEqual([-1, -1, -1, -1]);
    const e = refusal(() => prepareEvents(parsed, { ...limits, strict: false }));
    expect(e.status).toBe(400);
    expect(e.extra.errors).toEqual([expect.objectContaining({ path: '[1].' })]);
    const twice = a.replace('{"header":', `{"header":${a.slice(10, a.indexOf(',"payload"'))},"header":`);
    expect(refusal(() => parseLogBody(Buffer.from(twice), 'json', limits)).status).toBe(400);
  });

  it('still refuses a canonical line whose claimed event_hash is not its hash', () => {
    const limits = { maxBatchEvents: 10, maxEventBytes: 64 * 1024 };
    const line = canonicalLine(13).replace(
      /\}$/,
      `,"security":{"event_hash":"${'ab'.repeat(32)}","hash_algo":"SHA256"}}`,
    );
    const parsed = parseLogBody(Buffer.from(line), 'json', limits);
    expect(parsed.canonicalParts![0]).toBeGreaterThanOrEqual(0);
    const e = refusal(() => prepareEvents(parsed, { ...limits, strict: false }));
    expect(e.status).toBe(400);
    expect(e.extra.errors).toEqual([
      expect.objectContaining({ path: 'security.event_hash', rule: 'event-hash' }),
    ]);
  });
});
