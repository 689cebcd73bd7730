/**
 * One failure, one ERR event: a `@VcpLogged` method that throws inside an
 * Express or Koa request records its `ERR_*` event, and the middleware (which
 * sees the same error through `errorHandler` / the Koa chain) links to it
 * instead of recording a second one — unless `errorAlreadyRecorded: 'record'`
 * asks for both, correlated. Real servers on 127.0.0.1, real recorder.
 *
 * Each route is mapped with `when: 'always'`: the middleware records that
 * event when it handles the outcome, in the same step as its own ERR event,
 * so once the mapped event is in the sink the middleware has decided.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Koa from 'koa';
import { afterEach, describe, expect, it } from 'vitest';
import { VcpConfigError } from '../../src/core/errors.ts';
import type { VcpEvent } from '../../src/core/types.ts';
import { configureVcp, getInstrumentStats, resetVcpConfig } from '../../src/instrument/configure.ts';
import { VcpLogged } from '../../src/instrument/decorator.ts';
import { vcpExpress } from '../../src/instrument/express.ts';
import { vcpKoa } from '../../src/instrument/koa.ts';
import { createTestRecorder } from '../../src/recorder/test-recorder.ts';

class RiskRejected extends Error {
  override name = 'RiskRejected';
  code = 'RISK_LIMIT';
}

/** A shared error object, thrown again for every request (a cached failure). */
const cachedFailure = new RiskRejected('venue closed');

// Vitest's transformer cannot compile decorator syntax (decorator.test.ts compiles
// fixtures with TypeScript instead); the legacy call form applies the same export here.
class Orders {
  async place(quantity: number): Promise<string> {
    if (quantity > 500_000) throw new RiskRejected(`quantity ${quantity} exceeds the 500000 limit`);
    return 'O-1';
  }

  async placeCached(): Promise<string> {
    throw cachedFailure;
  }

  /** A decorated method that calls another decorated method, which throws. */
  async decideAndPlace(quantity: number): Promise<string> {
    return this.place(quantity);
  }

  async throwString(): Promise<string> {
    throw 'not an Error object';
  }
}

function decorate(name: keyof Orders, decorator: ReturnType<typeof VcpLogged>): void {
  const descriptor = Object.getOwnPropertyDescriptor(Orders.prototype, name)!;
  const legacy = decorator as unknown as (
    t: object,
    k: string,
    d: PropertyDescriptor,
  ) => PropertyDescriptor | undefined;
  Object.defineProperty(Orders.prototype, name, legacy(Orders.prototype, name, descriptor) ?? descriptor);
}
decorate(
  'place',
  VcpLogged('ORD', () => ({ trade_data: { order_id: 'O-1', symbol: 'EURUSD', side: 'BUY' } }), {
    errorType: 'ERR_REJECT',
  }),
);
decorate('placeCached', VcpLogged('ORD', undefined, { errorType: 'ERR_REJECT' }));
decorate('decideAndPlace', VcpLogged('SIG', undefined, { errorType: 'ERR_SYSTEM' }));
decorate('throwString', VcpLogged('ORD'));

const servers: http.Server[] = [];
afterEach(async () => {
  resetVcpConfig();
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
});

