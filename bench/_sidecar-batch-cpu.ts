/**
 * Probe (not part of `npm run bench`): the sidecar's CPU per event for the same
 * sealed tap events POSTed in batches of different sizes and concurrency, to
 * see which request shape a tap should send. `node bench/_sidecar-batch-cpu.ts`
 */
import { createDefaultMapping, type TapMessage } from '../src/adapters/message-mapping.ts';
import { TapRunner } from '../src/adapters/tap-runner.ts';
import { MemorySink } from '../src/sinks/memory.ts';
import { orderValue } from './_tap-data.ts';
import { sidecarOwnIngest, startSidecarChild, withCpu } from './_tap-harness.ts';

const n = Number(process.env.N ?? 20_000);
const sidecar = await startSidecarChild();
let round = 0;
function events(count: number) {
  const topic = `probe-${round++}`;
  const runner = new TapRunner(
    {
      sink: new MemorySink(),
      policyId: 'local:probe:x',
      mapping: createDefaultMapping({ topics: { [topic]: 'orders' } }),
    },
    'probe',
  );
  const messages: TapMessage[] = [];
  for (let i = 0; i < count; i++) {
    messages.push({
      transport: 'kafka',
      topic,
      partition: i % 4,
      offset: String(i),
      key: Buffer.from(`ORD-${i % 5000}`),
      value: orderValue(i, true),
      fields: undefined,
      rawFields: undefined,
      headers: Object.create(null),
      timestamp: Date.now(),
    });
  }
  return runner.toEvents(messages).events;
}
try {
  for (const [batch, conns] of [
    [100, 8],
    [1000, 2],
    [500, 2],
    [250, 2],
    [250, 4],
    [100, 8],
  ] as const) {
    const ev = events(n);
    const row = await withCpu(sidecar, undefined, () => sidecarOwnIngest(sidecar.url, ev, batch, conns));
    console.log(
      `${row.name.padEnd(44)} ${Math.round(row.events / row.seconds)
        .toString()
        .padStart(7)} events/s  ${row.cpu}`,
    );
  }
} finally {
  await sidecar.stop();
}
