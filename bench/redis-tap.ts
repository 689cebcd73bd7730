/**
 * How fast does the Redis Streams tap record a stream, end to end, against
 * the raw consume rate of the same client library (ioredis) on the same
 * stream in the same run (the ceiling)?
 *
 * Throughput (a backlog of N entries in the guide's layout, ~1 % poison):
 * raw consume = `XREADGROUP COUNT 500` + `XACK` in a loop, nothing else (a
 * consumer group is not consumed without acknowledging) → ceiling; the tap
 * into a FileSink (fsync every batch) and into a real sidecar child process
 * (HTTP, file store, fsync before every 201); each run is a new group and
 * ends when nothing is pending. Beside them, the floor of tap → sidecar: a
 * consumer that reads, sends events sealed and encoded before the clock
 * started (as the sidecar's own ingest sends them) and acknowledges, and
 * nothing else. Every path runs once per round (3, 1 with BENCH_QUICK=1); the
 * goals hold the median of the rounds' ratios.
 *
 * Latency (paced XADDs at a steady rate): ack time at the sink − the entry
 * id's millisecond time, p50/p99, for the tap into the sidecar, against a raw
 * blocking consumer of the same entries (receive time − entry time) running
 * at the same time.
 *
 *   VCP_TEST_REDIS_URL=redis://127.0.0.1:6379 node bench/redis-tap.ts [--entries 50000] [--rate 5000] [--seconds 5] [--rounds 3] [--inflight 4]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { openEmbeddedStore } from '../src/adapters/embedded-store.ts';
import { RedisTap, redisTapMessage } from '../src/adapters/redis-tap.ts';
import { DEFAULT_TAP_INFLIGHT, TapRunner } from '../src/adapters/tap-runner.ts';
import { disableAllocationSitePretenuring } from '../src/cli/gc-tuning.ts';
import type { VcpEvent } from '../src/core/types.ts';
import { FileSink } from '../src/sinks/file.ts';
import { createHttpSink } from '../src/sinks/http.ts';
import { MemorySink } from '../src/sinks/memory.ts';
import type { Sink } from '../src/sinks/sink.ts';
import { orderFields as fields } from './_tap-data.ts';
import {
  DeliveryWindow,
  LatencySink,
  nowMs,
  PresealedSender,
  paced,
  percentile,
  printLatency,
  QUICK,
  type Row,
  serverCpu,
  sidecarOwnIngest,
  startSidecarChild,
  TapRounds,
  waitFor,
  withCpu,
} from './_tap-harness.ts';

/** The events the tap makes of n entries of another stream (new ids), sealed before any clock starts. */
function peerEvents(n: number, source = 'vcp-bench:peer'): VcpEvent[] {
  const runner = new TapRunner({ sink: new MemorySink(), policyId }, 'vcp-bench-peer');
  const now = Date.now();
  const messages = [];
  for (let i = 0; i < n; i++) {
    messages.push(
      redisTapMessage(
        source,
        `${now}-${i}`,
        fields(i).map((f) => Buffer.from(f)),
      ),
    );
  }
  return runner.toEvents(messages).events;
}

/** Batches at the sink at once, taps and floor (`--inflight`). */
let inflight = DEFAULT_TAP_INFLIGHT;
const policyId = 'local:vcp-bench:redis-tap';

async function fill(redis: Redis, stream: string, from: number, count: number): Promise<void> {
  for (let i = from; i < from + count; i += 1000) {
    const pipe = redis.pipeline();
    for (let j = i; j < Math.min(from + count, i + 1000); j++) pipe.xadd(stream, '*', ...fields(j));
    await pipe.exec();
  }
}

/** The ids of the next (up to) 500 new entries of `stream` for `consumer` of `group` (none after a 1 s block). */
async function readIds(redis: Redis, stream: string, group: string, consumer: string): Promise<string[]> {
  const reply = (await redis.xreadgroup(
    'GROUP',
    group,
    consumer,
    'COUNT',
    500,
    'BLOCK',
    1000,
    'STREAMS',
    stream,
    '>',
  )) as [string, [string, string[]][]][] | null;
  return (reply?.[0]?.[1] ?? []).map(([id]) => id);
}

/** The ceiling: XREADGROUP + XACK of every entry, doing nothing else. */
async function rawConsume(url: string, stream: string, n: number, group: string): Promise<Row> {
  const redis = new Redis(url);
  await redis.xgroup('CREATE', stream, group, '0');
  const t0 = performance.now();
  let count = 0;
  while (count < n) {
    const ids = await readIds(redis, stream, group, 'raw');
    if (ids.length === 0) continue;
    await redis.xack(stream, group, ...ids);
    count += ids.length;
  }
  const seconds = (performance.now() - t0) / 1000;
  redis.disconnect();
  return { name: 'raw XREADGROUP+XACK (ioredis)', events: n, seconds };
}

