/**
 * `GET /metrics` of a cluster-mode sidecar (Prometheus text 0.0.4): the
 * single-log metrics with a `partition` label, one series per partition this
 * member owns, plus the Kafka side (records taken, re-deliveries skipped,
 * lag, commit failures). Counters start at 0 when a partition is (re)opened
 * here, as after a restart; `rate()` copes with that.
 */
import type { SidecarContext } from '../context.ts';
import type { PartitionOffsets } from './group-consumer.ts';
import type { PartitionCounters, PartitionState } from './partition-worker.ts';

/** One owned partition as the page shows it. */
export interface PartitionMetrics {
  partition: number;
  state: PartitionState;
  counters: PartitionCounters;
  /** Its log, once open. */
  ctx: SidecarContext | undefined;
  offsets: PartitionOffsets | undefined;
}

/** Render the page. */
export function renderClusterMetrics(input: {
  partitions: readonly PartitionMetrics[];
  responses: ReadonlyMap<number, number>;
  generation: number;
}): string {
  const out: string[] = [];
  const family = (name: string, type: string, help: string, lines: string[]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...lines);
  };
  const parts = input.partitions;
  const each = (name: string, value: (p: PartitionMetrics) => number | undefined) =>
    parts.flatMap((p) => {
      const v = value(p);
      return v === undefined ? [] : [`${name}{partition="${p.partition}"} ${v}`];
    });

  family('vcp_cluster_partitions_owned', 'gauge', 'Partitions of the events topic this member owns.', [
    `vcp_cluster_partitions_owned ${parts.length}`,
  ]);
  family(
    'vcp_cluster_partitions_open',
    'gauge',
    'Owned partitions whose log is open (not waiting for a lock).',
    [`vcp_cluster_partitions_open ${parts.filter((p) => p.state === 'active').length}`],
  );
  family(
    'vcp_cluster_partitions_refused',
    'gauge',
    'Owned partitions this member refused: the group committed records their store lacks and cannot get back (see /health).',
    [`vcp_cluster_partitions_refused ${parts.filter((p) => p.state === 'refused').length}`],
  );
  family('vcp_cluster_generation', 'gauge', 'Consumer-group generation of the current assignment.', [
    `vcp_cluster_generation ${input.generation}`,
  ]);
  family(
    'vcp_kafka_records_total',
    'counter',
    'Records taken from the topic (stored, duplicates and refused).',
    each('vcp_kafka_records_total', (p) => p.counters.records),
  );
  family(
    'vcp_kafka_redelivered_total',
    'counter',
    'Records skipped as re-deliveries of records already taken.',
    each('vcp_kafka_redelivered_total', (p) => p.counters.redelivered),
  );
  family(
    'vcp_kafka_replayed_total',
    'counter',
    'Records replayed from the topic to rebuild a partition whose store lacked committed records.',
    each('vcp_kafka_replayed_total', (p) => p.counters.replayed),
  );
  family(
    'vcp_kafka_commit_errors_total',
    'counter',
    'Offset commits that failed (the records are read again, as duplicates).',
    each('vcp_kafka_commit_errors_total', (p) => p.counters.commitErrors),
  );
  family(
    'vcp_kafka_lag_records',
    'gauge',
    'Records of the partition not yet committed by the group.',
    each('vcp_kafka_lag_records', (p) => p.offsets?.lag),
  );
  family(
    'vcp_events_ingested_total',
    'counter',
    'Events durably stored.',
    each('vcp_events_ingested_total', (p) => p.ctx?.metrics.ingested),
  );
  family(
    'vcp_events_duplicate_total',
    'counter',
    'Events found already stored (re-deliveries, producer retries).',
    each('vcp_events_duplicate_total', (p) => p.ctx?.metrics.duplicates),
  );
  family(
    'vcp_events_rejected_total',
    'counter',
    'Records refused, by reason.',
    parts.flatMap((p) =>
      [...p.counters.refused].map(
        ([reason, n]) => `vcp_events_rejected_total{partition="${p.partition}",reason="${reason}"} ${n}`,
      ),
    ),
  );
  family(
    'vcp_ingest_queue_depth',
    'gauge',
    'Events waiting for their durable write.',
    each('vcp_ingest_queue_depth', (p) => p.ctx?.writer.depth),
  );
  family(
    'vcp_tree_size',
    'gauge',
    'Leaves in the Merkle tree.',
    each('vcp_tree_size', (p) => p.ctx?.tree.size),
  );
  family(
    'vcp_anchored_tree_size',
    'gauge',
    'Leaves covered by the latest anchor.',
    each('vcp_anchored_tree_size', (p) => p.ctx?.tree.anchoredSize),
  );
  family(
    'vcp_anchor_lag_seconds',
    'gauge',
    'Age of the oldest event not yet anchored (0 when all are).',
    each('vcp_anchor_lag_seconds', (p) => (p.ctx ? p.ctx.anchoring.lagMs() / 1000 : undefined)),
  );
  const fsyncCount = each('vcp_fsync_seconds_count', (p) => p.ctx?.metrics.fsync.count);
  const fsyncSum = each('vcp_fsync_seconds_sum', (p) => p.ctx?.metrics.fsync.sum);
  family('vcp_fsync_seconds', 'summary', 'Durable append latency (write + fdatasync / COMMIT).', [
    ...fsyncSum,
    ...fsyncCount,
  ]);
  family(
    'vcp_http_responses_total',
    'counter',
    'HTTP responses by status code.',
    [...input.responses].map(([c, n]) => `vcp_http_responses_total{code="${c}"} ${n}`),
  );
  family('vcp_process_resident_memory_bytes', 'gauge', 'Resident set size.', [
    `vcp_process_resident_memory_bytes ${process.memoryUsage().rss}`,
  ]);
  return `${out.join('\n')}\n`;
}
