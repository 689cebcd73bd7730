/**
 * How fast does the sidecar ingest over HTTP, and how close is that to what
 * Node's HTTP server can do at all on this machine?
 *
 * The load comes from a separate process (this file, forked with
 * `--load-child`, using an undici Pool) over loopback. In the same run it
 * drives these servers, one after the other:
 *
 * - the ceiling: a bare `node:http` server that only parses the JSON body
 *   and answers 201;
 * - the contract's floor (bench/_contract-floor.ts): the ceiling plus the
 *   least a server must do to keep the sidecar's promises (EventHash,
 *   Merkle leaf, group write + fdatasync before 201), on one thread: how
 *   close to the ceiling a server doing only that gets;
 * - the sidecar, as its own process (file store, fdatasync before every 201, group commit).
 *
 * Scenarios: batches of 100 and single events, closed loop (each connection
 * sends its next request when the previous one is answered), and single
 * events paced at 1 000 events/s for the latency target (latency measured
 * from the scheduled send time, so a stall is not hidden). Another server,
 * when VCP_TEST_PG_URL is set, is what a user could do without us: the same
 * batches INSERTed as jsonb into PostgreSQL with durable commits.
 * Goals (issue 14): batched ≥ 100 000 events/s, ≥ 50 % of the ceiling and
 * ahead of PostgreSQL; single events ≥ 60 % of their ceiling; p99 of single
 * events at 1 000/s under 2 ms; RSS under load < 300 MB. The machine is
 * shared: every round measures all servers, each ratio is taken within its
 * round, and the report gives the medians over `--runs` rounds.
 *
 *   node bench/sidecar-ingest.ts [--seconds 5] [--connections 8] [--runs 3] [--profile <dir>]
 *   (the sidecar runs as its own process; --profile writes its --cpu-prof there;
 *   VCP_BENCH_SIDECAR_NODE_FLAGS replaces its Node flags, default --max-semi-space-size=8;
 *   MALLOC_ARENA_MAX sets its glibc arenas, default 2 ("default": glibc's own);
 *   VCP_BENCH_SIDECAR_ARGS adds to its arguments, e.g. "--ingest-threads 0")
 *   node bench/sidecar-ingest.ts --soak 2 [--soak-rate 2000]   # RSS over a steady run
 */
import { fork, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildEvent } from '../src/core/builder.ts';
import { createPolicy } from '../src/core/policy.ts';
import { uuidv7 } from '../src/core/uuidv7.ts';
import { canonicalize } from '../src/integrity/canonical.ts';
import { resolveSidecarConfig } from '../src/sidecar/config.ts';
import { startSidecar } from '../src/sidecar/server.ts';
import { eventLine } from '../src/sinks/serialize.ts';
import { contractFloorServer } from './_contract-floor.ts';
import { checkGoal } from './_goals.ts';
import { type LocalServer, listenOnLoopback } from './_harness.ts';

/** A load job sent to the child. */
interface Job {
  url: string;
  batch: number;
  connections: number;
  warmupMs: number;
  durationMs: number;
  /** Events per second for a paced run; absent for a closed loop. */
  rate?: number;
  /** How the events are written (bodyMaker); default `sinks`. */
  form?: LineForm;
}

/** What the child measured. */
interface LoadResult {
  requests: number;
  events: number;
  errors: number;
  statuses: Record<string, number>;
  seconds: number;
  eventsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** CPU time of the server's process per stored event in the measured window (µs), when sampled. */
  cpuUsPerEvent?: number;
  /** CPU time of the load generator's process per event in the measured window (µs). */
  loadCpuUsPerEvent?: number;
  /** The load generator's own event-loop delay in the measured window (ms): its part of the latency floor. */
  loadLoopP99Ms?: number;
  loadLoopMaxMs?: number;
  /** Garbage-collection pauses in the load generator during the measured window (count, longest ms). */
  loadGcPauses?: number;
  loadGcMaxMs?: number;
  /** Paced runs: how late the load generator started sending, p99 (ms; part of the measured latency). */
  sendLagP99Ms?: number;
  /** Paced runs: latency counted from the actual send, p99 (ms; without the generator's lateness). */
  fromSendP99Ms?: number;
}

export const SELF = fileURLToPath(import.meta.url);
/** The sidecar to start; VCP_BENCH_SIDECAR_ENTRY points at another checkout's for an A/B comparison. */
const ENTRY =
  process.env.VCP_BENCH_SIDECAR_ENTRY ??
  fileURLToPath(new URL('../src/cli/sidecar-entry.ts', import.meta.url));

// ---------------------------------------------------------------------------
// The load generator (child process)

