/**
 * Internal helpers shared by the PostgreSQL anchor target and the PostgreSQL
 * event store: loading `pg` on demand (it is optional: the embedded store and
 * the file target need nothing installed), SQL identifiers, advisory-lock keys.
 */
import { createHash } from 'node:crypto';
import type { Pool, PoolClient, PoolConfig } from 'pg';
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
  /**
   * Longest wait for any one statement's answer, ms (default 30 000; pools we open only). Past it
   * the statement fails as a lost connection and that connection is dropped: a network that
   * swallows packets without a reset must not stall the single writer forever.
   */
  queryTimeoutMs?: number;
}

/**
 * Opens a pool (ours, to be ended on close) or adopts the caller's.
 * `onClientError` hears every connection our pool loses (idle or checked out).
 */
export async function _openPool(
  options: PgConnectionOptions,
  what: string,
  onClientError?: (error: Error) => void,
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
    // A peer that vanished without a RST (cable, NAT, firewall) is found out instead of waited on forever.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    query_timeout: options.queryTimeoutMs ?? 30_000,
  };
  const pool = new PoolClass(config);
  // An idle client losing its connection emits 'error' on the pool; unhandled, it would kill the process.
  pool.on('error', (error: Error) => onClientError?.(error));
  // A checked-out client emits 'error' on itself (pg-pool only listens while it is idle): every client
  // gets a listener for its whole life, so a connection lost mid-query can never be an unhandled 'error'.
  pool.on('connect', (client: PoolClient) => {
    client.on('error', (error: Error) => onClientError?.(error));
  });
  return { pool, owned: true };
}

/** Node socket errors that mean the server is out of reach, not that it refused the statement. */
const NET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
]);

/**
 * SQLSTATEs after which the same statement can succeed later: connection exceptions (class 08),
 * server shutting down or starting (57P01–57P03), too many connections, and our lock_timeout
 * (55P03: another session, maybe one whose client vanished, still holds the writer's lock).
 */
const TRANSIENT_SQLSTATE = /^(08...|57P0[123]|53300|55P03)$/;

/** pg's own messages for a connection that is gone (they carry no code). */
const LOST_RE =
  /Connection terminated|connection timeout|timeout exceeded when trying to connect|not queryable|Client was closed|Query read timeout/i;

/** True when `error` means "the database cannot be reached right now" (retry later), not "the statement is wrong". */
export function _isConnectionLoss(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (NET_CODES.has(code)) return true;
    if (TRANSIENT_SQLSTATE.test(code)) return true;
  }
  if (LOST_RE.test(error.message)) return true;
  return error.cause !== undefined && error.cause !== error && _isConnectionLoss(error.cause);
}

/** A client checked out of a pool, listening for 'error' for as long as it is out. */
export interface _Checkout {
  client: PoolClient;
  /** The connection error the client emitted while out, if any. */
  lost(): Error | undefined;
  /** Give the client back; one that lost its connection (or failed with `error`, a connection loss) is destroyed. */
  release(error?: unknown): void;
  /**
   * After `error`: ROLLBACK, unless the connection is gone (the server rolls back a transaction
   * whose connection closed; waiting on a dead one would only add a timeout).
   */
  rollback(error: unknown): Promise<void>;
}

/**
 * Checks a client out with its own 'error' listener: pg-pool listens only on
 * idle clients, and a caller's pool (`options.pool`) has none of ours.
 */
export async function _checkout(pool: Pool): Promise<_Checkout> {
  const client = await pool.connect();
  let lost: Error | undefined;
  const onError = (error: Error) => {
    lost ??= error;
  };
  client.on('error', onError);
  let released = false;
  return {
    client,
    lost: () => lost,
    release(error?: unknown) {
      if (released) return;
      released = true;
      client.removeListener('error', onError);
      const broken = lost ?? (_isConnectionLoss(error) ? (error as Error) : undefined);
      client.release(broken);
    },
    async rollback(error: unknown) {
      if (lost || _isConnectionLoss(error)) return;
      await client.query('ROLLBACK').catch(() => undefined);
    },
  };
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
