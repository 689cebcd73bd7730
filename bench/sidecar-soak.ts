/**
 * Does the sidecar stay responsive and bounded in memory under hostile and
 * under normal load?
 *
 * The sidecar runs as its own process (`src/cli/sidecar-entry.ts`, or
 * `--entry <file>` to compare another build); its RSS is sampled from
 * /proc every 50 ms. A separate probe process asks `GET /health` every
 * 10 ms on a kept-alive connection and reports the latencies, so the load
 * generator's own work does not colour them. Phases:
 *
 * 1. idle: baseline RSS and /health latency;
 * 2. storm: 32 hostile 8 MiB bodies at once, `--rounds` times (deep nesting, 830 000 keys in
 *    one object or spread over 83 000 objects, one giant string; a quarter
 *    sent chunked): their answers, /health p99 during the storm (target
 *    < 50 ms), peak RSS, and RSS 5 s later (target: back near the start);
 * 3. normal: batches of 100 events on 8 connections, closed loop, for
 *    `--seconds` (default 30; BENCH_QUICK=1: 5): events/s, request p99,
 *    /health p99, RSS start / peak / end (DESIGN: < 300 MB under load).
 *
 *   node bench/sidecar-soak.ts [--seconds 30] [--entry src/cli/sidecar-entry.ts]
 *   (Node flags and glibc arenas of the sidecar as in sidecar-ingest.ts: VCP_BENCH_SIDECAR_NODE_FLAGS, default
 *   --max-semi-space-size=8; MALLOC_ARENA_MAX, default 2)
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildEvent } from '../src/core/builder.ts';
import { createPolicy } from '../src/core/policy.ts';
import { uuidv7 } from '../src/core/uuidv7.ts';
import { SIDECAR_ENV, SIDECAR_NODE_FLAGS, sidecarTuning } from './sidecar-ingest.ts';

const SELF = fileURLToPath(import.meta.url);
const ENTRY = fileURLToPath(new URL('../src/cli/sidecar-entry.ts', import.meta.url));
const MiB = 1024 * 1024;

// ---------------------------------------------------------------------------
// The /health probe (child process)

async function probeMain(url: string): Promise<void> {
  const { Client } = await import('undici');
  const client = new Client(new URL(url).origin, { pipelining: 1 });
  let latencies: number[] = [];
  let codes: Record<string, number> = {};
  let errors = 0;
  let running = true;
  process.on('message', (m: string) => {
    if (m === 'mark') {
      process.send!({ latencies, codes, errors });
      latencies = [];
      codes = {};
      errors = 0;
    } else if (m === 'stop') running = false;
  });
  while (running) {
    const t0 = performance.now();
    try {
      const res = await client.request({ path: '/health', method: 'GET' });
      await res.body.dump();
      latencies.push(performance.now() - t0);
      codes[res.statusCode] = (codes[res.statusCode] ?? 0) + 1;
    } catch {
      errors++;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  await client.close();
  process.exit(0);
}

interface ProbeWindow {
  latencies: number[];
  codes: Record<string, number>;
  errors: number;
}

/** Ends the probe's current window and returns what it measured in it. */
function probeWindow(probe: ChildProcess): Promise<ProbeWindow> {
  return new Promise((resolve) => {
    probe.once('message', (m: ProbeWindow) => resolve(m));
    probe.send('mark');
  });
}

// ---------------------------------------------------------------------------
// Helpers

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN;
}

function latencyLine(label: string, xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  return `${label}: n=${s.length}  p50 ${pct(s, 0.5).toFixed(2)} ms  p99 ${pct(s, 0.99).toFixed(2)} ms  max ${(s.at(-1) ?? Number.NaN).toFixed(1)} ms`;
}

