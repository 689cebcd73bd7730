/**
 * An order API on Koa with vcp-instrument's middleware.
 *
 *   npm start   (node server.ts)        (PORT=3000 by default; VCP_LOG=<file> to choose the log)
 *
 * Every request runs in a trace (from `x-vcp-trace-id` / `traceparent`, or a
 * new UUIDv7), echoed in the `x-vcp-trace-id` response header, error
 * responses included. Events recorded while handling it — here a pre-trade
 * risk check — carry that trace id without being told. Mapped routes record
 * their event after the response (the middleware matches the patterns
 * itself: no router needed); thrown errors record `ERR_*` events. Sealed
 * events go to a JSONL file (the audit log) and, one line each, to stderr.
 */
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Koa from 'koa';
import {
  ConsoleSink,
  configureVcp,
  createRecorder,
  currentTrace,
  FanoutSink,
  FileSink,
  isDecimalString,
  vcpKoa,
} from 'vcp-instrument';

const PORT = Number(process.env.PORT ?? 3000);
const LOG = process.env.VCP_LOG ?? path.join(os.tmpdir(), 'vcp-example-koa.jsonl');

const recorder = createRecorder({
  policyId: 'local:example:koa-orders',
  tier: 'SILVER',
  // The file is the audit log (must succeed); the console is for watching (best effort).
  sink: new FanoutSink([new FileSink({ path: LOG, fsync: 'interval' }), new ConsoleSink()], {
    mode: 'primary',
  }),
  venueId: 'EXAMPLE-VENUE',
  accountId: 'ACC-001',
  handleSignals: true, // Ctrl-C flushes the queue before exiting
});
configureVcp({ recorder });

interface OrderBody {
  order_id: string;
  symbol: string;
  side: 'BUY' | 'SELL';
  order_type: string;
  price: string;
  quantity: string;
}

const app = new Koa();

// First, so the whole chain (body parsing included) runs inside the trace.
app.use(
  vcpKoa({
    routes: {
      'POST /orders': {
        eventType: 'ORD',
        extract: (ctx) => {
          const o = ctx.request.body as OrderBody;
          return {
            trade_data: {
              order_id: o.order_id,
              symbol: o.symbol,
              side: o.side,
              order_type: o.order_type,
              price: o.price,
              quantity: o.quantity,
              broker_order_id: ctx.state.brokerOrderId,
            },
          };
        },
        header: (ctx) => ({ symbol: (ctx.request.body as OrderBody).symbol }),
      },
      'DELETE /orders/:id': {
        eventType: 'CXL',
        extract: (_ctx, info) => ({ trade_data: { order_id: info.params.id, order_status: 'CANCELLED' } }),
      },
    },
  }),
);

// A minimal JSON body reader (the middleware never parses bodies; use koa-bodyparser in a real app).
app.use(async (ctx, next) => {
  if (ctx.is('application/json')) {
    let text = '';
    for await (const chunk of ctx.req) text += chunk;
    try {
      (ctx.request as { body?: unknown }).body = JSON.parse(text);
    } catch {
      ctx.throw(400, 'invalid JSON');
    }
  }
  await next();
});

app.use(async (ctx) => {
  if (ctx.method === 'POST' && ctx.path === '/orders') {
    const o = (ctx.request as { body?: Partial<OrderBody> }).body;
    if (!o?.order_id || !o.symbol || !isDecimalString(o.price) || !isDecimalString(o.quantity)) {
      ctx.throw(400, 'order_id, symbol, price and quantity (decimal strings) are required');
      return;
    }
    // A pre-trade risk check, recorded in the request's trace (no trace id passed).
    recorder.record('AUD', {
      vcp_risk: { checks: [{ name: 'max_order_size', result: 'PASS', value: o.quantity, limit: '1000000' }] },
    });
    await sleep(5); // the venue round trip
    ctx.state.brokerOrderId = `B-${Date.now()}`;
    ctx.status = 201;
    ctx.body = { order_id: o.order_id, broker_order_id: ctx.state.brokerOrderId, trace_id: currentTrace() };
  } else if (ctx.method === 'DELETE' && /^\/orders\/[^/]+$/.test(ctx.path)) {
    ctx.status = 204;
  } else if (ctx.path === '/venue-down') {
    throw Object.assign(new Error('venue session lost'), { code: 'ECONNRESET', status: 502 });
  }
});

app.listen(PORT, '127.0.0.1', () => {
  const base = `http://127.0.0.1:${PORT}`;
  console.log(`Koa order API on ${base}; sealed events → ${LOG} (and stderr)\n`);
  console.log('Try:');
  console.log(
    `  curl -i -X POST ${base}/orders -H 'content-type: application/json' -H 'x-vcp-trace-id: 0190f5a8-3c4e-7b2a-9d1e-5f6a7b8c9d0e' \\\n` +
      `       -d '{"order_id":"ORD-1","symbol":"EURUSD","side":"BUY","order_type":"LIMIT","price":"1.0850","quantity":"100000"}'`,
  );
  console.log(`  curl -i -X DELETE ${base}/orders/ORD-1`);
  console.log(`  curl -i ${base}/venue-down          # → 502 and an ERR_CONN event`);
  console.log(`  npx vcp verify ${LOG}   # after Ctrl-C (which flushes)`);
});