/**
 * How an event's text is written: `sinks` as the recorder's HttpSink sends it (header and payload as their
 * RFC 8785 text, which the sidecar hashes in place), `builder` as JSON.stringify writes the built event (keys
 * in the builder's order, as other clients may send it: the sidecar writes RFC 8785 again).
 */
type LineForm = 'sinks' | 'builder';

/** A body maker: conformant v1.1 ORD events (~800 bytes each) with fresh UUIDv7 ids. */
function bodyMaker(batch: number, form: LineForm = 'sinks'): () => string {
  const policy = createPolicy({ policyId: 'com.example.trading:bench-algo', tier: 'GOLD' });
  const sample = buildEvent(
    'ORD',
    {
      trade_data: {
        order_id: 'ORD-000001',
        client_order_id: 'C-7781',
        symbol: 'EURUSD',
        side: 'BUY',
        order_type: 'LIMIT',
        price: '1.0850',
        quantity: '100000',
        time_in_force: 'DAY',
        currency: 'USD',
      },
      vcp_risk: { risk_profile_id: 'RP-1', max_order_size: '1000000', current_exposure: '250000' },
    },
    { policy, venueId: 'XLON', accountId: 'ACC-42', symbol: 'EURUSD', operatorId: 'algo-7' },
  );
  // Without `security`: the sidecar computes the hash (fresh ids would not match a sealed one).
  const text =
    form === 'sinks'
      ? eventLine(sample, canonicalize(sample.header), canonicalize(sample.payload))
      : JSON.stringify(sample);
  const parts = text.split(sample.header.event_id); // event_id and trace_id
  const one = () => {
    const id = uuidv7();
    return parts.join(id);
  };
  if (batch === 1) return one;
  return () => {
    let s = '[';
    for (let i = 0; i < batch; i++) s += (i ? ',' : '') + one();
    return `${s}]`;
  };
}

async function runJob(job: Job): Promise<LoadResult> {
  const { Pool } = await import('undici');
  const origin = new URL(job.url).origin;
  const pool = new Pool(origin, { connections: job.connections, pipelining: 1 });
  const make = bodyMaker(job.batch, job.form);
  const headers = { 'content-type': 'application/json' };
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let errors = 0;
  let measuring = false;
  let events = 0;
  let requests = 0;

  const lags: number[] = [];
  const fromSend: number[] = [];
  const send = async (scheduled: number) => {
    const sentAt = performance.now();
    if (measuring && job.rate !== undefined) lags.push(sentAt - scheduled);
    const body = make();
    try {
      const res = await pool.request({ origin, path: '/vcp/log', method: 'POST', headers, body });
      await res.body.dump();
      if (measuring) {
        statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
        latencies.push(performance.now() - scheduled);
        if (job.rate !== undefined) fromSend.push(performance.now() - sentAt);
        requests++;
        if (res.statusCode === 201) events += job.batch;
      }
    } catch {
      if (measuring) errors++;
    }
  };

  // What the previous jobs left is collected now, before this one starts: in a paced run one
  // 15–27 ms full collection of the generator delays a dozen requests by up to its length.
  (globalThis as { gc?: () => void }).gc?.();
  const t0 = performance.now();
  const measureFrom = t0 + job.warmupMs;
  const end = measureFrom + job.durationMs;
  // The load generator's own stalls (event-loop delay, GC pauses) in the measured window: a request
  // it sends late, or an answer it reads late, counts in the latency as if the server were slow.
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  const gcPauses: number[] = [];
  let windowStart = Number.POSITIVE_INFINITY;
  const gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (e.startTime >= windowStart) gcPauses.push(e.duration);
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  let cpuFrom = 0;
  setTimeout(() => {
    windowStart = performance.now();
    measuring = true;
    const u = process.cpuUsage();
    cpuFrom = u.user + u.system;
    loopDelay.enable();
  }, job.warmupMs);

  if (job.rate === undefined) {
    const worker = async () => {
      while (performance.now() < end) await send(performance.now());
    };
    await Promise.all(Array.from({ length: job.connections }, worker));
  } else {
    // Open loop: request k is due at t0 + k / rate; latency counts from that moment.
    const interval = (1000 * job.batch) / job.rate;
    const inflight = new Set<Promise<void>>();
    let k = 0;
    while (performance.now() < end) {
      const now = performance.now();
      while (t0 + k * interval <= now) {
        const p = send(t0 + k * interval);
        inflight.add(p);
        p.finally(() => inflight.delete(p));
        k++;
      }
      await new Promise((r) =>
        setTimeout(r, Math.max(0, Math.min(1, t0 + k * interval - performance.now()))),
      );
    }
    await Promise.all(inflight);
  }
  const u = process.cpuUsage();
  const loadCpu = u.user + u.system - cpuFrom;
  loopDelay.disable();
  gcObserver.disconnect();
  await pool.close();
  const seconds = (Math.min(performance.now(), end) - measureFrom) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? Number.NaN;
  return {
    requests,
    events,
    errors,
    statuses,
    seconds,
    eventsPerSec: events / seconds,
    p50Ms: pct(0.5),
    p99Ms: pct(0.99),
    maxMs: latencies.at(-1) ?? Number.NaN,
    loadCpuUsPerEvent: loadCpu / Math.max(1, events),
    ...(lags.length ? { sendLagP99Ms: lags.sort((a, b) => a - b)[Math.floor(lags.length * 0.99)]! } : {}),
    ...(fromSend.length
      ? { fromSendP99Ms: fromSend.sort((a, b) => a - b)[Math.floor(fromSend.length * 0.99)]! }
      : {}),
    loadLoopP99Ms: loopDelay.percentile(99) / 1e6,
    loadLoopMaxMs: loopDelay.max / 1e6,
    loadGcPauses: gcPauses.length,
    loadGcMaxMs: gcPauses.length ? Math.max(...gcPauses) : 0,
  };
}

