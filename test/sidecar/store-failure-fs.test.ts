/**
 * The sidecar on a real file system that runs out of space: the kernel's
 * ENOSPC, not a thrown mock, reaches the file store through `write()` or
 * through `fdatasync()`. What must hold (DESIGN decision 10, "Rules for bad
 * input and faults"):
 *
 * - a batch that could not be made durable is answered 503, never 201, and
 *   nothing of it is kept;
 * - `GET /health` answers 503 with a failing status while the store cannot
 *   write;
 * - a failed `write()` (nothing reached the file) heals by itself once space
 *   is freed; a failed `fdatasync()` (the page cache can no longer be
 *   trusted) makes the store refuse every write until the sidecar restarts;
 * - after a restart (for the fdatasync case after an unmount, so the events
 *   are read back from the device, not the page cache) every event that got
 *   a 201 is there once, at its index, with its hash.
 *
 * Needs root (mount, losetup); skips with a message otherwise.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exportPrivateKey, generateKeyPair } from '../../src/integrity/keys.ts';
import {
  fillUntilFull,
  mountImage,
  mountLoopExt4,
  mountTmpfs,
  smallFsUnavailable,
  unmount,
  unmountAll,
} from '../helpers/small-fs.ts';
import { type ChildSidecar, get, post, startChild, tempDir, v11Event } from './helpers.ts';

const unavailable = smallFsUnavailable(true);
if (unavailable) console.warn(`store failure tests on a full file system skipped: ${unavailable}`);

/** Big enough (about 60 KB) to need new pages on any file system, whatever the current tail holds. */
const BIG = 60;

interface Ack {
  hash: string;
  index: number;
}

let seq = 0;

/** POST a batch of `n` fresh events; returns the answer and the events' ids. */
async function postBatch(child: ChildSidecar, n: number) {
  const events = Array.from({ length: n }, () => v11Event(seq++));
  const res = await post(`${child.url}/vcp/log`, events);
  return { res, ids: events.map((e) => e.header.event_id) };
}

/** POST a batch that must be acknowledged, and remember each event's answer. */
async function postAcked(child: ChildSidecar, n: number, acked: Map<string, Ack>): Promise<void> {
  const { res } = await postBatch(child, n);
  expect(res.status, res.text).toBe(201);
  for (const r of res.body.results as { event_id: string; event_hash: string; merkle_index: number }[])
    acked.set(r.event_id, { hash: r.event_hash, index: r.merkle_index });
}

/** POST a batch that must be refused as not stored; returns its ids. */
async function postRefused(child: ChildSidecar, n: number): Promise<string[]> {
  const { res, ids } = await postBatch(child, n);
  expect(
    res.status,
    `a batch the store could not make durable was answered ${res.status}: ${res.text.slice(0, 300)}`,
  ).toBe(503);
  expect(res.body).toMatchObject({ status: 'error', error: 'storage_unavailable' });
  return ids;
}

/**
 * The documented health while the store cannot write (routes/health.ts): 503 and status `failing`.
 * Returns the body (it may say why in `store_problem`).
 */
async function expectHealthFailing(child: ChildSidecar): Promise<Record<string, unknown>> {
  const h = await get(`${child.url}/health`);
  expect(h.status, `GET /health while the store cannot write: ${h.text.slice(0, 400)}`).toBe(503);
  expect(h.body?.status).toBe('failing');
  return h.body as Record<string, unknown>;
}

async function expectHealthOk(child: ChildSidecar): Promise<void> {
  const h = await get(`${child.url}/health`);
  expect(h.status, h.text.slice(0, 400)).toBe(200);
  expect(h.body.status).toBe('healthy');
}

/** Every acknowledged event once, at its index, with its hash; none of the refused ones; contiguous leaves. */
async function expectExactly(child: ChildSidecar, acked: Map<string, Ack>, refused: string[]): Promise<void> {
  const text = await (await fetch(`${child.url}/vcp/export`)).text();
  const events = text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .filter((l) => l.header) as {
    header: { event_id: string };
    security: { event_hash: string; merkle_index: number };
  }[];
  expect(events.map((e) => e.security.merkle_index)).toEqual([...events.keys()]);
  const byId = new Map(events.map((e) => [e.header.event_id, e]));
  expect(byId.size, 'an event is stored twice').toBe(events.length);
  for (const [id, a] of acked) {
    const e = byId.get(id);
    expect(e, `acknowledged event ${id} is missing after the restart`).toBeDefined();
    expect([e!.security.event_hash, e!.security.merkle_index]).toEqual([a.hash, a.index]);
  }
  for (const id of refused) expect(byId.has(id), `refused event ${id} was stored`).toBe(false);
  expect(events).toHaveLength(acked.size);
}

async function stop(child: ChildSidecar): Promise<void> {
  child.proc.kill('SIGTERM');
  await child.exited;
}

