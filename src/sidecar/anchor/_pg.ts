/**
 * Internal helpers shared by the PostgreSQL anchor target and the PostgreSQL
 * event store: loading `pg` on demand (it is optional: the embedded store and
 * the file target need nothing installed), SQL identifiers, advisory-lock keys.
 */
import { createHash } from 'node:crypto';
import type { Pool, PoolConfig } from 'pg';
import { VcpConfigError, VcpIoError } from '../../core/errors.ts';

const IDENT_RE = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Checks a schema/table name and returns it double-quoted. Throws `VcpConfigError`. */
export function _ident(name: unknown, what: string): string {
  if (typeof name !== 'string' || !IDENT_RE.test(name)) {
    throw new VcpConfigError(
      `${what} must be a plain SQL identifier (letters, digits, _; ≤ 63), got ${JSON.stringify(name)}`,
    );
  }
  return `"${name}"`;
}

/** A stable signed 64-bit advisory-lock key (as text) for `name`. */
export function _lockKey(name: string): string {
  return createHash('sha256').update(name).digest().readBigInt64BE(0).toString();
}

/** Connection options shared by the PostgreSQL store and target. */
export interface PgConnectionOptions {
  /** `postgres://user@host:5432/db`. Ignored when `pool` is given. */
  connectionString?: string;
  /** An existing `pg.Pool` (not closed by us). */
  pool?: Pool;
}

/** Opens a pool (ours, to be ended on close) or adopts the caller's. */
export async function _openPool(
  options: PgConnectionOptions,
  what: string,
): Promise<{ pool: Pool; owned: boolean }> {
  if (options.pool) return { pool: options.pool, owned: false };
  if (!options.connectionString) throw new VcpConfigError(`${what}: give a connectionString or a pool`);
  let pg: typeof import('pg');
  try {
    pg = (await import('pg')) as typeof import('pg');
  } catch (error) {
    throw new VcpConfigError(`${what} needs the 'pg' package: npm install pg`, { cause: error });
  }
  const PoolClass = (pg as unknown as { default?: typeof import('pg') }).default?.Pool ?? pg.Pool;
  const config: PoolConfig = {
    connectionString: options.connectionString,
    max: 4,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
    application_name: 'vcp-sidecar',
  };
  const pool = new PoolClass(config);
  // An idle client losing its connection emits 'error' on the pool; unhandled, it would kill the process.
  pool.on('error', () => undefined);
  return { pool, owned: true };
}

/** Wraps a driver error into `VcpIoError` with the SQLSTATE, keeping `VcpError`s as they are. */
export function _pgError(error: unknown, what: string): Error {
  if (error instanceof Error && 'code' in error && typeof (error as { code: unknown }).code === 'string') {
    const code = (error as { code: string }).code;
    if (code.startsWith('VCP_')) return error;
    return new VcpIoError(`${what}: ${error.message} (SQLSTATE ${code})`, { cause: error });
  }
  return new VcpIoError(`${what}: ${error instanceof Error ? error.message : String(error)}`, {
    cause: error,
  });
}
