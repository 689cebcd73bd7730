/**
 * How fast does the Kafka tap record a topic, end to end, against the raw
 * consume rate of the same client library (`@platformatic/kafka`) on the same
 * topic in the same run (the ceiling)?
 *
 * Throughput (a backlog of N guide-shaped `orders` messages, 4 partitions,
 * ~1 % poison): raw consume (no processing, no commits) → ceiling; the tap
 * into a FileSink (fsync every batch) and into a real sidecar child process
 * (HTTP, file store, fsync before every 201); each run is a new consumer
 * group, timed until the sink acknowledged every event (the offsets' last
 * commit, up to `commitIntervalMs` later, is printed under the row). Beside them, the floor of
 * tap → sidecar: the raw consume sending events sealed and encoded before
 * the clock started (as the sidecar's own ingest sends them), and nothing
 * else. Every path runs once per round (3, 1 with BENCH_QUICK=1); the goals
 * hold the median of the rounds' ratios.
 *
 * Latency (paced producer, messages at a steady rate): ack time at the sink −
 * the message's Kafka timestamp (set by the producer), p50/p99, for the tap
 * into the sidecar, against a raw consumer of the same messages (receive time
 * − timestamp) running at the same time.
 *
 *   export "$(bash scripts/kafka.sh start)"; node bench/kafka-tap.ts [--messages 50000] [--rate 5000] [--seconds 5] [--rounds 3] [--inflight 4]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Admin, Consumer, Producer } from '@platformatic/kafka';
import { openEmbeddedStore } from '../src/adapters/embedded-store.ts';
import { KafkaTap } from '../src/adapters/kafka-tap.ts';
import { createDefaultMapping, type TapMessage } from '../src/adapters/message-mapping.ts';
import { DEFAULT_TAP_INFLIGHT, TapRunner } from '../src/adapters/tap-runner.ts';
import { disableAllocationSitePretenuring } from '../src/cli/gc-tuning.ts';
import { FileSink } from '../src/sinks/file.ts';
import { createHttpSink } from '../src/sinks/http.ts';
import { MemorySink } from '../src/sinks/memory.ts';
import type { Sink } from '../src/sinks/sink.ts';
import { orderValue } from './_tap-data.ts';
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

/** The events the tap makes of n messages of another topic (new ids), sealed before any clock starts. */
function peerEvents(n: number, topic = 'vcp-bench-peer'): import('../src/core/types.ts').VcpEvent[] {
  const runner = new TapRunner(
    { sink: new MemorySink(), policyId, mapping: createDefaultMapping({ topics: { [topic]: 'orders' } }) },
    'vcp-bench-peer',
  );
  const messages: TapMessage[] = [];
  for (let i = 0; i < n; i++) {
    messages.push({
      transport: 'kafka',
      topic,
      partition: i % 4,
      offset: String(i),
      key: Buffer.from(`ORD-${i % 5000}`),
      value: orderValue(i),
      fields: undefined,
      rawFields: undefined,
      headers: Object.create(null),
      timestamp: Date.now(),
    } as TapMessage);
  }
  return runner.toEvents(messages).events;
}

/** Batches at the sink at once, taps and floor (`--inflight`). */
let inflight = DEFAULT_TAP_INFLIGHT;
const policyId = 'local:vcp-bench:kafka-tap';

function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

async function createTopic(brokers: string[], topic: string, partitions: number): Promise<void> {
  const admin = new Admin({ clientId: 'vcp-bench-admin', bootstrapBrokers: brokers });
  try {
    await admin.createTopics({ topics: [topic], partitions, replicas: 1 });
    for (let i = 0; i < 100; i++) {
      const meta = await admin.metadata({ topics: [topic], forceUpdate: true });
      const parts = meta.topics.get(topic)?.partitions ?? [];
      if (parts.length === partitions && parts.every((p) => p && p.leader >= 0)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`topic ${topic} has no leaders`);
  } finally {
    await admin.close();
  }
}

async function deleteTopics(brokers: string[], topics: string[]): Promise<void> {
  const admin = new Admin({ clientId: 'vcp-bench-admin', bootstrapBrokers: brokers });
  await admin.deleteTopics({ topics }).catch(() => {});
  await admin.close();
}

/** The ceiling: read n messages with the library's consumer stream, doing nothing with them. */
async function rawConsume(brokers: string[], topic: string, n: number): Promise<Row> {
  const consumer = new Consumer({
    clientId: 'vcp-bench-raw',
    groupId: uniqueName('raw'),
    bootstrapBrokers: brokers,
    autocommit: false,
    maxWaitTime: 100,
  });
  const t0 = performance.now();
  const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false });
  let count = 0;
  await new Promise<void>((resolve) => {
    stream.on('data', () => {
      if (++count === n) resolve();
    });
  });
  const seconds = (performance.now() - t0) / 1000;
  await stream.close();
  await consumer.close(true);
  return { name: 'raw consume (@platformatic/kafka)', events: n, seconds };
}

