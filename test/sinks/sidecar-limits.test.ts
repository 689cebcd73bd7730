/**
 * `openHttpSink` and `readSidecarLimits` against the real sidecar (in-process, file store, loopback) and against
 * servers that do not answer as one: a recorder on a sink opened this way seals nothing the sidecar refuses as
 * too large, and sends no batch longer than it takes; an unreadable sidecar costs a warning and the defaults.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createRecorder } from '../../src/recorder/recorder.ts';
import { createHttpSink, type HttpSink } from '../../src/sinks/http.ts';
import { openHttpSink, readSidecarLimits, sidecarHealthUrl } from '../../src/sinks/sidecar-limits.ts';
import type { Sink } from '../../src/sinks/sink.ts';
import { orderIds, policy, sealedEvents } from './_helpers.ts';
import { perTestSidecars } from './_real-sidecar.ts';

const { closers, sidecar } = perTestSidecars();
function track<T extends Sink>(sink: T): T {
  closers.push(() => sink.close().catch(() => {}));
  return sink;
}
/** Warnings given, as `code: message`. */
function warnings(): { list: string[]; on: (m: string, c: string) => void } {
  const list: string[] = [];
  return { list, on: (message, code) => list.push(`${code}: ${message}`) };
}
/** A local server answering every request with `handler`. */
async function server(handler: http.RequestListener): Promise<string> {
  const s = http.createServer(handler);
  s.listen(0, '127.0.0.1');
  await new Promise((r) => s.once('listening', r));
  closers.push(
    () =>
      new Promise<void>((r) => {
        s.closeAllConnections();
        s.close(() => r());
      }),
  );
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}
const order = (id: string, extra: Record<string, unknown> = {}) => ({
  trade_data: { order_id: id, price: '1.0850', quantity: '100000', ...extra },
});

describe('sidecarHealthUrl', () => {
  it('finds GET /health beside the log endpoint, under a prefix too; knows none for another path', () => {
    expect(sidecarHealthUrl('http://127.0.0.1:8080')?.href).toBe('http://127.0.0.1:8080/health');
    expect(sidecarHealthUrl('http://127.0.0.1:8080/')?.href).toBe('http://127.0.0.1:8080/health');
    expect(sidecarHealthUrl('http://h:1/vcp/log')?.href).toBe('http://h:1/health');
    expect(sidecarHealthUrl('https://proxy/tenant-a/vcp/log/')?.href).toBe('https://proxy/tenant-a/health');
    expect(sidecarHealthUrl('http://h:1', '/tenant-b/vcp/log')?.href).toBe('http://h:1/tenant-b/health');
    expect(sidecarHealthUrl('http://h:1/ingest')).toBeUndefined();
    expect(sidecarHealthUrl('http://h:1', '/ingest')).toBeUndefined();
    expect(sidecarHealthUrl('http://h:1/t/vcp/log?key=k1')?.href).toBe('http://h:1/t/health?key=k1');
  });

  it("never leaves the log URL's origin: a path that reads as another host stays a path on the sidecar", () => {
    for (const [url, path] of [
      ['http://127.0.0.1:8080', '//127.0.0.2:9/vcp/log'],
      ['http://127.0.0.1:8080//127.0.0.2:9/vcp/log', undefined],
      ['http://127.0.0.1:8080/\\evil.example/vcp/log', undefined],
      ['http://127.0.0.1:8080', '/\\evil.example/vcp/log'],
    ] as const) {
      const health = sidecarHealthUrl(url, path);
      expect(health?.origin).toBe('http://127.0.0.1:8080');
      expect(health?.pathname).toMatch(/\/health$/);
    }
  });

  it('the token goes only to the sidecar: a "//other-host" prefix is asked on the sidecar itself', async () => {
    const other: string[] = [];
    const elsewhere = await server((req, res) => {
      other.push(String(req.headers.authorization));
      res.end('{"max_event_bytes":4096}');
    });
    const seen: string[] = [];
    const sidecarUrl = await server((req, res) => {
      seen.push(req.url ?? '');
      res.end('{"max_event_bytes":65536}');
    });
    const prefix = `//${new URL(elsewhere).host}`;
    const sink = track(
      await openHttpSink({
        url: sidecarUrl,
        path: `${prefix}/vcp/log`,
        token: 'secret',
        onWarning: () => {},
      }),
    );
    expect(other).toEqual([]);
    expect(seen).toEqual([`${prefix}/health`]);
    expect(sink.maxEventBytes).toBe(65536);
  });

  it('a token the sink would refuse fails before any request, with no warning', async () => {
    let asked = 0;
    const url = await server((_req, res) => {
      asked++;
      res.end('{}');
    });
    const w = warnings();
    await expect(openHttpSink({ url, token: 'a\nb', onWarning: w.on })).rejects.toThrow(
      /without line breaks/,
    );
    expect(asked).toBe(0);
    expect(w.list).toEqual([]);
  });
});

