/**
 * Profile driver for `vcp verify` on one thread: run with `node --cpu-prof bench/_verify-profile.ts [path]`
 * after `BENCH_QUICK=1 node bench/verify.ts` has built the export (`-builder.jsonl` for the other line form).
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSigner } from '../src/integrity/sign.ts';
import { readFileBatches, Verifier } from '../src/verify/index.ts';

const SEED = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60';
const path = process.argv[2] ?? join(tmpdir(), 'vcp-bench-verify-100000-sinks.jsonl');
const threads = Number(process.env.THREADS ?? 0);
const t0 = performance.now();
const c0 = process.cpuUsage();
const v = new Verifier({ publicKeys: [createSigner(SEED).publicKey], allowLocalAnchors: true, threads });
await v.pushBatches(readFileBatches(path));
const r = await v.finish();
const s = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(c0);
console.log(`${r.verdict} in ${s.toFixed(2)} s, CPU ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s`);
