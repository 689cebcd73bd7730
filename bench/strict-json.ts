/**
 * Question: what does the strict JSON parser (duplicate keys, limits, number
 * rules; the sidecar's ingest hot path) cost over plain `JSON.parse` of the
 * same text?
 *
 * Texts: one ~1 KB order event, a batch of 100 of them (a typical sidecar
 * request), and a quote event carrying 64 numbers (the number checks' worst
 * realistic case). Target: the batch within 2× of `JSON.parse`.
 *
 * Run: `node bench/strict-json.ts` (BENCH_QUICK=1 for a short run).
 */
import { buildEvent } from '../src/core/builder.ts';
import { createPolicy } from '../src/core/policy.ts';
import { parseJsonStrict } from '../src/integrity/strict-json.ts';
import { type Measurement, measure, ratioLine, report } from './_harness.ts';

const policy = createPolicy({ policyId: 'com.example.trading:algo-7', tier: 'GOLD' });

function orderEvent(n: number): unknown {
  return buildEvent(
    'ORD',
    {
      trade_data: {
        order_id: `ORD-${n}`,
        client_order_id: `C-${n}-A`,
        symbol: 'EURUSD',
        side: 'BUY',
        order_type: 'LIMIT',
        price: '1.0850',
        quantity: '100000',
        time_in_force: 'GTC',
      },
      risk_management: { snapshot: { max_position: '5000000', current_position: '1200000' } },
    },
    { policy, venueId: 'XLON', accountId: 'ACC-1', symbol: 'EURUSD' },
  );
}

function quoteEvent(n: number): unknown {
  const levels = Array.from({ length: 16 }, (_, k) => ({
    bid: 1.085 - k * 0.0001,
    ask: 1.0851 + k * 0.0001,
    bid_size: 100000 + k * 5000 + n,
    ask_size: 250000 - k * 1000,
  }));
  return { header: { event_id: `q-${n}`, event_type: 'SIG' }, payload: { book: levels } };
}

/** Runs the comparison; importable by bench/run.ts. */
export async function run(): Promise<void> {
  const one = JSON.stringify(orderEvent(1));
  const batch = JSON.stringify(Array.from({ length: 100 }, (_, i) => orderEvent(i)));
  const quote = JSON.stringify(quoteEvent(1));
  for (const [title, text] of [
    [`one order event (${one.length} bytes)`, one],
    [`batch of 100 order events (${batch.length} bytes)`, batch],
    [`quote event with 64 numbers (${quote.length} bytes)`, quote],
  ] as const) {
    const rows: Measurement[] = [
      measure('parseJsonStrict', () => parseJsonStrict(text)),
      measure('JSON.parse', () => JSON.parse(text)),
    ];
    const [strict, plain] = rows as [Measurement, Measurement];
    report(title, rows, plain);
    ratioLine('  parseJsonStrict / JSON.parse time', strict.nsPerOp, plain.nsPerOp, '≤ 2×');
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