/**
 * The floor of tap → sidecar: the raw consume, with the next pre-sealed events sent for every 500 messages
 * ({@link PresealedSender}, as many batches in flight as the taps keep (`--inflight`); the stream paused while the window is
 * full). No mapping, no sealing, and no offset commits (the tap's are a few a second): every tap does more.
 */
async function floorTapRun(
  brokers: string[],
  topic: string,
  n: number,
  sender: PresealedSender,
): Promise<Row> {
  const consumer = new Consumer({
    clientId: 'vcp-bench-floor',
    groupId: uniqueName('floor'),
    bootstrapBrokers: brokers,
    autocommit: false,
    maxWaitTime: 100,
  });
  const window = new DeliveryWindow(inflight);
  const t0 = performance.now();
  const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false });
  let count = 0;
  let pending = 0;
  await new Promise<void>((resolve, reject) => {
    stream.on('data', () => {
      count++;
      pending++;
      if (pending < 500 && count < n) return;
      const k = pending;
      pending = 0;
      stream.pause();
      window
        .push(
          () => sender.send(k),
          async () => {},
        )
        .then(async () => {
          if (count < n) stream.resume();
          else resolve(await window.drain());
        })
        .catch(reject);
    });
    stream.on('error', reject);
  });
  const seconds = (performance.now() - t0) / 1000;
  await stream.close();
  await consumer.close(true);
  await sender.close();
  return { name: 'floor: consume + send pre-sealed → sidecar', events: n, seconds };
}

/**
 * The tap into `sink` from a new group; `idNamespace` sets the events' ids apart. The clock stops when the
 * sink has acknowledged all n events (they are durable there): the rate compared with the sidecar's own
 * ingest and with the floor, neither of which commits offsets. The tap commits its offsets at most every
 * `commitIntervalMs` (200 ms), so the last commit lands up to that long later: a fixed delay at the end of a
 * backlog, not a rate, and 5–13 % of a 1.5 s run. The row's note says how long after; the run still waits
 * for every offset to be committed.
 */
async function tapRun(
  name: string,
  brokers: string[],
  topic: string,
  n: number,
  sink: Sink,
  idNamespace?: string,
): Promise<Row> {
  let acknowledged = 0;
  let allAcknowledgedAt = 0;
  // Counted on the sink itself (an own `write` over its class's), so that it keeps everything else it tells the tap.
  const write = sink.write.bind(sink);
  sink.write = async (events) => {
    await write(events);
    acknowledged += events.length;
    if (acknowledged >= n && allAcknowledgedAt === 0) allAcknowledgedAt = performance.now();
  };
  const tap = new KafkaTap({
    brokers,
    topics: [topic],
    groupId: uniqueName('tap'),
    sink,
    policyId,
    maxInflight: inflight,
    ...(idNamespace ? { idNamespace } : {}),
    mapping: createDefaultMapping({ topics: { [topic]: 'orders' } }),
  });
  const t0 = performance.now();
  await tap.start();
  await waitFor(`${name} to commit ${n}`, 300_000, () => tap.stats.committed >= n);
  const committedAt = performance.now();
  await tap.stop();
  await sink.close();
  if (tap.stats.events !== n) throw new Error(`${name}: ${tap.stats.events} events for ${n} messages`);
  if (allAcknowledgedAt === 0)
    throw new Error(`${name}: the sink acknowledged ${acknowledged} of ${n} events`);
  const seconds = (allAcknowledgedAt - t0) / 1000;
  const tail = committedAt - allAcknowledgedAt;
  const whole = ((n / (committedAt - t0)) * 1000).toFixed(0);
  return {
    name,
    events: n,
    seconds,
    note: `every offset committed ${tail.toFixed(0)} ms after the last acknowledgement (${whole} events/s to the last commit)`,
  };
}

