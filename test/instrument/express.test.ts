/**
 * vcpExpress against real Express 4 and 5 servers on 127.0.0.1, driven by
 * real HTTP requests, recording through a real recorder into a memory sink.
 */
import { once } from 'node:events';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import express5 from 'express';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TRACE_HEADER } from '../../src/context/trace-header.ts';
import { currentTrace } from '../../src/context/trace-store.ts';
import { VcpConfigError } from '../../src/core/errors.ts';
import type { VcpEvent } from '../../src/core/types.ts';
import { isUuidV7, uuidv7 } from '../../src/core/uuidv7.ts';
import { configureVcp, resetVcpConfig } from '../../src/instrument/configure.ts';
import { type ExpressRequestLike, vcpExpress } from '../../src/instrument/express.ts';
import type { Recorder } from '../../src/recorder/recorder.ts';
import { createTestRecorder } from '../../src/recorder/test-recorder.ts';
import type { MemorySink } from '../../src/sinks/memory.ts';

// The alias package has no type declarations of its own; its API is Express's.
const express4 = (await import('express4' as string)).default as typeof express5;
type ExpressFactory = typeof express5;

interface Server {
  url: string;
  port: number;
  close(): Promise<void>;
}

async function serve(app: http.RequestListener): Promise<Server> {
  const server = http.createServer(app);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Let pending 'close' listeners run and the recorder write what they recorded. */
async function settled(recorder: Recorder): Promise<void> {
  await sleep(30);
  await recorder.flush();
}

const order = {
  order_id: 'ORD-1',
  symbol: 'EURUSD',
  side: 'BUY',
  order_type: 'LIMIT',
  price: '1.0850',
  quantity: '100000',
};

describe.each([
  ['Express 4', express4],
  ['Express 5', express5],
] as [string, ExpressFactory][])('vcpExpress on %s', (_name, express) => {
  let recorder: Recorder;
  let sink: MemorySink;
  let server: Server | undefined;

  beforeEach(() => {
    ({ recorder, sink } = createTestRecorder());
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
    await recorder.close();
    resetVcpConfig();
  });

  async function start(setup: (app: ReturnType<ExpressFactory>) => void): Promise<Server> {
    const app = express();
    setup(app);
    server = await serve(app);
    return server;
  }

  describe('trace context', () => {
    it('keeps the incoming trace id through awaits and timers inside the handler, and echoes it', async () => {
      const s = await start((app) => {
        app.use(vcpExpress({ recorder }));
        app.get('/t', async (_req, res) => {
          const seen = [currentTrace()];
          await Promise.resolve();
          seen.push(currentTrace());
          await sleep(5);
          seen.push(currentTrace());
          await new Promise<void>((r) => setTimeout(r, 2));
          seen.push(currentTrace());
          await new Promise<void>((r) => setImmediate(r));
          seen.push(currentTrace());
          res.json({ seen });
        });
      });
      const id = uuidv7();
      const r = await fetch(`${s.url}/t`, { headers: { [TRACE_HEADER]: id } });
      expect(r.headers.get(TRACE_HEADER)).toBe(id);
      expect(await r.json()).toEqual({ seen: [id, id, id, id, id] });
    });

    it('takes the trace id from a W3C traceparent, as a UUID', async () => {
      const s = await start((app) => {
        app.use(vcpExpress({ recorder }));
        app.get('/t', (_req, res) => void res.json({ trace: currentTrace() }));
      });
      const r = await fetch(`${s.url}/t`, {
        headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
      });
      const expected = '4bf92f35-77b3-4da6-a3ce-929d0e0e4736';
      expect(r.headers.get(TRACE_HEADER)).toBe(expected);
      expect(await r.json()).toEqual({ trace: expected });
    });

    it('prefers x-vcp-trace-id over traceparent and lowercases it', async () => {
      const s = await start((app) => {
        app.use(vcpExpress({ recorder }));
        app.get('/t', (_req, res) => void res.json({ trace: currentTrace() }));
      });
      const id = uuidv7();
      const r = await fetch(`${s.url}/t`, {
        headers: {
          [TRACE_HEADER]: id.toUpperCase(),
          traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
        },
      });
      expect(await r.json()).toEqual({ trace: id });
    });

    const garbage: [string, Record<string, string>][] = [
      ['a non-UUID x-vcp-trace-id', { [TRACE_HEADER]: 'order-123' }],
      ['an x-vcp-trace-id with a UUID inside other text', { [TRACE_HEADER]: `x${uuidv7()}` }],
      ['a 10 000-character x-vcp-trace-id', { [TRACE_HEADER]: 'a'.repeat(10_000) }],
      ['traceparent version ff', { traceparent: 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' }],
      [
        'traceparent with an all-zero trace id',
        { traceparent: '00-00000000000000000000000000000000-00f067aa0ba902b7-01' },
      ],
      [
        'traceparent with an all-zero parent id',
        { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01' },
      ],
      [
        'traceparent v00 with extra fields',
        { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-xx' },
      ],
      [
        'traceparent in upper case',
        { traceparent: '00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01' },
      ],
      ['a truncated traceparent', { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e47-00f067aa0ba902b7-01' }],
      [
        'a too-long traceparent',
        { traceparent: `01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-${'a'.repeat(600)}` },
      ],
    ];
    for (const [what, headers] of garbage) {
      it(`ignores ${what} and makes a fresh UUIDv7`, async () => {
        const s = await start((app) => {
          app.use(vcpExpress({ recorder }));
          app.get('/t', (_req, res) => void res.json({ trace: currentTrace() }));
        });
        const r = await fetch(`${s.url}/t`, { headers });
        const echoed = r.headers.get(TRACE_HEADER);
        expect(isUuidV7(echoed)).toBe(true);
        expect(echoed).not.toBe('4bf92f35-77b3-4da6-a3ce-929d0e0e4736');
        expect(await r.json()).toEqual({ trace: echoed });
      });
    }

    it('gives every request without a header its own trace', async () => {
      const s = await start((app) => {
        app.use(vcpExpress({ recorder }));
        app.get('/t', (_req, res) => void res.json({ trace: currentTrace() }));
      });
      const ids = await Promise.all(
        Array.from({ length: 5 }, () => fetch(`${s.url}/t`).then((r) => r.headers.get(TRACE_HEADER))),
      );
      expect(new Set(ids).size).toBe(5);
      for (const id of ids) expect(isUuidV7(id)).toBe(true);
    });

    it('ignores incoming headers when trustTraceHeaders is false', async () => {
      const s = await start((app) => {
        app.use(vcpExpress({ recorder, trustTraceHeaders: false }));
        app.get('/t', (_req, res) => void res.json({ trace: currentTrace() }));
      });
      const id = uuidv7();
      const r = await fetch(`${s.url}/t`, { headers: { [TRACE_HEADER]: id } });
      expect(r.headers.get(TRACE_HEADER)).not.toBe(id);
      expect(isUuidV7(r.headers.get(TRACE_HEADER))).toBe(true);
    });

    it('keeps 200 interleaved concurrent requests apart: each sees and records only its own trace', async () => {
      const s = await start((app) => {
        app.use(vcpExpress({ recorder }));
        app.get('/t/:n', async (req, res) => {
          const n = Number(req.params.n);
          const seen = [currentTrace()];
          await sleep(n % 7);
          recorder.record('AUD', { n: String(n) });
          seen.push(currentTrace());
          await new Promise<void>((r) => setTimeout(r, (n * 3) % 5));
          seen.push(currentTrace());
          res.json({ seen });
        });
      });
      const ids = Array.from({ length: 200 }, () => uuidv7());
      const results = await Promise.all(
        ids.map(async (id, n) => {
          const r = await fetch(`${s.url}/t/${n}`, { headers: { [TRACE_HEADER]: id } });
          return { echoed: r.headers.get(TRACE_HEADER), body: (await r.json()) as { seen: string[] } };
        }),
      );
      results.forEach(({ echoed, body }, n) => {
        expect(echoed).toBe(ids[n]);
        expect(body.seen).toEqual([ids[n], ids[n], ids[n]]);
      });
      const events = await sink.waitFor(200);
      expect(events).toHaveLength(200);
      for (const e of events) expect(e.header.trace_id).toBe(ids[Number(e.payload.n)]);
    });

    it('echoes the trace id on error responses too', async () => {
      const s = await start((app) => {
        app.use(vcpExpress({ recorder }));
        app.get('/boom', () => {
          throw new Error('boom');
        });
      });
      const id = uuidv7();
      const r = await fetch(`${s.url}/boom`, { headers: { [TRACE_HEADER]: id } });
      expect(r.status).toBe(500);
      expect(r.headers.get(TRACE_HEADER)).toBe(id);
    });

    it('does not echo when echoTraceHeader is false, but still runs the trace', async () => {
      const s = await start((app) => {
        app.use(vcpExpress({ recorder, echoTraceHeader: false }));
        app.get('/t', (_req, res) => void res.json({ trace: currentTrace() }));
      });
      const id = uuidv7();
      const r = await fetch(`${s.url}/t`, { headers: { [TRACE_HEADER]: id } });
      expect(r.headers.get(TRACE_HEADER)).toBeNull();
      expect(await r.json()).toEqual({ trace: id });
    });

    it('used twice in one chain, the outer one owns the request: one trace, one event', async () => {
      const vcp = vcpExpress({ recorder, routes: { 'POST /orders': { eventType: 'ORD' } } });
      const s = await start((app) => {
        app.use(vcp);
        app.use(vcpExpress({ recorder, routes: { 'POST /orders': { eventType: 'ORD' } } }));
        app.post('/orders', (_req, res) => void res.status(201).json({ trace: currentTrace() }));
      });
      const id = uuidv7();
      const r = await fetch(`${s.url}/orders`, { method: 'POST', headers: { [TRACE_HEADER]: id } });
      expect(await r.json()).toEqual({ trace: id });
      await sink.waitFor(1);
      await settled(recorder);
      expect(sink.events).toHaveLength(1);
    });
  });

  describe('route mapping', () => {
    function orderApp(app: ReturnType<ExpressFactory>, extra: Parameters<typeof vcpExpress>[0] = {}) {
      app.use(express.json());
      app.use(
        vcpExpress({
          recorder,
          routes: {
            'POST /orders': {
              eventType: 'ORD',
              extract: (req, res) => ({ trade_data: { ...req.body, broker_order_id: res.locals?.brokerId } }),
              header: (req) => ({ symbol: req.body.symbol, accountId: 'ACC-7' }),
            },
            'DELETE /orders/:id': {
              eventType: 'CXL',
              extract: (_req, _res, info) => ({
                trade_data: { order_id: info.params.id, order_status: 'CANCELLED' },
              }),
            },
            'GET /orders/:id': { eventType: 'AUD' },
          },
          ...extra,
        }),
      );
      app.post('/orders', async (req, res) => {
        await sleep(1);
        res.locals.brokerId = 'B-99';
        res.status(201).json({ ok: true, order_id: req.body.order_id });
      });
      app.delete('/orders/:id', (_req, res) => void res.status(204).end());
      app.get('/orders/:id', (req, res) => void res.json({ id: req.params.id }));
    }

    it('records the mapped event after the response, with the request trace, payload and header fields', async () => {
      const s = await start((app) => orderApp(app));
      const id = uuidv7();
      const r = await fetch(`${s.url}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [TRACE_HEADER]: id },
        body: JSON.stringify(order),
      });
      expect(r.status).toBe(201);
      const [e] = (await sink.waitFor(1)) as VcpEvent[];
      expect(e!.header.event_type).toBe('ORD');
      expect(e!.header.trace_id).toBe(id);
      expect(e!.header.symbol).toBe('EURUSD');
      expect(e!.header.account_id).toBe('ACC-7');
      expect(e!.payload).toEqual({ trade_data: { ...order, broker_order_id: 'B-99' } });
      expect(e!.security.event_hash).toMatch(/^[0-9a-f]{64}$/);
    });

    it('matches :params, gives them to the extractor, and leaves unmapped routes alone', async () => {
      const s = await start((app) => orderApp(app));
      const id = uuidv7();
      await fetch(`${s.url}/orders/ORD-9%2F1`, { method: 'DELETE', headers: { [TRACE_HEADER]: id } });
      await fetch(`${s.url}/unmapped`);
      await fetch(`${s.url}/orders/x`, { method: 'PATCH' });
      const [e] = await sink.waitFor(1);
      expect(e!.header.event_type).toBe('CXL');
      expect(e!.header.trace_id).toBe(id);
      expect(e!.payload).toEqual({ trade_data: { order_id: 'ORD-9/1', order_status: 'CANCELLED' } });
      await settled(recorder);
      expect(sink.events).toHaveLength(1);
    });

    it('without an extractor records method, route, path and status', async () => {
      const s = await start((app) => orderApp(app));
      await fetch(`${s.url}/orders/42?secret=1`);
      const [e] = await sink.waitFor(1);
      expect(e!.header.event_type).toBe('AUD');
      expect(e!.payload).toEqual({
        http: { method: 'GET', route: 'GET /orders/:id', path: '/orders/42', status: 200 },
      });
    });

    it('matches routes of a mounted router by their full path', async () => {
      const s = await start((app) => {
        app.use(
          vcpExpress({
            recorder,
            routes: {
              'DELETE /api/v1/orders/:orderId': {
                eventType: 'CXL',
                extract: (req, _res, info) => ({
                  trade_data: { order_id: info.params.orderId, via: req.params?.id },
                }),
              },
            },
          }),
        );
        const router = express.Router();
        router.delete('/orders/:id', (_req, res) => void res.status(204).end());
        app.use('/api/v1', router);
      });
      await fetch(`${s.url}/api/v1/orders/O-5`, { method: 'DELETE' });
      const [e] = await sink.waitFor(1);
      expect(e!.payload).toEqual({ trade_data: { order_id: 'O-5', via: 'O-5' } });
    });

    it('follows the route Express actually ran when patterns overlap (req.route)', async () => {
      const s = await start((app) => {
        app.use(
          vcpExpress({
            recorder,
            routes: { 'GET /orders/open': { eventType: 'SIG' }, 'GET /orders/:id': { eventType: 'AUD' } },
          }),
        );
        // Only the parameterised route exists, so Express serves /orders/open with it.
        app.get('/orders/:id', (req, res) => void res.json({ id: req.params.id }));
      });
      await fetch(`${s.url}/orders/open`);
      const [e] = await sink.waitFor(1);
      expect(e!.header.event_type).toBe('AUD');
    });

    it('does not record the mapped event when the route failed; the ERR event correlates to what the handler recorded', async () => {
      const s = await start((app) => {
        app.use(express.json());
        app.use(vcpExpress({ recorder, routes: { 'POST /orders': { eventType: 'ORD' } } }));
        app.post('/orders', (_req, res) => {
          recorder.record('SIG', { signal: 'go' });
          res.status(502).json({ error: 'venue down' });
        });
      });
      const id = uuidv7();
      await fetch(`${s.url}/orders`, { method: 'POST', headers: { [TRACE_HEADER]: id } });
      const [sig, err] = await sink.waitFor(2);
      expect(sig!.header.event_type).toBe('SIG');
      expect(err!.header.event_type).toBe('ERR_SYSTEM');
      expect(err!.header.trace_id).toBe(id);
      expect(err!.payload.error_details).toMatchObject({
        error_code: 'HTTP_502',
        http_status: 502,
        http_method: 'POST',
        http_path: '/orders',
        http_route: 'POST /orders',
        correlated_event_id: sig!.header.event_id,
      });
      await settled(recorder);
      expect(sink.ofType('ORD')).toHaveLength(0);
    });

    it("when: 'always' records the mapped event on failure too, and the ERR event correlates to it", async () => {
      const s = await start((app) => {
        app.use(vcpExpress({ recorder, routes: { 'POST /orders': { eventType: 'ORD', when: 'always' } } }));
        app.post('/orders', (_req, res) => void res.status(500).end());
      });
      await fetch(`${s.url}/orders`, { method: 'POST' });
      const [ord, err] = await sink.waitFor(2);
      expect(ord!.header.event_type).toBe('ORD');
      expect(err!.header.event_type).toBe('ERR_SYSTEM');
      expect(err!.payload.error_details?.correlated_event_id).toBe(ord!.header.event_id);
      expect(err!.header.trace_id).toBe(ord!.header.trace_id);
    });

    it('an extractor that throws never touches the response: ERR_SYSTEM event and extractor counter instead', async () => {
      const s = await start((app) => {
        app.use(
          vcpExpress({
            recorder,
            routes: {
              'POST /orders': {
                eventType: 'ORD',
                extract: () => {
                  throw new TypeError('cannot read order_id of undefined');
                },
              },
              'POST /quotes': { eventType: 'SIG', extract: () => 'not an object' as never },
            },
          }),
        );
        app.post('/orders', (_req, res) => void res.status(201).json({ ok: true }));
        app.post('/quotes', (_req, res) => void res.status(201).json({ ok: true }));
      });
      const id = uuidv7();
      const r = await fetch(`${s.url}/orders`, { method: 'POST', headers: { [TRACE_HEADER]: id } });
      expect(r.status).toBe(201);
      expect(await r.json()).toEqual({ ok: true });
      const r2 = await fetch(`${s.url}/quotes`, { method: 'POST' });
      expect(r2.status).toBe(201);
      const [e1, e2] = await sink.waitFor(2);
      expect(e1!.header.event_type).toBe('ERR_SYSTEM');
      expect(e1!.header.trace_id).toBe(id);
      expect(e1!.payload.error_details).toMatchObject({
        error_code: 'TypeError',
        http_route: 'POST /orders',
      });
      expect(e1!.payload.error_details?.error_message).toContain('cannot read order_id');
      expect(e2!.payload.error_details?.error_message).toContain('returned string, not an object');
      expect(recorder.stats().extractorErrors).toBe(2);
      expect(sink.ofType('ORD')).toHaveLength(0);
    });

    it('extractors run inside the request trace', async () => {
      const s = await start((app) => {
        app.use(
          vcpExpress({
            recorder,
            routes: { 'GET /x': { eventType: 'AUD', extract: () => ({ seen: currentTrace() ?? 'none' }) } },
          }),
        );
        app.get('/x', (_req, res) => void res.end('x'));
      });
      const id = uuidv7();
      await fetch(`${s.url}/x`, { headers: { [TRACE_HEADER]: id } });
      const [e] = await sink.waitFor(1);
      expect(e!.payload).toEqual({ seen: id });
    });

    it('rejects a malformed route map at construction, not per request', () => {
      expect(() => vcpExpress({ routes: { 'POST orders': { eventType: 'ORD' } } })).toThrow(VcpConfigError);
      expect(() => vcpExpress({ routes: { 'POST /orders': { eventType: 'BUY' as never } } })).toThrow(
        /not a VCP event type/,
      );
      expect(() => vcpExpress({ recorder: {} as never })).toThrow(VcpConfigError);
      expect(() => vcpExpress({ clientAbort: { eventType: 'ORD' as never } })).toThrow(/ERR_\*/);
    });
  });

  describe('errors', () => {
    it('a 5xx response records ERR_SYSTEM with the HTTP details', async () => {
      const s = await start((app) => {
        app.use(vcpExpress({ recorder }));
        app.get('/down', (_req, res) => void res.status(503).json({ error: 'maintenance' }));
      });
      const id = uuidv7();
      await fetch(`${s.url}/down?token=abc`, { headers: { [TRACE_HEADER]: id } });
      const [e] = await sink.waitFor(1);
      expect(e!.header.event_type).toBe('ERR_SYSTEM');
      expect(e!.header.trace_id).toBe(id);
      expect(e!.payload.error_details).toEqual({
        error_code: 'HTTP_503',
        error_message: 'HTTP 503 Service Unavailable',
        severity: 'CRITICAL',
        affected_component: 'express',
        http_status: 503,
        http_method: 'GET',
        http_path: '/down',
      });
    });

    it('2xx and 4xx responses that were not thrown record nothing', async () => {
      const s = await start((app) => {
        app.use(vcpExpress({ recorder }));
        app.get('/ok', (_req, res) => void res.json({}));
        app.get('/bad', (_req, res) => void res.status(400).json({}));
      });
      await fetch(`${s.url}/ok`);
      await fetch(`${s.url}/bad`);
      await fetch(`${s.url}/missing`);
      await settled(recorder);
      expect(sink.events).toHaveLength(0);
    });

    it('401/403 record ERR_AUTH and 504 ERR_TIMEOUT', async () => {
      const s = await start((app) => {
        app.use(vcpExpress({ recorder }));
        app.get('/s/:code', (req, res) => void res.status(Number(req.params.code)).end());
      });
      await fetch(`${s.url}/s/401`);
      await sink.waitFor(1);
      await fetch(`${s.url}/s/403`);
      await sink.waitFor(2);
      await fetch(`${s.url}/s/504`);
      const events = await sink.waitFor(3);
      expect(events.map((e) => e.header.event_type)).toEqual(['ERR_AUTH', 'ERR_AUTH', 'ERR_TIMEOUT']);
      expect(events[0]!.payload.error_details?.severity).toBe('WARNING'); // a client error, not our failure
    });

    it('a thrown error records an ERR event with the status Express sent', async () => {
      const s = await start((app) => {
        app.use(vcpExpress({ recorder }));
        app.get('/throw', () => {
          throw Object.assign(new Error('venue rejected the session'), { status: 502 });
        });
      });
      const id = uuidv7();
      const r = await fetch(`${s.url}/throw`, { headers: { [TRACE_HEADER]: id } });
      expect(r.status).toBe(502);
      const [e] = await sink.waitFor(1);
      expect(e!.header.event_type).toBe('ERR_SYSTEM');
      expect(e!.header.trace_id).toBe(id);
      expect(e!.payload.error_details).toMatchObject({ http_status: 502, error_code: 'HTTP_502' });
    });

    it('with errorHandler, the ERR event carries the thrown error: code, message, mapped type; the error goes on unchanged', async () => {
      const thrown = Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:9000'), { code: 'ECONNREFUSED' });
      let reachedNext: unknown;
      const s = await start((app) => {
        const vcp = vcpExpress({ recorder });
        app.use(vcp);
        app.get('/throw', (_req, _res, next) => next(thrown));
        app.use(vcp.errorHandler);
        app.use((err: unknown, _req: unknown, res: express5.Response, _next: unknown) => {
          reachedNext = err;
          res.status(500).json({ error: 'upstream' });
        });
      });
      const r = await fetch(`${s.url}/throw`);
      expect(r.status).toBe(500);
      expect(reachedNext).toBe(thrown);
      const [e] = await sink.waitFor(1);
      expect(e!.header.event_type).toBe('ERR_CONN');
      expect(e!.payload.error_details).toMatchObject({
        error_code: 'ECONNREFUSED',
        error_message: 'connect ECONNREFUSED 10.0.0.1:9000',
        http_status: 500,
        http_path: '/throw',
      });
    });

    it('with errorHandler, a thrown 401 records ERR_AUTH with that status', async () => {
      const s = await start((app) => {
        const vcp = vcpExpress({ recorder });
        app.use(vcp);
        app.get('/private', () => {
          throw Object.assign(new Error('bad api key'), { statusCode: 401 });
        });
        app.use(vcp.errorHandler);
      });
      const r = await fetch(`${s.url}/private`);
      expect(r.status).toBe(401);
      const [e] = await sink.waitFor(1);
      expect(e!.header.event_type).toBe('ERR_AUTH');
      expect(e!.payload.error_details).toMatchObject({ http_status: 401, error_message: 'bad api key' });
    });

    it('a custom errorEventType decides the type, or skips the event', async () => {
      const s = await start((app) => {
        app.use(
          vcpExpress({
            recorder,
            errorEventType: (o) => (o.status === 503 ? false : o.status === 422 ? 'ERR_REJECT' : undefined),
          }),
        );
        app.get('/s/:code', (req, res) => void res.status(Number(req.params.code)).end());
      });
      await fetch(`${s.url}/s/503`);
      await fetch(`${s.url}/s/422`);
      await fetch(`${s.url}/s/500`);
      await sink.waitFor(2);
      await settled(recorder);
      expect(sink.events.map((e) => e.header.event_type).sort()).toEqual(['ERR_REJECT', 'ERR_SYSTEM']);
    });

    it('a client abort mid-handler records one CLIENT_ABORT event, and the server keeps serving', async () => {
      let entered!: () => void;
      const handlerEntered = new Promise<void>((r) => (entered = r));
      let finish!: () => void;
      const handlerDone = new Promise<void>((r) => (finish = r));
      const s = await start((app) => {
        app.use(vcpExpress({ recorder, routes: { 'POST /slow': { eventType: 'ORD' } } }));
        app.post('/slow', async (_req, res) => {
          recorder.record('SIG', { signal: 'buy' });
          entered();
          // Answer only once the server has seen the client go (a fixed sleep lost that race when the
          // loop stalled past it: the late answer then finished first and was recorded as an ORD).
          await once(res, 'close');
          res.json({ late: true }); // the client is gone: writing must not throw or log again
          finish();
        });
        app.get('/ok', (_req, res) => void res.json({ ok: true }));
      });
      const id = uuidv7();
      const socket = net.connect(s.port, '127.0.0.1');
      await once(socket, 'connect');
      socket.write(`POST /slow HTTP/1.1\r\nHost: x\r\n${TRACE_HEADER}: ${id}\r\nContent-Length: 0\r\n\r\n`);
      await handlerEntered;
      socket.destroy();
      const [sig, e] = await sink.waitFor(2);
      expect(e!.header.event_type).toBe('ERR_CONN');
      expect(e!.header.trace_id).toBe(id);
      expect(e!.payload.error_details).toMatchObject({
        error_code: 'CLIENT_ABORT',
        severity: 'WARNING',
        http_method: 'POST',
        http_path: '/slow',
        http_route: 'POST /slow',
        client_aborted: true,
        correlated_event_id: sig!.header.event_id,
      });
      expect(e!.payload.error_details?.http_status).toBeUndefined();
      await handlerDone;
      const r = await fetch(`${s.url}/ok`);
      expect(await r.json()).toEqual({ ok: true });
      await settled(recorder);
      expect(sink.events).toHaveLength(2); // no ORD for the unsent response, no second ERR
    });

    it('clientAbort: false records nothing for an abort', async () => {
      let entered!: () => void;
      const handlerEntered = new Promise<void>((r) => (entered = r));
      let finish!: () => void;
      const handlerDone = new Promise<void>((r) => (finish = r));
      const s = await start((app) => {
        app.use(vcpExpress({ recorder, clientAbort: false }));
        app.get('/slow', async (_req, res) => {
          entered();
          await once(res, 'close'); // the abort is seen before the late answer, whatever the timing
          res.end();
          finish();
        });
      });
      const socket = net.connect(s.port, '127.0.0.1');
      await once(socket, 'connect');
      socket.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
      await handlerEntered;
      socket.destroy();
      await handlerDone;
      await settled(recorder);
      expect(sink.events).toHaveLength(0);
    });
  });

  describe('recorder resolution', () => {
    it('uses the recorder from configureVcp when none is passed, looked up per request', async () => {
      const s = await start((app) => {
        app.use(vcpExpress({ routes: { 'GET /x': { eventType: 'AUD' } } }));
        app.get('/x', (_req, res) => void res.end());
      });
      configureVcp({ recorder }); // after the middleware was built
      await fetch(`${s.url}/x`);
      const [e] = await sink.waitFor(1);
      expect(e!.header.event_type).toBe('AUD');
    });

    it('with no recorder anywhere, requests are served and traced, nothing throws', async () => {
      const s = await start((app) => {
        app.use(vcpExpress({ routes: { 'GET /x': { eventType: 'AUD' } } }));
        app.get('/x', (_req, res) => void res.json({ trace: currentTrace() }));
      });
      const id = uuidv7();
      const r = await fetch(`${s.url}/x`, { headers: { [TRACE_HEADER]: id } });
      expect(await r.json()).toEqual({ trace: id });
      await settled(recorder);
      expect(sink.events).toHaveLength(0);
    });
  });

  if (express === express5) {
    it('Express 5: a rejected async handler records an ERR event with its status', async () => {
      const s = await start((app) => {
        const vcp = vcpExpress({ recorder });
        app.use(vcp);
        app.get('/async', async (req: ExpressRequestLike) => {
          await sleep(1);
          throw Object.assign(new Error(`timed out for ${req.originalUrl}`), {
            code: 'ETIMEDOUT',
            status: 504,
          });
        });
        app.use(vcp.errorHandler);
      });
      const id = uuidv7();
      const r = await fetch(`${s.url}/async`, { headers: { [TRACE_HEADER]: id } });
      expect(r.status).toBe(504);
      expect(r.headers.get(TRACE_HEADER)).toBe(id);
      const [e] = await sink.waitFor(1);
      expect(e!.header.event_type).toBe('ERR_TIMEOUT');
      expect(e!.header.trace_id).toBe(id);
      expect(e!.payload.error_details).toMatchObject({ error_code: 'ETIMEDOUT', http_status: 504 });
    });
  }
});
