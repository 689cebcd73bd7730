/**
 * The PostgreSQL store under faults, against a real PostgreSQL
 * (VCP_TEST_PG_URL) reached through a real TCP proxy that the tests cut:
 *
 * - a connection lost in the middle of an append is a StoreUnavailableError
 *   (503 + Retry-After at the sidecar), never an unhandled 'error' that kills
 *   the process, and the store reconnects with backoff;
 * - a COMMIT whose answer is lost leaves no unacknowledged batch in the log;
 * - a log with holes, or shorter than its newest anchor, does not open, and
 *   the message names the missing indexes;
 * - end to end: a `vcp sidecar --store postgres://…` child under load keeps
 *   running through a cut, answers 503 + Retry-After meanwhile, recovers, and
 *   every event that got a 201 is in the table, in /vcp/export, and in a tree
 *   `vcp verify` proves; a row deleted from its table then stops it from starting.
 *
 * Each test has its own table prefix in a schema of its own (dropped at the end).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyCommand } from '../../src/cli/verify-command.ts';
import type { AnchorRecord } from '../../src/core/types.ts';
import { createPostgresStore } from '../../src/sidecar/store/postgres-store.ts';
import type { EventStore, StoredEvent } from '../../src/sidecar/store/store.ts';
import { StoreUnavailableError } from '../../src/sidecar/store/store-unavailable.ts';
import { postgresUrl, skipReason } from '../helpers/env.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';
import { type ChildSidecar, startChild, tempDir, v11Event } from './helpers.ts';
import { makeStoredEvents } from './store-contract.ts';

const url = postgresUrl();
if (!url)
  console.warn(
    skipReason('PostgreSQL fault', 'VCP_TEST_PG_URL', 'e.g. postgres://postgres@127.0.0.1:5432/test'),
  );

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `url` with its host and port replaced by the proxy's, plus query parameters. */
function viaProxy(proxy: TcpProxy, params: Record<string, string> = {}): string {
  const u = new URL(url!);
  u.hostname = '127.0.0.1';
  u.port = String(proxy.port);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  return u.toString();
}

/** Retry `fn` until it resolves (bounded: `tries` attempts, `pauseMs` apart); rethrows the last error. */
async function eventually<T>(fn: () => Promise<T>, tries = 100, pauseMs = 100): Promise<T> {
  let last: unknown;
  for (let i = 0; i < tries; i++) {
    try {
      return await fn();
    } catch (e) {
      last = e;
      await sleep(pauseMs);
    }
  }
  throw last;
}