describe('readSidecarLimits against the real sidecar', () => {
  it('reads --max-event and --max-batch; a sidecar with a token tells them only to a request carrying it', async () => {
    const s = await sidecar({ 'max-event': '8KiB', 'max-batch': '50', token: 'secret-token-for-limits' });
    await expect(readSidecarLimits(s.url, { token: 'secret-token-for-limits' })).resolves.toEqual({
      maxEventBytes: 8192,
      maxBatchEvents: 50,
    });
    await expect(
      readSidecarLimits(`${s.url}/vcp/log`, { token: 'secret-token-for-limits' }),
    ).resolves.toEqual({
      maxEventBytes: 8192,
      maxBatchEvents: 50,
    });
    await expect(readSidecarLimits(s.url)).rejects.toMatchObject({
      retryable: true,
      reason: 'limits_unknown',
      message: expect.stringContaining('no max_event_bytes'),
    });
  });
});

describe('readSidecarLimits against other servers', () => {
  it('takes max_event_bytes alone (max_batch_events unknown), from a 503 too; refuses a health URL it cannot tell', async () => {
    const url = await server((_req, res) => {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end('{"status":"failing","max_event_bytes":16384}');
    });
    await expect(readSidecarLimits(url)).resolves.toEqual({
      maxEventBytes: 16384,
      maxBatchEvents: undefined,
    });
    const sink = track(
      await openHttpSink({ url, maxBatchEvents: 5000, onWarning: () => expect.unreachable() }),
    );
    expect(sink.maxEventBytes).toBe(16384);
    await expect(readSidecarLimits(`${url}/ingest`)).rejects.toThrow(/not …\/vcp\/log/);
  });

  it("sends the sink's extra headers (a proxy's key) with the token", async () => {
    const seen: http.IncomingHttpHeaders[] = [];
    const url = await server((req, res) => {
      seen.push(req.headers);
      if (req.headers['x-proxy-key'] !== 'k1') res.writeHead(403).end('{}');
      else res.end('{"max_event_bytes":32768,"max_batch_events":200}');
    });
    const sink = track(
      await openHttpSink({
        url,
        token: 't0',
        headers: { 'x-proxy-key': 'k1' },
        onWarning: () => expect.unreachable(),
      }),
    );
    expect(sink.maxEventBytes).toBe(32768);
    expect(seen[0]).toMatchObject({ 'x-proxy-key': 'k1', authorization: 'Bearer t0' });
  });
});

