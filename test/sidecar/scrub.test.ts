/**
 * The file store's background scrub through the real sidecar: it rereads
 * the segments, checks every checksum and recomputes the anchored roots;
 * /health and /metrics show the result; a failing scrub stops writes (503)
 * rather than extend a damaged log.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AnchorRecord, VcpEvent } from '../../src/core/types.ts';
import { computeEventHash } from '../../src/integrity/event-hash.ts';
import { MerkleTree } from '../../src/integrity/merkle/index.ts';
import { type Sidecar, startSidecar } from '../../src/sidecar/server.ts';
import { encodeRecords } from '../../src/sidecar/store/file/record.ts';
import { FileEventStore } from '../../src/sidecar/store/file-store.ts';
import { get, post, tempDir, testConfig, v11Event } from './helpers.ts';

const running: Sidecar[] = [];
const cleanups: (() => void)[] = [];
const logs: string[] = [];
afterEach(async () => {
  for (const s of running.splice(0)) await s.close();
  for (const c of cleanups.splice(0)) c();
  logs.length = 0;
});

async function start(flags: Record<string, string> = {}): Promise<{ s: Sidecar; d: string }> {
  const t = tempDir('vcp-scrub-');
  cleanups.push(t.cleanup);
  const s = await startSidecar({
    config: testConfig(t.dir, { 'scrub-interval': '0', ...flags }),
    log: (l) => logs.push(l),
  });
  running.push(s);
  return { s, d: t.dir };
}

async function fill(s: Sidecar, n: number): Promise<void> {
  const r = await post(
    `${s.url}/vcp/log`,
    Array.from({ length: n }, (_, k) => v11Event(k)),
  );
  expect(r.status).toBe(201);
}

const segment = (d: string) => join(d, 'segments', '00000001.log');

/** Offsets of the records of a segment. */
function offsets(path: string): number[] {
  const buf = readFileSync(path);
  const out: number[] = [];
  for (let at = 0; at < buf.length; at = buf.indexOf(0x0a, at) + 1) out.push(at);
  return out;
}

