/**
 * The ingest thread (src/sidecar/ingest-pool.ts) must give exactly what the
 * inline path gives: the same prepared events (ids, hashes, warnings,
 * security block, text, and the event itself when read), the same refusals
 * (status, code, every issue), and, through a running sidecar, the same
 * records on disk and the same answers.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { VcpEvent } from '../../src/core/types.ts';
import { canonicalize } from '../../src/integrity/canonical.ts';
import { computeEventHash } from '../../src/integrity/event-hash.ts';
import { ELEMENT_PARSE_MIN_BYTES } from '../../src/sidecar/array-body-elements.ts';
import { HttpError } from '../../src/sidecar/http.ts';
import { type PreparedEvent, parseLogBody, prepareEvents } from '../../src/sidecar/ingest.ts';
import { IngestPool, IngestRefusal, ThreadPrepared } from '../../src/sidecar/ingest-pool.ts';
import { startSidecar } from '../../src/sidecar/server.ts';
import { eventLine } from '../../src/sinks/serialize.ts';
import { guideEvent, post, tempDir, testConfig, v11Event } from './helpers.ts';

const options = { maxBatchEvents: 1000, maxEventBytes: 64 * 1024, strict: false };
const pool = new IngestPool({ threads: 1, minBytes: 0 });
afterAll(() => pool.close());

function inline(body: string, kind: 'json' | 'ndjson' = 'json'): PreparedEvent[] {
  return prepareEvents(parseLogBody(Buffer.from(body), kind, options), options);
}

async function threaded(body: string, kind: 'json' | 'ndjson' = 'json'): Promise<PreparedEvent[]> {
  return (await pool.prepare(Buffer.from(body), kind, options)).events;
}

/**
 * Events with a client security block holding fields the sidecar replaces, and one non-ASCII text. `canonical`:
 * every other event written as the recorder's sinks write it (header and payload as RFC 8785 text).
 */
function mixedBatch(
  n: number,
  opts: { nonAscii?: boolean; newlines?: boolean; canonical?: boolean } = {},
): string {
  const items = [];
  for (let i = 0; i < n; i++) {
    const e = (i % 3 === 0 ? guideEvent(`ORD-${i}`) : v11Event(i)) as {
      payload: { trade_data: { order_id: string } };
      security?: unknown;
    };
    if (i % 4 === 1) e.security = { merkle_index: 99, note: 'kept', prev_hash: undefined };
    if (opts.nonAscii && i === 2) e.payload.trade_data.order_id = 'ORD-é-€-𝄞';
    const ev = e as unknown as VcpEvent;
    if (opts.canonical && i % 2 === 0)
      items.push(eventLine(ev, canonicalize(ev.header), canonicalize(ev.payload)));
    else items.push(JSON.stringify(e, null, opts.newlines ? 1 : 0));
  }
  return `[${items.join(opts.newlines ? ',\n' : ',')}]`;
}

