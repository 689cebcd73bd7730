/**
 * The PostgreSQL event store: the `EventStore` contract on two tables, for
 * deployments that outgrow one disk (DESIGN decision 10).
 *
 *     <prefix>events  (idx BIGINT PK, event_id TEXT UNIQUE, event_hash TEXT,
 *                      event TEXT, received_at TEXT, warnings JSONB)
 *     <prefix>anchors (anchor_id TEXT PK, seq BIGINT identity, record TEXT)
 *
 * Events and anchor records are kept as the exact JSON text written
 * (`JSON.stringify`), not JSONB, so key order and number spelling come back
 * byte for byte. `append` is one transaction: an advisory lock (one writer
 * per table set, even if two sidecars are pointed at it by mistake), a check
 * that the batch continues the log, and one multi-row INSERT from arrays
 * (`unnest`). Appending a batch that is already stored, identically, at its
 * indexes succeeds without writing: the retry after a COMMIT whose
 * acknowledgement was lost on the network. The batch is durable when COMMIT returns (PostgreSQL's default
 * `synchronous_commit = on`; with `off` the 201 would not mean durable).
 *
 * Requires the optional `pg` package.
 */
import type { Pool, PoolClient } from 'pg';
import { VcpIoError, VcpValidationError } from '../../core/errors.ts';
import type { AnchorRecord, VcpEvent } from '../../core/types.ts';
import { _ident, _lockKey, _openPool, _pgError, type PgConnectionOptions } from '../anchor/_pg.ts';
import type { EventStore, StoredEvent, StoreState } from './store.ts';

/** Options of {@link createPostgresStore}. */
export interface PostgresStoreOptions extends PgConnectionOptions {
  /** Schema (default `public`); created if missing. */
  schema?: string;
  /** Prefix of the table names (default `vcp_`): `vcp_events`, `vcp_anchors`. */
  tablePrefix?: string;
  /** Rows fetched per round trip by `scan` and `open` (default 1 000). */
  pageSize?: number;
}

/** NUL, or a surrogate not part of a pair. */
const UNSTORABLE_RE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

interface EventRow {
  idx: string;
  event_id: string;
  event_hash: string;
  event: string;
  received_at: string;
  warnings: StoredEvent['warnings'] | null;
}

function toStored(row: EventRow): StoredEvent {
  const out: StoredEvent = {
    index: Number(row.idx),
    eventId: row.event_id,
    eventHash: row.event_hash,
    event: JSON.parse(row.event) as VcpEvent,
    receivedAt: row.received_at,
  };
  if (row.warnings) out.warnings = row.warnings;
  return out;
}

function checkBatch(batch: readonly StoredEvent[]): void {
  const issues: { path: string; rule: string; message: string }[] = [];
  batch.forEach((e, i) => {
    if (!e || typeof e !== 'object') {
      issues.push({ path: `[${i}]`, rule: 'object', message: 'not a stored event' });
      return;
    }
    if (!Number.isSafeInteger(e.index) || e.index < 0) {
      issues.push({ path: `[${i}].index`, rule: 'integer', message: 'index must be a non-negative integer' });
    } else if (i > 0 && e.index !== batch[0]!.index + i) {
      issues.push({
        path: `[${i}].index`,
        rule: 'contiguous',
        message: `index ${e.index} should be ${batch[0]!.index + i}`,
      });
    }
    if (typeof e.eventId !== 'string' || e.eventId === '') {
      issues.push({
        path: `[${i}].eventId`,
        rule: 'required',
        message: 'eventId must be a non-empty string',
      });
    }
    if (typeof e.eventHash !== 'string' || !/^[0-9a-f]{64}$/.test(e.eventHash)) {
      issues.push({
        path: `[${i}].eventHash`,
        rule: 'hex32',
        message: 'eventHash must be 64 lowercase hex characters',
      });
    }
    if (typeof e.receivedAt !== 'string') {
      issues.push({
        path: `[${i}].receivedAt`,
        rule: 'string',
        message: 'receivedAt must be an ISO 8601 string',
      });
    }
  });
  if (issues.length > 0) throw new VcpValidationError(issues);
}

