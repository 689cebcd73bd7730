/**
 * Question: what do signed checkpoints cost the FileSink? The same sealed
 * ~1 KB events are written in batches of 1 024, by a plain FileSink (the
 * peer) and by one with a signer (META line, one RFC 6962 leaf + amortised
 * one node hash per event in a compact range, a root per fsync, a signed
 * checkpoint every 1 000 events), with fsync `never` (CPU only) and
 * `every-write` (one fdatasync per batch). Prints events/s and the ratio.
 * Run: `node bench/file-checkpoints.ts` (BENCH_QUICK=1 for a short run).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { draftEvent } from '../src/core/builder.ts';
import { createPolicy } from '../src/core/policy.ts';
import type { VcpEvent } from '../src/core/types.ts';
import { createHashChain } from '../src/integrity/chain.ts';
import { CompactMerkleRange } from '../src/integrity/merkle/compact.ts';
import { sealEvent } from '../src/integrity/seal.ts';
import { generateSigningKey } from '../src/integrity/sign.ts';
import { FileSink, type FsyncPolicy } from '../src/sinks/file.ts';
import { serializeEvent } from '../src/sinks/serialize.ts';
import { ratioLine } from './_harness.ts';
import { orderPayload } from './seal-throughput.ts';

const quick = process.env.BENCH_QUICK === '1';
const N = quick ? 20_000 : 100_000;
const BATCH = 1024;
const RUNS = quick ? 2 : 3;

const policy = createPolicy({ policyId: 'com.example.trading:bench', tier: 'GOLD' });
const chain = createHashChain();
const events: VcpEvent[] = [];
for (let i = 0; i < N; i++)
  events.push(
    sealEvent(draftEvent('ORD', orderPayload(i), { policy, venueId: 'XLON', accountId: 'ACC-1' }), { chain }),
  );
const signer = generateSigningKey();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vcp-bench-filecp-'));

async function run(fsync: FsyncPolicy, signed: boolean, k: number): Promise<number> {
  const file = path.join(dir, `${fsync}-${signed ? 's' : 'u'}-${k}.jsonl`);
  const sink = new FileSink({ path: file, fsync, ...(signed ? { signer } : {}) });
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i += BATCH) await sink.write(events.slice(i, i + BATCH));
  await sink.close();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  fs.rmSync(file);
  return N / s;
}

// The added work per event on its own: one leaf in the compact range (vs. serialising the event line).
{
  let best = Number.POSITIVE_INFINITY;
  let bestLine = Number.POSITIVE_INFINITY;
  for (let k = 0; k < RUNS; k++) {
    const range = new CompactMerkleRange();
    let t0 = process.hrtime.bigint();
    for (const e of events) range.append(e.security.event_hash);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / N);
    let bytes = 0;
    t0 = process.hrtime.bigint();
    for (const e of events) bytes += serializeEvent(e).length;
    bestLine = Math.min(bestLine, Number(process.hrtime.bigint() - t0) / N);
    if (bytes === 0) console.log('');
  }
  console.log(
    `compact range append: ${best.toFixed(0)} ns/event; serializeEvent (peer): ${bestLine.toFixed(0)} ns/event`,
  );
}

try {
  for (const fsync of ['never', 'every-write'] as const) {
    let plain = 0;
    let signed = 0;
    for (let k = 0; k < RUNS; k++) {
      plain = Math.max(plain, await run(fsync, false, k));
      signed = Math.max(signed, await run(fsync, true, k));
    }
    console.log(
      `fsync ${fsync}: plain ${Math.round(plain).toLocaleString()} events/s, signed checkpoints ${Math.round(signed).toLocaleString()} events/s`,
    );
    ratioLine(`signed / plain (fsync ${fsync})`, signed, plain);
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
