/**
 * Question: does the recorder's memory stay flat, bounded by its queue, while
 * 10 million events pass through it? (DESIGN: "memory bounded by configured
 * queue size; flat over a 10-minute soak".)
 *
 * A producer records small order events as fast as it can, in `'block'` mode,
 * awaiting `backpressure()` every 256 events; every event is validated and
 * sealed (JCS + SHA-256) and handed to a counting sink that keeps nothing
 * (the sink is not what is measured). RSS and heap are printed at the start,
 * every million events, and at the end, after a GC, next to the peer: the
 * same number of payload objects merely created and dropped (no recorder).
 * Run: `node bench/recorder-memory.ts` (BENCH_QUICK=1: 1 million events;
 * VCP_BENCH_EVENTS=n to choose).
 */
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { createPolicy } from '../src/core/policy.ts';
import type { VcpEvent } from '../src/core/types.ts';
import { createRecorder } from '../src/recorder/recorder.ts';
import type { Sink } from '../src/sinks/sink.ts';

const quick = process.env.BENCH_QUICK === '1';
const TOTAL = Number(process.env.VCP_BENCH_EVENTS ?? (quick ? 1_000_000 : 10_000_000));
const STEP = Math.min(1_000_000, Math.max(1, Math.floor(TOTAL / 10)));
const QUEUE_MAX = 10_000;

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;

function sample(label: string): { rss: number; heap: number } {
  gc();
  const m = process.memoryUsage();
  console.log(
    `${label.padEnd(22)} rss ${mb(m.rss).padStart(9)}  heapUsed ${mb(m.heapUsed).padStart(9)}  heapTotal ${mb(m.heapTotal).padStart(9)}  external ${mb(m.external).padStart(8)}`,
  );
  return { rss: m.rss, heap: m.heapUsed };
}

/** Counts events and keeps none. */
class CountingSink implements Sink {
  readonly name = 'counting';
  count = 0;
  bytes = 0;
  async write(events: readonly VcpEvent[]): Promise<void> {
    this.count += events.length;
    this.bytes += events[0]?.security.event_hash.length ?? 0;
  }
  writeSync(events: readonly VcpEvent[]): void {
    this.count += events.length;
  }
  async close(): Promise<void> {}
}

/** Run the soak and print the memory samples. */
export async function run(): Promise<void> {
  const policy = createPolicy({ policyId: 'com.example.trading:soak', tier: 'GOLD' });
  const sink = new CountingSink();
  const recorder = createRecorder({
    policy,
    sink,
    exitHooks: false,
    batchSize: 256,
    queue: { max: QUEUE_MAX, whenFull: 'block' },
  });
  console.log(
    `\n${TOTAL.toLocaleString('en')} events through a queue of ${QUEUE_MAX.toLocaleString('en')} ('block' mode)`,
  );
  const start = sample('start');
  const samples: { at: number; rss: number; heap: number }[] = [];
  let maxQueued = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < TOTAL; i++) {
    recorder.record('ORD', {
      trade_data: {
        order_id: `O-${i}`,
        symbol: 'EURUSD',
        side: i & 1 ? 'BUY' : 'SELL',
        price: '1.0850',
        quantity: '100000',
      },
    });
    if ((i & 255) === 255) {
      const q = recorder.stats().queued;
      if (q > maxQueued) maxQueued = q;
      await recorder.backpressure();
    }
    if ((i + 1) % STEP === 0) {
      const s = sample(`after ${((i + 1) / 1e6).toFixed(1)} M`);
      samples.push({ at: i + 1, ...s });
    }
  }
  await recorder.flush();
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const end = sample('end (flushed)');
  const st = recorder.stats();
  await recorder.close();
  if (sink.count !== TOTAL || st.dropped !== 0)
    throw new Error(`events lost: sink ${sink.count}, stats ${JSON.stringify(st)}`);
  console.log(
    `${TOTAL.toLocaleString('en')} events sealed and delivered in ${secs.toFixed(1)} s (${Math.round(TOTAL / secs).toLocaleString('en')} events/s); most queued at once: ${maxQueued}`,
  );
  const later = samples.slice(Math.floor(samples.length / 2));
  const rssSpread = Math.max(...later.map((s) => s.rss)) - Math.min(...later.map((s) => s.rss));
  console.log(
    `RSS start → end: ${mb(start.rss)} → ${mb(end.rss)} (${end.rss >= start.rss ? '+' : ''}${mb(end.rss - start.rss)}); spread over the second half: ${mb(rssSpread)}`,
  );
  console.log(`heapUsed start → end: ${mb(start.heap)} → ${mb(end.heap)}`);

  // Peer: the same payloads created and dropped, no recorder: the floor of what the loop costs.
  const p0 = sample('peer start');
  let keep: unknown;
  for (let i = 0; i < Math.min(TOTAL, 1_000_000); i++) {
    keep = {
      trade_data: {
        order_id: `O-${i}`,
        symbol: 'EURUSD',
        side: i & 1 ? 'BUY' : 'SELL',
        price: '1.0850',
        quantity: '100000',
      },
    };
  }
  const p1 = sample('peer end');
  console.log(`peer (payloads only): RSS ${mb(p0.rss)} → ${mb(p1.rss)}${keep ? '' : ''}`);
}

if (import.meta.main) await run();
