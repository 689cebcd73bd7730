/**
 * `@VcpLogged` inside a real NestJS 12 application (Express underneath):
 * the routes must still be found (the wrapper carries the metadata Nest's
 * decorators put on the method, in either decorator order) and each request
 * must produce its event in the request's trace.
 */
import 'reflect-metadata';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TRACE_HEADER } from '../../src/context/index.ts';
import type { VcpEvent } from '../../src/core/types.ts';
import * as mainEntry from '../../src/index.ts';
import { configureVcp, getVcpMetadata, resetVcpConfig } from '../../src/instrument/index.ts';
import { createTestRecorder } from '../../src/recorder/index.ts';
import {
  compileTs6,
  esmEntry,
  linkEntry,
  makeWorkDir,
  missingNames,
  prepareSources,
  removeWorkDir,
  typecheckTs6,
  type Variant,
} from './fixtures/compile.ts';

type NestFixture = typeof import('./fixtures/nest-app.ts');

const variant: Variant = { compiler: 'ts6', mode: 'legacy-meta', format: 'esm', reflect: true };
const { recorder, sink } = createTestRecorder();
let work: string;
let fixture: NestFixture;
let app: { url: string; close: () => Promise<void> };

beforeAll(async () => {
  work = await makeWorkDir('vcp-nest-');
  const entry = await esmEntry(work, missingNames(mainEntry as Record<string, unknown>).length === 0);
  const out = path.join(work, 'out');
  await compileTs6(await prepareSources(['nest-app.ts']), variant, out);
  await linkEntry(out, entry, 'esm');
  fixture = (await import(path.join(out, 'nest-app.js'))) as NestFixture;
  resetVcpConfig();
  configureVcp({ recorder });
  app = await fixture.startApp();
}, 120_000);

afterAll(async () => {
  await app?.close();
  resetVcpConfig();
  if (work) await removeWorkDir(work);
});

async function post(route: string, body: unknown, traceId: string) {
  const res = await fetch(`${app.url}${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', [TRACE_HEADER]: traceId },
    body: JSON.stringify(body),
  });
  return { status: res.status, route: res.headers.get('x-route'), body: await res.json() };
}

async function eventsOfTrace(traceId: string): Promise<VcpEvent[]> {
  await recorder.flush();
  return sink.events.filter((e) => e.header.trace_id === traceId);
}

describe('NestJS controller with @VcpLogged', () => {
  it('type-checks with experimentalDecorators + emitDecoratorMetadata', () => {
    expect(typecheckTs6(['nest-app.ts'], 'legacy-meta')).toEqual([]);
  });

  it('@VcpLogged applied first (innermost): the route, its status and its header work; the ORD event has the request’s trace', async () => {
    const trace = '0190a5d0-1111-7000-8000-000000000001';
    const res = await post('/orders', { id: '42', side: 'SELL', price: '1.0850', quantity: '250000' }, trace);
    expect(res).toEqual({
      status: 201,
      route: 'vcp-first',
      body: { order_id: 'ORD-42', status: 'accepted' },
    });
    const events = await eventsOfTrace(trace);
    expect(events).toHaveLength(1);
    expect(events[0]!.header).toMatchObject({ event_type: 'ORD', venue_id: 'XNAS', account_id: 'ACC-NEST' });
    expect(events[0]!.payload.trade_data).toEqual({
      order_id: 'ORD-42',
      side: 'SELL',
      order_type: 'LIMIT',
      price: '1.0850',
      quantity: '250000',
    });
  });

  it('@VcpLogged applied last (outermost): Nest’s path, @HttpCode and @Header metadata were copied to the wrapper', async () => {
    const trace = '0190a5d0-1111-7000-8000-000000000002';
    const res = await post('/orders/7/cancel', {}, trace);
    expect(res).toEqual({ status: 200, route: 'vcp-last', body: { order_id: 'ORD-7', status: 'cancelled' } });
    const events = await eventsOfTrace(trace);
    expect(events.map((e) => [e.header.event_type, e.payload.trade_data?.order_id])).toEqual([
      ['CXL', 'ORD-7'],
    ]);
  });

  it('keeps Nest’s metadata on the installed methods and the design types on the prototype', () => {
    const C = fixture.OrdersController;
    const get = (k: string, t: object, p?: string) =>
      (Reflect as unknown as { getMetadata: (k: string, t: object, p?: string) => unknown }).getMetadata(
        k,
        t,
        p,
      );
    expect(get('path', C.prototype.place)).toBe('orders');
    expect(get('path', C.prototype.cancel)).toBe('orders/:id/cancel');
    expect(get('__httpCode__', C.prototype.cancel)).toBe(200);
    expect(get('design:paramtypes', C.prototype, 'place')).toEqual([fixture.OrderDto]);
    expect(
      getVcpMetadata(C)
        ?.methods.map((m) => `${String(m.name)}:${m.eventType}`)
        .sort(),
    ).toEqual(['cancel:CXL', 'place:ORD']);
  });

  it('concurrent requests each get their own trace on their event', async () => {
    const traces = Array.from(
      { length: 20 },
      (_, i) => `0190a5d0-2222-7000-8000-${String(i).padStart(12, '0')}`,
    );
    await Promise.all(
      traces.map((t, i) => post('/orders', { id: `c${i}`, side: 'BUY', price: '1.0000', quantity: '1' }, t)),
    );
    for (const [i, t] of traces.entries()) {
      const events = await eventsOfTrace(t);
      expect(events.map((e) => e.payload.trade_data?.order_id)).toEqual([`ORD-c${i}`]);
    }
  });

  it('undecorated routes are unaffected', async () => {
    const res = await fetch(`${app.url}/health`);
    expect(await res.text()).toBe('ok');
  });
});
