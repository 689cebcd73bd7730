/**
 * Cluster mode of the sidecar: several sidecars in one Kafka consumer group
 * over the events topic, one Merkle tree per partition (see
 * partitioned-sidecar.ts and README.md in this folder).
 */
export { type BrokerPartition, GroupAdmin, type GroupSnapshot } from './group-admin.ts';
export { GroupConsumer, type GroupConsumerOptions, type PartitionOffsets } from './group-consumer.ts';
export {
  GroupHealth,
  type GroupHealthOptions,
  type GroupPartitionView,
  type UnservedPartition,
} from './group-health.ts';
export { type KafkaIngest, parseKafkaIngestUrl } from './ingest-url.ts';
export {
  OFFSET_MARKER_FILE,
  type OffsetMarker,
  readOffsetMarker,
  writeOffsetMarker,
} from './offset-marker.ts';
export { defaultPartitionStore, type PartitionStore, partitionDir } from './partition-store.ts';
export {
  type PartitionCounters,
  type PartitionHistory,
  type PartitionRebuild,
  type PartitionRecord,
  type PartitionRefusal,
  type PartitionState,
  PartitionWorker,
  type PartitionWorkerOptions,
} from './partition-worker.ts';
export {
  type PartitionedSidecar,
  type PartitionedSidecarOptions,
  type PartitionStatus,
  startPartitionedSidecar,
} from './partitioned-sidecar.ts';
export { prepareRecord, type RecordOutcome } from './record-ingest.ts';
export { type SharedAnchors, sharedAnchorsFrom } from './shared-anchors.ts';
export {
  type AnchorMismatch,
  checkAnchors,
  decideTakeover,
  type TakeoverDecision,
  type TakeoverFacts,
} from './takeover-check.ts';
export { type RangeRecord, type ReadRangeOptions, readPartitionRange } from './topic-reader.ts';
