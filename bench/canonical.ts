/**
 * Question: how fast is our RFC 8785 canonicalizer on a realistic VCP order event, against the
 * JCS libraries a user would otherwise pick and against plain JSON.stringify (the floor)?
 *
 * Target (DESIGN.md): under 2× JSON.stringify of the same object.
 * Run: `node bench/canonical.ts` (BENCH_QUICK=1 for a short run).
 */

import { createHash } from 'node:crypto';
import canonicalizeNpm from 'canonicalize';
import { canonicalize as jsonCanonicalize } from 'json-canonicalize';
import { canonicalize } from '../src/integrity/canonical.ts';
import { type Measurement, measure, ratioLine, report } from './_harness.ts';

/** A ~1 KB VCP order event, keys in the order a producer would naturally write them. */
function orderEvent(i: number): Record<string, unknown> {
  return {
    header: {
      event_id: `019b4f2e-8c1a-7d3e-9f${String(i % 100).padStart(2, '0')}-2c3d4e5f6071`,
      trace_id: '019b4f2e-8c19-7a01-b2c3-d4e5f6a7b8c9',
      timestamp_int: '1735084800123456789',
      timestamp_iso: '2024-12-25T00:00:00.123456789Z',
      event_type: 'ORD',
      event_type_code: 2,
      timestamp_precision: 'NANOSECOND',
      clock_sync_status: 'PTP_LOCKED',
      hash_algo: 'SHA256',
      venue_id: 'XLON',
      symbol: 'EURUSD',
      account_id: 'ACC-7781-PRIME',
      vcp_version: '1.1',
    },
    payload: {
      trade_data: {
        order_id: 'ORD-2024-12-25-000123',
        client_order_id: 'C-88421-A',
        side: 'BUY',
        order_type: 'LIMIT',
        price: '1.0850',
        quantity: '100000',
        currency: 'USD',
        time_in_force: 'GTC',
        execution_venue: 'XLON',
        broker_id: 'BRK-044',
      },
      vcp_gov: {
        algo_id: 'momentum-eurusd',
        algo_version: '3.4.1',
        algo_type: 'AI_MODEL',
        decision_factors: [
          { name: 'rsi_14', value: '28.4', weight: '0.35', contribution: '0.12' },
          { name: 'macd_signal', value: '-0.0012', weight: '0.25', contribution: '0.08' },
          { name: 'order_book_imbalance', value: '0.61', weight: '0.40', contribution: '0.19' },
        ],
        confidence_score: '0.87',
        model_hash: 'sha256:9f2c4e1a7b3d5f608192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8',
      },
      vcp_risk: {
        risk_profile: 'STANDARD',
        max_position_size: '5000000',
        exposure_utilization: '0.42',
        var_1d: '12500.50',
        stop_loss: '1.0790',
      },
    },
  };
}

/** A ~1.3 KB variant: more risk fields, a longer factor list, unicode text, integer-like keys. */
function largerEvent(i: number): Record<string, unknown> {
  const e = orderEvent(i) as {
    header: Record<string, unknown>;
    payload: Record<string, Record<string, unknown>>;
  };
  e.header.operator_id = 'trader.émilie@desk-7';
  const gov = e.payload.vcp_gov!;
  (gov.decision_factors as unknown[]).push(
    { name: 'news_sentiment', value: '0.33', weight: '0.10', contribution: '0.02' },
    { name: 'spread_bps', value: '0.8', weight: '0.05', contribution: '-0.01' },
  );
  gov.explanation = 'Momentum cross-over confirmed by order-book imbalance; «risk-on» regime.';
  e.payload.vcp_risk = {
    ...e.payload.vcp_risk,
    limits: { '10': '250000', '2': '50000', daily: '1000000' },
    triggered_controls: [],
    kill_switch_armed: false,
  };
  return e;
}

/**
 * Worst case for our layout cache: every object's keys are new (a unique suffix per event),
 * and there are far more shapes than the cache holds, so no event ever hits it.
 */
