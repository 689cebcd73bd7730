/**
 * An order API on Express with vcp-instrument's middleware.
 *
 *   npm start   (node server.ts)        (PORT=3000 by default; VCP_LOG=<file> to choose the log)
 *
 * Every request runs in a trace (from `x-vcp-trace-id` / `traceparent`, or a
 * new UUIDv7), echoed in the `x-vcp-trace-id` response header. Events recorded
 * while handling it — here a pre-trade risk check — carry that trace id
 * without being told. Mapped routes record their event after the response;
 * failures record `ERR_*` events. Sealed events go to a JSONL file (the audit
 * log) and, one line each, to stderr.
 */
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import express from 'express';
import {
  ConsoleSink,
  configureVcp,
  createRecorder,
  currentTrace,
  FanoutSink,
  FileSink,
  isDecimalString,
  vcpExpress,
} from 'vcp-instrument';

const PORT = Number(process.env.PORT ?? 3000);
const LOG = process.env.VCP_LOG ?? path.join(os.tmpdir(), 'vcp-example-express.jsonl');

const recorder = createRecorder({
  policyId: 'local:example:express-orders',
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

const vcp = vcpExpress({
  routes: {
    'POST /orders': {
      eventType: 'ORD',
      extract: (req, res) => {
        const o = req.body as OrderBody;
        return {
          trade_data: {
            order_id: o.order_id,
            symbol: o.symbol,
            side: o.side,
            order_type: o.order_type,
            price: o.price,
            quantity: o.quantity,
            broker_order_id: res.locals?.brokerOrderId,
          },
        };
      },
      header: (req) => ({ symbol: (req.body as OrderBody).symbol }),
    },
    'DELETE /orders/:id': {
      eventType: 'CXL',
      extract: (_req, _res, info) => ({
        trade_data: { order_id: info.params.id, order_status: 'CANCELLED' },
      }),
    },
  },
});

const app = express();
app.use(express.json());
app.use(vcp);

app.post('/orders', async (req, res) => {
  const o = req.body as Partial<OrderBody> | undefined;
  if (!o?.order_id || !o.symbol || !isDecimalString(o.price) || !isDecimalString(o.quantity)) {
    res.status(400).json({ error: 'order_id, symbol, price and quantity (decimal strings) are required' });
    return;
  }
  // A pre-trade risk check, recorded in the request's trace (no trace id passed).
  recorder.record('AUD', {
    vcp_risk: { checks: [{ name: 'max_order_size', result: 'PASS', value: o.quantity, limit: '1000000' }] },
  });
  await sleep(5); // the venue round trip
  res.locals.brokerOrderId = `B-${Date.now()}`;
  res
    .status(201)
    .json({ order_id: o.order_id, broker_order_id: res.locals.brokerOrderId, trace_id: currentTrace() });
});

app.delete('/orders/:id', (_req, res) => {
  res.status(204).end();
});

app.get('/venue-down', () => {
  throw Object.assign(new Error('venue session lost'), { code: 'ECONNRESET', status: 502 });
});

app.use(vcp.errorHandler); // lets ERR_* events carry the thrown error itself

app.listen(PORT, '127.0.0.1', () => {
  const base = `http://127.0.0.1:${PORT}`;
  console.log(`Express order API on ${base}; sealed events → ${LOG} (and stderr)\n`);
  console.log('Try:');
  console.log(
    `  curl -i -X POST ${base}/orders -H 'content-type: application/json' -H 'x-vcp-trace-id: 0190f5a8-3c4e-7b2a-9d1e-5f6a7b8c9d0e' \\\n` +
      `       -d '{"order_id":"ORD-1","symbol":"EURUSD","side":"BUY","order_type":"LIMIT","price":"1.0850","quantity":"100000"}'`,
  );
  console.log(`  curl -i -X DELETE ${base}/orders/ORD-1`);
  console.log(`  curl -i ${base}/venue-down          # → 502 and an ERR_CONN event`);
  console.log(`  npx vcp verify ${LOG}   # after Ctrl-C (which flushes)`);
});
