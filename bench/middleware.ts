/**
 * Question: how much throughput does the VCP middleware cost a small JSON
 * route? Budget (DESIGN): ≤ 5 % of the route's requests/s.
 *
 * Three processes per measurement, so the numbers are not one event loop
 * competing with itself: this coordinator, a server (forked, one framework
 * and one variant), and a load generator (forked, autocannon's programmatic
 * API) on loopback. Variants, alternated round by round to spread drift:
 *   bare   the route alone
 *   trace  + vcpExpress()/vcpKoa() with no routes: trace id from the header,
 *          one AsyncLocalStorage.run, echo header, 'close' listener
 *   vcp    + route mapping that records one ORD-like event per request
 *          through a real recorder (SHA-256 sealing, default queue) into a
 *          MemorySink that the server clears every second
 * Each request carries an `x-vcp-trace-id`, as traffic from instrumented
 * callers would. Reported: median req/s over the rounds, and overhead =
 * 1 − variant/bare. The recorder's counters are printed for the `vcp`
 * variant, so dropped events (which would flatter the number) show.
 *
 * Run: `node bench/middleware.ts` (BENCH_QUICK=1 for a short run;
 * BENCH_FRAMEWORKS=express5,koa3 to choose; BENCH_CONNECTIONS, BENCH_SECONDS,
 * BENCH_ROUNDS to tune).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type expressType from 'express';

const SELF = fileURLToPath(import.meta.url);
const quick = process.env.BENCH_QUICK === '1';
const FRAMEWORKS = ['express5', 'koa3', 'express4'] as const;
const VARIANTS = ['bare', 'trace', 'vcp'] as const;
type Framework = (typeof FRAMEWORKS)[number];
type Variant = (typeof VARIANTS)[number];

const TRACE_ID = '0190f5a8-3c4e-7b2a-9d1e-5f6a7b8c9d0e';
const BODY = { order_id: 'ORD-1', symbol: 'EURUSD', status: 'ACCEPTED', price: '1.0850', quantity: '100000' };

interface LoadResult {
  rps: number;
  total: number;
  non2xx: number;
  errors: number;
  p50: number;
  p99: number;
}

interface ServerStats {
  /** Server CPU time (user + system, all threads) per request over the measured run, µs. */
  cpuUsPerReq: number;
  /** Requests the server handled in the measured run. */
  requests: number;
  recorded: number;
  sealed: number;
  written: number;
  dropped: number;
  queued: number;
}

// ---------------------------------------------------------------------------
// Server process.

async function serverMain(framework: Framework, variant: Variant): Promise<void> {
  const { vcpExpress } = await import('../src/instrument/express.ts');
  const { vcpKoa } = await import('../src/instrument/koa.ts');
  const { createRecorder } = await import('../src/recorder/recorder.ts');
  const { MemorySink } = await import('../src/sinks/memory.ts');

  const sink = new MemorySink();
  const recorder = createRecorder({ sink, policyId: 'local:bench:middleware', exitHooks: false });
  setInterval(() => sink.clear(), 1000).unref();
  const extract = (id: string) => ({
    trade_data: {
      order_id: id,
      symbol: 'EURUSD',
      side: 'BUY',
      order_type: 'LIMIT',
      price: '1.0850',
      quantity: '100000',
    },
  });

  let listener: http.RequestListener;
  if (framework === 'koa3') {
    const { default: Koa } = await import('koa');
    const app = new Koa();
    if (variant === 'trace') app.use(vcpKoa({ recorder }));
    if (variant === 'vcp') {
      app.use(
        vcpKoa({
          recorder,
          routes: {
            'GET /orders/:id': { eventType: 'ACK', extract: (_ctx, info) => extract(info.params.id!) },
          },
        }),
      );
    }
    app.use(async (ctx) => {
      if (ctx.method === 'GET' && ctx.path.startsWith('/orders/')) ctx.body = BODY;
    });
    listener = app.callback();
  } else {
    const express = (
      framework === 'express5'
        ? (await import('express')).default
        : (await import('express4' as string)).default
    ) as typeof expressType;
    const app = express();
    app.set('etag', false);
    app.set('x-powered-by', false);
    if (variant === 'trace') app.use(vcpExpress({ recorder }));
    if (variant === 'vcp') {
      app.use(
        vcpExpress({
          recorder,
          routes: {
            'GET /orders/:id': { eventType: 'ACK', extract: (_req, _res, info) => extract(info.params.id!) },
          },
        }),
      );
    }
    app.get('/orders/:id', (_req, res) => {
      res.json(BODY);
    });
    listener = app as unknown as http.RequestListener;
  }
  const server = http.createServer({ keepAliveTimeout: 60_000 }, listener);
  let requests = 0;
  server.on('request', () => requests++);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  let mark = { cpu: process.cpuUsage(), requests: 0 };
  process.on('message', (msg: { cmd?: string }) => {
    if (msg?.cmd === 'mark') {
      mark = { cpu: process.cpuUsage(), requests };
      process.send?.({ marked: true });
      return;
    }
    if (msg?.cmd !== 'stats') return;
    const cpu = process.cpuUsage(mark.cpu);
    const n = requests - mark.requests;
    const s = recorder.stats();
    const stats: ServerStats = {
      cpuUsPerReq: (cpu.user + cpu.system) / Math.max(n, 1),
      requests: n,
      recorded: s.recorded,
      sealed: s.sealed,
      written: s.written,
      dropped: s.dropped,
      queued: s.queued,
    };
    process.send?.({ stats });
  });
  process.send?.({ port: (server.address() as AddressInfo).port });
}

