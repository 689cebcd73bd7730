/**
 * SIGTERM under load, on a real `vcp sidecar` process: hundreds of
 * connections keep posting when the signal arrives. Every request sent gets
 * an HTTP answer, 201 (its events durable) or 503 `shutting_down` with
 * `Connection: close`, and none a socket error; the process exits 0; after a
 * restart on the same data folder every event answered 201 is there.
 */
import { Client } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { type ChildSidecar, startChild, tempDir, v11Event } from './helpers.ts';

const children: ChildSidecar[] = [];
const cleanups: (() => void)[] = [];

afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
    await c.exited;
  }
  for (const f of cleanups.splice(0)) f();
});

interface Outcome {
  /** Loops whose connection has been answered at least once (established and served). */
  served: Set<number>;
  acked: string[];
  statuses: number[];
  errors: string[];
  refusals: { error: unknown; connection: string | string[] | undefined }[];
}

/** One connection posting batches of `batch` events until it is answered 503 or fails. */
async function postLoop(origin: string, loop: number, batch: number, out: Outcome): Promise<void> {
  const client = new Client(origin, { pipelining: 1 });
  try {
    for (let n = 0; ; n++) {
      const events = Array.from({ length: batch }, (_, k) => v11Event(loop * 1_000_000 + n * batch + k));
      let res: Awaited<ReturnType<Client['request']>>;
      try {
        res = await client.request({
          path: '/vcp/log',
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(events),
        });
      } catch (e) {
        out.errors.push(`loop ${loop} request ${n}: ${(e as Error).message}`);
        return;
      }
      const text = await res.body.text();
      out.statuses.push(res.statusCode);
      out.served.add(loop);
      if (res.statusCode === 201) {
        for (const e of events) out.acked.push(e.header.event_id);
        continue;
      }
      out.refusals.push({ error: JSON.parse(text).error, connection: res.headers.connection });
      return;
    }
  } finally {
    await client.close().catch(() => {});
  }
}

describe('SIGTERM under load', () => {
  it('answers every request (201 or 503 + Connection: close), none with a socket error, and keeps every 201', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const child = await startChild(['--port', '0', '--data-dir', t.dir]);
    children.push(child);
    const out: Outcome = { served: new Set(), acked: [], statuses: [], errors: [], refusals: [] };
    const LOOPS = 400;
    const loops = Array.from({ length: LOOPS }, (_, i) => postLoop(child.url, i, 2, out));
    // Once every connection is established and served (a connection still in the listen backlog when
    // the listener closes is reset by the kernel: that is what "stop accepting" means), signal with
    // requests in flight on all of them.
    while (out.served.size < LOOPS) await new Promise((r) => setTimeout(r, 10));
    child.proc.kill('SIGTERM');
    await Promise.all(loops);
    const exit = await child.exited;

    expect(out.errors).toEqual([]);
    expect(new Set(out.statuses)).toEqual(new Set([201, 503]));
    expect(out.refusals).toHaveLength(LOOPS);
    for (const r of out.refusals) expect(r).toEqual({ error: 'shutting_down', connection: 'close' });
    expect(exit, child.stderr()).toEqual({ code: 0, signal: null });
    expect(child.stderr()).not.toMatch(/Warning|DEP0137|Error/);

    const again = await startChild(['--port', '0', '--data-dir', t.dir]);
    children.push(again);
    const text = await (await fetch(`${again.url}/vcp/export`)).text();
    const stored = new Set(
      text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { header?: { event_id: string } })
        .filter((l) => l.header)
        .map((l) => l.header!.event_id),
    );
    const missing = out.acked.filter((id) => !stored.has(id));
    expect(missing).toEqual([]);
    expect(again.info.tree_size).toBe(stored.size);
  }, 120_000);
});
