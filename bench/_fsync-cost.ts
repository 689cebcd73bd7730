/**
 * Profile driver (not part of `npm run bench`): what one `fdatasync` costs
 * this machine, and whether two in flight on one file go faster than one.
 * The sidecar's group commit runs one write + `fdatasync` at a time; this
 * tells whether overlapping them could pay, and how much CPU (mostly kernel)
 * each sync takes from the cores the sidecar shares.
 * Each write is 9 100 bytes, a group of 13 single events as the sidecar
 * writes them under `bench/sidecar-ingest.ts`'s single-event load.
 * Run: `node bench/_fsync-cost.ts` (in a temporary folder under os.tmpdir()).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vcp-fsync-'));
const group = Buffer.alloc(13 * 700, 0x78);
const SECONDS = Number(process.env.SECONDS ?? 2);
const datasync = (fd: number) =>
  new Promise<void>((resolve, reject) => fs.fdatasync(fd, (e) => (e ? reject(e) : resolve())));

/** `inflight` writers, each: write a group, then wait for its fdatasync. */
async function measure(inflight: number): Promise<string> {
  const fd = fs.openSync(path.join(dir, `log-${inflight}`), 'a');
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + SECONDS * 1000;
  let syncs = 0;
  const writer = async () => {
    while (performance.now() < end) {
      fs.writeSync(fd, group);
      await datasync(fd);
      syncs++;
    }
  };
  await Promise.all(Array.from({ length: inflight }, writer));
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  fs.closeSync(fd);
  return (
    `${inflight} in flight: ${Math.round((syncs / wallMs) * 1000)} syncs/s, ${((wallMs / syncs) * inflight * 1000).toFixed(0)} µs per sync, ` +
    `CPU per sync ${(cpu.user / syncs).toFixed(0)} µs user + ${(cpu.system / syncs).toFixed(0)} µs system`
  );
}

try {
  for (const n of [1, 2, 4, 1, 2, 4]) console.log(await measure(n));
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