describe('openHttpSink', () => {
  it("a recorder on it seals under the sidecar's --max-event: a 12 KB event becomes ERR_SYSTEM, none is refused", async () => {
    const s = await sidecar({ 'max-event': '8KiB' });
    const w = warnings();
    const sink = await openHttpSink({ url: s.url, onWarning: w.on, retry: false, breaker: false });
    expect(sink.maxEventBytes).toBe(8192);
    const recorder = createRecorder({ policy, sink, exitHooks: false, onError: () => {} });
    recorder.record('ORD', order('O-1'));
    recorder.record('ORD', order('O-2', { note: 'x'.repeat(12_000) }));
    recorder.record('ORD', order('O-3'));
    await recorder.close();
    const stored = await s.stored();
    expect(stored.map((e) => e.header.event_type)).toEqual(['ORD', 'ERR_SYSTEM', 'ORD']);
    expect(JSON.stringify(stored[1]!.payload)).toContain('8192');
    expect(recorder.stats()).toMatchObject({ written: 3, rejected: 0 });
    expect((sink as HttpSink).stats()).toMatchObject({ acknowledged: 3, rejected: 0 });
    expect(w.list).toEqual([]);
  });

  it('the same recorder on createHttpSink without the limit: the sidecar refuses the 12 KB event (the loss openHttpSink prevents)', async () => {
    const s = await sidecar({ 'max-event': '8KiB' });
    const recorder = createRecorder({
      policy,
      sink: track(createHttpSink({ url: s.url, onWarning: () => {}, retry: false, breaker: false })),
      exitHooks: false,
      onError: () => {},
    });
    recorder.record('ORD', order('O-1'));
    recorder.record('ORD', order('O-2', { note: 'x'.repeat(12_000) }));
    recorder.record('ORD', order('O-3'));
    await recorder.close();
    expect(orderIds(await s.stored())).toEqual(['O-1', 'O-3']);
    expect(recorder.stats()).toMatchObject({ rejected: 1 });
  });

  it("sends batches no longer than the sidecar's --max-batch, so none is refused and split", async () => {
    const s = await sidecar({ 'max-batch': '50' });
    const sink = track(await openHttpSink({ url: s.url, retry: false, breaker: false })) as HttpSink;
    await sink.write(sealedEvents(120));
    expect(sink.stats()).toMatchObject({ requests: 3, acknowledged: 120, rejected: 0 });
    expect(await s.stored()).toHaveLength(120);
  });

  it("an explicit maxEventBytes or maxBatchEvents wins, with a warning when it is above the sidecar's", async () => {
    const s = await sidecar({ 'max-event': '8KiB', 'max-batch': '50' });
    const w = warnings();
    const below = track(await openHttpSink({ url: s.url, maxEventBytes: 6000, onWarning: w.on }));
    expect(below.maxEventBytes).toBe(6000);
    expect(w.list).toEqual([]);
    const above = track(
      await openHttpSink({ url: s.url, maxEventBytes: 65536, maxBatchEvents: 500, onWarning: w.on }),
    );
    expect(above.maxEventBytes).toBe(65536);
    expect(w.list).toEqual([
      expect.stringMatching(/^VCP_SIDECAR_LIMITS: maxEventBytes 65536 is more than the 8192 bytes/),
      expect.stringMatching(/^VCP_SIDECAR_LIMITS: maxBatchEvents 500 is more than the 50 events/),
    ]);
  });

  it('a sidecar that cannot be asked (down, no token, a stalling server): a warning, the defaults, no failure', async () => {
    // Down: a port nothing listens on (a server started and closed again).
    const gone = await server(() => {});
    await closers.pop()!();
    const w = warnings();
    const down = track(await openHttpSink({ url: gone, onWarning: w.on }));
    expect(down.maxEventBytes).toBe(131072);
    expect(w.list).toEqual([
      expect.stringMatching(
        /^VCP_SIDECAR_LIMITS: cannot read the sidecar's limits: GET \/health: .*sealing events of up to 131072 bytes/,
      ),
    ]);

    // A token-protected sidecar asked without the token.
    const s = await sidecar({ 'max-event': '8KiB', token: 'secret-token-for-limits' });
    const w2 = warnings();
    expect(track(await openHttpSink({ url: s.url, onWarning: w2.on })).maxEventBytes).toBe(131072);
    expect(w2.list[0]).toMatch(/no max_event_bytes .*or no token/);

    // A server that sends its headers and then one byte of body every 200 ms, forever.
    const trickle = await server((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const t = setInterval(() => res.write(' '), 200);
      res.on('close', () => clearInterval(t));
    });
    const w3 = warnings();
    const t0 = performance.now();
    const slow = track(await openHttpSink({ url: trickle, limitsTimeoutMs: 600, onWarning: w3.on }));
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(slow.maxEventBytes).toBe(131072);
    expect(w3.list).toHaveLength(1);

    // A hostile answer: a limit that is no number, then one below 1 KiB.
    for (const body of [
      '{"max_event_bytes":"8192","max_batch_events":50}',
      '{"max_event_bytes":10,"max_batch_events":50}',
    ]) {
      const odd = await server((_req, res) => res.end(body));
      const w4 = warnings();
      expect(track(await openHttpSink({ url: odd, onWarning: w4.on })).maxEventBytes).toBe(131072);
      expect(w4.list).toHaveLength(1);
    }
  });

  it('refuses a URL that is no URL as createHttpSink does, before any request', async () => {
    await expect(openHttpSink({ url: 'not a url' })).rejects.toThrow(/http\(s\) URL/);
  });
});
