/**
 * Question: what does `@VcpLogged` add to a synchronous trading call?
 *
 * Budget (DESIGN): ≤ 1.5 µs median added on the caller's path with a memory
 * sink, and no slower than pino logging the same payload. Measured in the
 * same run against: the bare method, pino `logger.info` of the same payload
 * to /dev/null (sync destination), and an OpenTelemetry span around the
 * call (BatchSpanProcessor + InMemorySpanExporter).
 *
 * Only the caller's path is timed. Between batches the background work
 * (the recorder's sealing, OTel's batch export) is allowed to finish
 * untimed, so queues never fill and nothing is dropped — otherwise a full
 * queue's cheap "drop" path would flatter everyone. The end-to-end line
 * (call + sealing + memory sink) is printed separately.
 *
 * Node's type stripping cannot compile decorators, so the decorator is
 * applied by hand, exactly as TypeScript's TC39 output calls it.
 *
 * Run: node bench/decorator.ts   (BENCH_QUICK=1 for a short run)
 */
import { BasicTracerProvider, BatchSpanProcessor, InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import pino from 'pino';
import { runWithTrace } from '../src/context/trace-store.ts';
import { configureVcp, type VcpExtractor, VcpLogged } from '../src/instrument/index.ts';
import { createTestRecorder } from '../src/recorder/test-recorder.ts';
import type { VcpRecorder } from '../src/recorder/types.ts';
import { blackhole, fmtNs, type Measurement, ratioLine, report } from './_harness.ts';

const quick = process.env.BENCH_QUICK === '1';
const BATCH = 2000;

/** The trading call: cheap on purpose, so the overhead is what shows. */
class Desk {
  place(id: string, qty: string): string {
    return id.length > 0 ? id : qty;
  }
}

const extractor: VcpExtractor = (args) => ({
  trade_data: {
    order_id: args[0],
    side: 'BUY',
    order_type: 'LIMIT',
    price: '1.0850',
    quantity: args[1],
  },
});

/** Apply a method decorator the way TypeScript's TC39 emit does. */
function decorate(cls: { prototype: object }, name: string, decorator: unknown): void {
  const proto = cls.prototype as Record<string, unknown>;
  const context = {
    kind: 'method',
    name,
    static: false,
    private: false,
    addInitializer() {},
    metadata: Object.create(null),
    access: { has: (o: object) => name in o, get: (o: Record<string, unknown>) => o[name] },
  };
  proto[name] = (decorator as (v: unknown, c: unknown) => unknown)(proto[name], context);
}

class VcpDesk extends Desk {}
decorate(VcpDesk, 'place', VcpLogged('ORD', extractor));
class VcpDefaultDesk extends Desk {}
decorate(VcpDefaultDesk, 'place', VcpLogged('ORD'));

/** A recorder that accepts and forgets: isolates the decorator's own share of the cost. */
const nullRecorder: VcpRecorder = {
  record: () => 'id',
  flush: async () => {},
  close: async () => {},
  stats: () => ({
    recorded: 0,
    sealed: 0,
    written: 0,
    dropped: 0,
    invalid: 0,
    sinkErrors: 0,
    queued: 0,
    spooled: 0,
    extractorErrors: 0,
  }),
  noteExtractorError: () => {},
};
class NullRecorderDesk extends Desk {}
decorate(NullRecorderDesk, 'place', VcpLogged('ORD', extractor, { recorder: nullRecorder }));

/**
 * Median ns per call over batches of `BATCH` calls; `between` runs untimed
 * after each batch (drain background work).
 */
async function measureBatched(
  name: string,
  fn: (i: number) => unknown,
  between: () => Promise<void> | void,
  wrap: (body: () => void) => void = (body) => body(),
): Promise<Measurement> {
  const timeMs = quick ? 400 : 2000;
  const warmupMs = quick ? 150 : 500;
  let i = 0;
  let sink: unknown;
  const batch = () => {
    const t0 = process.hrtime.bigint();
    wrap(() => {
      for (let k = 0; k < BATCH; k++) sink = fn(i++);
    });
    return Number(process.hrtime.bigint() - t0) / BATCH;
  };
  const warmEnd = performance.now() + warmupMs;
  while (performance.now() < warmEnd) {
    batch();
    await between();
  }
  const samples: number[] = [];
  const end = performance.now() + timeMs;
  while (performance.now() < end || samples.length < 5) {
    samples.push(batch());
    await between();
  }
  blackhole(sink);
  samples.sort((a, b) => a - b);
  const median = samples[Math.floor(samples.length / 2)]!;
  const p99 = samples[Math.min(samples.length - 1, Math.floor(samples.length * 0.99))]!;
  return { name, nsPerOp: median, opsPerSec: 1e9 / median, p99NsPerOp: p99, ops: samples.length * BATCH };
}

/** Run the benchmark and print the table and ratios. */
export async function run(): Promise<void> {
  const ids = Array.from({ length: 1024 }, (_, i) => `ORD-${i}`);
  const { recorder, sink } = createTestRecorder();
  configureVcp({ recorder });
  const drainVcp = async () => {
    await recorder.flush();
    sink.clear();
  };

  const logger = pino(pino.destination({ dest: '/dev/null', sync: true }));
  const exporter = new InMemorySpanExporter();
  const processor = new BatchSpanProcessor(exporter, { maxQueueSize: BATCH * 2, maxExportBatchSize: 512 });
  const provider = new BasicTracerProvider({ spanProcessors: [processor] });
  const tracer = provider.getTracer('bench');
  const drainOtel = async () => {
    await processor.forceFlush();
    exporter.reset();
  };

  const bare = new Desk();
  const vcp = new VcpDesk();
  const vcpDefault = new VcpDefaultDesk();
  const decoratorOnly = new NullRecorderDesk();
  const none = async () => {};

  const rows: Measurement[] = [];
  rows.push(await measureBatched('bare method', (i) => bare.place(ids[i & 1023]!, '100000'), none));
  rows.push(
    await measureBatched('@VcpLogged (extractor)', (i) => vcp.place(ids[i & 1023]!, '100000'), drainVcp),
  );
  rows.push(
    await measureBatched(
      '@VcpLogged inside a trace',
      (i) => vcp.place(ids[i & 1023]!, '100000'),
      drainVcp,
      (body) => runWithTrace(undefined, body),
    ),
  );
  rows.push(
    await measureBatched(
      'decorator only (null recorder)',
      (i) => decoratorOnly.place(ids[i & 1023]!, '100000'),
      none,
    ),
  );
  rows.push(
    await measureBatched(
      '@VcpLogged (default payload)',
      (i) => vcpDefault.place(ids[i & 1023]!, '100000'),
      drainVcp,
    ),
  );
  rows.push(
    await measureBatched(
      'pino.info same payload',
      (i) => {
        const id = ids[i & 1023]!;
        const r = bare.place(id, '100000');
        logger.info(
          {
            trade_data: {
              order_id: id,
              side: 'BUY',
              order_type: 'LIMIT',
              price: '1.0850',
              quantity: '100000',
            },
          },
          'ORD',
        );
        return r;
      },
      none,
    ),
  );
  rows.push(
    await measureBatched(
      'OTel span around call',
      (i) => {
        const id = ids[i & 1023]!;
        const span = tracer.startSpan('place');
        try {
          const r = bare.place(id, '100000');
          span.setAttribute('order_id', id);
          span.setAttribute('side', 'BUY');
          span.setAttribute('price', '1.0850');
          span.setAttribute('quantity', '100000');
          return r;
        } finally {
          span.end();
        }
      },
      drainOtel,
    ),
  );
  // End to end: the call plus sealing (JCS, SHA-256, chain) and the memory sink, per event.
  const e2eStart = process.hrtime.bigint();
  let e2eCalls = 0;
  const e2eEnd = performance.now() + (quick ? 300 : 1500);
  while (performance.now() < e2eEnd) {
    for (let k = 0; k < BATCH; k++) vcp.place(ids[k & 1023]!, '100000');
    e2eCalls += BATCH;
    await drainVcp();
  }
  const e2eNs = Number(process.hrtime.bigint() - e2eStart) / e2eCalls;

  const [bareRow, vcpRow, tracedRow, onlyRow, defaultRow, pinoRow, otelRow] = rows as [
    Measurement,
    Measurement,
    Measurement,
    Measurement,
    Measurement,
    Measurement,
    Measurement,
  ];
  report('Sync call, caller path (median of 2000-call batches)', rows, bareRow);

  const added = (m: Measurement) => m.nsPerOp - bareRow.nsPerOp;
  console.log('\nAdded latency per call (vs bare method):');
  for (const m of rows.slice(1)) console.log(`  ${m.name.padEnd(30)} ${fmtNs(added(m)).padStart(10)}`);
  console.log(
    `  ${'@VcpLogged + sealing, end to end'.padEnd(30)} ${fmtNs(e2eNs - bareRow.nsPerOp).padStart(10)}`,
  );
  console.log('');
  ratioLine('@VcpLogged added / pino added', added(vcpRow), added(pinoRow), '≤ 1');
  ratioLine('@VcpLogged added / OTel span added', added(vcpRow), added(otelRow));
  ratioLine('@VcpLogged in trace added / pino added', added(tracedRow), added(pinoRow), '≤ 1');
  ratioLine('default payload added / extractor added', added(defaultRow), added(vcpRow));
  ratioLine('decorator share (null recorder) / full added', added(onlyRow), added(vcpRow));
  const ok = added(vcpRow) <= 1500 && vcpRow.nsPerOp <= pinoRow.nsPerOp;
  console.log(
    `budget (≤ 1.5 µs added, no slower than pino): ${ok ? 'MET' : 'NOT MET'} — added ${fmtNs(added(vcpRow))}, pino ${fmtNs(pinoRow.nsPerOp)}/call`,
  );
  const stats = recorder.stats();
  console.log(`recorder: ${stats.recorded} recorded, ${stats.sealed} sealed, ${stats.dropped} dropped`);
  await recorder.close();
  await provider.shutdown();
}

if (import.meta.main) await run();
