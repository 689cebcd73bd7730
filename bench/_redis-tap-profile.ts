import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { RedisTap } from '../src/adapters/redis-tap.ts';
import { FileSink } from '../src/sinks/file.ts';
import { orderFields } from './_tap-data.ts';

const url = 'redis://127.0.0.1:6379';
const n = 30000;
const redis = new Redis(url);
const stream = process.env.STREAM ?? `vcp-prof:${process.pid}`;
const mode = process.env.MODE ?? 'both'; // fill | tap | both
for (let i = 0; mode !== 'tap' && i < n; i += 1000) {
  const p = redis.pipeline();
  for (let j = i; j < i + 1000; j++) p.xadd(stream, '*', ...orderFields(j, true));
  await p.exec();
}
if (mode === 'fill') {
  redis.disconnect();
  process.exit(0);
}
const dir = mkdtempSync(join(tmpdir(), 'vcp-rprof-'));
const tap = new RedisTap({
  url,
  streams: [stream],
  groupId: 'g',
  consumer: 'c',
  sink: new FileSink({ path: join(dir, 'e.jsonl') }),
  policyId: 'local:p:r',
});
const c0 = process.cpuUsage();
const t0 = performance.now();
await tap.start();
while (tap.stats.committed < n) await new Promise((r) => setTimeout(r, 5));
const cpu = process.cpuUsage(c0);
const ms = performance.now() - t0;
console.log(
  `${Math.round((n / ms) * 1000)} events/s, ${((cpu.user + cpu.system) / n).toFixed(1)} µs CPU/event`,
);
await tap.stop();
await redis.del(stream);
redis.disconnect();
rmSync(dir, { recursive: true, force: true });