describe('scrub', () => {
  it('passes on a healthy log and shows in /health and /metrics', async () => {
    const { s } = await start();
    await fill(s, 20);
    expect((await post(`${s.url}/vcp/anchor`, '')).status).toBe(201);
    await fill(s, 5);
    const before = (await get(`${s.url}/health`)).body;
    expect(before.scrub).toMatchObject({ last_run: null, ok: null, problems: [], interval_s: 0 });

    const status = await (s.context.store as FileEventStore).scrub();
    expect(status).toMatchObject({ ok: true, problems: [], events_checked: 25, anchors_checked: 1 });
    const health = await get(`${s.url}/health`);
    expect(health.status).toBe(200);
    expect(health.body.scrub).toMatchObject({ ok: true, problems: [] });
    expect(typeof health.body.scrub.last_run).toBe('string');
    const metrics = (await get(`${s.url}/metrics`)).text;
    expect(metrics).toMatch(/^vcp_scrub_ok 1$/m);
    expect(metrics).toMatch(/^vcp_store_writable 1$/m);
    expect(metrics).toMatch(/^vcp_scrub_events_checked 25$/m);
    expect(metrics).toMatch(/^vcp_scrub_last_run_timestamp_seconds \d+/m);
  });

  it('finds a bit flipped on disk while running, names file and offset, and stops writes (503)', async () => {
    const { s, d } = await start();
    await fill(s, 10);
    const at = offsets(segment(d))[4]!;
    const bytes = readFileSync(segment(d));
    bytes[at + 50]! ^= 0x01;
    writeFileSync(segment(d), bytes);

    const status = await (s.context.store as FileEventStore).scrub();
    expect(status.ok).toBe(false);
    expect(status.problems[0]).toContain(
      `${segment(d)} at byte offset ${at}: record checksum mismatch (the record of merkle_index 4)`,
    );
    const health = await get(`${s.url}/health`);
    expect(health.status).toBe(503);
    expect(health.body.status).toBe('failing');
    expect(health.body.store_problem).toMatch(/the scrub found damage/);
    const refused = await post(`${s.url}/vcp/log`, v11Event(77));
    expect(refused.status).toBe(503);
    expect(s.context.tree.size).toBe(10);
    const metrics = (await get(`${s.url}/metrics`)).text;
    expect(metrics).toMatch(/^vcp_scrub_ok 0$/m);
    expect(metrics).toMatch(/^vcp_store_writable 0$/m);
    expect(logs.join('\n')).toMatch(/scrub of file:.* failed/);
  });

  it('recomputes the anchored root: a record rewritten with a valid checksum but another hash is caught', async () => {
    const { s, d } = await start();
    await fill(s, 9);
    expect((await post(`${s.url}/vcp/anchor`, '')).status).toBe(201);
    const path = segment(d);
    const buf = readFileSync(path);
    const at = offsets(path)[3]!;
    const end = buf.indexOf(0x0a, at);
    const json = buf.toString('utf8', at + 9, end);
    const forged = json.replace(/"h":"([0-9a-f])/, (_m, c: string) => `"h":"${c === '0' ? '1' : '0'}`);
    expect(forged).not.toBe(json);
    const rec = encodeRecords([forged]).buffer;
    expect(rec.length).toBe(end + 1 - at);
    rec.copy(buf, at);
    writeFileSync(path, buf);

    const status = await (s.context.store as FileEventStore).scrub();
    expect(status.ok).toBe(false);
    expect(status.problems.join('\n')).toMatch(
      /root recomputed from the segments at tree_size 9 is [0-9a-f]{64}, but anchor .* signed/,
    );
    expect((await post(`${s.url}/vcp/log`, v11Event(50))).status).toBe(503);
  });

  it('runs on its own at the configured interval', async () => {
    const { s } = await start({ 'scrub-interval': '20ms' });
    await fill(s, 3);
    await vi.waitFor(
      async () => {
        const h = await get(`${s.url}/health`);
        expect(h.body.scrub.ok).toBe(true);
        expect(h.body.scrub.events_checked).toBe(3);
      },
      { timeout: 10_000, interval: 20 },
    );
  });
});

describe('scrub across chunk and segment boundaries', () => {
  it('checks every anchor root of a log larger than its read chunk, and names the one that does not match', async () => {
    const t = tempDir('vcp-scrub-');
    cleanups.push(t.cleanup);
    const store = new FileEventStore({ dir: t.dir, segmentBytes: 600 * 1024, scrubIntervalMs: 0 });
    await store.open();
    const hashes: string[] = [];
    const draft = v11Event(0);
    for (let base = 0; base < 600; base += 100) {
      const batch = Array.from({ length: 100 }, (_, k) => {
        const i = base + k;
        const d = {
          ...draft,
          header: { ...draft.header, event_id: `0190a0b0-0000-7000-8000-${String(i).padStart(12, '0')}` },
        };
        const eventHash = computeEventHash(d);
        hashes.push(eventHash);
        const event = { ...d, security: { event_hash: eventHash, merkle_index: i } } as unknown as VcpEvent;
        return {
          index: i,
          eventId: d.header.event_id,
          eventHash,
          event,
          receivedAt: new Date().toISOString(),
        };
      });
      await store.append(batch);
    }
    // Records straddle the scrub's 256 KiB reads, and the log spans two segments.
    // Sorted: readdir order is the file system's (ext4 lists by a hash seeded per file system).
    const segs = readdirSync(join(t.dir, 'segments'))
      .filter((n) => n.endsWith('.log'))
      .sort();
    expect(segs.length).toBe(2);
    expect(statSync(join(t.dir, 'segments', segs[0]!)).size).toBeGreaterThan(2 * 256 * 1024);
    const tree = MerkleTree.fromLeaves(hashes);
    const anchorAt = (size: number, root = tree.root(size)) =>
      ({ anchor_id: `a${size}`, tree_size: size, merkle_root: root, merkle_mode: 'rfc6962' }) as AnchorRecord;
    for (const size of [1, 2, 255, 256, 257, 511, 600]) await store.putAnchor(anchorAt(size));
    const good = await store.scrub();
    expect(good).toMatchObject({ ok: true, events_checked: 600, anchors_checked: 7 });

    await store.putAnchor(anchorAt(300, 'ab'.repeat(32)));
    const bad = await store.scrub();
    expect(bad.ok).toBe(false);
    expect(bad.problems).toEqual([
      `the root recomputed from the segments at tree_size 300 is ${tree.root(300)}, but anchor a300 signed ${'ab'.repeat(32)}`,
    ]);
    expect(store.storeHealth().writable).toBe(false);
    await store.close();
  });
});