describe.skipIf(!url)('PostgreSQL store under faults (through a TCP proxy)', () => {
  const schema = `vcp_fault_${process.pid}_${randomBytes(4).toString('hex')}`;
  let admin: pg.Pool;
  let proxy: TcpProxy;
  let n = 0;
  const open: EventStore[] = [];

  /** A store through the proxy, on a table prefix of its own; `notes` collects its log lines. */
  const makeStore = (prefix = `t${++n}_`, queryTimeoutMs?: number) => {
    const notes: string[] = [];
    const store = createPostgresStore({
      connectionString: viaProxy(proxy),
      schema,
      tablePrefix: prefix,
      log: (l) => notes.push(l),
      backoff: { baseMs: 50, maxMs: 400 },
      ...(queryTimeoutMs ? { queryTimeoutMs } : {}),
    });
    open.push(store);
    return { store, notes, prefix, table: (t: string) => `"${schema}"."${prefix}${t}"` };
  };

  beforeAll(async () => {
    admin = new pg.Pool({ connectionString: url, max: 2 });
    const u = new URL(url!);
    proxy = await startTcpProxy({ targetHost: u.hostname, targetPort: Number(u.port || 5432) });
  });
  afterAll(async () => {
    for (const s of open) await s.close().catch(() => {});
    await proxy?.close();
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
  });

  it('a connection cut in the middle of an append fails it with StoreUnavailableError (no crash), then reconnects with backoff', async () => {
    await proxy.start();
    const { store, notes, table } = makeStore();
    await store.open();
    await store.append(makeStoredEvents(0, 5));

    // Cut while the append holds a checked-out client (its lock query is on the wire):
    // before the fix, that client's 'error' event had no listener and killed the process.
    const cut = proxy.dropReplyAfter('pg_advisory_xact_lock');
    const failed = await store.append(makeStoredEvents(5, 5)).then(
      () => undefined,
      (e: unknown) => e,
    );
    await cut;
    expect(failed).toBeInstanceOf(StoreUnavailableError);
    expect((failed as StoreUnavailableError).retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect((failed as Error).message).toMatch(/PostgreSQL store unavailable while appending/);

    // Down: calls inside the backoff window fail at once, reads too.
    const fast = await store.getByIndex(0).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(fast).toBeInstanceOf(StoreUnavailableError);

    await proxy.start();
    await eventually(() => store.append(makeStoredEvents(5, 5)));
    expect((await store.getByIndex(9))?.index).toBe(9);
    expect(notes.join('\n')).toMatch(/connection lost while appending/);
    expect(notes.join('\n')).toMatch(/reconnected after [\d.]+ s \(\d+ failed attempts?\)/);
    const { rows } = await admin.query(
      `SELECT count(*)::int AS n, max(idx)::int AS m FROM ${table('events')}`,
    );
    expect(rows[0]).toEqual({ n: 10, m: 9 });
  });

  it('a COMMIT whose answer is lost: the committed batch is quarantined, never served, and its indexes go to the next batch', async () => {
    await proxy.start();
    const { store, notes, table, prefix } = makeStore();
    await store.open();
    await store.append(makeStoredEvents(0, 5));

    const doubtful = makeStoredEvents(5, 5);
    const cut = proxy.dropReplyAfter('COMMIT');
    await expect(store.append(doubtful)).rejects.toBeInstanceOf(StoreUnavailableError);
    await cut;
    // The server did commit it: the caller was told "failed" about rows that are there.
    const there = await admin.query(`SELECT event_id FROM ${table('events')} WHERE idx >= 5 ORDER BY idx`);
    expect(there.rows.map((r) => r.event_id)).toEqual(doubtful.map((e) => e.eventId));

    await proxy.start();
    // The first call after the reconnection settles it: the caller's retry of the same events is not
    // a "duplicate" of rows the tree never held.
    const lookedUp = await eventually(() => store.getById(doubtful[0]!.eventId));
    expect(lookedUp).toBeUndefined();
    const next: StoredEvent[] = makeStoredEvents(100, 5).map((e, i) => ({ ...e, index: 5 + i }));
    await store.append(next);
    const after = await admin.query(`SELECT idx::int, event_id FROM ${table('events')} ORDER BY idx`);
    expect(after.rows.map((r) => r.idx)).toEqual([...Array(10).keys()]);
    expect(after.rows.slice(5).map((r) => r.event_id)).toEqual(next.map((e) => e.eventId));
    const quarantined = await admin.query(
      `SELECT idx::int, event_id, reason FROM ${table('unacked')} ORDER BY idx`,
    );
    expect(quarantined.rows.map((r) => r.event_id)).toEqual(doubtful.map((e) => e.eventId));
    expect(quarantined.rows[0].reason).toMatch(/COMMIT answer lost/);
    expect(notes.join('\n')).toMatch(
      new RegExp(`indexes 5–9 was committed .* moved to ${schema}\\.${prefix}unacked`),
    );

    // A fresh open sees a clean log of 10.
    const again = createPostgresStore({ connectionString: url!, schema, tablePrefix: prefix });
    open.push(again);
    expect((await again.open()).size).toBe(10);
  });

  it('a store opened by another sidecar since never touches the rows of a lost COMMIT', async () => {
    await proxy.start();
    const { store, table, prefix } = makeStore();
    await store.open();
    const doubtful = makeStoredEvents(0, 3);
    const cut = proxy.dropReplyAfter('COMMIT');
    await expect(store.append(doubtful)).rejects.toBeInstanceOf(StoreUnavailableError);
    await cut;
    // Another sidecar takes the log over (it adopts the committed rows), then ours comes back.
    const other = createPostgresStore({ connectionString: url!, schema, tablePrefix: prefix });
    open.push(other);
    expect((await other.open()).size).toBe(3);
    await proxy.start();
    const refused = await eventually(async () => {
      const e = await store.getByIndex(0).then(
        () => undefined,
        (x: unknown) => x,
      );
      if (e instanceof StoreUnavailableError) throw e; // still reconnecting
      return e;
    });
    expect((refused as Error).message).toMatch(/opened by another sidecar .* no longer writes/);
    const { rows } = await admin.query(`SELECT count(*)::int AS n FROM ${table('events')}`);
    expect(rows[0].n).toBe(3);
  });

  it('a network that swallows packets (no reset) fails the append after the query timeout instead of stalling the writer', async () => {
    await proxy.start();
    const { store, table } = makeStore(undefined, 400);
    await store.open();
    await store.append(makeStoredEvents(0, 3));
    proxy.pause();
    try {
      await expect(store.append(makeStoredEvents(3, 3))).rejects.toThrow(
        /unavailable while appending: Query read timeout/,
      );
      expect(await store.getByIndex(0).catch((e: unknown) => e)).toBeInstanceOf(StoreUnavailableError);
    } finally {
      proxy.resume();
    }
    await eventually(() => store.append(makeStoredEvents(3, 3)));
    const { rows } = await admin.query(
      `SELECT count(*)::int AS n, max(idx)::int AS m FROM ${table('events')}`,
    );
    expect(rows[0]).toEqual({ n: 6, m: 5 });
  });

  it('refuses to open a log with holes and names the missing indexes (a real row deletion)', async () => {
    const { prefix, table } = makeStore();
    const direct = createPostgresStore({ connectionString: url!, schema, tablePrefix: prefix });
    await direct.open();
    await direct.append(makeStoredEvents(0, 30));
    await direct.close();
    await admin.query(`DELETE FROM ${table('events')} WHERE idx = 7 OR idx BETWEEN 20 AND 22`);
    const again = createPostgresStore({ connectionString: url!, schema, tablePrefix: prefix });
    await expect(again.open()).rejects.toThrow(
      /will not open: merkle indexes 7, 20–22 \(4 indexes\) are missing from .*events \(26 rows, highest index 29\)/,
    );
    // Nothing was changed by the refusal.
    const { rows } = await admin.query(`SELECT count(*)::int AS n FROM ${table('events')}`);
    expect(rows[0].n).toBe(26);
    // A hole at the very start is named too.
    await admin.query(`DELETE FROM ${table('events')} WHERE idx = 0`);
    const third = createPostgresStore({ connectionString: url!, schema, tablePrefix: prefix });
    await expect(third.open()).rejects.toThrow(/merkle indexes 0, 7, 20–22 \(5 indexes\)/);
  });

  it('refuses to open a log shorter than its newest anchor (tail rows deleted)', async () => {
    const { prefix, table } = makeStore();
    const direct = createPostgresStore({ connectionString: url!, schema, tablePrefix: prefix });
    await direct.open();
    await direct.append(makeStoredEvents(0, 30));
    const anchor = { anchor_id: 'a-30', tree_size: 30, merkle_root: 'ab'.repeat(32) } as AnchorRecord;
    await direct.putAnchor(anchor);
    await direct.close();
    await admin.query(`DELETE FROM ${table('events')} WHERE idx >= 25`);
    const again = createPostgresStore({ connectionString: url!, schema, tablePrefix: prefix });
    await expect(again.open()).rejects.toThrow(
      /anchor a-30 covers 30 events but the log ends at 25: indexes 25–29 \(5 indexes\) are gone/,
    );
  });

  it('takes schema and table prefix from the connection string, and refuses two different answers', async () => {
    const prefix = `url${++n}_`;
    const u = new URL(url!);
    u.searchParams.set('schema', schema);
    u.searchParams.set('table_prefix', prefix);
    const store = createPostgresStore({ connectionString: u.toString() });
    open.push(store);
    await store.open();
    expect(store.name).toBe(`postgres:${u.pathname.slice(1)}/${schema}.${prefix}*`);
    await store.append(makeStoredEvents(0, 2));
    const { rows } = await admin.query(`SELECT count(*)::int AS n FROM "${schema}"."${prefix}events"`);
    expect(rows[0].n).toBe(2);
    expect(() => createPostgresStore({ connectionString: u.toString(), schema: 'other' })).toThrow(
      /schema is given more than once/,
    );
    expect(() => createPostgresStore({ connectionString: `${url}?schema=a&schema=b` })).toThrow(
      /schema is given more than once/,
    );
    expect(() => createPostgresStore({ connectionString: `${url}?table_prefix=a-b` })).toThrow(/identifier/);
  });
});

interface Ack {
  hash: string;
  index: number;
}

interface LoadStats {
  posted: number;
  status: Map<number, number>;
  retryAfterMissing: number;
  unexpected: string[];
}

/**
 * One client: POST batches; a 503/429 batch is retried as is (as the HTTP sink
 * does) until it gets its 201 or `stop` is set (then it is abandoned: never acknowledged).
 */
async function client(
  sidecar: ChildSidecar,
  worker: number,
  acked: Map<string, Ack>,
  stop: { now: boolean },
  stats: LoadStats,
): Promise<void> {
  for (let b = 0; !stop.now; b++) {
    const size = 1 + ((b * 7 + worker) % 20);
    const events = Array.from({ length: size }, (_, i) => v11Event(worker * 1_000_000 + b * 100 + i));
    for (let attempt = 0; !stop.now && attempt < 400; attempt++) {
      let res: Response;
      try {
        res = await fetch(`${sidecar.url}/vcp/log`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(events),
        });
      } catch (e) {
        stats.unexpected.push(`fetch failed: ${(e as Error).message}`);
        return;
      }
      stats.posted++;
      stats.status.set(res.status, (stats.status.get(res.status) ?? 0) + 1);
      const body = (await res.json()) as {
        results?: { event_id: string; event_hash: string; merkle_index: number }[];
      };
      if (res.status === 201) {
        for (const r of body.results!) acked.set(r.event_id, { hash: r.event_hash, index: r.merkle_index });
        break;
      }
      if (res.status === 503 || res.status === 429) {
        if (!/^\d+$/.test(res.headers.get('retry-after') ?? '')) stats.retryAfterMissing++;
        await sleep(50); // a real client waits Retry-After; the test keeps it short
        continue;
      }
      stats.unexpected.push(`${res.status}: ${JSON.stringify(body).slice(0, 300)}`);
      return;
    }
  }
}