function unseenShapes(count: number): unknown[] {
  const rename = (v: unknown, suffix: string): unknown => {
    if (Array.isArray(v)) return v.map((x) => rename(x, suffix));
    if (typeof v !== 'object' || v === null) return v;
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k + suffix, rename(x, suffix)]));
  };
  return Array.from({ length: count }, (_, i) => rename(orderEvent(i), `_${i}`));
}

/** Runs the comparison and prints ns/op and ratios; importable by an aggregating bench/run.ts. */
export async function run(): Promise<void> {
  for (const [title, make] of [
    ['~1 KB order event', orderEvent],
    ['~1.3 KB order event', largerEvent],
  ] as const) {
    // A small pool of distinct objects, so no library benefits from one object's warm caches.
    const pool = Array.from({ length: 64 }, (_, i) => make(i));
    const sample = pool[0]!;
    const bytes = Buffer.byteLength(canonicalize(sample));
    // Every contender must agree before its speed means anything.
    for (const [name, f] of [
      ['canonicalize (npm)', canonicalizeNpm],
      ['json-canonicalize', jsonCanonicalize],
    ] as const) {
      if (f(sample) !== canonicalize(sample))
        throw new Error(`${name} disagrees with ours on the bench event`);
    }
    const mask = pool.length - 1;
    const rows: Measurement[] = [
      measure('vcp canonicalize', (i) => canonicalize(pool[i & mask])),
      measure('JSON.stringify', (i) => JSON.stringify(pool[i & mask])),
      measure('canonicalize (npm)', (i) => canonicalizeNpm(pool[i & mask])),
      measure('json-canonicalize', (i) => jsonCanonicalize(pool[i & mask])),
    ];
    const [ours, stringify, npm, jc] = rows as [Measurement, Measurement, Measurement, Measurement];
    report(`${title} (${bytes} bytes canonical)`, rows, ours);
    ratioLine('ours / JSON.stringify', ours.nsPerOp, stringify.nsPerOp, '< 2×');
    ratioLine('canonicalize (npm) / ours', npm.nsPerOp, ours.nsPerOp);
    ratioLine('json-canonicalize / ours', jc.nsPerOp, ours.nsPerOp);

    // Our text is a V8 rope, flattened by whoever reads it first; JSON.stringify's is flat.
    // Hashing it (what sealing does) shows the cost the caller really pays.
    const sha = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
    const hashed: Measurement[] = [
      measure('vcp canonicalize + SHA-256', (i) => sha(canonicalize(pool[i & mask]))),
      measure('JSON.stringify + SHA-256', (i) => sha(JSON.stringify(pool[i & mask]))),
      measure('canonicalize (npm) + SHA-256', (i) => sha(canonicalizeNpm(pool[i & mask]) as string)),
    ];
    const [oursH, stringifyH, npmH] = hashed as [Measurement, Measurement, Measurement];
    report(`${title}, then SHA-256 of the UTF-8 text`, hashed, oursH);
    ratioLine('ours+hash / JSON.stringify+hash', oursH.nsPerOp, stringifyH.nsPerOp);
    ratioLine('canonicalize (npm)+hash / ours+hash', npmH.nsPerOp, oursH.nsPerOp);
  }

  const cold = unseenShapes(4000);
  const n = cold.length;
  const rows: Measurement[] = [
    measure('vcp canonicalize', (i) => canonicalize(cold[i % n])),
    measure('JSON.stringify', (i) => JSON.stringify(cold[i % n])),
    measure('canonicalize (npm)', (i) => canonicalizeNpm(cold[i % n])),
  ];
  const [ours, stringify, npm] = rows as [Measurement, Measurement, Measurement];
  report('~1 KB event, every key never seen before (no layout cache hits)', rows, ours);
  ratioLine('ours / JSON.stringify', ours.nsPerOp, stringify.nsPerOp);
  ratioLine('canonicalize (npm) / ours', npm.nsPerOp, ours.nsPerOp);
}

if (import.meta.main) await run();
