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
 * Faults (DESIGN decision 13, "Rules for bad input and faults"):
 * - A lost connection never kills the process (every client has an 'error'
 *   listener) and fails the call with {@link StoreUnavailableError} (the
 *   sidecar answers 503 + Retry-After); the store reconnects with backoff
 *   ({@link BackoffGate}).
 * - A connection lost after COMMIT was sent leaves the batch in doubt: the
 *   caller was told it failed (so nothing may keep it), yet the server may
 *   have committed it. Before anything else, the store settles that: rows
 *   that are exactly that batch, at the end of the log, are moved to
 *   `<prefix>unacked` (quarantined, not deleted) so the log holds only what
 *   was acknowledged and their indexes go to the next batch, as the caller
 *   expects. Anything else there stops the store with an error.
 * - `open` refuses a log with holes in its index sequence, or shorter than
 *   the newest anchor says it was, and names the missing indexes: later
 *   events would drop out of the tree and export, and indexes an anchor
 *   covers would be given again.
 *
 * The connection string may carry `?schema=…&table_prefix=…` (so `--store`
 * can name them); they are taken out before connecting.
 *
 * Requires the optional `pg` package.
 */
import type { Pool } from 'pg';
import { VcpConfigError, VcpIoError, VcpValidationError } from '../../core/errors.ts';
import type { AnchorRecord, VcpEvent } from '../../core/types.ts';
import {
  _checkout,
  _ident,
  _isConnectionLoss,
  _lockKey,
  _openPool,
  _pgError,
  type PgConnectionOptions,
} from '../anchor/_pg.ts';
import { BackoffGate } from './backoff-gate.ts';
import { EventHashList } from './event-hash-list.ts';
import type { EventStore, StoredEvent, StoreState } from './store.ts';
import { StoreUnavailableError } from './store-unavailable.ts';

/** Options of {@link createPostgresStore}. */
export interface PostgresStoreOptions extends PgConnectionOptions {
  /** Schema (default `public`); created if missing. */
  schema?: string;
  /** Prefix of the table names (default `vcp_`): `vcp_events`, `vcp_anchors`. */
  tablePrefix?: string;
  /** Rows fetched per round trip by `scan` and `open` (default 1 000). */
  pageSize?: number;
  /** One line per connection loss, reconnection and settled in-doubt batch (default: none). */
  log?: (line: string) => void;
  /** Reconnect backoff: first and longest wait, ms (default 200 and 2 000). */
  backoff?: { baseMs?: number; maxMs?: number };
  /** How long `append` waits for the writer's lock before giving up as unavailable, ms (default 5 000). */
  lockTimeoutMs?: number;
}

/**
 * Splits `?schema=` and `?table_prefix=` off a connection string. A name given
 * both there and as an option must agree: two answers to "which tables" is an error.
 */
function namesFrom(options: PostgresStoreOptions): {
  connectionString: string | undefined;
  schema: string;
  prefix: string;
} {
  let connectionString = options.connectionString;
  let schema = options.schema;
  let prefix = options.tablePrefix;
  if (connectionString && /[?&](schema|table_prefix)=/.test(connectionString)) {
    let url: URL;
    try {
      url = new URL(connectionString);
    } catch {
      throw new VcpConfigError('the PostgreSQL connection string is not a valid URL');
    }
    const take = (key: string, given: string | undefined, option: string): string | undefined => {
      const all = url.searchParams.getAll(key);
      if (all.length === 0) return given;
      url.searchParams.delete(key);
      if (all.length > 1 || (given !== undefined && given !== all[0])) {
        throw new VcpConfigError(
          `PostgreSQL store: ${key} is given more than once (${[...(given !== undefined ? [`${option} ${JSON.stringify(given)}`] : []), ...all.map((v) => `?${key}=${JSON.stringify(v)}`)].join(', ')}); give it once`,
        );
      }
      return all[0];
    };
    schema = take('schema', schema, 'option schema');
    prefix = take('table_prefix', prefix, 'option tablePrefix');
    connectionString = url.toString();
  }
  return { connectionString, schema: schema ?? 'public', prefix: prefix ?? 'vcp_' };
}

