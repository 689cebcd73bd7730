/**
 * Shared pieces of the tap benchmarks (bench/kafka-tap.ts, bench/redis-tap.ts):
 * a sidecar child process, a sink wrapper that records end-to-end latency,
 * percentiles, and the result table with ratios against the raw consume rate.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Pool } from 'undici';
import type { VcpEvent } from '../src/core/types.ts';
import { validateEvent } from '../src/core/validate.ts';
import { canonicalize } from '../src/integrity/canonical.ts';
import { eventHashOfCanonical } from '../src/integrity/event-hash.ts';
import { MerkleTree } from '../src/integrity/merkle/index.ts';
import { encodeEvents } from '../src/sinks/_jsonl.ts';
import type { Sink } from '../src/sinks/sink.ts';
import { checkGoal } from './_goals.ts';

/** BENCH_QUICK=1 shortens every run. */
export const QUICK = process.env.BENCH_QUICK === '1';

/** Wall-clock ms with sub-ms digits (the message timestamps are Unix ms). */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Node flags of the sidecar child: VCP_BENCH_SIDECAR_NODE_FLAGS (space-separated, e.g.
 * `--cpu-prof --cpu-prof-dir=/tmp/p`; the sidecar exits in order on SIGTERM, so the profile is written).
 */
const SIDECAR_NODE_FLAGS = (process.env.VCP_BENCH_SIDECAR_NODE_FLAGS ?? '').split(' ').filter(Boolean);
/** Arguments added to the sidecar child's: VCP_BENCH_SIDECAR_ARGS (e.g. `--ingest-threads 0`), as in sidecar-ingest.ts. */
const SIDECAR_ARGS = (process.env.VCP_BENCH_SIDECAR_ARGS ?? '').split(' ').filter(Boolean);

/** A `vcp sidecar` child process (file store, fsync before every 201) on a free port. */
export async function startSidecarChild(): Promise<{
  url: string;
  /** CPU time (user + system) the child used so far, ms (Linux /proc; NaN elsewhere). */
  cpuMs: () => number;
  /** Minor page faults of the child so far (Linux /proc; NaN elsewhere). */
  pageFaults: () => number;
  stop: () => Promise<void>;
}> {
  const dir = mkdtempSync(join(tmpdir(), 'vcp-bench-sidecar-'));
  const entry = new URL('../src/cli/sidecar-entry.ts', import.meta.url).pathname;
  const proc: ChildProcess = spawn(
    process.execPath,
    [...SIDECAR_NODE_FLAGS, entry, '--port', '0', '--data-dir', dir, ...SIDECAR_ARGS],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let err = '';
  proc.stderr!.setEncoding('utf8').on('data', (c: string) => {
    err = (err + c).slice(-4000);
  });
  let stopping = false;
  const exited = new Promise<void>((resolve) =>
    proc.on('exit', (code, signal) => {
      // A sidecar that dies mid-run leaves the tap retrying forever: say why at once.
      if (!stopping) console.error(`sidecar child exited (${code ?? signal}) during the run:\n${err}`);
      resolve();
    }),
  );
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: proc.stdout! }).once('line', resolve);
    exited.then(() => reject(new Error(`sidecar exited before listening: ${err}`)));
  });
  const url = (JSON.parse(line) as { listening: string }).listening;
  return {
    url,
    cpuMs: () => procCpuMs(proc.pid!),
    pageFaults: () => procStatField(proc.pid!, 7),
    stop: async () => {
      stopping = true;
      proc.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Wraps a sink; on each acknowledged write, records now − event time (ms) for every event. */
export class LatencySink implements Sink {
  readonly name: string;
  readonly latencies: number[] = [];
  readonly inner: Sink;
  acked = 0;
  constructor(inner: Sink) {
    this.inner = inner;
    this.name = `latency(${inner.name})`;
  }
  async write(events: readonly VcpEvent[]): Promise<void> {
    await this.inner.write(events);
    const at = nowMs();
    for (const e of events) this.latencies.push(at - Number(e.header.timestamp_int.slice(0, -6)));
    this.acked += events.length;
  }
  async close(): Promise<void> {
    await this.inner.close();
  }
}

/** The p-th percentile (0..100) of `values`. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

/** Poll until `check()` or `ms` elapsed (throws then). */
export async function waitFor(
  what: string,
  ms: number,
  check: () => boolean | Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Call `send(n)` every 10 ms so that `rate` messages/s go out for `seconds`. */
export async function paced(
  rate: number,
  seconds: number,
  send: (n: number) => Promise<void>,
): Promise<number> {
  const perTick = Math.max(1, Math.round(rate / 100));
  const ticks = Math.round(seconds * 100);
  const start = performance.now();
  let sent = 0;
  for (let t = 0; t < ticks; t++) {
    const due = start + t * 10;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    await send(perTick);
    sent += perTick;
  }
  return sent;
}

/**
 * The process on this machine listening on TCP `port` (the Kafka broker, redis-server), found through
 * /proc/net/tcp{,6} and the processes' socket descriptors; undefined when none is (a remote server) or
 * off Linux. Its CPU is part of what a tap costs the machine when it runs beside the tap.
 */
export function listenerPid(port: number): number | undefined {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is HEXIP:HEXPORT; state 0A is LISTEN; field 9 is the socket's inode.
      if (f.length > 9 && f[3] === '0A' && Number.parseInt(f[1]!.split(':')[1]!, 16) === port)
        inodes.add(f[9]!);
    }
  }
  if (inodes.size === 0) return undefined;
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m && inodes.has(m[1]!)) return Number(pid);
      } catch {
        // closed meanwhile
      }
    }
  }
  return undefined;
}

