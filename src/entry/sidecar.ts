/**
 * `vcp-instrument/sidecar`: run the sidecar inside your own Node process
 * (docs/sidecar-cluster.md, "Embedding the sidecar"). `startSidecar(...)` runs
 * a single sidecar; `startPartitionedSidecar(...)` runs a member of a
 * Kafka-fed cluster. `resolveSidecarConfig` takes the same flags and
 * `VCP_SIDECAR_*` variables as `vcp sidecar`; `createAnchoringFactory` turns its
 * anchor targets (`tsa:…`, `postgres://…`, `file`) into the anchoring service,
 * as the CLI does. The PostgreSQL event store is in `vcp-instrument/postgres`
 * (its types name `pg`, an optional peer).
 *
 * Only what needs no optional peer is exported here: exporting the anchor
 * target constructors would pull `pg`'s types into this entry's declarations.
 */
export { type AnchoringFactoryOptions, createAnchoringFactory } from '../sidecar/anchor/server-adapter.ts';
export * from '../sidecar/index.ts';