function loadChildMain(): void {
  process.on('message', (job: Job) => {
    runJob(job).then(
      (r) => process.send!({ ok: true, result: r }),
      (e: Error) => process.send!({ ok: false, error: e.stack ?? String(e) }),
    );
  });
}

// ---------------------------------------------------------------------------
// The servers and the report (parent process)

export function bareServer(): Promise<LocalServer> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      JSON.parse(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(201, { 'content-type': 'application/json', 'content-length': 15 });
      res.end('{"status":"ok"}');
    });
  });
  return listenOnLoopback(server);
}

/**
 * Node flags of the sidecar's process, as docs/sidecar-api.md#memory tells
 * operators to run it (NODE_OPTIONS). The young generation is capped: with
 * Node 24's default (64 MiB semi-spaces, up to 192 MiB of young generation)
 * the sidecar's peak RSS in one round was 378 MiB with a live heap of
 * 25–80 MiB; with 16 MiB semi-spaces 307–321 MiB, with 8 MiB 272–282 MiB
 * (same-session A/B, 4 rounds each), CPU per event within the rounds'
 * noise (23.0–28.1 µs at 8 against 23.1–32.7 µs at 16).
 */
export const SIDECAR_NODE_FLAGS = (process.env.VCP_BENCH_SIDECAR_NODE_FLAGS ?? '--max-semi-space-size=8')
  .split(' ')
  .filter(Boolean);

/**
 * glibc's arena count for the sidecar's process, as docs/sidecar-api.md#memory tells operators to set it
 * (`MALLOC_ARENA_MAX`; an explicit value in the environment wins, `default` leaves glibc's own, 8 per core).
 * Threads that each get an arena of their own (V8's helpers, libuv's pool, the ingest thread) leave freed memory
 * scattered over many: in five interleaved pairs of `bench/_sidecar-ingest-profile.ts 100 8 8`, 2 arenas peaked
 * 1–25 MiB lower at the same rate (e.g. 249 against 268 MiB at 54.7 and 53.9 k events/s).
 */
export const SIDECAR_ENV: NodeJS.ProcessEnv =
  process.env.MALLOC_ARENA_MAX === 'default'
    ? (({ MALLOC_ARENA_MAX: _, ...rest }) => rest)(process.env)
    : { ...process.env, MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2' };

/** How the sidecar's process is tuned, for the report: its Node flags and its arena count. */
export function sidecarTuning(flags: readonly string[] = SIDECAR_NODE_FLAGS): string {
  const arenas = SIDECAR_ENV.MALLOC_ARENA_MAX;
  return `node ${flags.join(' ')}${arenas ? `, MALLOC_ARENA_MAX=${arenas}` : ''}`;
}

/** More arguments for the sidecar (e.g. `--ingest-threads 0` for the HTTP thread alone). */
const SIDECAR_ARGS = (process.env.VCP_BENCH_SIDECAR_ARGS ?? '').split(' ').filter(Boolean);

/** The sidecar as its own process (`node src/cli/sidecar-entry.ts`), as operators run it. */
export async function sidecarServer(
  dataDir: string,
  profileDir?: string,
  args: string[] = SIDECAR_ARGS,
  entry = ENTRY,
) {
  const flags = [...SIDECAR_NODE_FLAGS];
  if (profileDir) flags.push('--cpu-prof', `--cpu-prof-dir=${profileDir}`);
  const proc = spawn(
    process.execPath,
    [
      ...flags,
      entry,
      '--port',
      '0',
      '--data-dir',
      dataDir,
      '--anchor-interval',
      '24h',
      '--max-queue',
      '1000000',
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: SIDECAR_ENV },
  );
  let err = '';
  proc.stderr!.setEncoding('utf8').on('data', (c: string) => {
    err = (err + c).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: proc.stdout! }).once('line', resolve);
    proc.once('exit', (code) => reject(new Error(`sidecar exited ${code}: ${err}`)));
  });
  const url = (JSON.parse(line) as { listening: string }).listening;
  return {
    url,
    flags,
    cpu: procCpu(proc.pid!),
    /** Peak RSS of the sidecar's process so far (VmHWM), bytes. */
    peakRss: () => {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'));
      return m ? Number(m[1]) * 1024 : Number.NaN;
    },
    /** Group commits so far, from the sidecar's /metrics. */
    metrics: async () => {
      const text = await (await fetch(`${url}/metrics`)).text();
      const num = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
      return {
        events: num('vcp_commit_group_events_sum'),
        groups: num('vcp_commit_group_events_count'),
        fsyncSeconds: num('vcp_fsync_seconds_sum'),
        fsyncs: num('vcp_fsync_seconds_count'),
      };
    },
    close: async () => {
      proc.kill('SIGTERM');
      await exited;
    },
  };
}

