/**
 * vcpKoa against real Koa 2 and 3 servers on 127.0.0.1, driven by real HTTP
 * requests, recording through a real recorder into a memory sink.
 */
import { once } from 'node:events';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import express from 'express';
import Koa3 from 'koa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TRACE_HEADER } from '../../src/context/trace-header.ts';
import { currentTrace } from '../../src/context/trace-store.ts';
import { VcpConfigError } from '../../src/core/errors.ts';
import { isUuidV7, uuidv7 } from '../../src/core/uuidv7.ts';
import { configureVcp, resetVcpConfig } from '../../src/instrument/configure.ts';
import { vcpExpress } from '../../src/instrument/express.ts';
import { type KoaContextLike, vcpKoa } from '../../src/instrument/koa.ts';
import type { Recorder } from '../../src/recorder/recorder.ts';
import { createTestRecorder } from '../../src/recorder/test-recorder.ts';
import type { MemorySink } from '../../src/sinks/memory.ts';

// The alias package has no type declarations of its own; its API is Koa's.
const Koa2 = (await import('koa2' as string)).default as typeof Koa3;
type KoaClass = typeof Koa3;
type App = Koa3<Koa3.DefaultState, Koa3.DefaultContext>;

interface Server {
  url: string;
  port: number;
  close(): Promise<void>;
}

