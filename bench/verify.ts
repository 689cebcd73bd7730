/**
 * Question: how fast does `vcp verify` check a 1,000,000-event export, on one thread and with its default
 * worker threads, and how does memory grow, against the floor of reading the same file line by line with
 * JSON.parse + SHA-256 of each line on one thread?
 *
 * Target (issue 9, DESIGN.md): ≥ 100,000 events/s on one core, flat memory, bounded line length. The goal is
 * held to the one-thread run; the threaded run's rate is printed beside it (it uses more than one core).
 * Run: `node bench/verify.ts` (BENCH_QUICK=1: 100,000 events). The export is built once per size in the
 * temp folder (sealed, chained events of ~1 KB, anchors every 100,000, a closing signed checkpoint), with
 * its event lines as the recorder's sinks write them; one more one-thread run reads the same events with
 * their keys in the builder's order, as other producers may write them.
 */
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, statSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { disableAllocationSitePretenuring } from '../src/cli/gc-tuning.ts';
import { buildEvent } from '../src/core/builder.ts';
import { createPolicy } from '../src/core/policy.ts';
import { uuidv7 } from '../src/core/uuidv7.ts';
import { createAnchorRecord } from '../src/integrity/anchor-record.ts';
import { canonicalize } from '../src/integrity/canonical.ts';
import { createHashChain } from '../src/integrity/chain.ts';
import { signCheckpoint } from '../src/integrity/checkpoint/index.ts';
import { digestHex } from '../src/integrity/digest.ts';
import { MerkleTree } from '../src/integrity/merkle/index.ts';
import { sealEvent } from '../src/integrity/seal.ts';
import { createSigner, generateSigningKey } from '../src/integrity/sign.ts';
import { eventLine } from '../src/sinks/serialize.ts';
import { readFileBatches, readFileLines, Verifier } from '../src/verify/index.ts';
import { checkGoal } from './_goals.ts';

const N = process.env.BENCH_QUICK ? 100_000 : 1_000_000;
const SEED = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60'; // RFC 8032 test 1: a fixed key

/**
 * How the event lines are written: `sinks` as the recorder's sinks write them (header and payload as the
 * RFC 8785 text that was hashed: the recorder's file, and the sidecar's export of what an HttpSink sent), or
 * `builder` as JSON.stringify writes the built objects (keys in the builder's order: other producers).
 */
export type LineForm = 'sinks' | 'builder';

async function buildExport(path: string, form: LineForm): Promise<void> {
  const signer = createSigner(SEED);
  const policy = createPolicy({ policyId: 'com.example:bench', tier: 'GOLD', hashChain: true });
  const origin = 'vcp-instrument/bench';
  const meta = {
    format: 'vcp-export',
    version: 2,
    origin,
    producer: 'bench',
    merkle_mode: 'rfc6962',
    from: 0,
    to: N,
    tree_size: N,
    signing_key_id: signer.keyId,
  };
  const tmp = `${path}.tmp`;
  const out = createWriteStream(tmp);
  const write = (s: string) =>
    out.write(`${s}\n`) ? undefined : new Promise<void>((r) => out.once('drain', () => r()));
  await write(JSON.stringify({ vcp_export: meta }));
  const chain = createHashChain();
  const tree = new MerkleTree();
  const anchors: string[] = [];
  const traceId = uuidv7();
  for (let i = 0; i < N; i++) {
    const e = sealEvent(
      buildEvent(
        'ORD',
        {
          trade_data: {
            order_id: `ORD-${i}`,
            client_order_id: `C-${i}`,
            side: 'BUY',
            order_type: 'LIMIT',
            price: '1.0850',
            quantity: '100000',
            time_in_force: 'GTC',
          },
          vcp_gov: {
            algo_id: 'trend-follower',
            algo_version: '2.3.1',
            decision_factors: [{ name: 'momentum', value: '0.82' }],
          },
        },
        { policy, traceId, venueId: 'XLON', accountId: 'ACC-7781-PRIME', symbol: 'EURUSD' },
      ),
      { chain },
    );
    e.security.merkle_index = tree.append(e.security.event_hash);
    await write(
      form === 'sinks' ? eventLine(e, canonicalize(e.header), canonicalize(e.payload)) : JSON.stringify(e),
    );
    if ((i + 1) % 100_000 === 0) {
      const a = createAnchorRecord(
        {
          merkle_root: tree.root(),
          tree_size: tree.size,
          merkle_mode: 'rfc6962',
          event_count: 100_000,
          first_event_id: '',
          last_event_id: e.header.event_id,
          policy_id: policy.policy_id,
        },
        { signer },
      );
      anchors.push(JSON.stringify({ anchor_record: a }));
    }
  }
  for (const a of anchors) await write(a);
  await write(
    JSON.stringify({
      vcp_checkpoint: { note: signCheckpoint({ origin, treeSize: N, rootHex: tree.root(), meta }, signer) },
    }),
  );
  await new Promise<void>((r) => out.end(r));
  await rename(tmp, path);
}

function rssSampler(): { stop(): number } {
  let peak = process.memoryUsage().rss;
  const t = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 50);
  return {
    stop() {
      clearInterval(t);
      return Math.max(peak, process.memoryUsage().rss);
    },
  };
}

