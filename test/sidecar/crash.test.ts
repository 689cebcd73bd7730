/**
 * Crash safety, end to end: a real `vcp sidecar` child process under
 * concurrent load is killed with SIGKILL at random moments, restarted on the
 * same data folder each time, and at the end every event that had received
 * a 201 must be there exactly once, at the index it was given, in a tree
 * that `vcp verify` accepts.
 */
import { appendFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyCommand } from '../../src/cli/verify-command.ts';
import { type ChildSidecar, guideEvent, startChild, tempDir, v11Event } from './helpers.ts';

const ROUNDS = 6;
const WORKERS = 6;

interface Ack {
  hash: string;
  index: number;
  event: unknown;
}

async function load(
  child: ChildSidecar,
  acked: Map<string, Ack>,
  stop: { now: boolean },
  stats: { anchors: number; dups: number },
) {
  let n = 0;
  while (!stop.now) {
    n++;
    const size = Math.random() < 0.5 ? 1 : 2 + Math.floor(Math.random() * 30);
    const events: { header: { event_id: string } }[] = Array.from(
      { length: size },
      (_, i) =>
        (i % 7 === 3 ? guideEvent(`G-${n}-${i}`) : v11Event(n * 100 + i)) as { header: { event_id: string } },
    );
    // Now and then resend an event already acknowledged (idempotency under crashes).
    const old = [...acked.values()];
    if (old.length && Math.random() < 0.2)
      events.push(old[Math.floor(Math.random() * old.length)]!.event as never);
    try {
      if (Math.random() < 0.03) {
        const a = await fetch(`${child.url}/vcp/anchor`, { method: 'POST' });
        if (a.status === 201) stats.anchors++;
        continue;
      }
      const body = size === 1 && events.length === 1 ? events[0] : events;
      const res = await fetch(`${child.url}/vcp/log`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const json = (await res.json()) as any;
      if (res.status !== 201)
        throw new Error(`unexpected ${res.status}: ${JSON.stringify(json).slice(0, 300)}`);
      const results = Array.isArray(body) ? json.results : [json];
      results.forEach(
        (
          r: { event_id: string; event_hash: string; merkle_index: number; duplicate?: boolean },
          i: number,
        ) => {
          const prior = acked.get(r.event_id);
          if (prior) {
            // A resent event keeps its first answer.
            expect(r.duplicate).toBe(true);
            expect([r.event_hash, r.merkle_index]).toEqual([prior.hash, prior.index]);
            stats.dups++;
          } else acked.set(r.event_id, { hash: r.event_hash, index: r.merkle_index, event: events[i] });
        },
      );
    } catch (e) {
      if (stop.now) return; // the child was killed under us: this request's fate is unknown, which is fine
      throw e;
    }
  }
}

describe('crash safety (SIGKILL under load)', () => {
  it(`keeps every acknowledged event exactly once across ${ROUNDS} kill -9 rounds, with a tree vcp verify accepts`, async () => {
    const t = tempDir('vcp-crash-');
    const args = ['--port', '0', '--data-dir', t.dir];
    const acked = new Map<string, Ack>();
    const stats = { anchors: 0, dups: 0, recoveries: 0 };
    let tornWritten = false;
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const child = await startChild(args);
        // Everything acknowledged before the last crash is back.
        expect(child.info.tree_size as number).toBeGreaterThanOrEqual(acked.size);
        const stop = { now: false };
        const workers = Array.from({ length: WORKERS }, () => load(child, acked, stop, stats));
        await new Promise((r) => setTimeout(r, 150 + Math.random() * 600));
        stop.now = true;
        child.proc.kill('SIGKILL');
        await Promise.all(workers);
        const { signal } = await child.exited;
        expect(signal).toBe('SIGKILL');
        if (/recovery: segment .* torn tail/.test(child.stderr())) stats.recoveries++;
        if (round === 2) {
          // What a power cut can add on top: half a record at the end of the last segment.
          const segs = readdirSync(join(t.dir, 'segments'))
            .filter((n) => n.endsWith('.log'))
            .sort();
          appendFileSync(join(t.dir, 'segments', segs.at(-1)!), '0badc0de {"i":999999,"id":"torn","h":"00');
          tornWritten = true;
        }
      }
      expect(tornWritten).toBe(true);
      expect(acked.size).toBeGreaterThan(50);
      expect(stats.recoveries).toBeGreaterThanOrEqual(1);

      const child = await startChild(args);
      const exported = await (await fetch(`${child.url}/vcp/export`)).text();
      const events = exported
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .filter((l) => l.header);
      // Contiguous indexes, each event once.
      expect(events.map((e) => e.security.merkle_index)).toEqual([...events.keys()]);
      const byId = new Map<string, any>();
      for (const e of events) {
        expect(byId.has(e.header.event_id), `${e.header.event_id} stored twice`).toBe(false);
        byId.set(e.header.event_id, e);
      }
      for (const [id, a] of acked) {
        const e = byId.get(id);
        expect(e, `acknowledged event ${id} is missing`).toBeDefined();
        expect([e.security.event_hash, e.security.merkle_index]).toEqual([a.hash, a.index]);
      }
      const health = (await (await fetch(`${child.url}/health`)).json()) as { tree_size: number };
      expect(health.tree_size).toBe(events.length);

      // Anchor what is there and let the auditor's tool check the whole log.
      expect((await fetch(`${child.url}/vcp/anchor`, { method: 'POST' })).status).toBeLessThan(300);
      const file = join(t.dir, 'export.jsonl');
      writeFileSync(file, await (await fetch(`${child.url}/vcp/export`)).text());
      const out: string[] = [];
      const code = await verifyCommand(
        [file, '--pubkey', join(t.dir, 'signing.pub'), '--insecure-allow-local-anchors'],
        {
          out: (s) => out.push(s),
          err: (s) => out.push(s),
          errIsTty: false,
          env: {},
          cwd: t.dir,
        },
      );
      expect(code, out.join('')).toBe(0);

      // A graceful stop ends with exit code 0.
      child.proc.kill('SIGTERM');
      expect((await child.exited).code).toBe(0);
      expect(child.stderr()).toMatch(/stopped; \d+ events stored/);
      console.log(
        `crash test: ${ROUNDS} SIGKILL rounds, ${acked.size} acknowledged events, ${events.length} stored, ` +
          `${stats.dups} duplicate resends, ${stats.anchors} anchors, ${stats.recoveries} torn-tail recoveries`,
      );
    } finally {
      t.cleanup();
    }
  }, 180_000);
});