type Child = ReturnType<typeof fork>;

/**
 * Run a job; with `cpu` (the server process's CPU time in µs), also the
 * server's CPU per event over the measured window: on a shared machine this
 * varies far less than events/s, and it is what bounds throughput here.
 */
/** The load generator's process (`--expose-gc`: it collects its garbage just before each measured window). */
export function forkLoadChild(): Child {
  return fork(SELF, ['--load-child'], { stdio: 'inherit', execArgv: [...process.execArgv, '--expose-gc'] });
}

export function runInChild(child: Child, job: Job, cpu?: () => number): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    let from = Number.NaN;
    const timer = cpu
      ? setTimeout(() => {
          from = cpu();
        }, job.warmupMs)
      : undefined;
    child.once('message', (m: { ok: boolean; result?: LoadResult; error?: string }) => {
      clearTimeout(timer);
      if (!m.ok) return reject(new Error(m.error));
      const r = m.result!;
      if (cpu) r.cpuUsPerEvent = (cpu() - from) / Math.max(1, r.events);
      resolve(r);
    });
    child.send(job);
  });
}

/** CPU time (user + system, µs) of this process. */
function ownCpu(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/** CPU time (user + system, µs) of another process, from /proc (clock ticks of 10 ms). */
function procCpu(pid: number): () => number {
  return () => {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10_000; // utime, stime (fields 14, 15)
  };
}

function fmt(r: LoadResult): string {
  const bad = Object.entries(r.statuses)
    .filter(([s]) => s !== '201')
    .map(([s, n]) => `${s}×${n}`);
  return (
    `${Math.round(r.eventsPerSec).toLocaleString('en-US').padStart(9)} events/s  ` +
    `${Math.round(r.requests / r.seconds)
      .toLocaleString('en-US')
      .padStart(7)} req/s  ` +
    `p50 ${r.p50Ms.toFixed(2).padStart(6)} ms  p99 ${r.p99Ms.toFixed(2).padStart(6)} ms  max ${r.maxMs.toFixed(1).padStart(6)} ms` +
    (r.cpuUsPerEvent !== undefined ? `  CPU ${r.cpuUsPerEvent.toFixed(1).padStart(5)} µs/event` : '') +
    (r.loadCpuUsPerEvent !== undefined ? `  load gen CPU ${r.loadCpuUsPerEvent.toFixed(1)} µs/event` : '') +
    (r.sendLagP99Ms !== undefined
      ? `  send lag p99 ${r.sendLagP99Ms.toFixed(2)} ms, from send p99 ${r.fromSendP99Ms!.toFixed(2)} ms`
      : '') +
    (r.loadLoopP99Ms !== undefined
      ? `  load gen loop delay p99 ${r.loadLoopP99Ms.toFixed(1)} max ${r.loadLoopMaxMs!.toFixed(1)} ms, GC ${r.loadGcPauses}× max ${r.loadGcMaxMs!.toFixed(1)} ms`
      : '') +
    (r.errors ? `  errors ${r.errors}` : '') +
    (bad.length ? `  non-201: ${bad.join(' ')}` : '')
  );
}

/** The issue's goals (issue 14), checked on the medians of the runs. */
const GOALS = {
  batchEventsPerSec: 100_000,
  batchRatio: 0.5,
  singleRatio: 0.6,
  pacedP99Ms: 2,
  /** DESIGN's "< 300 MB": decimal megabytes (286 MiB). */
  rssBytes: 300e6,
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** One full round: ceiling, PostgreSQL peer (if configured), sidecar; returns the round's results. */
async function round(
  child: Child,
  n: number,
  seconds: number,
  connections: number,
  profileDir?: string,
): Promise<{ results: Record<string, LoadResult>; rss: number; stored: number; groups: string }> {
  const job = (url: string, batch: number, conns: number, rate?: number): Job => ({
    url,
    batch,
    connections: conns,
    warmupMs: 1000,
    durationMs: seconds * 1000,
    ...(rate ? { rate } : {}),
  });
  const results: Record<string, LoadResult> = {};
  const line = (name: string, r: LoadResult) => console.log(`  [${n}] ${name.padEnd(36)} ${fmt(r)}`);

  const bare = await bareServer();
  results.bare100 = await runInChild(child, job(bare.url, 100, connections), ownCpu);
  line(`ceiling  batch 100, ${connections} conns`, results.bare100);
  results.bare1 = await runInChild(child, job(bare.url, 1, connections * 4), ownCpu);
  line(`ceiling  batch 1, ${connections * 4} conns`, results.bare1);
  // The same paced load on the bare server: what the client and HTTP alone add to the latency.
  results.barePaced1 = await runInChild(child, job(bare.url, 1, connections, 1000));
  line('ceiling  batch 1, paced 1 000 events/s', results.barePaced1);
  await bare.close();

  // The least any server keeping the contract must do (bench/_contract-floor.ts), in this process as the ceiling is.
  const floorDir = mkdtempSync(join(tmpdir(), 'vcp-bench-floor-'));
  try {
    const floor = await contractFloorServer(floorDir);
    try {
      results.floor100 = await runInChild(child, job(floor.url, 100, connections), ownCpu);
      line(`floor    batch 100, ${connections} conns`, results.floor100);
      results.floor1 = await runInChild(child, job(floor.url, 1, connections * 4), ownCpu);
      line(`floor    batch 1, ${connections * 4} conns`, results.floor1);
      // The paced load on the floor: the latency any server pays for an fdatasync before each 201 here.
      results.floorPaced1 = await runInChild(child, job(floor.url, 1, connections, 1000));
      line('floor    batch 1, paced 1 000 events/s', results.floorPaced1);
    } finally {
      await floor.close();
    }
  } finally {
    rmSync(floorDir, { recursive: true, force: true });
  }

  const pgUrl = process.env.VCP_TEST_PG_URL;
  if (pgUrl) {
    const pg = await pgServer(pgUrl, connections);
    try {
      results.pg100 = await runInChild(child, job(pg.url, 100, connections), ownCpu);
      line(`postgres batch 100, ${connections} conns`, results.pg100);
    } finally {
      await pg.close();
    }
  }

  const dataDir = mkdtempSync(join(tmpdir(), 'vcp-bench-sidecar-'));
  try {
    const sc = await sidecarServer(dataDir, profileDir);
    try {
      results.sidecar100 = await runInChild(child, job(sc.url, 100, connections), sc.cpu);
      line(`sidecar  batch 100, ${connections} conns`, results.sidecar100);
      results.sidecar1 = await runInChild(child, job(sc.url, 1, connections * 4), sc.cpu);
      line(`sidecar  batch 1, ${connections * 4} conns`, results.sidecar1);
      results.paced1 = await runInChild(child, job(sc.url, 1, connections, 1000));
      line('sidecar  batch 1, paced 1 000 events/s', results.paced1);
      const rss = sc.peakRss();
      const m = await sc.metrics();
      // Last, after the peak RSS and the counts were read: its events would add to the index the RSS goal reads.
      results.sidecar100builder = await runInChild(
        child,
        { ...job(sc.url, 100, connections), form: 'builder' },
        sc.cpu,
      );
      line(`sidecar  batch 100, keys in builder order`, results.sidecar100builder);
      const groups =
        `(${sidecarTuning(sc.flags)}) ${m.events.toLocaleString('en-US')} events stored in ${m.groups.toLocaleString('en-US')} group commits ` +
        `(mean ${(m.events / Math.max(1, m.groups)).toFixed(1)} events per fdatasync, ` +
        `mean write+fdatasync ${((m.fsyncSeconds / Math.max(1, m.fsyncs)) * 1000).toFixed(2)} ms)`;
      return { results, rss, stored: m.events, groups };
    } finally {
      await sc.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Run the benchmark (or the soak); prints a report and returns the median measurements. */
export async function run(argv: string[] = []): Promise<Record<string, LoadResult>> {
  const { values } = parseArgs({
    args: argv,
    options: {
      seconds: { type: 'string' },
      connections: { type: 'string' },
      runs: { type: 'string' },
      profile: { type: 'string' },
      soak: { type: 'string' },
      'soak-rate': { type: 'string' },
    },
  });
  const quick = process.env.BENCH_QUICK === '1';
  const seconds = Number(values.seconds ?? (quick ? 2 : 5));
  const connections = Number(values.connections ?? 8);
  const runs = Number(values.runs ?? (quick ? 1 : 3));
  const child = forkLoadChild();
  try {
    if (values.soak !== undefined) {
      const dataDir = mkdtempSync(join(tmpdir(), 'vcp-bench-sidecar-'));
      try {
        await soak(child, dataDir, Number(values.soak), Number(values['soak-rate'] ?? 2000));
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
      return {};
    }
    console.log(
      `sidecar ingest over HTTP, load from a separate process, ${runs} round(s) of ${seconds}s per scenario, ` +
        `Node ${process.version} ${process.execArgv.join(' ')}, loadavg ${readLoadavg()}`,
    );
    if (!process.env.VCP_TEST_PG_URL)
      console.log('  (VCP_TEST_PG_URL not set: the PostgreSQL peer is skipped)');
    const rounds: Awaited<ReturnType<typeof round>>[] = [];
    for (let n = 1; n <= runs; n++) {
      const r = await round(child, n, seconds, connections, values.profile);
      console.log(`  [${n}] sidecar  ${r.groups}; peak RSS ${(r.rss / 2 ** 20).toFixed(0)} MiB`);
      rounds.push(r);
    }
    const ratio = (f: (r: Record<string, LoadResult>) => number) => median(rounds.map((r) => f(r.results)));
    const med = (k: string) => ratio((r) => r[k]?.eventsPerSec ?? Number.NaN);
    const r100 = ratio((r) => r.sidecar100!.eventsPerSec / r.bare100!.eventsPerSec);
    const r1 = ratio((r) => r.sidecar1!.eventsPerSec / r.bare1!.eventsPerSec);
    const rPg = ratio((r) => (r.pg100 ? r.sidecar100!.eventsPerSec / r.pg100.eventsPerSec : Number.NaN));
    const p99 = ratio((r) => r.paced1!.p99Ms);
    const floorP99 = ratio((r) => r.floorPaced1!.p99Ms);
    const rss = median(rounds.map((r) => r.rss));
    const stored = median(rounds.map((r) => r.stored));
    const k = (x: number) => `${Math.round(x).toLocaleString('en-US')}/s`;
    const goal = (what: string, measured: string, met: boolean) =>
      checkGoal('sidecar-ingest', what, measured, met);
    console.log(
      `medians of ${runs} round(s), each ratio taken within its round (loadavg now ${readLoadavg()}):`,
    );
    console.log(
      `  batch 100: sidecar ${k(med('sidecar100'))}, ceiling ${k(med('bare100'))} → ${(r100 * 100).toFixed(1)} % ` +
        `(goal ≥ ${GOALS.batchEventsPerSec.toLocaleString('en-US')}/s: ${goal(`batched ingest ≥ ${GOALS.batchEventsPerSec.toLocaleString('en-US')} events/s durable`, k(med('sidecar100')), med('sidecar100') >= GOALS.batchEventsPerSec)}; ` +
        `≥ ${GOALS.batchRatio * 100} % of the ceiling: ${goal(`batched ingest ≥ ${GOALS.batchRatio * 100} % of the bare server`, `${(r100 * 100).toFixed(1)} % (ceiling ${k(med('bare100'))})`, r100 >= GOALS.batchRatio)})`,
    );
    console.log(
      `  batch 100, the same events with keys in the builder's order (as other clients may send them; the sidecar writes RFC 8785 again): sidecar ${k(med('sidecar100builder'))} = ${(ratio((r) => r.sidecar100builder!.eventsPerSec / r.bare100!.eventsPerSec) * 100).toFixed(1)} % of the ceiling, ${ratio((r) => r.sidecar100builder!.cpuUsPerEvent ?? Number.NaN).toFixed(1)} µs CPU/event`,
    );
    if (process.env.VCP_TEST_PG_URL)
      console.log(
        `  batch 100 against PostgreSQL jsonb INSERT (${k(med('pg100'))}): ${rPg.toFixed(2)}× (goal > 1: ${goal('batched ingest ahead of PostgreSQL jsonb INSERT', `${rPg.toFixed(2)}× (PostgreSQL ${k(med('pg100'))})`, rPg > 1)})`,
      );
    const cpu = (key: string) => ratio((r) => r[key]?.cpuUsPerEvent ?? Number.NaN);
    console.log(
      `  CPU per event of the server's process: batch 100 sidecar ${cpu('sidecar100').toFixed(1)} µs, ceiling ${cpu('bare100').toFixed(1)} µs ` +
        `(ceiling ÷ sidecar ${ratio((r) => r.bare100!.cpuUsPerEvent! / r.sidecar100!.cpuUsPerEvent!).toFixed(2)}); ` +
        `batch 1 sidecar ${cpu('sidecar1').toFixed(1)} µs, ceiling ${cpu('bare1').toFixed(1)} µs ` +
        `(${ratio((r) => r.bare1!.cpuUsPerEvent! / r.sidecar1!.cpuUsPerEvent!).toFixed(2)}); PostgreSQL peer's node process ${cpu('pg100').toFixed(1)} µs (plus the server's)`,
    );
    const share = (a: string, b: string) => ratio((r) => r[a]!.eventsPerSec / r[b]!.eventsPerSec);
    console.log(
      `  the contract's floor (JSON.parse, EventHash, Merkle leaf, group write + fdatasync; nothing else): ` +
        `batch 100 ${k(med('floor100'))} = ${(share('floor100', 'bare100') * 100).toFixed(1)} % of the ceiling, ${cpu('floor100').toFixed(1)} µs CPU/event; ` +
        `batch 1 ${k(med('floor1'))} = ${(share('floor1', 'bare1') * 100).toFixed(1)} %, ${cpu('floor1').toFixed(1)} µs. ` +
        `The sidecar reaches ${share('sidecar100', 'floor100').toFixed(2)} (batch 100) and ${share('sidecar1', 'floor1').toFixed(2)} (batch 1) of the floor's rate`,
    );
    console.log(
      `  batch 1:   sidecar ${k(med('sidecar1'))}, ceiling ${k(med('bare1'))} → ${(r1 * 100).toFixed(1)} % (goal ≥ ${GOALS.singleRatio * 100} %: ${goal(`single events ≥ ${GOALS.singleRatio * 100} % of the bare server`, `${(r1 * 100).toFixed(1)} % (${k(med('sidecar1'))} against ${k(med('bare1'))})`, r1 >= GOALS.singleRatio)})`,
    );
    console.log(
      `  paced 1 000 events/s: p99 ${p99.toFixed(2)} ms (goal < ${GOALS.pacedP99Ms} ms: ${goal(`paced 1 000 events/s p99 < ${GOALS.pacedP99Ms} ms`, `${p99.toFixed(2)} ms (bare server ${ratio((r) => r.barePaced1!.p99Ms).toFixed(2)} ms, contract floor ${floorP99.toFixed(2)} ms)`, p99 < GOALS.pacedP99Ms)}); ` +
        `the bare server under the same paced load: p50 ${ratio((r) => r.barePaced1!.p50Ms).toFixed(2)} ms, p99 ${ratio((r) => r.barePaced1!.p99Ms).toFixed(2)} ms; ` +
        `sidecar p50 ${ratio((r) => r.paced1!.p50Ms).toFixed(2)} ms; the contract's floor under the same load: ` +
        `p50 ${ratio((r) => r.floorPaced1!.p50Ms).toFixed(2)} ms, p99 ${floorP99.toFixed(2)} ms` +
        (floorP99 >= GOALS.pacedP99Ms
          ? ` (the floor itself misses ${GOALS.pacedP99Ms} ms: out of reach on this machine in this run)`
          : ''),
    );
    console.log(
      `  peak RSS of the sidecar's process ${(rss / 1e6).toFixed(0)} MB = ${(rss / 2 ** 20).toFixed(0)} MiB (goal < ${GOALS.rssBytes / 1e6} MB: ${goal(`RSS under load < ${GOALS.rssBytes / 1e6} MB`, `${(rss / 1e6).toFixed(0)} MB (${(rss / 2 ** 20).toFixed(0)} MiB)`, rss < GOALS.rssBytes)}); ` +
        `the round stored ${stored.toLocaleString('en-US')} events, and the file store keeps about ${INDEX_BYTES_PER_EVENT} bytes of each in memory ` +
        `(Merkle tree and id index, docs/performance.md#memory): about ${((stored * INDEX_BYTES_PER_EVENT) / 1e6).toFixed(0)} MB of the peak, which grows with the log, not with the load`,
    );
    return rounds.at(-1)!.results;
  } finally {
    child.kill();
  }
}

/** What the file store holds in memory per stored event (docs/performance.md#memory: tree 64, location 16, id key ~34). */
const INDEX_BYTES_PER_EVENT = 114;

function readLoadavg(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return 'n/a';
  }
}

/**
 * What a user could do without the sidecar: a `node:http` server that parses
 * each batch (to split it) and INSERTs its items as jsonb rows into
 * PostgreSQL, answering 201 after a durable commit (`synchronous_commit = on`;
 * the server's `fsync` setting is printed). The table is an ordinary one
 * created for the run and dropped after it: a TEMP table is not WAL-logged,
 * so its commits would not be durable.
 */
async function pgServer(url: string, connections: number) {
  const { default: pg } = await import('pg');
  // synchronous_commit is set per session at connect time (the 201 then means durable).
  const pool = new pg.Pool({ connectionString: url, max: connections, options: '-c synchronous_commit=on' });
  const table = `vcp_bench_ingest_${process.pid}_${Date.now()}`;
  const setup = await pool.connect();
  try {
    const fsync = (await setup.query('SHOW fsync')).rows[0].fsync as string;
    const sc = (await setup.query('SHOW synchronous_commit')).rows[0].synchronous_commit as string;
    if (fsync !== 'on' || sc !== 'on')
      console.log(`  (PostgreSQL has fsync=${fsync}, synchronous_commit=${sc}: its commits are not durable)`);
    await setup.query(`CREATE TABLE ${table} (id bigserial PRIMARY KEY, doc jsonb NOT NULL)`);
  } finally {
    setup.release();
  }
  const insertMany = `INSERT INTO ${table} (doc) SELECT jsonb_array_elements($1::jsonb)`;
  const insertOne = `INSERT INTO ${table} (doc) VALUES ($1::jsonb)`;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const value = JSON.parse(text) as unknown;
      pool.query(Array.isArray(value) ? insertMany : insertOne, [text]).then(
        () => {
          res.writeHead(201, { 'content-type': 'application/json', 'content-length': 15 });
          res.end('{"status":"ok"}');
        },
        (e: Error) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(e.message);
        },
      );
    });
  });
  return listenOnLoopback(server, async () => {
    await pool.query(`DROP TABLE IF EXISTS ${table}`).catch(() => {});
    await pool.end();
  });
}