/** The export of `n` events in `form`, built once per size and form in the temp folder. */
export async function exportFile(form: LineForm): Promise<string> {
  const path = join(tmpdir(), `vcp-bench-verify-${N}-${form}.jsonl`);
  if (!existsSync(path)) {
    const t0 = performance.now();
    await buildExport(path, form);
    console.log(
      `built ${path} (${(statSync(path).size / 1e6).toFixed(0)} MB) in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
  }
  return path;
}

export async function run(): Promise<void> {
  // As `vcp verify` runs: the CLI turns V8's allocation-site pretenuring off (src/cli/gc-tuning.ts).
  disableAllocationSitePretenuring();
  const path = await exportFile('sinks');
  const mb = statSync(path).size / 1e6;

  // Floor: the same lines, JSON.parse + SHA-256 each, nothing else.
  global.gc?.();
  const t0 = performance.now();
  let n = 0;
  for await (const l of readFileLines(path)) {
    if (!('text' in l)) continue;
    JSON.parse(l.text);
    createHash('sha256').update(l.text).digest();
    n++;
  }
  const floorS = (performance.now() - t0) / 1000;
  const floorRate = N / floorS;

  // The contract's floor on one thread: what any verifier must do per event to recompute what the export
  // claims (JSON.parse, RFC 8785 of header and payload, the EventHash, the Merkle leaf and its node), and
  // nothing else: no strict scan, schema, ids, chain, signatures or findings.
  global.gc?.();
  const floorTree = new MerkleTree();
  const t1 = performance.now();
  for await (const l of readFileLines(path)) {
    if (!('text' in l)) continue;
    const v = JSON.parse(l.text) as { header?: unknown; payload?: unknown };
    if (v.header === undefined) continue;
    floorTree.append(digestHex('SHA256', canonicalize(v.header) + canonicalize(v.payload)));
  }
  const contractRate = N / ((performance.now() - t1) / 1000);

  const verifyOnce = async (threads: number | undefined, file = path) => {
    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    const sampler = rssSampler();
    const c0 = process.cpuUsage();
    const m0 = process.threadCpuUsage();
    const t0 = performance.now();
    const v = new Verifier({
      publicKeys: [createSigner(SEED).publicKey],
      allowLocalAnchors: true,
      ...(threads !== undefined ? { threads } : {}),
    });
    await v.pushBatches(readFileBatches(file));
    const report = await v.finish();
    const s = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(c0);
    const main = process.threadCpuUsage(m0);
    const peak = sampler.stop();
    return {
      rate: N / s,
      verdict: report.verdict,
      cpuUs: (cpu.user + cpu.system) / N,
      mainUs: (main.user + main.system) / N,
      onThreads: v.linesOnThreads,
      rssBefore,
      peak,
    };
  };
  const one = await verifyOnce(0);
  const many = await verifyOnce(undefined);
  // The same events as other producers write them (keys in the builder's order): RFC 8785 is written again.
  const other = await verifyOnce(0, await exportFile('builder'));
  const threads = Math.min(4, availableParallelism());
  console.log(`export: ${N} events, ${mb.toFixed(0)} MB, ${n} lines`);
  console.log(
    `floor (line reader + JSON.parse + SHA-256 per line, one thread): ${(floorRate / 1000).toFixed(1)} k events/s`,
  );
  console.log(
    `the contract's floor (JSON.parse + RFC 8785 + SHA-256 + Merkle append per event, one thread): ${(contractRate / 1000).toFixed(1)} k events/s${contractRate < 100_000 ? ': 100 k events/s is out of reach on one core of this machine' : ''}`,
  );
  console.log(
    `vcp verify, one thread (--threads 0): ${(one.rate / 1000).toFixed(1)} k events/s, ${one.cpuUs.toFixed(1)} µs CPU/event, verdict ${one.verdict}`,
  );
  console.log(
    `vcp verify, one thread, the same events with keys in the builder's order (RFC 8785 written again, as for other producers' lines): ${(other.rate / 1000).toFixed(1)} k events/s, ${other.cpuUs.toFixed(1)} µs CPU/event, verdict ${other.verdict}`,
  );
  console.log(
    `vcp verify, default (${threads} worker threads + main, ${many.onThreads} lines analysed on them): ${(many.rate / 1000).toFixed(1)} k events/s, ${many.cpuUs.toFixed(1)} µs CPU/event (all threads; main thread ${many.mainUs.toFixed(1)}), verdict ${many.verdict}`,
  );
  console.log(
    `ratio verify / floor: ${(many.rate / floorRate).toFixed(2)} (one thread ${(one.rate / floorRate).toFixed(2)}; one thread / the contract's floor ${(one.rate / contractRate).toFixed(2)}); threads / one thread ${(many.rate / one.rate).toFixed(2)}×; target ≥ 100 k events/s on one core: ${checkGoal('verify', 'vcp verify ≥ 100 k events/s on one core', `${(one.rate / 1000).toFixed(1)} k events/s on one thread (${(one.rate / contractRate).toFixed(2)} of the contract's floor; ${(many.rate / 1000).toFixed(1)} k with ${threads} worker threads)`, one.rate >= 100_000)}`,
  );
  for (const [name, r] of [
    ['one thread', one],
    ['threads', many],
  ] as const)
    console.log(
      `RSS (${name}): ${(r.rssBefore / 1e6).toFixed(0)} MB before, peak ${(r.peak / 1e6).toFixed(0)} MB (${((r.peak - r.rssBefore) / N).toFixed(0)} bytes/event)`,
    );
  void generateSigningKey;
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