/** "3", "7–9", "… and 4 more ranges": missing index ranges, for error messages. */
function describeRanges(ranges: readonly [number, number][], limit = 10): string {
  const shown = ranges.slice(0, limit).map(([a, b]) => (a === b ? `${a}` : `${a}–${b}`));
  const count = ranges.reduce((n, [a, b]) => n + (b - a + 1), 0);
  const more = ranges.length > limit ? ` and ${ranges.length - limit} more ranges` : '';
  return `${shown.join(', ')}${more} (${count} ${count === 1 ? 'index' : 'indexes'})`;
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

/** A batch whose COMMIT was sent but whose answer was lost with the connection. */
interface InDoubt {
  first: number;
  ids: string[];
  hashes: string[];
}

/** Creates a PostgreSQL-backed {@link EventStore}. Connects in `open()`. */
export function createPostgresStore(options: PostgresStoreOptions): EventStore {
  const names = namesFrom(options);
  const connection: PgConnectionOptions = options.pool
    ? { pool: options.pool }
    : names.connectionString !== undefined
      ? { connectionString: names.connectionString }
      : {};
  if (options.queryTimeoutMs !== undefined) connection.queryTimeoutMs = options.queryTimeoutMs;
  const schemaName = names.schema;
  const prefix = names.prefix;
  const schema = _ident(schemaName, 'schema');
  const events = `${schema}.${_ident(`${prefix}events`, 'tablePrefix')}`;
  const anchorsTable = `${schema}.${_ident(`${prefix}anchors`, 'tablePrefix')}`;
  const unacked = `${schema}.${_ident(`${prefix}unacked`, 'tablePrefix')}`;
  const meta = `${schema}.${_ident(`${prefix}meta`, 'tablePrefix')}`;
  const lockKey = _lockKey(`vcp-store:${schemaName}.${prefix}`);
  const pageSize = options.pageSize ?? 1000;
  const lockTimeout = `${Math.max(1, Math.floor(options.lockTimeoutMs ?? 5000))}ms`;
  const log = options.log ?? (() => {});
  let pool: Pool | undefined;
  let owned = false;
  let closed = false;
  let dbName = '';
  /** Bumped by every `open`: a store opened again elsewhere since makes ours stale (cluster takeover). */
  let epoch = '';
  let inDoubt: InDoubt | undefined;
  let settling: Promise<void> | undefined;
  /** Set when the log is no longer ours to write (settling found rows another writer made). */
  let stopped: VcpIoError | undefined;
  const label = () => `PostgreSQL store ${dbName || '?'}/${schemaName}.${prefix}*`;
  const gate = new BackoffGate('PostgreSQL store', { ...options.backoff, log });

  const db = (): Pool => {
    if (closed) throw new VcpIoError('PostgreSQL store is closed');
    if (!pool) throw new VcpIoError('PostgreSQL store is not open: call open() first');
    return pool;
  };

  /** Maps a failure: connection losses open the backoff gate (→ StoreUnavailableError), the rest are wrapped. */
  const failure = (error: unknown, doing: string): Error => {
    if (error instanceof StoreUnavailableError) return error;
    if (_isConnectionLoss(error)) return gate.down(error, doing);
    gate.up(); // the server answered: it is reachable
    return _pgError(error, `PostgreSQL store, ${doing}`);
  };

  /** Every call: closed/open check, backoff gate, settle an in-doubt batch, then run. */
  const run = async <T>(doing: string, fn: (pool: Pool) => Promise<T>): Promise<T> => {
    const p = db();
    if (stopped) throw stopped;
    gate.check();
    try {
      if (inDoubt) await settle(p);
      const out = await fn(p);
      gate.up();
      return out;
    } catch (error) {
      throw failure(error, doing);
    }
  };

  /**
   * Decide the in-doubt batch, once, before anything else reads or writes:
   * not committed → forget it; committed, exactly, at the end of the log →
   * move it to `<prefix>unacked`; anything else → stop (another writer).
   */
  const settle = (p: Pool): Promise<void> => {
    settling ??= (async () => {
      const doubt = inDoubt!;
      const n = doubt.ids.length;
      const last = doubt.first + n - 1;
      const out = await _checkout(p);
      let failed: unknown;
      try {
        const c = out.client;
        await c.query('BEGIN');
        await c.query(`SET LOCAL lock_timeout = '${lockTimeout}'`);
        await c.query('SELECT pg_advisory_xact_lock($1)', [lockKey]);
        const { rows: metaRows } = await c.query<{ epoch: string }>(`SELECT epoch::text FROM ${meta}`);
        if (metaRows[0]?.epoch !== epoch) {
          await c.query('ROLLBACK');
          stopped = new VcpIoError(
            `${label()} was opened by another sidecar since this one lost its connection in the middle of a COMMIT; ` +
              `this one no longer writes (restart it to take the log back)`,
          );
          throw stopped;
        }
        const { rows } = await c.query<{ idx: string; event_id: string; event_hash: string }>(
          `SELECT idx, event_id, event_hash FROM ${events} WHERE idx >= $1 ORDER BY idx LIMIT $2`,
          [doubt.first, n + 1],
        );
        if (rows.length === 0) {
          await c.query('COMMIT');
          log(
            `${label()}: the batch of indexes ${doubt.first}–${last} whose COMMIT answer was lost was not committed`,
          );
        } else if (
          rows.length === n &&
          rows.every(
            (r, i) =>
              Number(r.idx) === doubt.first + i &&
              r.event_id === doubt.ids[i] &&
              r.event_hash === doubt.hashes[i],
          )
        ) {
          const reason = 'COMMIT answer lost with the connection; the append was reported failed (HTTP 503)';
          await c.query(
            `INSERT INTO ${unacked} (idx, event_id, event_hash, event, received_at, warnings, reason)
             SELECT idx, event_id, event_hash, event, received_at, warnings, $3 FROM ${events} WHERE idx >= $1 AND idx <= $2`,
            [doubt.first, last, reason],
          );
          await c.query(`DELETE FROM ${events} WHERE idx >= $1 AND idx <= $2`, [doubt.first, last]);
          await c.query('COMMIT');
          log(
            `${label()}: the batch of indexes ${doubt.first}–${last} was committed but its COMMIT answer was lost ` +
              `(the append was reported failed): moved to ${schemaName}.${prefix}unacked, its indexes go to the next batch`,
          );
        } else {
          await c.query('ROLLBACK');
          stopped = new VcpIoError(
            `${label()}: after a COMMIT whose answer was lost, the rows from index ${doubt.first} are not that batch ` +
              `(another writer on the same tables?); this sidecar stops writing. Nothing was changed`,
          );
          throw stopped;
        }
        inDoubt = undefined;
      } catch (error) {
        failed = error;
        await out.rollback(error);
        throw error;
      } finally {
        out.release(failed);
      }
    })().finally(() => {
      settling = undefined;
    });
    return settling;
  };

  const store: EventStore = {
    get name() {
      return `postgres:${dbName || '?'}/${schemaName}.${prefix}*`;
    },

    async open(): Promise<StoreState> {
      if (pool) throw new VcpIoError('PostgreSQL store is already open');
      // Connections lost while idle are dropped by the pool and one lost mid-query fails that query
      // (which opens the backoff gate): the listener only has to exist, so 'error' is never unhandled.
      const opened = await _openPool(connection, 'PostgreSQL store', () => undefined);
      pool = opened.pool;
      owned = opened.owned;
      try {
        const out = await _checkout(pool);
        let failed: unknown;
        try {
          const client = out.client;
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
          await client.query(`CREATE TABLE IF NOT EXISTS ${unacked} (
            idx            BIGINT NOT NULL,
            event_id       TEXT NOT NULL,
            event_hash     TEXT NOT NULL,
            event          TEXT NOT NULL,
            received_at    TEXT NOT NULL,
            warnings       JSONB,
            reason         TEXT NOT NULL,
            quarantined_at TIMESTAMPTZ NOT NULL DEFAULT now()
          )`);
          await client.query(`CREATE TABLE IF NOT EXISTS ${meta} (
            one   BOOLEAN PRIMARY KEY DEFAULT true CHECK (one),
            epoch BIGINT NOT NULL
          )`);
          const { rows: e } = await client.query<{ epoch: string }>(
            `INSERT INTO ${meta} AS m (epoch) VALUES (1)
             ON CONFLICT (one) DO UPDATE SET epoch = m.epoch + 1 RETURNING epoch::text`,
          );
          epoch = e[0]!.epoch;
          const { rows } = await client.query<{ db: string }>('SELECT current_database() AS db');
          dbName = rows[0]?.db ?? '';
          await client.query('COMMIT');
        } catch (error) {
          failed = error;
          await out.rollback(error);
          throw error;
        } finally {
          out.release(failed);
        }

        // Leaves, page by page (keyset). Every hole is named: a log with holes does not open.
        const leaves = new EventHashList();
        const holes: [number, number][] = [];
        let rowsSeen = 0;
        let expected = 0;
        for (;;) {
          const { rows } = await pool.query<{ idx: string; event_hash: string }>(
            `SELECT idx, event_hash FROM ${events} WHERE idx >= $1 ORDER BY idx LIMIT $2`,
            [expected, pageSize * 50],
          );
          if (rows.length === 0) break;
          for (const r of rows) {
            const idx = Number(r.idx);
            if (idx !== expected) holes.push([expected, idx - 1]);
            expected = idx + 1;
            rowsSeen++;
            if (holes.length === 0) leaves.push(r.event_hash);
          }
        }
        const anchors = await store.anchors();
        const newest = anchors.reduce<AnchorRecord | undefined>(
          (m, a) => (m === undefined || a.tree_size > m.tree_size ? a : m),
          undefined,
        );
        const problems: string[] = [];
        if (holes.length > 0) {
          problems.push(
            `merkle indexes ${describeRanges(holes)} are missing from ${schemaName}.${prefix}events ` +
              `(${rowsSeen} rows, highest index ${expected - 1})`,
          );
        }
        if (newest && newest.tree_size > expected) {
          problems.push(
            `anchor ${newest.anchor_id} covers ${newest.tree_size} events but the log ends at ${expected}: ` +
              `indexes ${describeRanges([[expected, newest.tree_size - 1]])} are gone`,
          );
        }
        if (problems.length > 0) {
          throw new VcpIoError(
            `${label()} will not open: ${problems.join('; ')}. A crash cannot do this (rows were deleted or lost): ` +
              `serving it would drop every later event from the tree and the export and give indexes an anchor covers ` +
              `to new events. Nothing was changed; restore the missing rows (from a backup or an export) and start again`,
          );
        }
        return { size: leaves.length, leaves, anchors, recovery: [] };
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
      await run('appending', async (p) => {
        const out = await _checkout(p);
        const client = out.client;
        let commitSent = false;
        let failed: unknown;
        try {
          await client.query('BEGIN');
          // A session whose client vanished may still hold the lock: give up (503) rather than hang.
          await client.query(`SET LOCAL lock_timeout = '${lockTimeout}'`);
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
          commitSent = true;
          await client.query('COMMIT');
        } catch (error) {
          failed = error;
          // Lost after COMMIT was sent: the server may have committed. The caller hears "failed",
          // so the next call first makes that true (see `settle`).
          if (commitSent && (out.lost() || _isConnectionLoss(error))) {
            inDoubt = { first: batch[0]!.index, ids: cols.id, hashes: cols.hash };
          }
          await out.rollback(error);
          if ((error as { code?: string }).code === '23505') {
            throw new VcpIoError(
              `batch holds an event_id that is already stored; nothing stored (${(error as Error).message})`,
            );
          }
          throw error;
        } finally {
          out.release(failed);
        }
      });
    },

    async getById(eventId: string): Promise<StoredEvent | undefined> {
      // PostgreSQL text cannot hold NUL, and a lone surrogate would be sent as U+FFFD
      // and could match another id: neither can be a stored id.
      if (typeof eventId !== 'string' || UNSTORABLE_RE.test(eventId)) return undefined;
      return run('reading an event', async (p) => {
        const { rows } = await p.query<EventRow>(`SELECT * FROM ${events} WHERE event_id = $1`, [eventId]);
        return rows[0] ? toStored(rows[0]) : undefined;
      });
    },

    async getByIndex(index: number): Promise<StoredEvent | undefined> {
      if (!Number.isSafeInteger(index) || index < 0) return undefined;
      return run('reading an event', async (p) => {
        const { rows } = await p.query<EventRow>(`SELECT * FROM ${events} WHERE idx = $1`, [index]);
        return rows[0] ? toStored(rows[0]) : undefined;
      });
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
        const start = next;
        const rows = await run('scanning events', async (p) => {
          const r = await p.query<EventRow>(
            `SELECT * FROM ${events} WHERE idx >= $1 AND idx < $2 ORDER BY idx LIMIT $3`,
            [start, to, pageSize],
          );
          return r.rows;
        });
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
      await run('storing an anchor record', async (p) => {
        await p.query(
          `INSERT INTO ${anchorsTable} (anchor_id, record) VALUES ($1, $2)
           ON CONFLICT (anchor_id) DO UPDATE SET record = EXCLUDED.record`,
          [record.anchor_id, JSON.stringify(record)],
        );
      });
    },

    async anchors(): Promise<AnchorRecord[]> {
      return run('reading anchor records', async (p) => {
        const { rows } = await p.query<{ record: string }>(`SELECT record FROM ${anchorsTable} ORDER BY seq`);
        return rows.map((r) => JSON.parse(r.record) as AnchorRecord);
      });
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      if (pool && owned) await pool.end();
      pool = undefined;
    },
  };

  /** True when every event of `batch` is stored at its index with the same id and hash. */
  const alreadyStored = async (
    client: import('pg').PoolClient,
    batch: readonly StoredEvent[],
  ): Promise<boolean> => {
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
  return store;
}
