/**
 * Prometheus text exposition (format 0.0.4) of the sidecar's counters,
 * gauges and histograms. Small on purpose: a few fixed metrics, no labels
 * beyond what operators filter on.
 */

import type { StoreHealthReport } from './store/store-health.ts';

/** Content type of {@link SidecarMetrics.render}. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** A cumulative histogram with fixed upper bounds. */
export class Histogram {
  readonly bounds: readonly number[];
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(bounds: readonly number[]) {
    this.bounds = bounds;
    this.counts = new Array<number>(bounds.length).fill(0);
  }

  observe(value: number): void {
    this.sum += value;
    this.count++;
    for (let i = 0; i < this.bounds.length; i++) {
      if (value <= this.bounds[i]!) {
        this.counts[i]!++;
        return;
      }
    }
  }

  /** Prometheus lines for this histogram under `name`. */
  render(name: string): string[] {
    const lines: string[] = [];
    let cumulative = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      cumulative += this.counts[i]!;
      lines.push(`${name}_bucket{le="${this.bounds[i]}"} ${cumulative}`);
    }
    lines.push(`${name}_bucket{le="+Inf"} ${this.count}`);
    lines.push(`${name}_sum ${this.sum}`);
    lines.push(`${name}_count ${this.count}`);
    return lines;
  }
}

/** Live values the metrics page reads when rendered. */
export interface MetricsGauges {
  queueDepth(): number;
  treeSize(): number;
  anchoredSize(): number;
  anchorLagSeconds(): number;
  anchorLagLimitSeconds(): number;
  lastAnchorUnixSeconds(): number | undefined;
}

/** The sidecar's metrics. */
export class SidecarMetrics {
  /** Events durably stored. */
  ingested = 0;
  /** Events refused, by reason (`validation`, `conflict`, `too_large`, `queue_full`, `storage`, …). */
  readonly rejected = new Map<string, number>();
  /** Events answered as duplicates of stored ones. */
  duplicates = 0;
  /** HTTP responses by status code. */
  readonly responses = new Map<number, number>();
  /** Anchor records made. */
  anchors = 0;
  /** Durable append latency (write + fdatasync, or COMMIT), seconds. */
  readonly fsync = new Histogram([
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1,
  ]);
  /** Events per durable append (group-commit size). */
  readonly groupSize = new Histogram([1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 16384]);
  readonly #gauges: MetricsGauges;

  constructor(gauges: MetricsGauges) {
    this.#gauges = gauges;
  }

  reject(reason: string, events = 1): void {
    this.rejected.set(reason, (this.rejected.get(reason) ?? 0) + events);
  }

  response(status: number): void {
    this.responses.set(status, (this.responses.get(status) ?? 0) + 1);
  }

  /** The Prometheus text page. */
  render(): string {
    const g = this.#gauges;
    const out: string[] = [];
    const metric = (name: string, type: string, help: string, lines: string[]) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...lines);
    };
    metric('vcp_events_ingested_total', 'counter', 'Events durably stored.', [
      `vcp_events_ingested_total ${this.ingested}`,
    ]);
    const rejected = [...this.rejected].map(([r, n]) => `vcp_events_rejected_total{reason="${r}"} ${n}`);
    metric(
      'vcp_events_rejected_total',
      'counter',
      'Events refused, by reason.',
      rejected.length ? rejected : ['vcp_events_rejected_total 0'],
    );
    metric('vcp_events_duplicate_total', 'counter', 'Events answered as duplicates of stored ones.', [
      `vcp_events_duplicate_total ${this.duplicates}`,
    ]);
    metric(
      'vcp_http_responses_total',
      'counter',
      'HTTP responses by status code.',
      [...this.responses].map(([c, n]) => `vcp_http_responses_total{code="${c}"} ${n}`),
    );
    metric('vcp_ingest_queue_depth', 'gauge', 'Events waiting for their durable write.', [
      `vcp_ingest_queue_depth ${g.queueDepth()}`,
    ]);
    metric(
      'vcp_fsync_seconds',
      'histogram',
      'Durable append latency (write + fdatasync / COMMIT).',
      this.fsync.render('vcp_fsync_seconds'),
    );
    metric(
      'vcp_commit_group_events',
      'histogram',
      'Events per durable append (group commit).',
      this.groupSize.render('vcp_commit_group_events'),
    );
    metric('vcp_tree_size', 'gauge', 'Leaves in the Merkle tree.', [`vcp_tree_size ${g.treeSize()}`]);
    metric('vcp_anchored_tree_size', 'gauge', 'Leaves covered by the latest anchor.', [
      `vcp_anchored_tree_size ${g.anchoredSize()}`,
    ]);
    metric('vcp_anchors_total', 'counter', 'Anchor records made by this process.', [
      `vcp_anchors_total ${this.anchors}`,
    ]);
    metric('vcp_anchor_lag_seconds', 'gauge', 'Age of the oldest event not yet anchored (0 when all are).', [
      `vcp_anchor_lag_seconds ${g.anchorLagSeconds()}`,
    ]);
    metric('vcp_anchor_lag_limit_seconds', 'gauge', "The tier's anchoring interval.", [
      `vcp_anchor_lag_limit_seconds ${g.anchorLagLimitSeconds()}`,
    ]);
    const last = g.lastAnchorUnixSeconds();
    if (last !== undefined) {
      metric('vcp_last_anchor_timestamp_seconds', 'gauge', 'When the latest anchor was made.', [
        `vcp_last_anchor_timestamp_seconds ${last}`,
      ]);
    }
    const mem = process.memoryUsage();
    metric('vcp_process_resident_memory_bytes', 'gauge', 'Resident set size.', [
      `vcp_process_resident_memory_bytes ${mem.rss}`,
    ]);
    return `${out.join('\n')}\n`;
  }
}

/**
 * Prometheus lines for a store's health report (the file store's lock,
 * fsync and scrub state); empty when the store reports none.
 */
export function renderStoreMetrics(report: StoreHealthReport | undefined): string {
  if (!report) return '';
  const out: string[] = [
    '# HELP vcp_store_writable 1 while the store accepts writes, 0 once it refuses them (lock lost, fsync failed, scrub found damage).',
    '# TYPE vcp_store_writable gauge',
    `vcp_store_writable ${report.writable ? 1 : 0}`,
  ];
  const scrub = report.scrub;
  if (scrub) {
    out.push(
      '# HELP vcp_scrub_ok 1 if the last scrub found nothing wrong, 0 if it found damage (absent before the first).',
      '# TYPE vcp_scrub_ok gauge',
    );
    if (scrub.ok !== null) out.push(`vcp_scrub_ok ${scrub.ok ? 1 : 0}`);
    out.push(
      '# HELP vcp_scrub_problems Problems the last scrub found.',
      '# TYPE vcp_scrub_problems gauge',
      `vcp_scrub_problems ${scrub.problems.length}`,
      '# HELP vcp_scrub_events_checked Records the last scrub reread.',
      '# TYPE vcp_scrub_events_checked gauge',
      `vcp_scrub_events_checked ${scrub.events_checked}`,
    );
    if (scrub.last_run !== null) {
      out.push(
        '# HELP vcp_scrub_last_run_timestamp_seconds When the last scrub finished.',
        '# TYPE vcp_scrub_last_run_timestamp_seconds gauge',
        `vcp_scrub_last_run_timestamp_seconds ${Date.parse(scrub.last_run) / 1000}`,
      );
    }
  }
  return `${out.join('\n')}\n`;
}