async function serve(listener: http.RequestListener): Promise<string> {
  const server = http.createServer(listener);
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const errs = (events: readonly VcpEvent[]) => events.filter((e) => e.header.event_type.startsWith('ERR_'));

type Mode = 'link' | 'record' | undefined;
const ROUTES = ['POST /orders', 'POST /cached', 'POST /nested', 'POST /string'] as const;

function expressApp(mode: Mode): http.RequestListener {
  const orders = new Orders();
  const routes = Object.fromEntries(
    ROUTES.map((r) => [r, { eventType: 'AUD' as const, when: 'always' as const }]),
  );
  const vcp = vcpExpress({ routes, ...(mode ? { errorAlreadyRecorded: mode } : {}) });
  const app = express();
  app.use(vcp);
  app.post('/orders', async (_req, res) => void res.json(await orders.place(900_000)));
  app.post('/cached', async (_req, res) => void res.json(await orders.placeCached()));
  app.post('/nested', async (_req, res) => void res.json(await orders.decideAndPlace(900_000)));
  app.post('/string', async (_req, res) => void res.json(await orders.throwString()));
  app.use(vcp.errorHandler);
  return app as unknown as http.RequestListener;
}

function koaApp(mode: Mode): http.RequestListener {
  const orders = new Orders();
  const routes = Object.fromEntries(
    ROUTES.map((r) => [r, { eventType: 'AUD' as const, when: 'always' as const }]),
  );
  const app = new Koa();
  app.silent = true;
  app.use(vcpKoa({ routes, ...(mode ? { errorAlreadyRecorded: mode } : {}) }));
  app.use(async (ctx) => {
    const call = {
      '/orders': () => orders.place(900_000),
      '/cached': () => orders.placeCached(),
      '/nested': () => orders.decideAndPlace(900_000),
      '/string': () => orders.throwString(),
    }[ctx.path];
    if (call === undefined) return ctx.throw(404);
    ctx.body = await call();
  });
  return app.callback();
}

/**
 * POST `path`, wait until the middleware recorded the request's mapped AUD event, and
 * return every event of that request's trace (requests are sequential: one AUD each).
 */
async function failOnce(url: string, path: string, sink: ReturnType<typeof createTestRecorder>['sink']) {
  const before = sink.events.length;
  const r = await fetch(`${url}${path}`, { method: 'POST' });
  expect(r.status).toBe(500);
  await sink.waitFor(before + 1);
  const aud = () => sink.events.slice(before).find((e) => e.header.event_type === 'AUD');
  for (let i = 0; aud() === undefined; i++) {
    if (i > 10_000) throw new Error(`no AUD event for ${path}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
  const trace = aud()!.header.trace_id;
  // Koa drops response headers when a non-Error is thrown; otherwise the echoed id is the trace.
  const echoed = r.headers.get('x-vcp-trace-id');
  if (echoed !== null) expect(echoed).toBe(trace);
  return sink.events.slice(before).filter((e) => e.header.trace_id === trace);
}

describe.each([
  ['Express', expressApp],
  ['Koa', koaApp],
] as const)('%s: one failure, one ERR event', (_name, app) => {
  it('a decorated method that throws: one ERR_REJECT, the middleware records none (default link)', async () => {
    const { recorder, sink } = createTestRecorder();
    configureVcp({ recorder });
    const url = await serve(app(undefined));
    const skippedBefore = getInstrumentStats().duplicateErrorsSkipped;
    const events = await failOnce(url, '/orders', sink);
    const errors = errs(events);
    expect(errors.map((e) => e.header.event_type)).toEqual(['ERR_REJECT']);
    expect(errors[0]!.payload.error_details?.error_message).toContain('exceeds the 500000 limit');
    expect(getInstrumentStats().duplicateErrorsSkipped).toBe(skippedBefore + 1);
  });

  it("errorAlreadyRecorded: 'record' keeps both, the middleware's correlated to the decorator's", async () => {
    const { recorder, sink } = createTestRecorder();
    configureVcp({ recorder });
    const url = await serve(app('record'));
    const errors = errs(await failOnce(url, '/orders', sink));
    expect(errors).toHaveLength(2);
    const [decorator, middleware] = errors;
    expect(decorator!.payload.error_details?.http_status).toBeUndefined();
    expect(middleware!.payload.error_details?.http_status).toBe(500);
    expect(middleware!.payload.error_details?.correlated_event_id).toBe(decorator!.header.event_id);
  });

  it('the same error object in two requests: one ERR in each trace (the note is per trace)', async () => {
    const { recorder, sink } = createTestRecorder();
    configureVcp({ recorder });
    const url = await serve(app(undefined));
    const first = errs(await failOnce(url, '/cached', sink));
    const second = errs(await failOnce(url, '/cached', sink));
    expect(first).toHaveLength(1);
    expect(second).toHaveLength(1);
    expect(first[0]!.header.trace_id).not.toBe(second[0]!.header.trace_id);
  });

  it('nested decorated calls: the inner ERR only, not one per decorated frame', async () => {
    const { recorder, sink } = createTestRecorder();
    configureVcp({ recorder });
    const url = await serve(app(undefined));
    const errors = errs(await failOnce(url, '/nested', sink));
    expect(errors.map((e) => e.header.event_type)).toEqual(['ERR_REJECT']);
  });

  it('a thrown non-object cannot be recognised: the middleware records its own ERR as before', async () => {
    const { recorder, sink } = createTestRecorder();
    configureVcp({ recorder });
    const url = await serve(app(undefined));
    const errors = errs(await failOnce(url, '/string', sink));
    expect(errors).toHaveLength(2);
  });
});

describe('errorAlreadyRecorded option', () => {
  it('refuses an unknown value, naming the option', () => {
    expect(() => vcpExpress({ errorAlreadyRecorded: 'twice' as 'link' })).toThrow(VcpConfigError);
    expect(() => vcpKoa({ errorAlreadyRecorded: 'skip' as 'link' })).toThrow(
      /errorAlreadyRecorded.*'link' or 'record'.*"skip"/,
    );
  });
});
