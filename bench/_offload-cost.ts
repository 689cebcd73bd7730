/**
 * Profile driver (not part of `npm run bench`): would sealing on another
 * thread take the recording off the request thread? Only if handing a draft
 * over costs the request thread less than sealing it there. This measures,
 * on the same ~1.3 KB order drafts, one seal (validate + RFC 8785 + SHA-256 +
 * chain) against what a hand-over costs: `v8.serialize` (what `postMessage`
 * runs on the sending side), `v8.deserialize` (the receiving side), and
 * `JSON.stringify` (cheaper, but it turns NaN into null, honours toJSON and
 * sends class instances as plain objects, all of which the canonicalizer
 * refuses, so it would need a checking walk first).
 * Run: `node bench/_offload-cost.ts` (N drafts per sample, default 200 000).
 */
import * as v8 from 'node:v8';
import { draftEvent } from '../src/core/builder.ts';
import { createPolicy } from '../src/core/policy.ts';
import { createHashChain } from '../src/integrity/chain.ts';
import { createSealer } from '../src/recorder/sealer.ts';
import { orderPayload } from './seal-throughput.ts';

const N = Number(process.env.N ?? 200_000);
const policy = createPolicy({ policyId: 'com.example.trading:bench', tier: 'GOLD' });
const drafts = Array.from({ length: 1024 }, (_, i) =>
  draftEvent('ORD', orderPayload(i), { policy, venueId: 'XLON', accountId: 'ACC-00042' }),
);
const serialized = drafts.map((d) => v8.serialize(d));
const sealer = createSealer({ validate: 'own-draft', chain: createHashChain() });

const cases: [string, (i: number) => unknown][] = [
  ['seal (own-draft validation, chain)', (i) => sealer.seal(drafts[i & 1023]!)],
  ['v8.serialize (postMessage, sender)', (i) => v8.serialize(drafts[i & 1023]!)],
  ['v8.deserialize (receiver)', (i) => v8.deserialize(serialized[i & 1023]!)],
  ['JSON.stringify', (i) => JSON.stringify(drafts[i & 1023]!)],
];
const samples = new Map<string, number[]>();
let keep = 0;
// Interleaved rounds, the first one a warm-up: the machine's speed drifts between rounds.
for (let round = 0; round < 6; round++) {
  for (const [name, fn] of cases) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) if (fn(i)) keep++;
    const ns = Number(process.hrtime.bigint() - t0) / N;
    if (round > 0) samples.set(name, [...(samples.get(name) ?? []), ns]);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const seal = median(samples.get(cases[0]![0])!);
for (const [name, xs] of samples) {
  console.log(
    `${name.padEnd(38)} ${(median(xs) / 1000).toFixed(2)} µs  (${(median(xs) / seal).toFixed(2)}× a seal) [${xs.map((x) => (x / 1000).toFixed(2)).join(', ')}]`,
  );
}
console.log(`bytes per draft (v8.serialize): ${serialized[0]!.length}; kept ${keep}`);