/** Creates a PostgreSQL-backed {@link EventStore}. Connects in `open()`. */
export function createPostgresStore(options: PostgresStoreOptions): EventStore {
  const schemaName = options.schema ?? 'public';
  const prefix = options.tablePrefix ?? 'vcp_';
  const schema = _ident(schemaName, 'schema');
  const events = `${schema}.${_ident(`${prefix}events`, 'tablePrefix')}`;
  const anchorsTable = `${schema}.${_ident(`${prefix}anchors`, 'tablePrefix')}`;
  const lockKey = _lockKey(`vcp-store:${schemaName}.${prefix}`);
  const pageSize = options.pageSize ?? 1000;
  let pool: Pool | undefined;
  let owned = false;
  let closed = false;
  let dbName = '';

  const db = (): Pool => {
    if (closed) throw new VcpIoError('PostgreSQL store is closed');
    if (!pool) throw new VcpIoError('PostgreSQL store is not open: call open() first');
    return pool;
  };

  /** True when every event of `batch` is stored at its index with the same id and hash. */
  const alreadyStored = async (client: PoolClient, batch: readonly StoredEvent[]): Promise<boolean> => {
    const first = batch[0]!.index;
    const { rows } = await client.query<{ idx: string; event_id: string; event_hash: string }>(
      `SELECT idx, event_id, event_hash FROM ${events} WHERE idx >= $1 AND idx < $2 ORDER BY idx`,
      [first, first + batch.length],
    );
    return (
      rows.length === batch.length &&
      rows.every((r, i) => r.event_id === batch[i]!.eventId && r.event_hash === batch[i]!.eventHash)
    );
  };

  const store: EventStore = {
    get name() {
      return `postgres:${dbName || '?'}/${schemaName}.${prefix}*`;
    },

    async open(): Promise<StoreState> {
      if (pool) throw new VcpIoError('PostgreSQL store is already open');
      const opened = await _openPool(options, 'PostgreSQL store');
      pool = opened.pool;
      owned = opened.owned;
      try {
        const client = await pool.connect();
        try {
          await client.query('BEGIN');
          await client.query('SELECT pg_advisory_xact_lock($1)', [lockKey]);
          await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
          await client.query(`CREATE TABLE IF NOT EXISTS ${events} (
            idx         BIGINT PRIMARY KEY CHECK (idx >= 0),
            event_id    TEXT NOT NULL UNIQUE,
            event_hash  TEXT NOT NULL,
            event       TEXT NOT NULL,
            received_at TEXT NOT NULL,
            warnings    JSONB
          )`);
          await client.query(`CREATE TABLE IF NOT EXISTS ${anchorsTable} (
            anchor_id TEXT PRIMARY KEY,
            seq       BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
            record    TEXT NOT NULL
          )`);
          const { rows } = await client.query<{ db: string }>('SELECT current_database() AS db');
          dbName = rows[0]?.db ?? '';
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw error;
        } finally {
          client.release();
        }

        // Leaves, page by page (keyset), checking there is no hole.
        const recovery: string[] = [];
        const leaves: string[] = [];
        for (;;) {
          const { rows } = await pool.query<{ idx: string; event_hash: string }>(
            `SELECT idx, event_hash FROM ${events} WHERE idx >= $1 ORDER BY idx LIMIT $2`,
            [leaves.length, pageSize * 50],
          );
          if (rows.length === 0) break;
          let stop = false;
          for (const r of rows) {
            if (Number(r.idx) !== leaves.length) {
              recovery.push(
                `events table has a hole at index ${leaves.length} (next row is ${r.idx}); using the first ${leaves.length} events`,
              );
              stop = true;
              break;
            }
            leaves.push(r.event_hash);
          }
          if (stop) break;
        }
        return { size: leaves.length, leaves, anchors: await store.anchors(), recovery };
      } catch (error) {
        if (owned) await pool.end().catch(() => undefined);
        pool = undefined;
        throw _pgError(error, 'opening the PostgreSQL store');
      }
    },

    async append(batch: readonly StoredEvent[]): Promise<void> {
      if (!Array.isArray(batch))
        throw new VcpValidationError({ path: '', rule: 'array', message: 'batch must be an array' });
      if (batch.length === 0) return;
      checkBatch(batch);
      const cols = {
        idx: [] as number[],
        id: [] as string[],
        hash: [] as string[],
        event: [] as string[],
        at: [] as string[],
        warnings: [] as (string | null)[],
      };
      for (const e of batch) {
        cols.idx.push(e.index);
        cols.id.push(e.eventId);
        cols.hash.push(e.eventHash);
        cols.event.push(JSON.stringify(e.event));
        cols.at.push(e.receivedAt);
        cols.warnings.push(e.warnings && e.warnings.length > 0 ? JSON.stringify(e.warnings) : null);
      }
      const client = await db()
        .connect()
        .catch((error: unknown) => {
          throw _pgError(error, 'PostgreSQL store unavailable');
        });
      try {
        await client.query('BEGIN');
        await client.query('SELECT pg_advisory_xact_lock($1)', [lockKey]);
        const { rows } = await client.query<{ next: string }>(
          `SELECT COALESCE(MAX(idx) + 1, 0) AS next FROM ${events}`,
        );
        const next = Number(rows[0]?.next ?? 0);
        const first = batch[0]!.index;
        if (first < next && (await alreadyStored(client, batch))) {
          // A retry after a COMMIT whose acknowledgement was lost: the batch is there, exactly.
          await client.query('COMMIT');
          return;
        }
        if (first !== next) {
          throw new VcpIoError(
            `batch starts at index ${first} but the log continues at ${next}; nothing stored`,
          );
        }
        await client.query(
          `INSERT INTO ${events} (idx, event_id, event_hash, event, received_at, warnings)
           SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[])`,
          [cols.idx, cols.id, cols.hash, cols.event, cols.at, cols.warnings],
        );
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        if ((error as { code?: string }).code === '23505') {
          throw new VcpIoError(
            `batch holds an event_id that is already stored; nothing stored (${(error as Error).message})`,
          );
        }
        throw _pgError(error, 'appending to the PostgreSQL store');
      } finally {
        client.release();
      }
    },

    async getById(eventId: string): Promise<StoredEvent | undefined> {
      // PostgreSQL text cannot hold NUL, and a lone surrogate would be sent as U+FFFD
      // and could match another id: neither can be a stored id.
      if (typeof eventId !== 'string' || UNSTORABLE_RE.test(eventId)) return undefined;
      try {
        const { rows } = await db().query<EventRow>(`SELECT * FROM ${events} WHERE event_id = $1`, [eventId]);
        return rows[0] ? toStored(rows[0]) : undefined;
      } catch (error) {
        throw _pgError(error, 'reading the PostgreSQL store');
      }
    },

    async getByIndex(index: number): Promise<StoredEvent | undefined> {
      if (!Number.isSafeInteger(index) || index < 0) return undefined;
      try {
        const { rows } = await db().query<EventRow>(`SELECT * FROM ${events} WHERE idx = $1`, [index]);
        return rows[0] ? toStored(rows[0]) : undefined;
      } catch (error) {
        throw _pgError(error, 'reading the PostgreSQL store');
      }
    },

    async *scan(from: number, to: number): AsyncIterable<StoredEvent> {
      if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to)) {
        throw new VcpValidationError({
          path: 'from/to',
          rule: 'integer',
          message: 'scan bounds must be integers',
        });
      }
      // Keyset pagination: one short query per page, no connection held between pages.
      let next = Math.max(0, from);
      while (next < to) {
        let rows: EventRow[];
        try {
          ({ rows } = await db().query<EventRow>(
            `SELECT * FROM ${events} WHERE idx >= $1 AND idx < $2 ORDER BY idx LIMIT $3`,
            [next, to, pageSize],
          ));
        } catch (error) {
          throw _pgError(error, 'scanning the PostgreSQL store');
        }
        if (rows.length === 0) return;
        for (const row of rows) yield toStored(row);
        next = Number(rows[rows.length - 1]!.idx) + 1;
        if (rows.length < pageSize) return;
      }
    },

    async putAnchor(record: AnchorRecord): Promise<void> {
      if (!record || typeof record.anchor_id !== 'string' || record.anchor_id === '') {
        throw new VcpValidationError({
          path: 'anchor_id',
          rule: 'required',
          message: 'an anchor record needs an anchor_id',
        });
      }
      try {
        await db().query(
          `INSERT INTO ${anchorsTable} (anchor_id, record) VALUES ($1, $2)
           ON CONFLICT (anchor_id) DO UPDATE SET record = EXCLUDED.record`,
          [record.anchor_id, JSON.stringify(record)],
        );
      } catch (error) {
        throw _pgError(error, 'storing an anchor record');
      }
    },

    async anchors(): Promise<AnchorRecord[]> {
      try {
        const { rows } = await db().query<{ record: string }>(
          `SELECT record FROM ${anchorsTable} ORDER BY seq`,
        );
        return rows.map((r) => JSON.parse(r.record) as AnchorRecord);
      } catch (error) {
        throw _pgError(error, 'reading anchor records');
      }
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      if (pool && owned) await pool.end();
      pool = undefined;
    },
  };
  return store;
}
