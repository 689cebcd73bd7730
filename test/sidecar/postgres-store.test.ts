/**
 * The PostgreSQL event store against a real PostgreSQL (VCP_TEST_PG_URL), via
 * the shared store contract, plus what only a shared database can get wrong:
 * two store instances on one table set, isolation by schema and prefix,
 * a database that is down. The in-memory reference store runs the same
 * contract, so the suite itself is checked even without a database.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VcpConfigError } from '../../src/core/errors.ts';
import { createPostgresStore } from '../../src/sidecar/store/postgres-store.ts';
import { postgresUrl, skipReason } from '../helpers/env.ts';
import { createMemoryStore, makeStoredEvents, runStoreContract } from './store-contract.ts';

runStoreContract('in-memory reference', async () => {
  const data = { events: [], records: [] };
  return { store: createMemoryStore(data), reopen: () => createMemoryStore(data), cleanup: async () => {} };
});

const url = postgresUrl();
if (!url)
  console.warn(
    skipReason('PostgreSQL store', 'VCP_TEST_PG_URL', 'e.g. postgres://postgres@127.0.0.1:5432/test'),
  );

describe.skipIf(!url)('PostgreSQL store', () => {
  // One schema per run: nothing from an earlier run is seen, everything is dropped at the end.
  const schema = `vcp_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  let admin: pg.Pool;
  let n = 0;

  beforeAll(() => {
    admin = new pg.Pool({ connectionString: url, max: 2 });
  });
  afterAll(async () => {
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
  });

  runStoreContract('PostgreSQL', async () => {
    const tablePrefix = `c${++n}_`;
    const make = () => createPostgresStore({ connectionString: url!, schema, tablePrefix, pageSize: 100 });
    return {
      store: make(),
      reopen: make,
      cleanup: async () => {
        await admin.query(
          `DROP TABLE IF EXISTS "${schema}"."${tablePrefix}events", "${schema}"."${tablePrefix}anchors"`,
        );
      },
    };
  });

  it('keeps event JSON text byte for byte (TEXT, not JSONB)', async () => {
    const store = createPostgresStore({ connectionString: url!, schema, tablePrefix: 'text_' });
    await store.open();
    try {
      const [e] = makeStoredEvents(0, 1);
      // Key order JSONB would sort, and a number spelling it would normalise.
      (e!.event.payload as Record<string, unknown>).zz_first = { b: 1, a: 1e21, c: -0 };
      await store.append([e!]);
      const { rows } = await admin.query(`SELECT event FROM "${schema}".text_events WHERE idx = 0`);
      expect(rows[0].event).toBe(JSON.stringify(e!.event));
    } finally {
      await store.close();
    }
  });

  it('two instances on one table set cannot both append the same index', async () => {
    const a = createPostgresStore({ connectionString: url!, schema, tablePrefix: 'race_' });
    const b = createPostgresStore({ connectionString: url!, schema, tablePrefix: 'race_' });
    await a.open();
    await b.open();
    try {
      const events = makeStoredEvents(0, 50);
      const other = makeStoredEvents(50, 50).map((e, i) => ({ ...e, index: i }));
      const results = await Promise.allSettled([a.append(events), b.append(other)]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const { rows } = await admin.query(
        `SELECT count(*)::int AS n, max(idx)::int AS m FROM "${schema}".race_events`,
      );
      expect(rows[0]).toEqual({ n: 50, m: 49 });
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('a batch already stored identically (retry after a lost COMMIT acknowledgement) succeeds without duplicates', async () => {
    const store = createPostgresStore({ connectionString: url!, schema, tablePrefix: 'retry_' });
    await store.open();
    try {
      const events = makeStoredEvents(0, 4);
      await store.append(events.slice(0, 2));
      await store.append(events.slice(2));
      await store.append(events.slice(0, 2));
      await store.append(events.slice(2));
      const { rows } = await admin.query(`SELECT count(*)::int AS n FROM "${schema}".retry_events`);
      expect(rows[0].n).toBe(4);
      // Same indexes, another hash: refused.
      await expect(store.append([{ ...events[0]!, eventHash: 'f'.repeat(64) }])).rejects.toThrow(
        /continues at 4/,
      );
    } finally {
      await store.close();
    }
  });

  it('schema and table prefix keep two logs apart', async () => {
    const a = createPostgresStore({ connectionString: url!, schema, tablePrefix: 'iso_a_' });
    const b = createPostgresStore({ connectionString: url!, schema, tablePrefix: 'iso_b_' });
    await a.open();
    await b.open();
    try {
      await a.append(makeStoredEvents(0, 3));
      expect(await b.getByIndex(0)).toBeUndefined();
      await b.append(makeStoredEvents(0, 1));
      const freshA = createPostgresStore({ connectionString: url!, schema, tablePrefix: 'iso_a_' });
      const freshB = createPostgresStore({ connectionString: url!, schema, tablePrefix: 'iso_b_' });
      expect((await freshA.open()).size).toBe(3);
      expect((await freshB.open()).size).toBe(1);
      await freshA.close();
      await freshB.close();
      expect(a.name).toMatch(/^postgres:test\/vcp_test_\w+\.iso_a_\*$/);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('refuses to open a log with a hole in the index sequence and names it (more in postgres-faults.test.ts)', async () => {
    const store = createPostgresStore({ connectionString: url!, schema, tablePrefix: 'hole_' });
    await store.open();
    await store.append(makeStoredEvents(0, 5));
    await store.close();
    await admin.query(`DELETE FROM "${schema}".hole_events WHERE idx = 2`);
    const again = createPostgresStore({ connectionString: url!, schema, tablePrefix: 'hole_' });
    await expect(again.open()).rejects.toThrow(/will not open: merkle indexes 2 \(1 index\) are missing/);
  });

  it('works with a caller-owned pool and leaves it open', async () => {
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    const store = createPostgresStore({ pool, schema, tablePrefix: 'owned_' });
    await store.open();
    await store.append(makeStoredEvents(0, 2));
    await store.close();
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM "${schema}".owned_events`);
    expect(rows[0].n).toBe(2);
    await pool.end();
  });

  it('fails clearly when the database is unreachable or misconfigured', async () => {
    const down = createPostgresStore({ connectionString: 'postgres://postgres@127.0.0.1:1/none', schema });
    await expect(down.open()).rejects.toThrow(/PostgreSQL store.*(ECONNREFUSED|connect)/i);
    await expect(down.append(makeStoredEvents(0, 1))).rejects.toThrow(/not open/);
    expect(() => createPostgresStore({ connectionString: url!, schema: 'bad"; DROP TABLE x; --' })).toThrow(
      VcpConfigError,
    );
    expect(() => createPostgresStore({ connectionString: url!, tablePrefix: 'a-b' })).toThrow(/identifier/);
    const closed = createPostgresStore({ connectionString: url!, schema, tablePrefix: 'closed_' });
    await closed.open();
    await closed.close();
    await expect(closed.getByIndex(0)).rejects.toThrow(/closed/);
  });

  it('validates a batch before touching the database', async () => {
    const store = createPostgresStore({ connectionString: url!, schema, tablePrefix: 'val_' });
    await store.open();
    try {
      const [e] = makeStoredEvents(0, 1);
      await expect(store.append([{ ...e!, eventHash: 'XYZ' }])).rejects.toThrow(/eventHash/);
      await expect(store.append([{ ...e!, index: -1 }])).rejects.toThrow(/index/);
      await expect(store.append('nope' as never)).rejects.toThrow(/array/);
      await expect(store.open()).rejects.toThrow(/already open/);
      expect(await store.getByIndex(0)).toBeUndefined();
    } finally {
      await store.close();
    }
  });
});