/**
 * The floor of tap → sidecar: `XREADGROUP COUNT 500`, then the next pre-sealed events sent for the entries
 * read ({@link PresealedSender}, as many batches in flight as the taps keep (`--inflight`)), `XACK` once they and every earlier
 * batch were acknowledged. No mapping, no sealing: every tap does this and more.
 */
async function floorTapRun(
  url: string,
  stream: string,
  n: number,
  group: string,
  sender: PresealedSender,
): Promise<Row> {
  const redis = new Redis(url);
  await redis.xgroup('CREATE', stream, group, '0');
  const window = new DeliveryWindow(inflight);
  const t0 = performance.now();
  let read = 0;
  while (read < n) {
    const ids = await readIds(redis, stream, group, 'floor');
    if (ids.length === 0) continue;
    read += ids.length;
    await window.push(
      () => sender.send(ids.length),
      async () => {
        await redis.xack(stream, group, ...ids);
      },
    );
  }
  await window.drain();
  const seconds = (performance.now() - t0) / 1000;
  redis.disconnect();
  await sender.close();
  return { name: 'floor: read + send pre-sealed + XACK → sidecar', events: n, seconds };
}

async function tapRun(
  name: string,
  url: string,
  stream: string,
  n: number,
  sink: Sink,
  group: string,
  idNamespace?: string,
): Promise<Row> {
  const tap = new RedisTap({
    url,
    streams: [stream],
    groupId: group,
    consumer: 'bench',
    sink,
    policyId,
    maxInflight: inflight,
    ...(idNamespace ? { idNamespace } : {}),
  });
  const t0 = performance.now();
  await tap.start();
  await waitFor(`${name} to acknowledge ${n}`, 300_000, () => tap.stats.committed >= n);
  const seconds = (performance.now() - t0) / 1000;
  await tap.stop();
  await sink.close();
  if (tap.stats.events !== n) throw new Error(`${name}: ${tap.stats.events} events for ${n} entries`);
  return { name, events: n, seconds };
}

