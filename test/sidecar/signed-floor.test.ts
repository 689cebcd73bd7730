/**
 * A checkpoint handed out without an anchor (an export's closing one, one
 * signed on demand by GET /vcp/checkpoint) is a promise like an anchor: the
 * store notes its size durably before it is sent, and recovery refuses to
 * come up below it (issue 12: never hand out a merkle_index a checkpoint
 * already covers). A log cut cleanly at a record boundary looks healthy on
 * its own; only the noted size shows that acknowledged, signed events are gone.
 */
import { readdirSync, readFileSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Sidecar, startSidecar } from '../../src/sidecar/server.ts';
import { LogDamageError } from '../../src/sidecar/store/file/segment-check.ts';
import { post, tempDir, testConfig, v11Event } from './helpers.ts';

const cleanups: (() => void)[] = [];
const running: Sidecar[] = [];
afterEach(async () => {
  for (const s of running.splice(0)) await s.close();
  for (const c of cleanups.splice(0)) c();
});

async function start(dir: string): Promise<Sidecar> {
  const s = await startSidecar({ config: testConfig(dir, { 'scrub-interval': '0' }), log: () => {} });
  running.push(s);
  return s;
}

/** Cut the newest segment after its `keep`-th record: a clean, shorter log with no damage to see. */
function cutAfterRecords(dir: string, keep: number): void {
  const seg = readdirSync(join(dir, 'segments')).sort().at(-1)!;
  const path = join(dir, 'segments', seg);
  const buf = readFileSync(path);
  let off = 0;
  for (let k = 0; k < keep; k++) off = buf.indexOf(0x0a, off) + 1;
  truncateSync(path, off);
}

async function fill(s: Sidecar, n: number): Promise<void> {
  for (let k = 0; k < n; k++) expect((await post(`${s.url}/vcp/log`, v11Event(k))).status).toBe(201);
}

describe('sizes promised by checkpoints signed without an anchor', () => {
  for (const how of ['export', 'checkpoint'] as const) {
    it(`after GET /vcp/${how}, a log cut below the signed size refuses to start`, async () => {
      const t = tempDir('vcp-signed-floor-');
      cleanups.push(t.cleanup);
      const s = await start(t.dir);
      await fill(s, 10);
      const res = await fetch(`${s.url}/vcp/${how}`);
      expect(res.status).toBe(200);
      await res.text();
      running.splice(running.indexOf(s), 1);
      await s.close();

      cutAfterRecords(t.dir, 8);
      const err = await start(t.dir).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LogDamageError);
      expect((err as Error).message).toMatch(/checkpoint signed at/);
      expect((err as Error).message).toMatch(/10/);
    });
  }

  it('without a signed checkpoint the same cut is a shorter log (nothing was promised beyond it)', async () => {
    const t = tempDir('vcp-signed-floor-');
    cleanups.push(t.cleanup);
    const s = await start(t.dir);
    await fill(s, 10);
    running.splice(running.indexOf(s), 1);
    await s.close();
    cutAfterRecords(t.dir, 8);
    const again = await start(t.dir);
    expect(again.context.tree.size).toBe(8);
  });
});
