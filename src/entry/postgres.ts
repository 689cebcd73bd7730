/**
 * `vcp-instrument/postgres`: the PostgreSQL event store, for a sidecar embedded
 * with `vcp-instrument/sidecar` (`startSidecar({ config, store: createPostgresStore(…) })`).
 * Needs the optional peer `pg` installed. The PostgreSQL anchor target needs no
 * import: give `createAnchoringFactory({ targets: ['postgres://…'] })` its URL.
 *
 * The options type is restated here rather than re-exported: a declaration
 * shared with the sidecar entry that names `pg` would make
 * `vcp-instrument/sidecar` need `pg` too (test/package/entry-types.ts
 * keeps the two in step).
 */
import type { Pool } from 'pg';
import { createPostgresStore as createStore } from '../sidecar/store/postgres-store.ts';
import type { EventStore } from '../sidecar/store/store.ts';

/** Options of {@link createPostgresStore}. */
export interface PostgresStoreOptions {
  /** `postgres://user@host:5432/db` (`?schema=` and `?table_prefix=` allowed). Ignored when `pool` is given. */
  connectionString?: string;
  /** An existing `pg.Pool` (not closed by the store). */
  pool?: Pool;
  /** Longest wait for any one statement's answer, ms (default 30 000; pools the store opens only). */
  queryTimeoutMs?: number;
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
 * A PostgreSQL event store (tables `<prefix>events`, `<prefix>anchors`); the
 * sidecar opens it. One sidecar writes a set of tables at a time (an advisory lock).
 */
export function createPostgresStore(options: PostgresStoreOptions): EventStore {
  return createStore(options);
}
