/**
 * Profile driver for sealing (not part of `npm run bench`): seals N events with
 * validation + chain + Merkle append + FileSink append, in a tight loop, so
 * `node --cpu-prof bench/_seal-profile.ts` shows where one core's time goes.
 * Env: N (events, default 300 000), VALIDATE ('own-draft' | 'full' | 'off').
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { draftEvent } from '../src/core/builder.ts';
import { createPolicy } from '../src/core/policy.ts';
import type { VcpEvent } from '../src/core/types.ts';
import { createHashChain } from '../src/integrity/chain.ts';
import { MerkleTree } from '../src/integrity/merkle/index.ts';
import { createSealer } from '../src/recorder/sealer.ts';
import { FileSink } from '../src/sinks/file.ts';
import { orderPayload } from './seal-throughput.ts';

const n = Number(process.env.N ?? 300_000);
const mode = process.env.VALIDATE ?? 'own-draft';
const policy = createPolicy({ policyId: 'com.example.trading:bench', tier: 'GOLD' });
const pool = Array.from({ length: 4096 }, (_, i) =>
  draftEvent('ORD', orderPayload(i), { policy, venueId: 'XLON', accountId: 'ACC-00042' }),
);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vcp-prof-'));
const sink = new FileSink({ path: path.join(dir, 'vcp.jsonl') });
const sealer = createSealer({
  validate: mode === 'off' ? false : mode === 'full' ? true : 'own-draft',
  chain: createHashChain(),
});
const tree = new MerkleTree();
let batch: VcpEvent[] = [];
let writing: Promise<void> | undefined;
const c0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
for (let i = 0; i < n; i++) {
  const r = sealer.seal(pool[i % pool.length]!);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  tree.append(r.event.security.event_hash);
  batch.push(r.event);
  if (batch.length === 1024) {
    await writing;
    writing = sink.write(batch);
    batch = [];
  }
}
await writing;
await sink.write(batch);
const ns = Number(process.hrtime.bigint() - t0);
const cpu = process.cpuUsage(c0);
const cpuNs = (cpu.user + cpu.system) * 1000;
await sink.close();
fs.rmSync(dir, { recursive: true, force: true });
console.log(
  `${mode}: ${Math.round((n / ns) * 1e9)} events/s wall (${(ns / n / 1000).toFixed(2)} µs/event), ${Math.round((n / cpuNs) * 1e9)} events/s per CPU-second (${(cpuNs / n / 1000).toFixed(2)} µs CPU/event)`,
);