// ---------------------------------------------------------------------------
// Load process.

async function loadMain(url: string, connections: number, seconds: number): Promise<void> {
  const autocannon = (await import('autocannon' as string)).default as (
    opts: Record<string, unknown>,
  ) => Promise<{
    requests: { average: number; total: number };
    latency: { p50: number; p99: number };
    non2xx: number;
    errors: number;
  }>;
  const opts = { url, connections, headers: { 'x-vcp-trace-id': TRACE_ID } };
  await autocannon({ ...opts, duration: quick ? 1 : 2 }); // warm-up: JIT, connection setup
  // The coordinator marks the server's CPU clock, then lets the measured run start.
  const go = new Promise((resolve) => process.once('message', resolve));
  process.send?.({ warm: true });
  await go;
  const r = await autocannon({ ...opts, duration: seconds });
  const result: LoadResult = {
    rps: r.requests.average,
    total: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors,
    p50: r.latency.p50,
    p99: r.latency.p99,
  };
  process.send?.({ result });
}

// ---------------------------------------------------------------------------
// Coordinator.

function message<T>(child: ChildProcess, key: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: Record<string, unknown>) => {
      if (m && key in m) {
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(m[key] as T);
      }
    };
    const onExit = (code: number | null) => reject(new Error(`child exited (${code}) before sending ${key}`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

async function measureOnce(
  framework: Framework,
  variant: Variant,
  connections: number,
  seconds: number,
): Promise<{ load: LoadResult; stats: ServerStats }> {
  const server = fork(SELF, ['--server', framework, variant], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    const port = await message<number>(server, 'port');
    const load = fork(
      SELF,
      ['--load', `http://127.0.0.1:${port}/orders/ORD-1`, String(connections), String(seconds)],
      {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      },
    );
    await message(load, 'warm');
    server.send({ cmd: 'mark' });
    await message(server, 'marked');
    load.send({ go: true });
    const result = await message<LoadResult>(load, 'result');
    await once(load, 'exit');
    server.send({ cmd: 'stats' });
    const stats = await message<ServerStats>(server, 'stats');
    return { load: result, stats };
  } finally {
    server.kill();
    await once(server, 'exit').catch(() => undefined);
  }
}

const signed = (x: number) => `${x < 0 ? '−' : '+'}${Math.abs(x).toFixed(1)}`;

/**
 * The recorder's own cost per event (record + seal into a MemorySink), in
 * this process, so the `vcp` row can be split into recorder and middleware.
 */
async function recorderCostUs(): Promise<number> {
  const { createRecorder } = await import('../src/recorder/recorder.ts');
  const { MemorySink } = await import('../src/sinks/memory.ts');
  const sink = new MemorySink();
  const recorder = createRecorder({ sink, policyId: 'local:bench:middleware', exitHooks: false });
  const n = quick ? 5_000 : 20_000;
  const samples: number[] = [];
  for (let round = 0; round < 4; round++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      recorder.record(
        'ACK',
        {
          trade_data: {
            order_id: 'ORD-1',
            symbol: 'EURUSD',
            side: 'BUY',
            order_type: 'LIMIT',
            price: '1.0850',
            quantity: '100000',
          },
        },
        { traceId: TRACE_ID },
      );
      if (i % 1000 === 999) await recorder.flush(); // stay inside the queue bound
    }
    await recorder.flush();
    if (round > 0) samples.push(((performance.now() - t0) * 1000) / n); // round 0 warms up
    sink.clear();
  }
  await recorder.close();
  return median(samples);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Run every framework × variant for a few alternating rounds and print req/s, CPU per request and overhead. */
export async function run(): Promise<void> {
  const frameworks = (process.env.BENCH_FRAMEWORKS?.split(',') ?? [...FRAMEWORKS]) as Framework[];
  const connections = Number(process.env.BENCH_CONNECTIONS ?? 20);
  const seconds = Number(process.env.BENCH_SECONDS ?? (quick ? 2 : 6));
  const rounds = Number(process.env.BENCH_ROUNDS ?? (quick ? 1 : 3));
  console.log(
    `\n## HTTP middleware: GET /orders/:id (small JSON), ${connections} connections, ${seconds} s × ${rounds} rounds, autocannon in its own process`,
  );
  console.log(
    'trace = middleware without routes; vcp = + route mapping recording one event per request (real recorder, SHA-256 sealing, MemorySink cleared each second)',
  );
  console.log(
    'req/s is bounded by whichever of server and load generator saturates first (2 cores, shared); server CPU µs/request is the steadier measure of what the middleware costs.',
  );
  const recUs = await recorderCostUs();
  console.log(`recorder alone (record + seal one such event, this process): ${recUs.toFixed(1)} µs/event`);
  for (const fw of frameworks) {
    const rps: Record<Variant, number[]> = { bare: [], trace: [], vcp: [] };
    const cpu: Record<Variant, number[]> = { bare: [], trace: [], vcp: [] };
    const p99: Record<Variant, number[]> = { bare: [], trace: [], vcp: [] };
    let vcpStats: ServerStats | undefined;
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? VARIANTS : [...VARIANTS].reverse();
      for (const v of order) {
        const { load, stats } = await measureOnce(fw, v, connections, seconds);
        if (load.non2xx || load.errors)
          throw new Error(`${fw}/${v}: ${load.non2xx} non-2xx, ${load.errors} errors`);
        rps[v].push(load.rps);
        cpu[v].push(stats.cpuUsPerReq);
        p99[v].push(load.p99);
        if (v === 'vcp') {
          vcpStats = stats;
          if (stats.recorded < stats.requests) {
            throw new Error(`${fw}/vcp recorded ${stats.recorded} events for ${stats.requests} requests`);
          }
        }
      }
    }
    const bareRps = median(rps.bare);
    const bareCpu = median(cpu.bare);
    console.log(`\n### ${fw}`);
    for (const v of VARIANTS) {
      const r = median(rps[v]);
      const c = median(cpu[v]);
      const over =
        v === 'bare'
          ? ''
          : `  throughput ${signed((r / bareRps - 1) * 100)} %, CPU/request ${signed(c - bareCpu)} µs (${signed((c / bareCpu - 1) * 100)} %)`;
      console.log(
        `${v.padEnd(6)} ${Math.round(r).toString().padStart(7)} req/s [${rps[v].map((x) => Math.round(x)).join(', ')}]  ` +
          `${c.toFixed(1).padStart(6)} µs CPU/req  p99 ${median(p99[v]).toFixed(0)} ms${over}`,
      );
    }
    console.log(
      `ratios: trace/bare req/s ${(median(rps.trace) / bareRps).toFixed(3)}×, vcp/bare req/s ${(median(rps.vcp) / bareRps).toFixed(3)}× (target ≥ 0.95×); ` +
        `bare/trace CPU ${(bareCpu / median(cpu.trace)).toFixed(3)}×, bare/vcp CPU ${(bareCpu / median(cpu.vcp)).toFixed(3)}×`,
    );
    const mwUs = median(cpu.vcp) - bareCpu - recUs;
    console.log(
      `vcp CPU/request beyond bare: ${(median(cpu.vcp) - bareCpu).toFixed(1)} µs = recorder ~${recUs.toFixed(1)} µs + middleware and route mapping ~${mwUs.toFixed(1)} µs (${signed((mwUs / bareCpu) * 100)} % of bare)`,
    );
    if (vcpStats) {
      console.log(
        `recorder (last vcp run): recorded ${vcpStats.recorded}, sealed ${vcpStats.sealed}, written ${vcpStats.written}, dropped ${vcpStats.dropped}, queued ${vcpStats.queued}`,
      );
    }
  }
}

if (import.meta.main) {
  const [mode, a, b, c] = process.argv.slice(2);
  if (mode === '--server') await serverMain(a as Framework, b as Variant);
  else if (mode === '--load') await loadMain(a!, Number(b), Number(c));
  else await run();
}
