/**
 * `vcp-instrument/sidecar`: run the sidecar inside your own Node process.
 * `startSidecar(...)` runs a single sidecar; `startPartitionedSidecar(...)` runs a
 * member of a Kafka-fed cluster (docs/sidecar-cluster.md). PostgreSQL and Kafka
 * are optional peers, loaded only when the configuration names them.
 */
export * from '../sidecar/index.ts';