/** The sidecar in this process (the soak samples this process's memory). */
async function inProcessSidecar(dataDir: string) {
  const config = resolveSidecarConfig(
    { port: '0', 'data-dir': dataDir, 'max-queue': '1000000', 'anchor-interval': '24h' },
    {},
    dataDir,
  );
  const s = await startSidecar({ config, log: () => {} });
  return { url: s.url, close: () => s.close(), sidecar: s };
}

/** Steady load for `minutes`; RSS of the sidecar's process sampled every 5 s. */
async function soak(child: Child, dataDir: string, minutes: number, rate: number): Promise<void> {
  const sc = await inProcessSidecar(dataDir);
  const batch = 10;
  console.log(
    `soak: ${minutes} min at ${rate} events/s (batches of ${batch}), sidecar in this process (pid ${process.pid})`,
  );
  const samples: { t: number; rss: number; heap: number; events: number }[] = [];
  const started = Date.now();
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    samples.push({
      t: (Date.now() - started) / 1000,
      rss: m.rss,
      heap: m.heapUsed,
      events: sc.sidecar.context.tree.size,
    });
    const s = samples.at(-1)!;
    console.log(
      `  t=${s.t.toFixed(0).padStart(4)}s  rss ${(s.rss / 2 ** 20).toFixed(1).padStart(6)} MiB  heap ${(s.heap / 2 ** 20).toFixed(1).padStart(6)} MiB  events ${s.events}`,
    );
  }, 5000);
  const r = await runInChild(child, {
    url: sc.url,
    batch,
    connections: 8,
    warmupMs: 0,
    durationMs: minutes * 60_000,
    rate,
  });
  clearInterval(timer);
  // Skip the first 10 s (JIT, pools, first allocations) for the start figure.
  const first = samples.find((s) => s.t >= 10) ?? samples[0]!;
  const last = samples.at(-1)!;
  const grown = last.rss - first.rss;
  const perEvent = grown / Math.max(1, last.events - first.events);
  console.log(`soak result: ${fmt(r)}`);
  console.log(
    `  RSS start (t=${first.t.toFixed(0)}s) ${(first.rss / 2 ** 20).toFixed(1)} MiB → end ${(last.rss / 2 ** 20).toFixed(1)} MiB, ` +
      `max ${(Math.max(...samples.map((s) => s.rss)) / 2 ** 20).toFixed(1)} MiB; heap ${(first.heap / 2 ** 20).toFixed(1)} → ${(last.heap / 2 ** 20).toFixed(1)} MiB`,
  );
  console.log(
    `  growth ${(grown / 2 ** 20).toFixed(1)} MiB over ${(last.events - first.events).toLocaleString('en-US')} events = ${perEvent.toFixed(0)} bytes/event ` +
      '(expected by design: 64 B Merkle tree + ~28 B id key, leaf index and table slot + 16 B record location per stored event)',
  );
  await sc.close();
}

if (process.argv.includes('--load-child')) loadChildMain();
else if (process.argv[1] === SELF) {
  run(process.argv.slice(2)).catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