function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Decimal megabytes, the unit of DESIGN's "< 300 MB" (it printed MiB as "MB" before). */
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(0)} MB`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function hostileBodies(): { name: string; body: Buffer }[] {
  const keys: string[] = [];
  for (let i = 0; keys.length < 830_000; i++) keys.push(`"${i.toString(36)}":1`);
  const spread: string[] = [];
  for (let i = 0; i < 83_000; i++)
    spread.push(`{${keys.slice((i % 8000) * 10, (i % 8000) * 10 + 10).join(',')}}`);
  return [
    { name: 'deep arrays', body: Buffer.alloc(8 * MiB - 16, 0x5b) },
    { name: '830k keys in one object', body: Buffer.from(`{${keys.join(',')}}`) },
    { name: '830k keys in 83k objects', body: Buffer.from(`[${spread.join(',')}]`) },
    {
      name: 'one 8 MiB string',
      body: Buffer.from(`{"header":{},"payload":{"s":"${'x'.repeat(8 * MiB - 64)}"}}`),
    },
    { name: 'deep objects', body: Buffer.from(`${'{"a":'.repeat(1_300_000)}1${'}'.repeat(1_300_000)}`) },
  ];
}

function sendBody(url: string, body: Buffer, chunked: boolean): Promise<string> {
  return new Promise((resolve) => {
    const headers: Record<string, string | number> = { 'content-type': 'application/json' };
    if (chunked) headers['transfer-encoding'] = 'chunked';
    else headers['content-length'] = body.length;
    const req = request(`${url}/vcp/log`, { method: 'POST', headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
      });
      res.on('end', () => {
        let code = '';
        try {
          const j = JSON.parse(text) as { error?: string; errors?: { rule: string }[] };
          code = j.errors?.[0]?.rule ?? j.error ?? '';
        } catch {
          code = 'not-json';
        }
        resolve(`${res.statusCode} ${code}`);
      });
    });
    req.on('error', (e) => resolve(`socket error ${(e as NodeJS.ErrnoException).code ?? e.message}`));
    if (chunked) {
      for (let at = 0; at < body.length; at += 256 * 1024) req.write(body.subarray(at, at + 256 * 1024));
      req.end();
    } else req.end(body);
  });
}

/** Conformant v1.1 ORD events (~800 bytes) with fresh UUIDv7 ids, `batch` a body. */
function bodyMaker(batch: number): () => string {
  const policy = createPolicy({ policyId: 'com.example.trading:soak', tier: 'GOLD' });
  const sample = buildEvent(
    'ORD',
    {
      trade_data: {
        order_id: 'ORD-000001',
        symbol: 'EURUSD',
        side: 'BUY',
        order_type: 'LIMIT',
        price: '1.0850',
        quantity: '100000',
      },
    },
    { policy, venueId: 'XLON', accountId: 'ACC-42', symbol: 'EURUSD' },
  );
  const parts = JSON.stringify(sample).split(sample.header.event_id);
  return () => {
    let s = '[';
    for (let i = 0; i < batch; i++) s += (i ? ',' : '') + parts.join(uuidv7());
    return `${s}]`;
  };
}

async function startSidecarChild(entry: string, dir: string): Promise<{ proc: ChildProcess; url: string }> {
  const proc = spawn(
    process.execPath,
    [
      ...SIDECAR_NODE_FLAGS,
      entry,
      '--port',
      '0',
      '--data-dir',
      dir,
      '--anchor-interval',
      '24h',
      '--max-queue',
      '1000000',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: SIDECAR_ENV },
  );
  let err = '';
  proc.stderr!.setEncoding('utf8').on('data', (c: string) => {
    err = (err + c).slice(-4000);
  });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: proc.stdout! }).once('line', resolve);
    proc.once('exit', (code) => reject(new Error(`sidecar exited ${code}: ${err}`)));
  });
  return { proc, url: (JSON.parse(line) as { listening: string }).listening };
}

// ---------------------------------------------------------------------------
// The benchmark

/** Runs the soak; prints the figures. */
export async function run(argv: string[] = []): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      seconds: { type: 'string', default: process.env.BENCH_QUICK === '1' ? '5' : '30' },
      entry: { type: 'string', default: ENTRY },
      hostile: { type: 'string', default: '32' },
      rounds: { type: 'string', default: '3' },
    },
    strict: false,
  });
  const seconds = Number(values.seconds);
  const dir = mkdtempSync(join(tmpdir(), 'vcp-soak-'));
  const { proc, url } = await startSidecarChild(values.entry as string, dir);
  const pid = proc.pid!;
  const samples: { t: number; rss: number }[] = [];
  const sampler = setInterval(() => samples.push({ t: performance.now(), rss: rssOf(pid) }), 50);
  const peakSince = (t: number) => Math.max(...samples.filter((s) => s.t >= t).map((s) => s.rss));
  const probe = fork(SELF, ['--probe', url], { stdio: 'inherit' });
  console.log(
    `sidecar soak, Node ${process.version}, sidecar ${values.entry === ENTRY ? 'from src' : values.entry} (${sidecarTuning()})`,
  );
  try {
    // 1. idle
    await sleep(1500);
    await probeWindow(probe);
    await sleep(1500);
    const idle = await probeWindow(probe);
    const rssStart = rssOf(pid);
    console.log(`idle      RSS ${mb(rssStart)};  ${latencyLine('/health', idle.latencies)}`);

    // 2. storm
    const hostile = hostileBodies();
    const n = Number(values.hostile);
    const rounds = Number(values.rounds);
    await probeWindow(probe);
    const t0 = performance.now();
    const answers: string[] = [];
    for (let r = 0; r < rounds; r++) {
      answers.push(
        ...(await Promise.all(
          Array.from({ length: n }, (_, i) =>
            sendBody(url, hostile[(i + r) % hostile.length]!.body, i % 4 === 3),
          ),
        )),
      );
    }
    const stormMs = performance.now() - t0;
    const storm = await probeWindow(probe);
    const stormPeak = peakSince(t0);
    const tally: Record<string, number> = {};
    for (const a of answers) tally[a] = (tally[a] ?? 0) + 1;
    console.log(
      `storm     ${rounds} rounds of ${n} concurrent hostile bodies of ~8 MiB answered in ${(stormMs / 1000).toFixed(2)} s:`,
    );
    for (const [k, v] of Object.entries(tally).sort()) console.log(`            ${v} × ${k}`);
    console.log(
      `          ${latencyLine('/health during the storm', storm.latencies)}${storm.errors ? `  errors ${storm.errors}` : ''}  codes ${JSON.stringify(storm.codes)}  (target p99 < 50 ms)`,
    );
    await sleep(5000);
    const rssAfterStorm = rssOf(pid);
    console.log(`          RSS start ${mb(rssStart)}, peak ${mb(stormPeak)}, 5 s after ${mb(rssAfterStorm)}`);
    await probeWindow(probe);

    // 3. normal batched load
    const { Pool } = await import('undici');
    const origin = new URL(url).origin;
    const pool = new Pool(origin, { connections: 8, pipelining: 1 });
    const make = bodyMaker(100);
    const latencies: number[] = [];
    const statuses: Record<string, number> = {};
    let events = 0;
    let errors = 0;
    const rssLoadStart = rssOf(pid);
    const t1 = performance.now();
    const end = t1 + seconds * 1000;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (performance.now() < end) {
          const body = make();
          const s = performance.now();
          try {
            const res = await pool.request({
              path: '/vcp/log',
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body,
            });
            await res.body.dump();
            latencies.push(performance.now() - s);
            statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
            if (res.statusCode === 201) events += 100;
          } catch {
            errors++;
          }
        }
      }),
    );
    const loadSec = (performance.now() - t1) / 1000;
    await pool.close();
    const load = await probeWindow(probe);
    const loadPeak = peakSince(t1);
    console.log(
      `normal    batches of 100 on 8 connections for ${loadSec.toFixed(0)} s: ${Math.round(events / loadSec).toLocaleString('en-US')} events/s  statuses ${JSON.stringify(statuses)}${errors ? `  errors ${errors}` : ''}`,
    );
    console.log(`          ${latencyLine('POST /vcp/log', latencies)}`);
    console.log(
      `          ${latencyLine('/health under load', load.latencies)}  codes ${JSON.stringify(load.codes)}`,
    );
    await sleep(3000);
    console.log(
      `          RSS start ${mb(rssLoadStart)}, peak ${mb(loadPeak)}, 3 s after ${mb(rssOf(pid))}  (target < 300 MB)`,
    );
  } finally {
    clearInterval(sampler);
    probe.send('stop');
    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv.includes('--probe')) await probeMain(process.argv[process.argv.indexOf('--probe') + 1]!);
else if (import.meta.url === `file://${process.argv[1]}`) await run(process.argv.slice(2));