/** Export for bench/run.ts; runs when executed directly. */
export async function run(argv: string[] = []): Promise<void> {
  // As `vcp tap redis` runs: the CLI turns V8's allocation-site pretenuring off (src/cli/gc-tuning.ts).
  disableAllocationSitePretenuring();
  const { values } = parseArgs({
    args: argv,
    options: {
      entries: { type: 'string' },
      rate: { type: 'string' },
      seconds: { type: 'string' },
      rounds: { type: 'string' },
      inflight: { type: 'string' },
    },
  });
  const url = process.env.VCP_TEST_REDIS_URL?.trim();
  if (!url) {
    console.log('redis-tap: skipped: set VCP_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379)');
    return;
  }
  const n = Number(values.entries ?? (QUICK ? 10_000 : 50_000));
  const rounds = Number(values.rounds ?? (QUICK ? 1 : 3));
  // Batches at the sink at once, for the taps and the floor alike (the taps' default unless given).
  inflight = Number(values.inflight ?? DEFAULT_TAP_INFLIGHT);
  const rate = Number(values.rate ?? 5000);
  const seconds = Number(values.seconds ?? (QUICK ? 2 : 5));
  const tag = `${process.pid}-${Date.now().toString(36)}`;
  const stream = `vcp-bench:redis-tap:${tag}`;
  const pacedStream = `vcp-bench:redis-tap-paced:${tag}`;
  const warmStream = `vcp-bench:redis-tap-warm:${tag}`;
  // redis-server shares the cores when it runs here: its CPU goes into the tap → sidecar budget.
  // ioredis also takes a bare `host:port`, which is no URL.
  const address = /^rediss?:\/\//.test(url) ? new URL(url) : new URL(`redis://${url}`);
  const server = serverCpu('redis-server', `${address.hostname}:${address.port || '6379'}`);
  const redis = new Redis(url);
  const dir = mkdtempSync(join(tmpdir(), 'vcp-bench-redis-tap-'));
  const sidecar = await startSidecarChild();
  try {
    await fill(redis, stream, 0, n);
    console.log(`redis-tap: ${n} entries on ${stream}, Node ${process.version}`);
    await rawConsume(url, stream, n, 'warm-up'); // not reported: lets the JIT settle
    // Every compared path runs once on a small stream first (not reported), so each is measured warm, as in a
    // long-running deployment (bench/_sidecar-batch-cpu.ts: a fresh sidecar's first 40 000 events took it 59 µs of CPU
    // each, 34–36 µs once warm).
    const warm = Math.min(n, 5000);
    await fill(redis, warmStream, 0, warm);
    await tapRun(
      'warm-up: file',
      url,
      warmStream,
      warm,
      new FileSink({ path: join(dir, 'warm.jsonl') }),
      'file',
    );
    const warmHttp = createHttpSink({ url: sidecar.url, retry: { retries: 5 }, breaker: false });
    await tapRun('warm-up: sidecar', url, warmStream, warm, warmHttp, 'sidecar');
    const warmStore = await openEmbeddedStore({ dataDir: join(dir, 'warm-store'), log: () => {} });
    await tapRun('warm-up: embedded', url, warmStream, warm, warmStore, 'embedded');
    await sidecarOwnIngest(sidecar.url, peerEvents(warm, 'vcp-bench:peer-warm-up'));
    // Rounds: each path once per round, the ratios taken within a round and their median held to the goals
    // (a single run moved by ±30 % on this shared machine). A round's events get their own ids
    // (idNamespace) and groups, so the sidecar and the stores see new events every round, never duplicates.
    const measured = new TapRounds('redis-tap', 'Redis Streams → tap, backlog', rounds, inflight);
    for (let r = 1; r <= rounds; r++) {
      const ns = `round-${r}`;
      const rows: Row[] = [await withCpu(sidecar, server, () => rawConsume(url, stream, n, `raw-${r}`))];
      rows.push(
        await withCpu(sidecar, server, () =>
          tapRun(
            'tap → FileSink (fsync/batch)',
            url,
            stream,
            n,
            new FileSink({ path: join(dir, `events-${r}.jsonl`) }),
            `file-${r}`,
            ns,
          ),
        ),
      );
      rows.push(
        await withCpu(sidecar, server, () =>
          tapRun(
            'tap → sidecar (HTTP, fsync/201)',
            url,
            stream,
            n,
            createHttpSink({ url: sidecar.url, retry: { retries: 5 }, breaker: false }),
            `sidecar-${r}`,
            ns,
          ),
        ),
      );
      const store = await openEmbeddedStore({ dataDir: join(dir, `store-${r}`), log: () => {} });
      const embedded = await withCpu(sidecar, server, () =>
        tapRun('tap → embedded store (in-process, fsync/commit)', url, stream, n, store, `embedded-${r}`, ns),
      );
      rows.push(embedded);
      const peers = peerEvents(n, `vcp-bench:peer-${r}`);
      const own = await withCpu(sidecar, server, () => sidecarOwnIngest(sidecar.url, peers));
      rows.push(own);
      const floorSender = new PresealedSender(sidecar.url, peerEvents(n, `vcp-bench:floor-${r}`));
      rows.push(await withCpu(sidecar, server, () => floorTapRun(url, stream, n, `floor-${r}`, floorSender)));
      measured.add(r, rows as [Row, Row, Row, Row, Row, Row], peers);
    }
    measured.report();

    // Latency at a steady rate.
    await redis.xgroup('CREATE', pacedStream, 'raw', '$', 'MKSTREAM');
    const latency = new LatencySink(
      createHttpSink({ url: sidecar.url, retry: { retries: 5 }, breaker: false }),
    );
    const tap = new RedisTap({
      url,
      streams: [pacedStream],
      groupId: 'tap',
      consumer: 'bench',
      startId: '$',
      blockMs: 1000,
      sink: latency,
      policyId,
      maxInflight: inflight,
    });
    await tap.start();
    const rawClient = new Redis(url);
    const rawLatencies: number[] = [];
    let rawRunning = true;
    const rawLoop = (async () => {
      while (rawRunning) {
        const reply = (await rawClient.xreadgroup(
          'GROUP',
          'raw',
          'raw',
          'COUNT',
          500,
          'BLOCK',
          200,
          'STREAMS',
          pacedStream,
          '>',
        )) as [string, [string, string[]][]][] | null;
        const entries = reply?.[0]?.[1] ?? [];
        const at = nowMs();
        for (const [id] of entries) rawLatencies.push(at - Number(id.split('-')[0]));
        if (entries.length) await rawClient.xack(pacedStream, 'raw', ...entries.map(([id]) => id));
      }
    })();
    let k = 0;
    const writer = new Redis(url);
    const sent = await paced(rate, seconds, async (count) => {
      const pipe = writer.pipeline();
      for (let j = 0; j < count; j++, k++) pipe.xadd(pacedStream, '*', ...fields(k));
      await pipe.exec();
    });
    await waitFor('the paced entries', 60_000, () => latency.acked >= sent && rawLatencies.length >= sent);
    rawRunning = false;
    await rawLoop;
    await tap.stop();
    await latency.close();
    rawClient.disconnect();
    writer.disconnect();
    printLatency(`Redis → tap → sidecar at ${rate} entries/s for ${seconds} s (ack − entry time)`, [
      { name: 'raw XREADGROUP (receive − entry time)', values: rawLatencies },
      { name: 'tap → sidecar (201 − entry time)', values: latency.latencies },
    ]);
    console.log(
      `p99 ratio tap/raw: ${(percentile(latency.latencies, 99) / Math.max(0.1, percentile(rawLatencies, 99))).toFixed(1)}×`,
    );
  } finally {
    await sidecar.stop();
    await redis.del(stream, pacedStream, warmStream);
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) await run(process.argv.slice(2));
