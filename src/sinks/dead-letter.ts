/**
 * Dead letters: events a downstream refused for good (the sidecar's 400
 * validation, 409 conflict, 413 for one oversized event), set aside so they
 * are never lost and never block the events around them.
 *
 * - {@link SinkRejectionError}: how a sink says "these events of the write were
 *   refused, the others were delivered". Callers keep only the refused ones.
 * - Dead-letter files `vcp-dead-letter-<ms>-<pid>-<n>.jsonl`: a first line
 *   `{"vcp_dead_letter":{…}}` saying when, by whom and why (per event: the
 *   field, the rule, the message), then the events, one a line, exactly as
 *   they were sent. `vcp spool list|show|replay` reads them (and the other
 *   spool files); a replay after the cause is fixed is idempotent, since the
 *   sidecar stores each `event_id` once.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { VcpEvent } from '../core/types.ts';
import { appendAllSync, encodeEvents, fsyncDir } from './_jsonl.ts';
import { SinkError } from './errors.ts';

/** Why one event was refused (paths relative to the event: `header.event_id`). */
export interface RefusalReason {
  path: string;
  rule: string;
  message: string;
}

/** One refused event and why. */
export interface Refusal {
  event: VcpEvent;
  /** HTTP status of the refusal, when there was one. */
  status?: number;
  reasons: RefusalReason[];
}

/** Options of {@link SinkRejectionError}. */
export interface SinkRejectionOptions {
  refusals: Refusal[];
  /** Events of the same write the downstream acknowledged. */
  delivered: number;
  /** The dead-letter file the sink already wrote the refused events to, if any. */
  keptIn?: string;
  status?: number;
}

/**
 * A write refused in part or in whole, for good: `refused` lists exactly the
 * refused events, the other events of the write were delivered. Not retryable.
 */
export class SinkRejectionError extends SinkError {
  readonly refusals: readonly Refusal[];
  readonly delivered: number;
  readonly keptIn: string | undefined;

  constructor(message: string, options: SinkRejectionOptions) {
    super(message, { retryable: false, reason: 'rejected', status: options.status });
    this.refusals = options.refusals;
    this.delivered = options.delivered;
    this.keptIn = options.keptIn;
  }

  /** The refused events, in write order. */
  get refused(): VcpEvent[] {
    return this.refusals.map((r) => r.event);
  }
}

/** The header line of a dead-letter file. */
export interface DeadLetterHeader {
  version: 1;
  created_at: string;
  /** The sink that set the events aside (`http:127.0.0.1:8080/vcp/log`). */
  sink: string;
  count: number;
  /** Per event: its id and why it was refused. */
  reasons: { event_id: string; status?: number; path: string; rule: string; message: string }[];
}

let fileSeq = 0;

/**
 * Write refused events to a new dead-letter file in `dir` (created if
 * missing), fsynced, with the header line. Returns its path.
 */
export function writeDeadLetterFile(
  dir: string,
  refusals: readonly Refusal[],
  sink: string,
  prefix = 'vcp-dead-letter',
): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${prefix}-${Date.now()}-${process.pid}-${++fileSeq}.jsonl`);
  const header: DeadLetterHeader = {
    version: 1,
    created_at: new Date().toISOString(),
    sink,
    count: refusals.length,
    reasons: refusals.flatMap((r) =>
      (r.reasons.length ? r.reasons.slice(0, 10) : [{ path: '', rule: 'refused', message: 'refused' }]).map(
        (x) => ({
          event_id: String(r.event?.header?.event_id),
          ...(r.status !== undefined ? { status: r.status } : {}),
          path: String(x.path).slice(0, 200),
          rule: String(x.rule).slice(0, 50),
          message: String(x.message).slice(0, 500),
        }),
      ),
    ),
  };
  const fd = fs.openSync(file, 'wx', 0o640);
  try {
    appendAllSync(fd, Buffer.from(`${JSON.stringify({ vcp_dead_letter: header })}\n`, 'utf8'));
    appendAllSync(fd, encodeEvents(refusals.map((r) => r.event)));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fsyncDir(dir);
  return file;
}

/** Whether a parsed JSONL line is a dead-letter header rather than an event. */
export function isDeadLetterHeader(value: unknown): value is { vcp_dead_letter: DeadLetterHeader } {
  return (
    value !== null &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    Object.hasOwn(value, 'vcp_dead_letter')
  );
}
