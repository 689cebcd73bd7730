/**
 * Profile driver (not part of `npm run bench`): CPU per event of writing tap events into
 * an embedded store (openEmbeddedStore) against a FileSink, same events, same process.
 * `node --cpu-prof bench/_embedded-profile.ts`
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedStore } from '../src/adapters/embedded-store.ts';
import { createDefaultMapping, type TapMessage } from '../src/adapters/message-mapping.ts';
import { TapRunner } from '../src/adapters/tap-runner.ts';
import type { VcpEvent } from '../src/core/types.ts';
import { FileSink } from '../src/sinks/file.ts';
import { MemorySink } from '../src/sinks/memory.ts';
import type { Sink } from '../src/sinks/sink.ts';
import { orderValue } from './_tap-data.ts';

const n = Number(process.env.N ?? 50_000);
let round = 0;
function events(count: number): VcpEvent[][] {
  const topic = `prof-${round++}`;
  const runner = new TapRunner(
    {
      sink: new MemorySink(),
      policyId: 'local:prof:x',
      mapping: createDefaultMapping({ topics: { [topic]: 'orders' } }),
    },
    'prof',
  );
  const batches: VcpEvent[][] = [];
  for (let b = 0; b < count; b += 500) {
    const messages: TapMessage[] = [];
    for (let i = b; i < b + 500; i++) {
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
        timestamp: 1_750_000_000_000 + i,
      });
    }
    batches.push(runner.toEvents(messages).events);
  }
  return batches;
}
const dir = mkdtempSync(join(tmpdir(), 'vcp-eprof-'));
async function run(name: string, sink: Sink): Promise<void> {
  const batches = events(n);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  // Two batches in flight, as the taps deliver.
  let prev: Promise<void> = Promise.resolve();
  for (const b of batches) {
    const w = sink.write(b);
    await prev;
    prev = w;
  }
  await prev;
  const c = process.cpuUsage(c0);
  const ms = performance.now() - t0;
  await sink.close();
  console.log(
    `${name.padEnd(16)} ${Math.round((n / ms) * 1000)} events/s, ${((c.user + c.system) / n).toFixed(1)} µs CPU/event (write only)`,
  );
}
for (let r = 0; r < 2; r++) {
  await run('FileSink', new FileSink({ path: join(dir, `f${r}.jsonl`) }));
  await run('embedded store', await openEmbeddedStore({ dataDir: join(dir, `s${r}`), log: () => {} }));
}
rmSync(dir, { recursive: true, force: true });
