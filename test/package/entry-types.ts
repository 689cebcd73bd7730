/**
 * Type-level checks of the subpath entries, run by `npm run typecheck` (never
 * executed): a failed `Assert` is a compile error.
 */
import type { PostgresStoreOptions as PublicPostgresStoreOptions } from '../../src/entry/postgres.ts';
import type { PostgresStoreOptions as StorePostgresStoreOptions } from '../../src/sidecar/store/postgres-store.ts';

type Equal<A, B> = (<G>() => G extends A ? 1 : 2) extends <G>() => G extends B ? 1 : 2 ? true : false;
type Assert<T extends true> = T;

/**
 * `vcp-instrument/postgres` restates the store's options (so that `/sidecar`'s
 * declarations never name `pg`); this keeps the copy equal to the store's own.
 */
export type PostgresOptionsInStep = Assert<
  Equal<Required<PublicPostgresStoreOptions>, Required<StorePostgresStoreOptions>>
>;
