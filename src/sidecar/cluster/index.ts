/**
 * Cluster mode of the sidecar: several sidecars in one Kafka consumer group
 * over the events topic, one Merkle tree per partition (see
 * partitioned-sidecar.ts and README.md in this folder).
 */
export { GroupConsumer, type GroupConsumerOptions, type PartitionOffsets } from './group-consumer.ts';
export { type KafkaIngest, parseKafkaIngestUrl } from './ingest-url.ts';
export { defaultPartitionStore, type PartitionStore, partitionDir } from './partition-store.ts';
export {
  type PartitionCounters,
  type PartitionRecord,
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