describe.skipIf(!url)('vcp sidecar --store postgres:// through a cut connection', () => {
  const schema = `vcp_fault_e2e_${process.pid}_${randomBytes(4).toString('hex')}`;
  let admin: pg.Pool;
  let proxy: TcpProxy;

  beforeAll(async () => {
    admin = new pg.Pool({ connectionString: url, max: 2 });
    const u = new URL(url!);
    proxy = await startTcpProxy({ targetHost: u.hostname, targetPort: Number(u.port || 5432) });
  });
  afterAll(async () => {
    await proxy?.close();
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
  });

  it('stays up, answers 503 + Retry-After while PostgreSQL is unreachable, recovers, and loses no acknowledged event', async () => {
    const t = tempDir('vcp-pg-fault-');
    // A data folder that does not exist yet: the sidecar must create it (signing key) with --store postgres.
    const dataDir = join(t.dir, 'not', 'yet');
    const prefix = 'e2e_';
    const storeUrl = viaProxy(proxy, { schema, table_prefix: prefix });
    const args = ['--port', '0', '--data-dir', dataDir, '--store', storeUrl, '--anchor-interval', '3600'];
    const acked = new Map<string, Ack>();
    const stats: LoadStats = { posted: 0, status: new Map(), retryAfterMissing: 0, unexpected: [] };
    let sidecar: ChildSidecar | undefined;
    try {
      sidecar = await startChild(args);
      expect(existsSync(join(dataDir, 'signing.pub'))).toBe(true);
      const stop = { now: false };
      const workers = Array.from({ length: 4 }, (_, w) => client(sidecar!, w, acked, stop, stats));

      // Load until a good number is acknowledged, then cut PostgreSQL away mid-load.
      for (let i = 0; i < 200 && acked.size < 1500; i++) await sleep(50);
      const beforeCut = acked.size;
      await proxy.kill();
      const refusedBefore = stats.status.get(503) ?? 0;
      for (let i = 0; i < 100 && (stats.status.get(503) ?? 0) - refusedBefore < 20; i++) await sleep(50);
      await sleep(500);
      const duringCut = acked.size;
      expect(sidecar.proc.exitCode).toBeNull();
      // Alive, and honest about it: /health fails while writes fail (503, last_write_failure).
      const health = await fetch(`${sidecar.url}/health`);
      expect(health.status).toBe(503);
      expect(await health.json()).toMatchObject({
        status: 'failing',
        last_write_failure: { message: expect.any(String) },
      });

      // Back: it recovers by itself and acknowledges again.
      await proxy.start();
      const backAt = performance.now();
      let recoveredMs = -1;
      for (let i = 0; i < 300 && acked.size < duringCut + 1000; i++) {
        if (recoveredMs < 0 && acked.size > duringCut) recoveredMs = performance.now() - backAt;
        await sleep(50);
      }
      const afterCut = acked.size;

      // The hardest cut: a group's COMMIT reaches the server, its answer never comes back.
      const lostCommit = proxy.dropReplyAfter('COMMIT');
      const fired = await Promise.race([lostCommit.then(() => true), sleep(10_000).then(() => false)]);
      expect(fired).toBe(true);
      await sleep(300);
      await proxy.start();
      for (let i = 0; i < 300 && acked.size < afterCut + 1000; i++) await sleep(50);
      stop.now = true;
      await Promise.all(workers);

      expect(stats.unexpected).toEqual([]);
      expect(beforeCut).toBeGreaterThan(0);
      expect(stats.status.get(503) ?? 0).toBeGreaterThanOrEqual(20);
      expect(stats.retryAfterMissing).toBe(0);
      expect(afterCut).toBeGreaterThanOrEqual(duringCut + 1000);
      expect(acked.size).toBeGreaterThanOrEqual(afterCut + 1000);
      expect(sidecar.proc.exitCode).toBeNull();
      expect(sidecar.stderr()).toMatch(/connection lost while/);
      expect(sidecar.stderr()).toMatch(/reconnected after/);
      expect(sidecar.stderr()).toMatch(/was committed but its COMMIT answer was lost .* moved to/);

      // What was quarantined got a 503, so the client resent it: acknowledged later (then it is in the
      // log, checked below, maybe even at the same index), or never.
      const { rows: unacked } = await admin.query<{ idx: string; event_id: string; event_hash: string }>(
        `SELECT idx, event_id, event_hash FROM "${schema}"."${prefix}unacked" ORDER BY idx`,
      );
      expect(unacked.length).toBeGreaterThan(0);
      for (const u of unacked) {
        const a = acked.get(u.event_id);
        if (a) expect(a.hash).toBe(u.event_hash);
      }

      // Every acknowledged event is in the table, at the index it was given.
      const { rows } = await admin.query<{ idx: string; event_id: string; event_hash: string }>(
        `SELECT idx, event_id, event_hash FROM "${schema}"."${prefix}events" ORDER BY idx`,
      );
      expect(rows.map((r) => Number(r.idx))).toEqual([...rows.keys()]);
      const inTable = new Map(rows.map((r) => [r.event_id, r]));
      for (const [id, a] of acked) {
        const r = inTable.get(id);
        expect(r, `acknowledged event ${id} is not in the table`).toBeDefined();
        expect([r!.event_hash, Number(r!.idx)]).toEqual([a.hash, a.index]);
      }

      // …and in the export, in a tree the auditor's tool proves.
      expect((await fetch(`${sidecar.url}/vcp/anchor`, { method: 'POST' })).status).toBeLessThan(300);
      const exported = await (await fetch(`${sidecar.url}/vcp/export`)).text();
      const lines = exported
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .filter((l) => l.header);
      expect(lines.map((e) => e.security.merkle_index)).toEqual([...lines.keys()]);
      const byId = new Map(lines.map((e) => [e.header.event_id as string, e]));
      expect(byId.size).toBe(lines.length);
      expect(lines.length).toBe(rows.length);
      for (const [id, a] of acked) {
        const e = byId.get(id);
        expect(e, `acknowledged event ${id} is not in the export`).toBeDefined();
        expect([e.security.event_hash, e.security.merkle_index]).toEqual([a.hash, a.index]);
      }
      const file = join(t.dir, 'export.jsonl');
      writeFileSync(file, exported);
      const out: string[] = [];
      // No TSA here: the local anchor is accepted, the rest (hashes, inclusion, checkpoint) must be PROVEN.
      const verifyArgs = [file, '--pubkey', join(dataDir, 'signing.pub'), '--insecure-allow-local-anchors'];
      const code = await verifyCommand(verifyArgs, {
        out: (s) => out.push(s),
        err: (s) => out.push(s),
        errIsTty: false,
        env: {},
        cwd: t.dir,
      });
      expect(code, out.join('')).toBe(0);

      sidecar.proc.kill('SIGTERM');
      expect((await sidecar.exited).code).toBe(0);
      console.log(
        `postgres fault test: ${acked.size} events acknowledged (${beforeCut} before the cut, ` +
          `${acked.size - duringCut} after), ${stats.posted} POSTs, statuses ${JSON.stringify(Object.fromEntries(stats.status))}, ` +
          `${rows.length} rows stored, ${unacked.length} quarantined after the lost COMMIT answer, ` +
          `first 201 ~${Math.round(recoveredMs)} ms after PostgreSQL was reachable again (50 ms polling)`,
      );

      // A row deleted from the middle of the table: the sidecar refuses to start and names it.
      const victim = Math.floor(rows.length / 2);
      await admin.query(`DELETE FROM "${schema}"."${prefix}events" WHERE idx = $1`, [victim]);
      await expect(startChild(args)).rejects.toThrow(
        new RegExp(
          `exited with [1-9] before listening: [^]*merkle indexes ${victim} \\(1 index\\) are missing`,
        ),
      );
    } finally {
      if (sidecar && sidecar.proc.exitCode === null) sidecar.proc.kill('SIGKILL');
      t.cleanup();
    }
  }, 120_000);
});
