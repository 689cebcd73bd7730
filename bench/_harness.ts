/**
 * Tiny benchmark harness shared by every file in bench/.
 *
 * Each measurement runs `fn` in batches for a fixed wall-clock budget after a
 * warm-up, records ns/op per batch, and reports the median batch (robust to GC
 * pauses and the other core's noise). Ratios are always printed against a
 * named peer measured in the same run.
 */
import type { Server } from 'node:http';

export interface Measurement {
  name: string;
  /** Median nanoseconds per operation over all batches. */
  nsPerOp: number;
  /** Operations per second derived from the median. */
  opsPerSec: number;
  /** 99th percentile of the per-batch ns/op (batch-level, not per call). */
  p99NsPerOp: number;
  /** Total operations executed while measuring. */
  ops: number;
}

export interface MeasureOptions {
  /** Calls per batch (default: auto-calibrated so a batch takes ~2 ms). */
  batch?: number;
  /** Wall-clock budget for measuring, ms (default 1500; BENCH_QUICK=1 → 300). */
  timeMs?: number;
  /** Warm-up budget, ms (default 300). */
  warmupMs?: number;
}

const quick = process.env.BENCH_QUICK === '1';

/** Measure a synchronous operation. `fn` receives the iteration number. */
export function measure(name: string, fn: (i: number) => unknown, opts: MeasureOptions = {}): Measurement {
  const timeMs = opts.timeMs ?? (quick ? 300 : 1500);
  const warmupMs = opts.warmupMs ?? (quick ? 100 : 300);
  let sink: unknown;
  let i = 0;
  // Warm up (lets the JIT settle) and calibrate the batch size.
  const warmEnd = performance.now() + warmupMs;
  let calls = 0;
  while (performance.now() < warmEnd) {
    for (let k = 0; k < 100; k++) sink = fn(i++);
    calls += 100;
  }
  const perCallMs = warmupMs / Math.max(calls, 1);
  const batch = opts.batch ?? Math.max(1, Math.min(1_000_000, Math.round(2 / Math.max(perCallMs, 1e-6))));
  const samples: number[] = [];
  const end = performance.now() + timeMs;
  let ops = 0;
  while (performance.now() < end || samples.length < 5) {
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < batch; k++) sink = fn(i++);
    const dt = Number(process.hrtime.bigint() - t0);
    samples.push(dt / batch);
    ops += batch;
  }
  blackhole(sink);
  return summarize(name, samples, ops);
}

/** Measure an async operation, awaited one at a time. */
export async function measureAsync(
  name: string,
  fn: (i: number) => Promise<unknown>,
  opts: MeasureOptions = {},
): Promise<Measurement> {
  const timeMs = opts.timeMs ?? (quick ? 300 : 1500);
  const warmupMs = opts.warmupMs ?? (quick ? 100 : 300);
  let i = 0;
  const warmEnd = performance.now() + warmupMs;
  while (performance.now() < warmEnd) await fn(i++);
  const batch = opts.batch ?? 100;
  const samples: number[] = [];
  const end = performance.now() + timeMs;
  let ops = 0;
  while (performance.now() < end || samples.length < 5) {
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < batch; k++) await fn(i++);
    samples.push(Number(process.hrtime.bigint() - t0) / batch);
    ops += batch;
  }
  return summarize(name, samples, ops);
}

function summarize(name: string, samples: number[], ops: number): Measurement {
  const sorted = [...samples].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
  const p99 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? 0;
  return { name, nsPerOp: median, opsPerSec: median > 0 ? 1e9 / median : 0, p99NsPerOp: p99, ops };
}

let hole: unknown;
/** Keep a value alive so the optimiser cannot drop the work that made it. */
export function blackhole(v: unknown): void {
  hole = v;
  if (hole === Symbol.for('never')) console.log(hole);
}

/** Format a number of nanoseconds for humans. */
export function fmtNs(ns: number): string {
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(2)} µs`;
  return `${ns.toFixed(0)} ns`;
}

/** Format operations per second for humans. */
export function fmtOps(ops: number): string {
  if (ops >= 1e6) return `${(ops / 1e6).toFixed(2)} M/s`;
  if (ops >= 1e3) return `${(ops / 1e3).toFixed(1)} k/s`;
  return `${ops.toFixed(0)} /s`;
}

/**
 * Print a table of measurements and each one's ratio against `baseline`
 * (ratio = baseline time / this time, so >1 means faster than the baseline).
 */
export function report(title: string, rows: Measurement[], baseline?: Measurement): void {
  console.log(`\n## ${title}`);
  const w = Math.max(...rows.map((r) => r.name.length), 10);
  for (const r of rows) {
    const ratio = baseline ? `  ${(baseline.nsPerOp / r.nsPerOp).toFixed(2)}× vs ${baseline.name}` : '';
    console.log(
      `${r.name.padEnd(w)}  ${fmtNs(r.nsPerOp).padStart(10)}/op  ${fmtOps(r.opsPerSec).padStart(10)}${ratio}`,
    );
  }
}

/** Print one named ratio line (e.g. "canonicalize / JSON.stringify: 1.6×"). */
export function ratioLine(label: string, numerator: number, denominator: number, target?: string): void {
  const r = numerator / denominator;
  console.log(`${label}: ${r.toFixed(2)}×${target ? `  (target ${target})` : ''}`);
}

/** The payload the middleware benchmarks record for `GET /orders/:id`: a small order acknowledgement. */
export function orderExtract(id: string) {
  return {
    trade_data: {
      order_id: id,
      symbol: 'EURUSD',
      side: 'BUY',
      order_type: 'LIMIT',
      price: '1.0850',
      quantity: '100000',
    },
  };
}

/** A benchmark's local HTTP server: its URL, and a close that drops its connections first. */
export interface LocalServer {
  url: string;
  close: () => Promise<void>;
}

/** Listen on a free loopback port; `close` ends every connection, closes, then runs `after`. */
export async function listenOnLoopback(server: Server, after?: () => unknown): Promise<LocalServer> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${addr.port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await after?.();
    },
  };
}
