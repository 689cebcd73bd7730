/**
 * The source messages of the tap benchmarks and their profile drivers: guide-shaped
 * orders as a Kafka value (JSON) and as Redis stream fields, one in a hundred poisoned
 * (index ≡ 42 mod 100: truncated JSON, an unknown event type) so the ERR_PARSE path runs.
 */

/** A Kafka message value: an order as JSON (poisoned at i ≡ 42 mod 100 unless `clean`). */
export function orderValue(i: number, clean = false): Buffer {
  if (!clean && i % 100 === 42) return Buffer.from('{"order_id": truncated');
  return Buffer.from(
    JSON.stringify({
      order_id: `ORD-${i % 5000}`,
      symbol: 'EURUSD',
      side: i % 2 ? 'SELL' : 'BUY',
      type: 'LIMIT',
      price: 1.085 + (i % 100) / 10000,
      quantity: 100000,
      account: 'ACC-7',
      strategy: 'trend-follower-1',
    }),
  );
}

/** A Redis stream entry's fields: an ORD or EXE (poisoned at i ≡ 42 mod 100 unless `clean`). */
export function orderFields(i: number, clean = false): string[] {
  if (!clean && i % 100 === 42) return ['event_type', 'NOT_A_TYPE', 'order_id', `ORD-${i % 5000}`];
  return [
    'event_type',
    i % 3 ? 'EXE' : 'ORD',
    'order_id',
    `ORD-${i % 5000}`,
    'symbol',
    'EURUSD',
    'side',
    i % 2 ? 'SELL' : 'BUY',
    'price',
    (1.085 + (i % 100) / 10000).toFixed(4),
    'quantity',
    '100000',
    'account',
    'ACC-7',
  ];
}
