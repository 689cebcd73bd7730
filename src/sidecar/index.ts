/**
 * The sidecar: durable ingest, the Merkle tree, anchoring, proofs and export
 * over HTTP (docs/sidecar-api.md). `startSidecar(...)` runs one in-process;
 * `startPartitionedSidecar(...)` runs a member of a Kafka-fed cluster (one
 * tree per partition, cluster/README.md); `vcp sidecar` runs either from the
 * command line.
 */
export {
  type Anchoring,
  type AnchoringContext,
  type AnchoringFactory,
  type AnchorOutcome,
  createLocalAnchoring,
  LOCAL_TARGET_PROOF,
} from './anchoring.ts';
export {
  type KafkaIngest,
  type PartitionedSidecar,
  type PartitionedSidecarOptions,
  type PartitionStatus,
  parseKafkaIngestUrl,
  startPartitionedSidecar,
} from './cluster/index.ts';
export {
  isLoopbackHost,
  resolveSidecarConfig,
  SIDECAR_OPTIONS,
  type SidecarConfig,
  type SidecarLimits,
} from './config.ts';
export type { SidecarContext } from './context.ts';
export { HttpError } from './http.ts';
export { SidecarMetrics } from './metrics.ts';
export { type Sidecar, type SidecarOptions, startSidecar } from './server.ts';
export { EventHashList } from './store/event-hash-list.ts';
export {
  DEFAULT_SEGMENT_BYTES,
  FileEventStore,
  type FileEventStoreOptions,
  type StoredEventWithRaw,
} from './store/file-store.ts';
export type { EventStore, StoredEvent, StoreState } from './store/store.ts';
export { TreeState, type TreeView } from './tree-state.ts';
export type { CommitResult } from './writer.ts';