/**
 * The CPU of the server at `address` (`host:port`) as {@link withCpu} reads it, when it runs on this machine;
 * else undefined, with the reason printed.
 */
export function serverCpu(name: string, address: string): { name: string; cpuMs: () => number } | undefined {
  const m = /^(127\.0\.0\.1|localhost|\[::1\]):(\d+)$/.exec(address);
  if (!m) {
    console.log(`(${name} at ${address} is not on this machine: its CPU is not counted in the budgets)`);
    return undefined;
  }
  const port = Number(m[2]);
  const pid = listenerPid(port);
  if (pid === undefined || Number.isNaN(procCpuMs(pid))) {
    console.log(
      `(${name} on port ${port} has no local process to read: its CPU is not counted in the budgets)`,
    );
    return undefined;
  }
  return { name, cpuMs: () => procCpuMs(pid) };
}

/** CPU time (user + system) of a process, ms, from /proc/<pid>/stat (clock ticks of 10 ms); NaN off Linux. */
function procCpuMs(pid: number): number {
  return (procStatField(pid, 11) + procStatField(pid, 12)) * 10; // utime, stime (fields 14, 15)
}

/** Field `i` of /proc/<pid>/stat counted from the one after the command name (7: minflt, field 10). */
function procStatField(pid: number, i: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[i]);
  } catch {
    return Number.NaN;
  }
}

/** One throughput row. */
export interface Row {
  name: string;
  events: number;
  seconds: number;
  /** Where the CPU went during the run, if measured ({@link withCpu}). */
  cpu?: string;
  /**
   * CPU µs per event ({@link withCpu}): of this process (the tap, or the load generator), of its main thread
   * alone, of the sidecar child, and of the transport's server on this machine (the Kafka broker,
   * redis-server; 0 when not counted).
   */
  cpuUs?: { self: number; main: number; sidecar: number; server: number };
  /** A line printed under the row (e.g. what happened after its clock stopped). */
  note?: string;
}

/**
 * Run `fn` and note on its row the CPU time per event of this process (the tap, or the
 * load generator), of the sidecar child and of the transport's local `server` (see
 * {@link serverCpu}): on a shared 2-core machine their sum is what bounds a tap → sidecar rate.
 */
export async function withCpu(
  sidecar: { cpuMs: () => number },
  server: { name: string; cpuMs: () => number } | undefined,
  fn: () => Promise<Row>,
): Promise<Row> {
  const c0 = process.cpuUsage();
  const m0 = process.threadCpuUsage();
  const s0 = sidecar.cpuMs();
  const b0 = server?.cpuMs() ?? 0;
  const row = await fn();
  const self = process.cpuUsage(c0);
  const main = process.threadCpuUsage(m0);
  const side = sidecar.cpuMs() - s0;
  const srv = (server?.cpuMs() ?? 0) - b0;
  const us = (ms: number) => (ms * 1000) / row.events;
  row.cpuUs = {
    self: us((self.user + self.system) / 1000),
    main: us((main.user + main.system) / 1000),
    sidecar: us(side),
    server: us(srv),
  };
  const { cpuUs } = row;
  const busy = ((cpuUs.self + cpuUs.sidecar + cpuUs.server) * row.events) / row.seconds / 1e6;
  const mainBusy = (cpuUs.main * row.events) / row.seconds / 1e6;
  row.cpu = `CPU per event: this process ${cpuUs.self.toFixed(1)} µs (main thread ${cpuUs.main.toFixed(1)}, busy ${(100 * mainBusy).toFixed(0)} % of the run), sidecar ${cpuUs.sidecar.toFixed(1)} µs${server ? `, ${server.name} ${cpuUs.server.toFixed(1)} µs` : ''}; ${busy.toFixed(2)} cores busy`;
  return row;
}

