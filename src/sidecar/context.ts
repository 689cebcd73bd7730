/**
 * Everything a route handler needs, built once by the server.
 */
import type { Signer } from '../integrity/sign.ts';
import type { Anchoring } from './anchoring.ts';
import type { SidecarConfig } from './config.ts';
import type { IngestPool } from './ingest-pool.ts';
import type { SidecarMetrics } from './metrics.ts';
import type { EventStore } from './store/store.ts';
import type { TreeState } from './tree-state.ts';
import type { CommitQueue } from './writer.ts';

/** The running sidecar's parts, shared by the routes. */
export interface SidecarContext {
  config: SidecarConfig;
  store: EventStore;
  tree: TreeState;
  writer: CommitQueue;
  anchoring: Anchoring;
  metrics: SidecarMetrics;
  signer: Signer;
  /** One line to the sidecar's log (stderr by default). */
  log(message: string): void;
  /** Wall-clock ms at start. */
  startedAt: number;
  /** Set once graceful shutdown began: new requests get 503. */
  shuttingDown: boolean;
  /** Ingest threads for large bodies (ingest-pool.ts); absent: every body is prepared on the HTTP thread. */
  ingestPool?: IngestPool;
  /** Kafka partition whose log this is (cluster mode: one log per partition); absent for the HTTP sidecar's one log. */
  partition?: number;
}