describe.skipIf(unavailable !== undefined)('sidecar on a full file system (real ENOSPC)', () => {
  const t = tempDir('vcp-fullfs-');
  const children: ChildSidecar[] = [];
  afterAll(async () => {
    for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) await stop(c);
    unmountAll();
    t.cleanup();
  });
  const start = async (dataDir: string, extra: string[] = []) => {
    const c = await startChild(['--port', '0', '--data-dir', dataDir, ...extra]);
    children.push(c);
    return c;
  };

  it('write() fails (tmpfs full): 503 and failing health until space is freed, then 201 again without a restart; every 201 survives a restart', async () => {
    const fs = join(t.dir, 'tmpfs');
    mountTmpfs(fs, 1024 * 1024);
    const dataDir = join(fs, 'data');
    const filler = join(fs, 'filler');
    const acked = new Map<string, Ack>();
    const refused: string[] = [];

    let child = await start(dataDir);
    await postAcked(child, 5, acked);
    await expectHealthOk(child);

    expect(fillUntilFull(filler)).toBeGreaterThan(0);
    for (let k = 0; k < 3; k++) refused.push(...(await postRefused(child, BIG)));
    expect(child.stderr()).toMatch(/commit failed: .*write failed: ENOSPC/);
    await expectHealthFailing(child);

    rmSync(filler);
    await postAcked(child, BIG, acked);
    await postAcked(child, 1, acked);
    await expectHealthOk(child);
    await expectExactly(child, acked, refused);

    await stop(child);
    child = await start(dataDir);
    expect(child.info.tree_size).toBe(acked.size);
    await expectExactly(child, acked, refused);
    await postAcked(child, 2, acked);
    await stop(child);
    unmount(fs);
  }, 60_000);

  it('fdatasync() fails (loop device on a full tmpfs): 503, and every write refused until a restart; after freeing space, an unmount and a restart, every 201 is on the device', async () => {
    const mnt = join(t.dir, 'ext4');
    const backing = join(t.dir, 'backing');
    const image = mountLoopExt4(mnt, backing, 8 * 1024 * 1024, 64 * 1024 * 1024);
    const dataDir = join(mnt, 'data');
    const filler = join(backing, 'filler');
    const acked = new Map<string, Ack>();
    const refused: string[] = [];
    // The signing key lives off the failing device: this test is about the event store
    // (the generated key's own durability is the next test).
    const keyFile = join(t.dir, 'signing-key.pem');
    writeFileSync(keyFile, exportPrivateKey(generateKeyPair().privateKey, 'pem') as string, { mode: 0o600 });
    const keyArgs = ['--signing-key-file', keyFile];

    let child = await start(dataDir, keyArgs);
    await postAcked(child, 5, acked);
    await postAcked(child, BIG, acked);

    expect(fillUntilFull(filler)).toBeGreaterThan(0);
    // write() succeeds into the page cache (ext4 has room); the loop device's writeback cannot.
    refused.push(...(await postRefused(child, BIG)));
    expect(child.stderr()).toMatch(/commit failed: .*fdatasync failed: (ENOSPC|EIO)/);
    expect((await expectHealthFailing(child)).store_problem).toMatch(/fdatasync failed/);

    // Space is back, but after a failed fdatasync the store must not trust the file again
    // (its own refusal, named in the log, before it would meet the now read-only file system).
    rmSync(filler);
    refused.push(...(await postRefused(child, 1)));
    expect(child.stderr()).toMatch(/stopped accepting writes: .*fdatasync failed.*restart the sidecar/);
    await expectHealthFailing(child);

    await stop(child);
    // Drop the page cache: what follows is read from the image, as after a power cut.
    unmount(mnt);
    mountImage(image, mnt);
    child = await start(dataDir, keyArgs);
    expect(child.info.tree_size).toBe(acked.size);
    await expectExactly(child, acked, refused);
    await postAcked(child, 3, acked);
    await expectHealthOk(child);
    await expectExactly(child, acked, refused);
    await stop(child);
  }, 60_000);

  it('the signing key generated on first start is on the device before the sidecar says it is listening', async () => {
    const mnt = join(t.dir, 'ext4-key');
    const backing = join(t.dir, 'backing-key');
    const image = mountLoopExt4(mnt, backing, 8 * 1024 * 1024, 64 * 1024 * 1024);
    const dataDir = join(mnt, 'data');
    let child = await start(dataDir);
    const keyId = child.info.signing_key_id;
    expect(keyId).toMatch(/^[0-9a-f]{32}$/);
    // A power cut right after the start: the process dies, then nothing more reaches the device
    // (its backing store is full), so whatever was only in the page cache is lost at the unmount.
    child.proc.kill('SIGKILL');
    await child.exited;
    fillUntilFull(join(backing, 'filler'));
    unmount(mnt);
    rmSync(join(backing, 'filler'));
    mountImage(image, mnt);
    child = await start(dataDir);
    expect(child.info.signing_key_id, 'the restarted sidecar signs with another key').toBe(keyId);
    await stop(child);
  }, 60_000);
});