/** Print throughput rows with their ratio to the first (the raw consume ceiling). */
export function printThroughput(title: string, rows: Row[]): void {
  console.log(`\n## ${title}`);
  const ceiling = rows[0]!;
  const ceilingRate = ceiling.events / ceiling.seconds;
  const w = Math.max(...rows.map((r) => r.name.length));
  for (const r of rows) {
    const rate = r.events / r.seconds;
    const ratio =
      r === ceiling
        ? '(ceiling)'
        : `${((rate / ceilingRate) * 100).toFixed(1)} % of ceiling (${(ceilingRate / rate).toFixed(1)}× slower)`;
    console.log(
      `${r.name.padEnd(w)}  ${String(r.events).padStart(7)} in ${r.seconds.toFixed(2).padStart(6)} s  ${Math.round(rate).toString().padStart(8)} events/s  ${ratio}`,
    );
    if (r.cpu) console.log(`${' '.repeat(w)}    ${r.cpu}`);
    if (r.note) console.log(`${' '.repeat(w)}    ${r.note}`);
  }
}

/** Print latency rows (ms) with p50/p99/max. */
export function printLatency(title: string, rows: { name: string; values: number[] }[]): void {
  console.log(`\n## ${title}`);
  const w = Math.max(...rows.map((r) => r.name.length));
  for (const r of rows) {
    console.log(
      `${r.name.padEnd(w)}  n ${String(r.values.length).padStart(6)}  p50 ${percentile(r.values, 50).toFixed(1).padStart(6)} ms  p99 ${percentile(r.values, 99).toFixed(1).padStart(6)} ms  max ${Math.max(
        ...r.values,
      )
        .toFixed(1)
        .padStart(6)} ms`,
    );
  }
}

/**
 * The sidecar's own batched ingest rate, the peer of "tap → sidecar": `events` (sealed,
 * ids the sidecar has not seen) POSTed as JSON-array batches of `batch` (the body the taps'
 * HTTP sink sends) over `connections` keep-alive connections (bench/sidecar-ingest.ts's
 * batched load: 100 × 8), bodies encoded before the clock starts, each answered 201 after
 * its fdatasync.
 */
export async function sidecarOwnIngest(
  url: string,
  events: readonly VcpEvent[],
  batch = 100,
  connections = 8,
): Promise<Row> {
  const bodies: Buffer[] = [];
  for (let i = 0; i < events.length; i += batch) bodies.push(arrayBody(events.slice(i, i + batch)));
  const pool = new Pool(url, { connections, pipelining: 1 });
  let next = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < bodies.length) await postBody(pool, bodies[next++]!);
  };
  await Promise.all(Array.from({ length: connections }, worker));
  const seconds = (performance.now() - t0) / 1000;
  await pool.close();
  return {
    name: `sidecar's own batched ingest (${batch} × ${connections} conns)`,
    events: events.length,
    seconds,
  };
}

/** Events as the JSON array body the HTTP sink sends. */
function arrayBody(events: readonly VcpEvent[]): Buffer {
  return encodeEvents(events, '[', ',', ']');
}

/** POST one batch body to the sidecar; throws unless it was accepted. */
async function postBody(pool: Pool, body: Buffer): Promise<void> {
  const res = await pool.request({
    method: 'POST',
    path: '/vcp/log',
    headers: { 'content-type': 'application/json' },
    body,
  });
  const text = await res.body.text();
  if (res.statusCode !== 201 && res.statusCode !== 200)
    throw new Error(`sidecar answered ${res.statusCode}: ${text.slice(0, 300)}`);
}

/**
 * The sending half of a tap that maps and seals nothing: the round's events were sealed and encoded into
 * JSON array bodies of `batch` events before any clock started (bytes outside the JS heap, so holding them
 * costs the run no GC), and each batch the consumer reads is sent as the sidecar's own ingest sends them,
 * over `connections` connections. A consumer with this sender does only what no tap can skip (read, send,
 * acknowledge), so its rate bounds every tap's that delivers this way: where it stays under a goal, no such
 * tap meets that goal against this sidecar on this machine.
 */
