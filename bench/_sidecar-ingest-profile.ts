/**
 * Profile driver (not part of `npm run bench`): the sidecar alone in this
 * process under the batched load of bench/sidecar-ingest.ts (its load child).
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof bench/_sidecar-ingest-profile.ts [batch] [connections] [seconds]
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveSidecarConfig } from '../src/sidecar/config.ts';
import { startSidecar } from '../src/sidecar/server.ts';

const [batch = 100, connections = 8, seconds = 5] = process.argv.slice(2).map(Number);
const loader = fileURLToPath(new URL('./sidecar-ingest.ts', import.meta.url));
const child = fork(loader, ['--load-child'], { stdio: 'inherit', execArgv: [] });
const dataDir = mkdtempSync(join(tmpdir(), 'vcp-prof-sidecar-'));
try {
  const config = resolveSidecarConfig(
    { port: '0', 'data-dir': dataDir, 'max-queue': '1000000', 'anchor-interval': '24h' },
    {},
    dataDir,
  );
  const s = await startSidecar({ config, log: () => {} });
  let peak = { rss: 0, heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    if (m.rss > peak.rss) peak = m;
  }, 100);
  const faults0 = process.resourceUsage().minorPageFault;
  const result = await new Promise<{ events?: number }>((resolve, reject) => {
    child.once('message', (m: { ok: boolean; result?: unknown; error?: string }) =>
      m.ok ? resolve(m.result as { events?: number }) : reject(new Error(m.error)),
    );
    child.send({ url: s.url, batch, connections, warmupMs: 1000, durationMs: seconds * 1000 });
  });
  clearInterval(sampler);
  const faults = process.resourceUsage().minorPageFault - faults0;
  console.log(JSON.stringify(result));
  // Each minor fault costs this VM several µs of kernel time (docs/performance.md, first touch of memory).
  console.log(
    `minor page faults ${faults} (warm-up included)${result.events ? `, ${(faults / result.events).toFixed(2)} per measured event` : ''}`,
  );
  const mib = (n: number) => (n / 2 ** 20).toFixed(1);
  console.log(
    `peak rss ${mib(peak.rss)} MiB (heapTotal ${mib(peak.heapTotal)}, heapUsed ${mib(peak.heapUsed)}, external ${mib(peak.external)}, arrayBuffers ${mib(peak.arrayBuffers)})`,
  );
  // The group commit as the sidecar saw it over the whole run (warm-up included): how long each
  // durable append (write + fdatasync) took and how many events shared it.
  const metrics = await (await fetch(`${s.url}/metrics`)).text();
  const read = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1]);
  const appends = read('vcp_fsync_seconds_count');
  console.log(
    `durable appends ${appends}: mean ${((read('vcp_fsync_seconds_sum') / appends) * 1000).toFixed(3)} ms (write + fdatasync), ` +
      `mean group ${(read('vcp_commit_group_events_sum') / read('vcp_commit_group_events_count')).toFixed(1)} events`,
  );
  await s.close();
} finally {
  child.kill();
  rmSync(dataDir, { recursive: true, force: true });
}
