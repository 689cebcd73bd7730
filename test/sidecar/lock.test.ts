/**
 * One writer per data folder, for real: deleting or replacing `LOCK` while a
 * sidecar runs must neither let a second one write nor let the first one
 * carry on as if nothing happened, and the folder must open cleanly
 * afterwards with every 201-acknowledged event present.
 */
import { appendFileSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { VcpEvent } from '../../src/core/types.ts';
import { computeEventHash } from '../../src/integrity/event-hash.ts';
import { FileEventStore } from '../../src/sidecar/store/file-store.ts';
import type { StoredEvent } from '../../src/sidecar/store/store.ts';
import { type ChildSidecar, get, post, startChild, tempDir, v11Event } from './helpers.ts';

const children: ChildSidecar[] = [];
const cleanups: (() => void)[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.proc.exitCode === null && c.proc.signalCode === null) {
      c.proc.kill('SIGKILL');
      await c.exited;
    }
  }
  for (const c of cleanups.splice(0)) c();
});

function folder(): string {
  const t = tempDir('vcp-lock-');
  cleanups.push(t.cleanup);
  return t.dir;
}

function stored(index: number): StoredEvent {
  const draft = v11Event(index);
  const eventHash = computeEventHash(draft);
  const event = {
    ...draft,
    security: { event_hash: eventHash, hash_algo: 'SHA256', merkle_index: index },
  } as VcpEvent;
  return { index, eventId: draft.header.event_id, eventHash, event, receivedAt: new Date().toISOString() };
}

describe('single writer', () => {
  it('LOCK deleted under a running sidecar: a second one cannot start, the first stops writing, nothing acknowledged is lost', async () => {
    const d = folder();
    const args = ['--data-dir', d, '--port', '0', '--scrub-interval', '0'];
    const a = await startChild(args);
    children.push(a);
    const acked: string[] = [];
    for (let k = 0; k < 5; k++) {
      const e = v11Event(k);
      const r = await post(`${a.url}/vcp/log`, e);
      expect(r.status).toBe(201);
      acked.push(e.header.event_id);
    }
    expect(readFileSync(join(d, 'LOCK'), 'utf8').trim()).toBe(String(a.proc.pid));

    unlinkSync(join(d, 'LOCK'));

    // A second sidecar on the same folder is refused while the first lives (the host lock is not a file).
    const b = await startChild(args).then(
      (c) => {
        children.push(c);
        return c;
      },
      (e: Error) => e,
    );
    expect(b).toBeInstanceOf(Error);
    expect((b as Error).message).toMatch(new RegExp(`in use by process ${a.proc.pid}`));

    // The first stops writing at once: 503, logged, /health failing.
    const refused = await post(`${a.url}/vcp/log`, v11Event(100));
    expect(refused.status).toBe(503);
    const health = await get(`${a.url}/health`);
    expect(health.status).toBe(503);
    expect(health.body.status).toBe('failing');
    expect(health.body.store_writable).toBe(false);
    expect(health.body.store_problem).toMatch(/lock file .*LOCK was removed/);
    expect(a.stderr()).toMatch(/stopped accepting writes: the lock file .* was removed/);

    a.proc.kill('SIGTERM');
    expect((await a.exited).code).toBe(0);

    // The folder opens cleanly with every acknowledged event.
    const store = new FileEventStore({ dir: d, scrubIntervalMs: 0 });
    const state = await store.open();
    expect(state.recovery).toEqual([]);
    expect(state.size).toBe(acked.length);
    for (const id of acked) expect(await store.getById(id)).toBeDefined();
    await store.close();
  });

  it('LOCK replaced by another writer (e.g. a sidecar on another host of a shared folder): the store refuses the next commit and anchor', async () => {
    const d = folder();
    const store = new FileEventStore({ dir: d, scrubIntervalMs: 0 });
    await store.open();
    await store.append([stored(0)]);
    unlinkSync(join(d, 'LOCK'));
    writeFileSync(join(d, 'LOCK'), '4194305\n');
    await expect(store.append([stored(1)])).rejects.toThrow(
      /lock file .*LOCK was replaced \(it now says "4194305"\)/,
    );
    expect(store.storeHealth()).toMatchObject({ writable: false });
    await expect(store.putAnchor({ anchor_id: 'x' } as never)).rejects.toThrow(/stopped accepting writes/);
    await store.close();
    // Its LOCK was not ours: close leaves it for its owner.
    expect(readFileSync(join(d, 'LOCK'), 'utf8')).toBe('4194305\n');
  });

  it('a segment that grew behind its back (another writer appended) stops the store before it interleaves', async () => {
    const d = folder();
    const store = new FileEventStore({ dir: d, scrubIntervalMs: 0 });
    await store.open();
    await store.append([stored(0)]);
    appendFileSync(join(d, 'segments', '00000001.log'), 'foreign bytes\n');
    await expect(store.append([stored(1)])).rejects.toThrow(/another process wrote to it or cut it/);
    expect(store.size).toBe(1);
    await store.close();
  });

  it('the lock is held for the life of the store and released on close', async () => {
    const d = folder();
    const store = new FileEventStore({ dir: d, scrubIntervalMs: 0 });
    await store.open();
    expect(store.storeHealth()).toMatchObject({ writable: true, problem: null });
    await store.close();
    const again = new FileEventStore({ dir: d, scrubIntervalMs: 0 });
    await again.open();
    await again.close();
  });
});