export class PresealedSender {
  readonly #pool: Pool;
  readonly #bodies: { body: Buffer; count: number }[] = [];
  #next = 0;

  constructor(url: string, events: readonly VcpEvent[], batch = 100, connections = 8) {
    this.#pool = new Pool(url, { connections, pipelining: 1 });
    for (let i = 0; i < events.length; i += batch) {
      const chunk = events.slice(i, i + batch);
      this.#bodies.push({ body: arrayBody(chunk), count: chunk.length });
    }
  }

  /** Send the next `count` events (whole bodies); resolves once the sidecar acknowledged every one. */
  async send(count: number): Promise<void> {
    const posts: Promise<void>[] = [];
    let covered = 0;
    while (covered < count && this.#next < this.#bodies.length) {
      const { body, count: k } = this.#bodies[this.#next++]!;
      covered += k;
      posts.push(postBody(this.#pool, body));
    }
    if (covered !== count)
      throw new Error(`PresealedSender: ${count} events asked, ${covered} sent in whole bodies`);
    await Promise.all(posts);
  }

  close(): Promise<void> {
    return this.#pool.close();
  }
}

/**
 * Deliveries of a consumer's batches, at most `depth` at once, each acknowledged at its source
 * (`ack`) only after it and every earlier batch were delivered: the taps' window, for the floor runs.
 */
export class DeliveryWindow {
  readonly #depth: number;
  readonly #inflight: Promise<void>[] = [];
  #last: Promise<void> = Promise.resolve();

  constructor(depth: number) {
    this.#depth = depth;
  }

  /** Wait for room, then start `deliver` and, after it and the batches before it, `ack`. */
  async push(deliver: () => Promise<void>, ack: () => Promise<void>): Promise<void> {
    while (this.#inflight.length >= this.#depth) await this.#inflight.shift();
    const previous = this.#last;
    this.#last = (async () => {
      await deliver();
      await previous;
      await ack();
    })();
    this.#inflight.push(this.#last);
  }

  /** Every batch delivered and acknowledged. */
  drain(): Promise<void> {
    return this.#last;
  }
}

function medianOf(xs: readonly number[]): number {
  const sorted = [...xs].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * The median over rounds of `a / b` (each pair measured in the same round), as a line with every
 * round's ratio and the goal the median is held to, checked for the run's summary under `bench`'s name.
 */
export function printMedianRatio(bench: string, what: string, pairs: [Row, Row][], goal: number): void {
  if (pairs.length === 1) {
    printRatio(bench, what, pairs[0]![0], pairs[0]![1], goal);
    return;
  }
  const rate = (row: Row) => row.events / row.seconds;
  const ratios = pairs.map(([a, b]) => rate(a) / rate(b));
  const median = medianOf(ratios);
  const verdict = checkGoal(
    bench,
    `${what} ≥ ${goal.toFixed(2)}`,
    `${median.toFixed(2)} (median of ${ratios.length} rounds: ${ratios.map((r) => r.toFixed(2)).join(', ')})`,
    median >= goal,
  );
  console.log(
    `${what}: ${median.toFixed(2)}, median of rounds ${ratios.map((r) => r.toFixed(2)).join(', ')}  (goal ≥ ${goal.toFixed(2)}: ${verdict})`,
  );
}

/**
 * The rounds of a tap benchmark's backlog run: each round's table (raw consume, tap → file, → sidecar,
 * → embedded store, the sidecar's own ingest, in that order), then the two goals on the medians of the
 * rounds' ratios.
 */
export class TapRounds {
  readonly #sidecar: [Row, Row][] = [];
  readonly #embedded: [Row, Row][] = [];
  readonly #floor: [Row, Row][] = [];
  readonly #bench: string;
  readonly #title: string;
  readonly #rounds: number;
  readonly #inflight: number;

  /** `inflight`: the batches the taps and the floor keep at the sink at once in this run. */
  constructor(bench: string, title: string, rounds: number, inflight: number) {
    this.#bench = bench;
    this.#title = title;
    this.#rounds = rounds;
    this.#inflight = inflight;
  }

  /**
   * Print round `r`'s rows and keep its ratios; `events` are the round's sealed events of the same
   * kind, on which the stages every tap and every store must run are timed (see {@link stageFloors}).
   * `floor` is the round's run of a consumer with a {@link PresealedSender}: the most a tap delivering as the taps
   * do (as many batches in flight) can reach.
   */
  add(
    r: number,
    rows:
      | [raw: Row, file: Row, sidecar: Row, embedded: Row, own: Row]
      | [raw: Row, file: Row, sidecar: Row, embedded: Row, own: Row, floor: Row],
    events: readonly VcpEvent[],
  ): void {
    printThroughput(
      `${this.#title}, round ${r} of ${this.#rounds} (events/s, ratio to the raw consume rate)`,
      rows,
    );
    this.#sidecar.push([rows[2], rows[4]]);
    this.#embedded.push([rows[3], rows[1]]);
    if (rows[5]) this.#floor.push([rows[5], rows[4]]);
    printCpuBudgets(rows, stageFloors(events));
  }

  /** The goals, held to the medians. */
  report(): void {
    console.log('');
    printMedianRatio(this.#bench, "tap → sidecar / the sidecar's own batched ingest", this.#sidecar, 0.8);
    printMedianRatio(this.#bench, 'tap → embedded store / tap → FileSink', this.#embedded, 0.8);
    if (this.#floor.length > 0) {
      const rate = (row: Row) => row.events / row.seconds;
      const ratios = this.#floor.map(([floor, own]) => rate(floor) / rate(own));
      const ofFloor = this.#floor.map(([floor], k) => rate(this.#sidecar[k]![0]) / rate(floor));
      const list = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(', ');
      const median = medianOf(ratios);
      console.log(
        `floor of tap → sidecar, measured (a consumer that reads, sends events sealed and encoded before the clock started as the sidecar's own ingest sends them, ${this.#inflight} batches of 500 in flight as the tap keeps, and acknowledges; nothing else): ${median.toFixed(2)} of the sidecar's own batched ingest, median of rounds ${list(ratios)}; ` +
          `the tap reached ${medianOf(ofFloor).toFixed(2)} of the floor (rounds ${list(ofFloor)}). ` +
          (median < 0.8
            ? 'The floor under 0.80: in this run no tap delivering this way meets the goal against this sidecar, whatever its own work'
            : 'The floor not under 0.80: the goal is not shown out of reach, and the gap is the tap’s own work'),
      );
    }
  }
}

/**
 * What the round's CPU per event allows, beside what it measured. On 2 cores that every process keeps busy
 * (the "cores busy" figures), a rate is 2 cores over the CPU all processes spend per event, so:
 * - tap → sidecar over the sidecar's own ingest is at most (L + S′ + B′) / (T + S + B): L and S′ the load
 *   generator's and the sidecar's CPU per event in its own ingest, T and S the tap's and the sidecar's in
 *   tap → sidecar, B and B′ the transport's server's (broker, redis-server) in each when it runs on this machine.
 *   For 0.80 the tap may spend at most 1.25 (L + S′ + B′) − S − B per event;
 * - tap → embedded store over tap → file is at most M_file / M_embedded, the main thread's CPU per event of each
 *   (the tap and the store run on it; a main thread busy all the run is the bottleneck): for 0.80 the store's own
 *   work on it (M_embedded − M_file: its check of each event as the sidecar checks a request, and its commit) may
 *   take at most M_file / 4 per event.
 * The budgets name the limit; they assume the CPU is the bottleneck, which the busy figures show.
 * Beside them, the floors ({@link stageFloors}): when what no tap (or no store) can skip already takes more than
 * its budget allows, the goal is out of reach in that round whatever the code; when it fits, the goal is not shown
 * out of reach and the gap is the tap's (or the store's) own work.
 */
function printCpuBudgets([raw, file, sidecar, embedded, own]: Row[], floors: StageFloors): void {
  const [f, t, e, o] = [file!.cpuUs, sidecar!.cpuUs, embedded!.cpuUs, own!.cpuUs];
  if (!f || !t || !e || !o) return;
  const us = (x: number) => `${x.toFixed(1)} µs`;
  const ownCpu = o.self + o.sidecar + o.server;
  const tapBudget = 1.25 * ownCpu - t.sidecar - t.server;
  const counted = t.server > 0 || o.server > 0;
  const bound = counted
    ? `(L ${us(o.self)} + S′ ${us(o.sidecar)} + B′ ${us(o.server)}) / (T ${us(t.self)} + S ${us(t.sidecar)} + B ${us(t.server)})`
    : `(L ${us(o.self)} + S′ ${us(o.sidecar)}) / (T ${us(t.self)} + S ${us(t.sidecar)})`;
  console.log(
    `CPU budget, tap → sidecar: ${bound} = ${(ownCpu / (t.self + t.sidecar + t.server)).toFixed(2)}; for 0.80 the tap may spend ${us(Math.max(0, tapBudget))} per event, and tap → file alone took ${us(f.self)}`,
  );
  console.log(
    `CPU budget, tap → embedded: main thread M_file ${us(f.main)} / M_embedded ${us(e.main)} = ${(f.main / e.main).toFixed(2)}; for 0.80 the store may spend ${us(f.main / 4)} per event on it; it spent ${us(e.main - f.main)}, where the sidecar spends S′ ${us(o.sidecar)} to check and commit the same kind of event`,
  );
  // The floors: what no tap and no store can skip, against what the budgets allow.
  const against = (floor: number, allowed: number, path: string) =>
    floor > allowed
      ? `over the ${us(Math.max(0, allowed))} ${path} at 0.80 allows: out of reach in this round`
      : `within the ${us(allowed)} ${path} at 0.80 allows`;
  const c = raw?.cpuUs;
  if (c) {
    // The line and the HTTP request are counted as the sidecar's own load generator spends them (L: it encodes
    // the same events into the same bodies and sends them), so only the hash is added to the consume.
    const tapFloor = c.self + floors.hashUs + o.self;
    console.log(
      `floor of a tap: the client's consume alone ${us(c.self)} + RFC 8785 and SHA-256 of each event ${us(floors.hashUs)} + its line and HTTP request as the sidecar's own load generator makes them (L) ${us(o.self)} = ${us(tapFloor)} per event, ${against(tapFloor, tapBudget, 'tap → sidecar')}`,
    );
  }
  console.log(
    `floor of the store on the main thread: parse of the canonical texts, schema check and Merkle append ${us(floors.checkUs)} per event (before its record, id index and fdatasync), ${against(floors.checkUs, f.main / 4, 'tap → embedded')}`,
  );
}

/** Per event, the stages no tap ({@link StageFloors.hashUs}) and no store ({@link StageFloors.checkUs}) can skip. */
interface StageFloors {
  /**
   * RFC 8785 of header and payload and SHA-256 (the EventHash): what a tap must compute for each event before
   * it can send it (its line and request cost at least what the sidecar's own load generator spends on them).
   */
  hashUs: number;
  /**
   * `JSON.parse` of the canonical texts, the schema check and the Merkle append: what the embedded store must do
   * before its commit, to refuse what the sidecar refuses and to place the event in its tree.
   */
  checkUs: number;
}

/**
 * Time the stages of {@link StageFloors} on `events` on this thread, alone, one stage after another over the
 * whole set (best of 3 passes, µs per event). A floor: the tap and the store do all of it and more.
 */
function stageFloors(events: readonly VcpEvent[]): StageFloors {
  const texts = events.map((e) => [canonicalize(e.header), canonicalize(e.payload)] as const);
  const best = (pass: () => void): number => {
    let top = Number.POSITIVE_INFINITY;
    for (let k = 0; k < 3; k++) {
      const t0 = process.hrtime.bigint();
      pass();
      top = Math.min(top, Number(process.hrtime.bigint() - t0) / 1000 / events.length);
    }
    return top;
  };
  let sink = 0;
  const seal = best(() => {
    for (const e of events) {
      const h = canonicalize(e.header);
      const p = canonicalize(e.payload);
      sink += eventHashOfCanonical(h, p).length;
    }
  });
  const check = best(() => {
    const tree = new MerkleTree();
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      const parsed = {
        header: JSON.parse(texts[i]![0]),
        payload: JSON.parse(texts[i]![1]),
        security: e.security,
        policy_identification: e.policy_identification,
      };
      sink += validateEvent(parsed).errors.length;
      tree.append(e.security.event_hash);
    }
  });
  if (sink < 0) console.log(sink); // keeps the passes from being optimized away
  return { hashUs: seal, checkUs: check };
}

/** `a / b` as a line with the goal it is held to, checked for the run's summary under `bench`'s name. */
export function printRatio(bench: string, what: string, a: Row, b: Row, goal: number): void {
  const r = a.events / a.seconds / (b.events / b.seconds);
  const rate = (row: Row) => `${Math.round(row.events / row.seconds).toLocaleString('en-US')}/s`;
  const verdict = checkGoal(
    bench,
    `${what} ≥ ${goal.toFixed(2)}`,
    `${r.toFixed(2)} (${rate(a)} against ${rate(b)})`,
    r >= goal,
  );
  console.log(`${what}: ${r.toFixed(2)}  (goal ≥ ${goal.toFixed(2)}: ${verdict})`);
}
