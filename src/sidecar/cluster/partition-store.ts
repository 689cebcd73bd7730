/**
 * Where a partition's log lives in cluster mode:
 *
 * - file store (default): `<data-dir>/p<N>/` — segments, `anchors.log`,
 *   `anchors-local.jsonl`, and the `LOCK` that makes one process at a time
 *   the writer. When a partition moves to a sidecar on another machine, that
 *   machine must see the same folder: `<data-dir>` on shared storage (see
 *   cluster/README.md);
 * - PostgreSQL (`--store postgres://…`): the tables `vcp_p<N>_events` and
 *   `vcp_p<N>_anchors`, reachable from every member. No lock is needed: each
 *   append checks, in its transaction, that it continues the log, so a
 *   member that still writes after losing the partition is refused (and
 *   stops) instead of forking the log.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { VcpConfigError } from '../../core/errors.ts';
import type { SidecarConfig } from '../config.ts';
import { FileEventStore } from '../store/file-store.ts';
import { createPostgresStore } from '../store/postgres-store.ts';
import type { EventStore } from '../store/store.ts';

/** A partition's store, not yet opened, and the folder for local anchor copies (file store only). */
export interface PartitionStore {
  store: EventStore;
  dataDir: string | undefined;
}

/** Folder of partition `n` under the data folder. */
export function partitionDir(dataDir: string, partition: number): string {
  return join(dataDir, `p${partition}`);
}

/** Builds partition `n`'s store from the configuration (see the module comment). */
export function defaultPartitionStore(
  config: SidecarConfig,
  partition: number,
  postgres: { schema?: string; tablePrefix?: string } = {},
): PartitionStore {
  if (config.store === 'file') {
    const dir = partitionDir(config.dataDir, partition);
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw new VcpConfigError(`cannot create the partition folder ${dir}: ${(e as Error).message}`);
    }
    const store = new FileEventStore({
      dir,
      segmentBytes: config.segmentBytes,
      scrubIntervalMs: config.scrubIntervalMs,
    });
    return { store, dataDir: dir };
  }
  return {
    store: createPostgresStore({
      connectionString: config.store,
      ...(postgres.schema ? { schema: postgres.schema } : {}),
      tablePrefix: `${postgres.tablePrefix ?? 'vcp_'}p${partition}_`,
    }),
    dataDir: undefined,
  };
}