async function serve(app: App): Promise<Server> {
  const server = http.createServer(app.callback());
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

/** A minimal JSON body parser (the middleware never parses bodies itself). */
async function jsonBody(ctx: Koa3.Context, next: Koa3.Next): Promise<void> {
  if (ctx.is('application/json')) {
    const chunks: Buffer[] = [];
    for await (const c of ctx.req) chunks.push(c as Buffer);
    (ctx.request as { body?: unknown }).body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  }
  await next();
}

/** A tiny router for the tests: Koa has none, and the middleware must not need one. */
function route(method: string, pattern: RegExp, fn: (ctx: Koa3.Context, m: RegExpExecArray) => unknown) {
  return async (ctx: Koa3.Context, next: Koa3.Next) => {
    const m = ctx.method === method ? pattern.exec(ctx.path) : null;
    if (m) await fn(ctx, m);
    else await next();
  };
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
  ['Koa 2', Koa2],
  ['Koa 3', Koa3],
] as [string, KoaClass][])('vcpKoa on %s', (_name, Koa) => {
  let recorder: Recorder;
  let sink: MemorySink;
  let server: Server | undefined;
  let appErrors: unknown[];

  beforeEach(() => {
    ({ recorder, sink } = createTestRecorder());
    appErrors = [];
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
    await recorder.close();
    resetVcpConfig();
  });

  async function start(setup: (app: App) => void): Promise<Server> {
    const app = new Koa();
    app.silent = true;
    app.on('error', (err) => appErrors.push(err));
    setup(app);
    server = await serve(app);
    return server;
  }

  describe('trace context', () => {
    it('keeps the incoming trace id through awaits and timers in later middleware, and echoes it', async () => {
      const s = await start((app) => {
        app.use(vcpKoa({ recorder }));
        app.use(async (ctx, next) => {
          ctx.state.seen = [currentTrace()];
          await next();
          ctx.state.seen.push(currentTrace());
          ctx.body = { seen: ctx.state.seen };
        });
        app.use(async (ctx) => {
          await Promise.resolve();
          ctx.state.seen.push(currentTrace());
          await sleep(5);
          ctx.state.seen.push(currentTrace());
          await new Promise<void>((r) => setTimeout(r, 2));
          ctx.state.seen.push(currentTrace());
        });
      });
      const id = uuidv7();
      const r = await fetch(s.url, { headers: { [TRACE_HEADER]: id } });
      expect(r.headers.get(TRACE_HEADER)).toBe(id);
      expect(await r.json()).toEqual({ seen: [id, id, id, id, id] });
    });

    it('takes the trace id from a W3C traceparent, as a UUID', async () => {
      const s = await start((app) => {
        app.use(vcpKoa({ recorder }));
        app.use((ctx) => {
          ctx.body = { trace: currentTrace() };
        });
      });
      const r = await fetch(s.url, {
        headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
      });
      expect(r.headers.get(TRACE_HEADER)).toBe('4bf92f35-77b3-4da6-a3ce-929d0e0e4736');
      expect(await r.json()).toEqual({ trace: '4bf92f35-77b3-4da6-a3ce-929d0e0e4736' });
    });

    const garbage: [string, Record<string, string>][] = [
      ['a non-UUID x-vcp-trace-id', { [TRACE_HEADER]: 'order-123' }],
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
        'a too-long traceparent',
        { traceparent: `01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-${'a'.repeat(600)}` },
      ],
    ];
    for (const [what, headers] of garbage) {
      it(`ignores ${what} and makes a fresh UUIDv7`, async () => {
        const s = await start((app) => {
          app.use(vcpKoa({ recorder }));
          app.use((ctx) => {
            ctx.body = { trace: currentTrace() };
          });
        });
        const r = await fetch(s.url, { headers });
        const echoed = r.headers.get(TRACE_HEADER);
        expect(isUuidV7(echoed)).toBe(true);
        expect(echoed).not.toBe('4bf92f35-77b3-4da6-a3ce-929d0e0e4736');
        expect(await r.json()).toEqual({ trace: echoed });
      });
    }

    it('keeps 200 interleaved concurrent requests apart: each sees and records only its own trace', async () => {
      const s = await start((app) => {
        app.use(vcpKoa({ recorder }));
        app.use(async (ctx) => {
          const n = Number(ctx.path.slice(1));
          const seen = [currentTrace()];
          await sleep(n % 7);
          recorder.record('AUD', { n: String(n) });
          seen.push(currentTrace());
          await new Promise<void>((r) => setTimeout(r, (n * 3) % 5));
          seen.push(currentTrace());
          ctx.body = { seen };
        });
      });
      const ids = Array.from({ length: 200 }, () => uuidv7());
      const results = await Promise.all(
        ids.map(async (id, n) => {
          const r = await fetch(`${s.url}/${n}`, { headers: { [TRACE_HEADER]: id } });
          return { echoed: r.headers.get(TRACE_HEADER), body: (await r.json()) as { seen: string[] } };
        }),
      );
      results.forEach(({ echoed, body }, n) => {
        expect(echoed).toBe(ids[n]);
        expect(body.seen).toEqual([ids[n], ids[n], ids[n]]);
      });
      const events = await sink.waitFor(200);
      for (const e of events) expect(e.header.trace_id).toBe(ids[Number(e.payload.n)]);
    });

    it('echoes the trace id on error responses, which Koa otherwise strips of every header', async () => {
      const s = await start((app) => {
        app.use(vcpKoa({ recorder }));
        app.use((ctx) => {
          ctx.set('x-other', 'dropped by koa on error');
          throw Object.assign(new Error('boom'), { headers: { 'retry-after': '5' } });
        });
      });
      const id = uuidv7();
      const r = await fetch(s.url, { headers: { [TRACE_HEADER]: id } });
      expect(r.status).toBe(500);
      expect(r.headers.get(TRACE_HEADER)).toBe(id);
      expect(r.headers.get('retry-after')).toBe('5'); // the error's own headers are kept
    });

    it('used twice in one chain, the outer one owns the request: one trace, one event', async () => {
      const s = await start((app) => {
        app.use(vcpKoa({ recorder, routes: { 'POST /orders': { eventType: 'ORD' } } }));
        app.use(vcpKoa({ recorder, routes: { 'POST /orders': { eventType: 'ORD' } } }));
        app.use((ctx) => {
          ctx.status = 201;
          ctx.body = { trace: currentTrace() };
        });
      });
      const id = uuidv7();
      const r = await fetch(`${s.url}/orders`, { method: 'POST', headers: { [TRACE_HEADER]: id } });
      expect(await r.json()).toEqual({ trace: id });
      await sink.waitFor(1);
      await settled(recorder);
      expect(sink.events).toHaveLength(1);
    });
    it('an Express app mounted inside Koa, both instrumented: the outer (Koa) middleware owns the request', async () => {
      const inner = express();
      inner.use(vcpExpress({ recorder, routes: { 'POST /orders': { eventType: 'ORD' } } }));
      inner.post('/orders', (_req, res) => void res.status(201).json({ trace: currentTrace() }));
      const s = await start((app) => {
        app.use(vcpKoa({ recorder, routes: { 'POST /orders': { eventType: 'ORD' } } }));
        app.use((ctx) => {
          ctx.respond = false; // hand the raw request to Express, as koa-connect does
          inner(ctx.req, ctx.res);
        });
      });
      const id = uuidv7();
      const r = await fetch(`${s.url}/orders`, { method: 'POST', headers: { [TRACE_HEADER]: id } });
      expect(r.headers.get(TRACE_HEADER)).toBe(id);
      expect(await r.json()).toEqual({ trace: id });
      await sink.waitFor(1);
      await settled(recorder);
      expect(sink.events).toHaveLength(1);
      expect(sink.events[0]!.header.trace_id).toBe(id);
    });
  });

  describe('route mapping', () => {
    function orderApp(app: App) {
      app.use(jsonBody);
      app.use(
        vcpKoa({
          recorder,
          routes: {
            'POST /orders': {
              eventType: 'ORD',
              extract: (ctx) => ({
                trade_data: { ...ctx.request.body, broker_order_id: ctx.state.brokerId },
              }),
              header: (ctx) => ({ symbol: ctx.request.body.symbol }),
            },
            'DELETE /orders/:id': {
              eventType: 'CXL',
              extract: (_ctx, info) => ({
                trade_data: { order_id: info.params.id, order_status: 'CANCELLED' },
              }),
            },
          },
        }),
      );
      app.use(
        route('POST', /^\/orders$/, async (ctx) => {
          await sleep(1);
          ctx.state.brokerId = 'B-99';
          ctx.status = 201;
          ctx.body = { ok: true };
        }),
      );
      app.use(
        route('DELETE', /^\/orders\/([^/]+)$/, (ctx) => {
          ctx.status = 204;
        }),
      );
    }

    it('records the mapped event after the response, with the request trace, payload and header fields', async () => {
      const s = await start(orderApp);
      const id = uuidv7();
      const r = await fetch(`${s.url}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [TRACE_HEADER]: id },
        body: JSON.stringify(order),
      });
      expect(r.status).toBe(201);
      const [e] = await sink.waitFor(1);
      expect(e!.header.event_type).toBe('ORD');
      expect(e!.header.trace_id).toBe(id);
      expect(e!.header.symbol).toBe('EURUSD');
      expect(e!.payload).toEqual({ trade_data: { ...order, broker_order_id: 'B-99' } });
    });

    it('matches :params without a router and leaves unmapped and unmatched requests alone', async () => {
      const s = await start(orderApp);
      const id = uuidv7();
      await fetch(`${s.url}/orders/ORD-7?x=1`, { method: 'DELETE', headers: { [TRACE_HEADER]: id } });
      await fetch(`${s.url}/orders/ORD-7/legs`, { method: 'DELETE' });
      await fetch(`${s.url}/nothing-here`);
      const [e] = await sink.waitFor(1);
      expect(e!.header.event_type).toBe('CXL');
      expect(e!.header.trace_id).toBe(id);
      expect(e!.payload).toEqual({ trade_data: { order_id: 'ORD-7', order_status: 'CANCELLED' } });
      await settled(recorder);
      expect(sink.events).toHaveLength(1); // a 404 is not an error event
    });

    it('an extractor that throws never touches the response: ERR_SYSTEM event and extractor counter instead', async () => {
      const s = await start((app) => {
        app.use(
          vcpKoa({
            recorder,
            routes: {
              'POST /orders': {
                eventType: 'ORD',
                extract: (ctx) => ({ trade_data: { order_id: ctx.request.body.order_id } }), // no body: throws
              },
            },
          }),
        );
        app.use((ctx) => {
          ctx.status = 201;
          ctx.body = { ok: true };
        });
      });
      const id = uuidv7();
      const r = await fetch(`${s.url}/orders`, { method: 'POST', headers: { [TRACE_HEADER]: id } });
      expect(r.status).toBe(201);
      expect(await r.json()).toEqual({ ok: true });
      const [e] = await sink.waitFor(1);
      expect(e!.header.event_type).toBe('ERR_SYSTEM');
      expect(e!.header.trace_id).toBe(id);
      expect(e!.payload.error_details).toMatchObject({ error_code: 'TypeError', http_route: 'POST /orders' });
      expect(recorder.stats().extractorErrors).toBe(1);
    });
  });

  describe('errors', () => {
    it('a thrown error records an ERR event with err.status and is rethrown unchanged', async () => {
      const thrown = Object.assign(new Error('venue rejected the session'), { status: 502, expose: true });
      const s = await start((app) => {
        app.use(vcpKoa({ recorder, routes: { 'POST /orders': { eventType: 'ORD' } } }));
        app.use(async () => {
          recorder.record('SIG', { signal: 'buy' });
          await sleep(1);
          throw thrown;
        });
      });
      const id = uuidv7();
      const r = await fetch(`${s.url}/orders`, { method: 'POST', headers: { [TRACE_HEADER]: id } });
      expect(r.status).toBe(502);
      expect(await r.text()).toBe('venue rejected the session');
      expect(appErrors).toEqual([thrown]); // Koa saw the very same error
      const [sig, e] = await sink.waitFor(2);
      expect(e!.header.event_type).toBe('ERR_SYSTEM');
      expect(e!.header.trace_id).toBe(id);
      expect(e!.payload.error_details).toMatchObject({
        error_message: 'venue rejected the session',
        http_status: 502,
        http_method: 'POST',
        http_path: '/orders',
        http_route: 'POST /orders',
        correlated_event_id: sig!.header.event_id,
      });
      await settled(recorder);
      expect(sink.ofType('ORD')).toHaveLength(0);
    });

    it('a thrown error without a status is a 500; the ERR type comes from the error', async () => {
      const s = await start((app) => {
        app.use(vcpKoa({ recorder }));
        app.use(() => {
          throw Object.assign(new Error('connect ETIMEDOUT 10.0.0.1:443'), { code: 'ETIMEDOUT' });
        });
      });
      const r = await fetch(s.url);
      expect(r.status).toBe(500);
      const [e] = await sink.waitFor(1);
      expect(e!.header.event_type).toBe('ERR_TIMEOUT');
      expect(e!.payload.error_details).toMatchObject({ error_code: 'ETIMEDOUT', http_status: 500 });
    });

    it('ctx.throw(401) records ERR_AUTH', async () => {
      const s = await start((app) => {
        app.use(vcpKoa({ recorder }));
        app.use((ctx) => ctx.throw(401, 'bad api key'));
      });
      const r = await fetch(s.url);
      expect(r.status).toBe(401);
      const [e] = await sink.waitFor(1);
      expect(e!.header.event_type).toBe('ERR_AUTH');
      expect(e!.payload.error_details).toMatchObject({ http_status: 401, severity: 'WARNING' });
    });

    it('records the error even when an outer error handler turns it into a 200', async () => {
      const s = await start((app) => {
        app.use(async (ctx, next) => {
          try {
            await next();
          } catch {
            ctx.body = { handled: true };
          }
        });
        app.use(vcpKoa({ recorder }));
        app.use(() => {
          throw Object.assign(new Error('risk limit'), { status: 503 });
        });
      });
      const r = await fetch(s.url);
      expect(r.status).toBe(200);
      const [e] = await sink.waitFor(1);
      expect(e!.payload.error_details).toMatchObject({ http_status: 503, error_message: 'risk limit' });
    });

    it('a thrown non-error value is recorded and still reaches Koa', async () => {
      const s = await start((app) => {
        app.use(vcpKoa({ recorder }));
        app.use(() => {
          throw 'plain string';
        });
      });
      const r = await fetch(s.url);
      expect(r.status).toBe(500);
      const [e] = await sink.waitFor(1);
      expect(e!.header.event_type).toBe('ERR_SYSTEM');
      expect(e!.payload.error_details).toMatchObject({ error_message: 'plain string', http_status: 500 });
      expect(appErrors).toHaveLength(1);
    });

    it('a frozen error is recorded and rethrown unchanged (it just cannot carry the trace header)', async () => {
      const frozen = Object.freeze(Object.assign(new Error('frozen'), { status: 503 }));
      let caught: unknown;
      const s = await start((app) => {
        // Koa's own error response writes to err.status, so a frozen error must be handled before it.
        app.use(async (ctx, next) => {
          try {
            await next();
          } catch (err) {
            caught = err;
            ctx.status = 503;
          }
        });
        app.use(vcpKoa({ recorder }));
        app.use(() => {
          throw frozen;
        });
      });
      const r = await fetch(s.url);
      expect(r.status).toBe(503);
      expect(caught).toBe(frozen);
      const [e] = await sink.waitFor(1);
      expect(e!.payload.error_details).toMatchObject({ error_message: 'frozen', http_status: 503 });
    });

    it('a 5xx set without throwing records ERR_SYSTEM with the HTTP details', async () => {
      const s = await start((app) => {
        app.use(vcpKoa({ recorder, component: 'order-api' }));
        app.use((ctx) => {
          ctx.status = 503;
          ctx.body = 'maintenance';
        });
      });
      await fetch(`${s.url}/quotes?token=x`);
      const [e] = await sink.waitFor(1);
      expect(e!.payload.error_details).toEqual({
        error_code: 'HTTP_503',
        error_message: 'HTTP 503 Service Unavailable',
        severity: 'CRITICAL',
        affected_component: 'order-api',
        http_status: 503,
        http_method: 'GET',
        http_path: '/quotes',
      });
    });

    it('a client abort mid-handler records one CLIENT_ABORT event, and the server keeps serving', async () => {
      let entered!: () => void;
      const handlerEntered = new Promise<void>((r) => (entered = r));
      let finish!: () => void;
      const handlerDone = new Promise<void>((r) => (finish = r));
      const s = await start((app) => {
        app.use(vcpKoa({ recorder, routes: { 'POST /slow': { eventType: 'ORD' } } }));
        app.use(async (ctx) => {
          if (ctx.path === '/ok') {
            ctx.body = { ok: true };
            return;
          }
          entered();
          // Answer only once the server has seen the client go (a fixed sleep lost that race when the
          // loop stalled past it: the late answer then finished first and was recorded as an ORD).
          await once(ctx.res, 'close');
          ctx.body = { late: true };
          finish();
        });
      });
      const id = uuidv7();
      const socket = net.connect(s.port, '127.0.0.1');
      await once(socket, 'connect');
      socket.write(`POST /slow HTTP/1.1\r\nHost: x\r\n${TRACE_HEADER}: ${id}\r\nContent-Length: 0\r\n\r\n`);
      await handlerEntered;
      socket.destroy();
      const [e] = await sink.waitFor(1);
      expect(e!.header.event_type).toBe('ERR_CONN');
      expect(e!.header.trace_id).toBe(id);
      expect(e!.payload.error_details).toMatchObject({
        error_code: 'CLIENT_ABORT',
        severity: 'WARNING',
        http_path: '/slow',
        http_route: 'POST /slow',
      });
      await handlerDone;
      const r = await fetch(`${s.url}/ok`);
      expect(await r.json()).toEqual({ ok: true });
      await settled(recorder);
      expect(sink.events).toHaveLength(1);
    });

    it('clientAbort options choose the event type and severity', async () => {
      let entered!: () => void;
      const handlerEntered = new Promise<void>((r) => (entered = r));
      const s = await start((app) => {
        app.use(vcpKoa({ recorder, clientAbort: { eventType: 'ERR_TIMEOUT', severity: 'INFO' } }));
        app.use(async (ctx) => {
          entered();
          await once(ctx.res, 'close'); // the abort is seen before the late answer, whatever the timing
          ctx.body = 'late';
        });
      });
      const socket = net.connect(s.port, '127.0.0.1');
      await once(socket, 'connect');
      socket.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
      await handlerEntered;
      socket.destroy();
      const [e] = await sink.waitFor(1);
      expect(e!.header.event_type).toBe('ERR_TIMEOUT');
      expect(e!.payload.error_details?.severity).toBe('INFO');
    });
  });

  describe('configuration', () => {
    it('uses the recorder from configureVcp when none is passed, looked up per request', async () => {
      const s = await start((app) => {
        app.use(vcpKoa({ routes: { 'GET /x': { eventType: 'AUD' } } }));
        app.use((ctx) => {
          ctx.body = 'x';
        });
      });
      configureVcp({ recorder });
      await fetch(`${s.url}/x`);
      const [e] = await sink.waitFor(1);
      expect(e!.header.event_type).toBe('AUD');
    });

    it('rejects bad options at construction', () => {
      expect(() => vcpKoa({ routes: { 'GET /a/:id/:id': { eventType: 'AUD' } } })).toThrow(VcpConfigError);
      expect(() => vcpKoa({ errorEventType: 'ERR_SYSTEM' as never })).toThrow(VcpConfigError);
      expect(() => vcpKoa({ clientAbort: { severity: 'LOUD' as never } })).toThrow(/severity/);
      expect(() => vcpKoa(null as never)).toThrow(VcpConfigError);
    });

    it('accepts a typed context for extractors', () => {
      interface MyCtx extends KoaContextLike {
        state: { user: string };
      }
      const mw = vcpKoa<MyCtx>({
        routes: { 'POST /x': { eventType: 'AUD', extract: (ctx) => ({ user: ctx.state.user }) } },
      });
      expect(typeof mw).toBe('function');
    });
  });
});