/** Export for bench/run.ts; runs when executed directly. */
export async function run(argv: string[] = []): Promise<void> {
  // As `vcp tap kafka` runs: the CLI turns V8's allocation-site pretenuring off (src/cli/gc-tuning.ts).
  disableAllocationSitePretenuring();
  const { values } = parseArgs({
    args: argv,
    options: {
      messages: { type: 'string' },
      rate: { type: 'string' },
      seconds: { type: 'string' },
      rounds: { type: 'string' },
      inflight: { type: 'string' },
    },
  });
  const brokerList = process.env.VCP_TEST_KAFKA_BROKERS?.trim();
  if (!brokerList) {
    console.log('kafka-tap: skipped: set VCP_TEST_KAFKA_BROKERS (export "$(bash scripts/kafka.sh start)")');
    return;
  }
  const brokers = brokerList.split(',').map((b) => b.trim());
  const n = Number(values.messages ?? (QUICK ? 10_000 : 50_000));
  const rounds = Number(values.rounds ?? (QUICK ? 1 : 3));
  // Batches at the sink at once, for the taps and the floor alike (the taps' default unless given).
  inflight = Number(values.inflight ?? DEFAULT_TAP_INFLIGHT);
  const rate = Number(values.rate ?? 5000);
  const seconds = Number(values.seconds ?? (QUICK ? 2 : 5));
  const topic = uniqueName('vcp-bench-orders');
  const pacedTopic = uniqueName('vcp-bench-paced');
  const warmTopic = uniqueName('vcp-bench-warm');
  const dir = mkdtempSync(join(tmpdir(), 'vcp-bench-kafka-tap-'));
  const sidecar = await startSidecarChild();
  // The broker shares the cores when it runs here: its CPU goes into the tap → sidecar budget.
  const server = brokers.length === 1 ? serverCpu('broker', brokers[0]!) : undefined;
  try {
    await createTopic(brokers, topic, 4);
    const producer = new Producer({
      clientId: 'vcp-bench-producer',
      bootstrapBrokers: brokers,
      compression: 'lz4',
      idempotent: true, // a retried send must not add messages the tap would then count
    });
    const produce = async (to: string, count: number) => {
      for (let i = 0; i < count; i += 1000) {
        const messages = [];
        for (let j = i; j < Math.min(count, i + 1000); j++) {
          messages.push({ topic: to, key: Buffer.from(`ORD-${j % 5000}`), value: orderValue(j) });
        }
        await producer.send({ messages });
      }
    };
    await produce(topic, n);
    console.log(`kafka-tap: ${n} messages on ${topic} (4 partitions), Node ${process.version}`);

    // Warm up the JIT on both paths with a small run first (not reported).
    await rawConsume(brokers, topic, Math.min(n, 5000));
    // Every compared path runs once on a small topic first (not reported), so each is measured warm, as in a
    // long-running deployment (bench/_sidecar-batch-cpu.ts: a fresh sidecar's first 40 000 events took it 59 µs of CPU
    // each, 34–36 µs once warm).
    const warm = Math.min(n, 5000);
    await createTopic(brokers, warmTopic, 4);
    await produce(warmTopic, warm);
    await tapRun('warm-up: file', brokers, warmTopic, warm, new FileSink({ path: join(dir, 'warm.jsonl') }));
    const warmHttp = createHttpSink({ url: sidecar.url, retry: { retries: 5 }, breaker: false });
    await tapRun('warm-up: sidecar', brokers, warmTopic, warm, warmHttp);
    const warmStore = await openEmbeddedStore({ dataDir: join(dir, 'warm-store'), log: () => {} });
    await tapRun('warm-up: embedded', brokers, warmTopic, warm, warmStore);
    await sidecarOwnIngest(sidecar.url, peerEvents(warm, 'vcp-bench-peer-warm-up'));
    // Rounds: each path once per round, the ratios taken within a round and their median held to the goals
    // (a single run moved by ±30 % on this shared machine). A round's events get their own ids
    // (idNamespace), so the sidecar and the stores see new events every round, never duplicates.
    const measured = new TapRounds('kafka-tap', 'Kafka → tap, backlog', rounds, inflight);
    for (let r = 1; r <= rounds; r++) {
      const ns = `round-${r}`;
      const rows: Row[] = [await withCpu(sidecar, server, () => rawConsume(brokers, topic, n))];
      rows.push(
        await withCpu(sidecar, server, () =>
          tapRun(
            'tap → FileSink (fsync/batch)',
            brokers,
            topic,
            n,
            new FileSink({ path: join(dir, `events-${r}.jsonl`) }),
            ns,
          ),
        ),
      );
      rows.push(
        await withCpu(sidecar, server, () =>
          tapRun(
            'tap → sidecar (HTTP, fsync/201)',
            brokers,
            topic,
            n,
            createHttpSink({ url: sidecar.url, retry: { retries: 5 }, breaker: false }),
            ns,
          ),
        ),
      );
      const store = await openEmbeddedStore({ dataDir: join(dir, `store-${r}`), log: () => {} });
      const embedded = await withCpu(sidecar, server, () =>
        tapRun('tap → embedded store (in-process, fsync/commit)', brokers, topic, n, store, ns),
      );
      rows.push(embedded);
      const peers = peerEvents(n, `vcp-bench-peer-${r}`);
      const own = await withCpu(sidecar, server, () => sidecarOwnIngest(sidecar.url, peers));
      rows.push(own);
      const floorSender = new PresealedSender(sidecar.url, peerEvents(n, `vcp-bench-floor-${r}`));
      rows.push(await withCpu(sidecar, server, () => floorTapRun(brokers, topic, n, floorSender)));
      measured.add(r, rows as [Row, Row, Row, Row, Row, Row], peers);
    }
    measured.report();

    // Latency at a steady rate: tap → sidecar and a raw consumer, on the same messages.
    await createTopic(brokers, pacedTopic, 4);
    const latency = new LatencySink(
      createHttpSink({ url: sidecar.url, retry: { retries: 5 }, breaker: false }),
    );
    const tap = new KafkaTap({
      brokers,
      topics: [pacedTopic],
      groupId: uniqueName('tap'),
      sink: latency,
      policyId,
      maxInflight: inflight,
      startFrom: 'earliest',
      mapping: createDefaultMapping({ topics: { [pacedTopic]: 'orders' } }),
    });
    await tap.start();
    const raw = new Consumer({
      clientId: 'vcp-bench-raw',
      groupId: uniqueName('raw'),
      bootstrapBrokers: brokers,
      autocommit: false,
      maxWaitTime: 100,
    });
    const rawStream = await raw.consume({
      topics: [pacedTopic],
      mode: 'earliest',
      autocommit: false,
      maxWaitTime: 100,
    });
    const rawLatencies: number[] = [];
    rawStream.on('data', (m) => {
      rawLatencies.push(nowMs() - Number(m.timestamp));
    });
    // Let both join their groups before the clock starts.
    await new Promise((r) => setTimeout(r, 1500));
    let k = 0;
    const sent = await paced(rate, seconds, async (count) => {
      const messages = [];
      for (let j = 0; j < count; j++, k++)
        messages.push({ topic: pacedTopic, key: Buffer.from(`ORD-${k % 5000}`), value: orderValue(k) });
      await producer.send({ messages });
    });
    await waitFor('the paced messages', 60_000, () => latency.acked >= sent && rawLatencies.length >= sent);
    await tap.stop();
    await rawStream.close();
    await raw.close(true);
    await latency.close();
    await producer.close();
    printLatency(`Kafka → tap → sidecar at ${rate} msg/s for ${seconds} s (ack − message timestamp)`, [
      { name: 'raw consume (receive − timestamp)', values: rawLatencies },
      { name: 'tap → sidecar (201 − timestamp)', values: latency.latencies },
    ]);
    console.log(
      `p99 ratio tap/raw: ${(percentile(latency.latencies, 99) / Math.max(0.1, percentile(rawLatencies, 99))).toFixed(1)}×`,
    );
  } finally {
    await sidecar.stop();
    await deleteTopics(brokers, [topic, pacedTopic, warmTopic]);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) await run(process.argv.slice(2));