describe('ingest thread', () => {
  for (const [name, body, kind] of [
    ['an ASCII batch (texts as byte spans)', mixedBatch(12), 'json'],
    ['a batch with non-ASCII text (texts as strings)', mixedBatch(12, { nonAscii: true }), 'json'],
    [
      'a batch with every other event in RFC 8785 form, one non-ASCII',
      mixedBatch(12, { nonAscii: true, canonical: true }),
      'json',
    ],
    ['a batch with line breaks between tokens', mixedBatch(6, { newlines: true }), 'json'],
    ['NDJSON', mixedBatch(6).slice(1, -1).replaceAll('},{"header"', '}\n{"header"'), 'ndjson'],
    [
      'NDJSON with CRLF, blank lines and padding (texts as byte spans)',
      `\r\n \t${mixedBatch(6).slice(1, -1).replaceAll('},{"header"', '} \r\n\r\n\t{"header"')}\t\r\n`,
      'ndjson',
    ],
    [
      'NDJSON with a CR inside a line (texts as strings)',
      mixedBatch(6)
        .slice(1, -1)
        .replaceAll('},{"header"', '}\n{"header"')
        .replace('"payload":', '"payload":\r'),
      'ndjson',
    ],
    ['a single event', JSON.stringify(v11Event(5)), 'json'],
  ] as const) {
    it(`prepares ${name} exactly as the inline path does`, async () => {
      const a = inline(body, kind);
      const b = await threaded(body, kind);
      expect(b.length).toBe(a.length);
      // Whether hashed in place (RFC 8785 lines) or serialized again: the hash of the parsed event.
      const items = parseLogBody(Buffer.from(body), kind, options).items as {
        header: object;
        payload: object;
      }[];
      for (let k = 0; k < a.length; k++) expect(a[k]!.eventHash).toBe(computeEventHash(items[k]!));
      for (let k = 0; k < a.length; k++) {
        const x = a[k]!;
        const y = b[k]!;
        expect(y).toBeInstanceOf(ThreadPrepared);
        expect([y.position, y.eventId, y.key, y.eventHash]).toEqual([
          x.position,
          x.eventId,
          x.key,
          x.eventHash,
        ]);
        expect(y.warnings).toEqual(x.warnings);
        expect(y.raw).toBe(x.raw);
        // At commit: merkle_index set, the stored security text as JSON.stringify writes it.
        x.security.merkle_index = 40 + k;
        (y as ThreadPrepared).merkleIndex = 40 + k;
        expect((y as ThreadPrepared).securityJson()).toBe(JSON.stringify(x.security));
        expect(JSON.stringify(y.event)).toBe(JSON.stringify(x.event));
        if ((y as ThreadPrepared).rawBytes)
          expect(Buffer.from((y as ThreadPrepared).rawBytes!).toString()).toBe(x.raw);
      }
    });
  }

  it('finds the RFC 8785 form in the batch that has it (so the case above hashes those events in place)', () => {
    const parsed = parseLogBody(
      Buffer.from(mixedBatch(12, { nonAscii: true, canonical: true })),
      'json',
      options,
    );
    const found = Array.from({ length: 12 }, (_, k) => parsed.canonicalParts![4 * k]! >= 0);
    expect(found).toEqual(Array.from({ length: 12 }, (_, k) => k % 2 === 0));
  });

  it('hands NDJSON lines over as byte spans when each line is the text as sent, else as strings', async () => {
    const lines = mixedBatch(4).slice(1, -1).replaceAll('},{"header"', '}\n{"header"').split('\n');
    const crlf = `  ${lines.join(' \r\n\r\n\t')}\r\n`;
    const parsed = parseLogBody(Buffer.from(crlf), 'ndjson', options);
    expect(parsed.spans).toBeDefined();
    parsed.raws.forEach((raw, k) => {
      expect(crlf.slice(parsed.spans![2 * k]!, parsed.spans![2 * k + 1]!)).toBe(raw);
      expect(raw).toBe(lines[k]);
    });
    for (const e of await threaded(crlf, 'ndjson'))
      expect(Buffer.from((e as ThreadPrepared).rawBytes!).toString()).toBe(lines[e.position]);
    // A CR between tokens is stored as a space, so that item is not a slice of the body.
    const inner = lines.join('\n').replace('"payload":', '"payload":\r');
    expect(parseLogBody(Buffer.from(inner), 'ndjson', options).spans).toBeUndefined();
    for (const e of await threaded(inner, 'ndjson')) expect((e as ThreadPrepared).rawBytes).toBeUndefined();
  });

  it('decodes NDJSON line by line with UTF-16 spans into the decoded body, non-ASCII and CRLF included', () => {
    const lines = mixedBatch(300, { nonAscii: true })
      .slice(1, -1)
      .replaceAll('},{"header"', '}\n{"header"')
      .split('\n');
    const body = `${lines.join('\r\n')}\r\n\n`;
    expect(Buffer.byteLength(body)).toBeGreaterThanOrEqual(ELEMENT_PARSE_MIN_BYTES);
    const parsed = parseLogBody(Buffer.from(body), 'ndjson', options);
    expect(parsed.items).toEqual(lines.map((l) => JSON.parse(l)));
    expect(parsed.raws).toEqual(lines);
    expect(parsed.spans).toBeDefined();
    for (const [k, raw] of parsed.raws.entries())
      expect(body.slice(parsed.spans![2 * k]!, parsed.spans![2 * k + 1]!)).toBe(raw);
  });

  it('an event read before the commit still gets its merkle_index, as an inline one does', async () => {
    const body = mixedBatch(3);
    const x = inline(body)[1]!;
    const y = (await threaded(body))[1] as ThreadPrepared;
    const early = y.event;
    expect(early.security.merkle_index).toBeUndefined();
    x.security.merkle_index = 7;
    y.merkleIndex = 7;
    expect(early.security.merkle_index).toBe(7);
    expect(JSON.stringify(y.event)).toBe(JSON.stringify(x.event));
    expect(y.securityJson()).toBe(JSON.stringify(x.security));
  });

  it('refuses what the inline path refuses, with the same status, code, issues and item count', async () => {
    const good = mixedBatch(3).slice(1, -1);
    const bad = JSON.stringify(v11Event(9)) as string;
    for (const body of [
      `[${good},${bad.replace('"header":{', '"header":{"event_id":"x",')}]`, // duplicate key
      `[${good},{"__proto__":{}}]`,
      `[${good},{"header":{}}]`, // invalid event
      `[${good},${bad},${bad}]`, // the same id twice in the batch
      `[${good},`, // malformed
      '[]',
    ]) {
      let a: unknown;
      try {
        inline(body);
      } catch (e) {
        a = e;
      }
      const b = await threaded(body).catch((e: unknown) => e);
      expect(a, body.slice(-80)).toBeInstanceOf(HttpError);
      expect(b, body.slice(-80)).toBeInstanceOf(IngestRefusal);
      const x = a as HttpError;
      const y = (b as IngestRefusal).error as HttpError;
      expect(y).toBeInstanceOf(HttpError);
      expect([y.status, y.error, y.message, y.extra, y.headers]).toEqual([
        x.status,
        x.error,
        x.message,
        x.extra,
        x.headers,
      ]);
    }
    const e = (await threaded(`[${good},{"header":{}}]`).catch((x: unknown) => x)) as IngestRefusal;
    expect(e.count).toBe(4);
  });
});

describe('a sidecar with and without the ingest thread', () => {
  const dirs = [tempDir(), tempDir()];
  afterAll(() => {
    for (const d of dirs) d.cleanup();
  });

  it('stores the same records and gives the same answers', async () => {
    const bodies = [
      mixedBatch(40),
      mixedBatch(40, { nonAscii: true }),
      mixedBatch(20, { newlines: true }),
      // Large enough to be parsed one element at a time (array-body-elements.ts).
      mixedBatch(300, { canonical: true }),
    ];
    expect(bodies.every((b) => Buffer.byteLength(b) >= 16 * 1024)).toBe(true);
    expect(Buffer.byteLength(bodies[3]!)).toBeGreaterThanOrEqual(ELEMENT_PARSE_MIN_BYTES);
    const answers: unknown[][] = [];
    for (const [n, threads] of ['0', '1'].entries()) {
      const s = await startSidecar({
        config: testConfig(dirs[n]!.dir, { 'ingest-threads': threads }),
        log: () => {},
      });
      let onThread = 0;
      const threadPool = s.context.ingestPool;
      if (threadPool) {
        // One request at a time would go inline (nothing to overlap with): send every body to the thread.
        threadPool.inlineWhenIdle = false;
        const prepare = threadPool.prepare.bind(threadPool);
        threadPool.prepare = (...a) => {
          onThread++;
          return prepare(...a);
        };
      }
      try {
        expect(threadPool !== undefined).toBe(threads === '1');
        const got: unknown[] = [];
        for (const b of bodies) {
          const r = await post(`${s.url}/vcp/log`, b);
          expect(r.status, r.text).toBe(201);
          got.push(r.body);
          // A duplicate submission: answered from the store, marked duplicate.
          const again = await post(`${s.url}/vcp/log`, b);
          expect(again.body.results.every((x: { duplicate?: boolean }) => x.duplicate)).toBe(true);
        }
        const second = got[1] as { results: { event_id: string }[] };
        const one = await fetch(`${s.url}/vcp/events/${second.results[2]!.event_id}`);
        got.push(await one.json());
        answers.push(got);
        expect(onThread).toBe(threads === '1' ? 2 * bodies.length : 0);
      } finally {
        await s.close();
      }
    }
    expect(answers[1]).toEqual(answers[0]);
    // The records, but for the time of receipt and the checksum over it.
    const records = (dir: string) =>
      readdirSync(join(dir, 'segments'))
        .sort()
        .flatMap((f) => readFileSync(join(dir, 'segments', f), 'utf8').split('\n'))
        .filter(Boolean)
        .map((l) => l.slice(9).replace(/"t":"[^"]*"/, '"t":""'));
    const [a, b] = dirs.map((d) => records(d.dir));
    expect(a!.length).toBe(400);
    expect(b).toEqual(a);
  });
});

describe('when the thread is used', () => {
  it('not while the HTTP thread has nothing else to do; while other work is in progress, yes', () => {
    const p = new IngestPool({ threads: 1, minBytes: 1024 });
    expect(p.wants(4096, false)).toBe(false);
    expect(p.wants(4096, true)).toBe(true);
    expect(p.wants(100, true)).toBe(false);
    // A body over 1 MiB holds the HTTP thread too long: to the thread even when idle.
    expect(p.wants(1024 * 1024, false)).toBe(false);
    expect(p.wants(1024 * 1024 + 1, false)).toBe(true);
    p.inlineWhenIdle = false;
    expect(p.wants(4096, false)).toBe(true);
  });

  it('a lone client sending one batch at a time is served inline, unless a body is over 1 MiB', async () => {
    const d = tempDir();
    const s = await startSidecar({ config: testConfig(d.dir, { 'ingest-threads': '1' }), log: () => {} });
    try {
      const threadPool = s.context.ingestPool!;
      let onThread = 0;
      const prepare = threadPool.prepare.bind(threadPool);
      threadPool.prepare = (...a) => {
        onThread++;
        return prepare(...a);
      };
      for (let k = 0; k < 3; k++) {
        const body = mixedBatch(40);
        expect(Buffer.byteLength(body)).toBeGreaterThanOrEqual(threadPool.minBytes);
        const r = await post(`${s.url}/vcp/log`, body);
        expect(r.status, r.text).toBe(201);
        expect(r.body.results.map((x: { merkle_index: number }) => x.merkle_index)[0]).toBe(40 * k);
      }
      expect(onThread).toBe(0);
      // A body over 1 MiB goes to the thread all the same, keeping the HTTP thread free meanwhile.
      const big = mixedBatch(2000);
      expect(Buffer.byteLength(big)).toBeGreaterThan(threadPool.inlineMaxBytes);
      const r = await post(`${s.url}/vcp/log`, big);
      expect(r.status, r.text).toBe(201);
      expect(r.body.count).toBe(2000);
      expect(onThread).toBe(1);
    } finally {
      await s.close();
      d.cleanup();
    }
  });
});
